"""`voxgen cut FILE|NAME --axis A --at P -o DIR`: cut a blueprint in two."""

from __future__ import annotations

from pathlib import Path

import click

from voxgen.bundled import resolve_blueprint


@click.command()
@click.argument("blueprint")
@click.option("--axis", type=click.Choice(["x", "y", "z"]), default=None,
              help="Axis the cut plane crosses (default: the longest).")
@click.option("--at", "at", default="half", show_default=True,
              help="Plane position in blueprint coordinates: cells < AT go to part 0; "
                   "an integer, half, or random (half +- 2).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --at random.")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), required=True,
              help="Directory for NAME_part0 and NAME_part1.")
@click.option("--format", "fmt", default="toml", show_default=True,
              help="Extension of the written parts (toml, schem, nbt, litematic, ...).")
def cut(blueprint, axis, at, seed, out, fmt):
    """Cut BLUEPRINT (a file or a bundled name) by a plane into two parts.

    Both parts keep the whole box (the other part's cells become air), so
    their coordinates match the original's."""
    from dataclasses import replace

    import numpy as np

    from voxgen import formats
    from voxgen.errors import VoxgenError, make_dir
    from voxgen.regen import axis_index, cut_position

    path = resolve_blueprint(blueprint)
    structure = formats.load(path)
    a = axis_index(axis, structure.shape)
    try:
        pos = cut_position(at, structure.shape[a], np.random.default_rng(seed))
    except VoxgenError as err:
        raise VoxgenError(err.message, path) from None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VoxgenError("-o must name a directory", out)
    name = structure.name or path.stem
    targets = [out / f"{name}_part{i}.{fmt.lstrip('.')}" for i in range(2)]
    formats.format_for_output(targets[0])               # refuse a bad format before writing
    parts = structure.cut_along(a, pos)
    make_dir(out)
    for i, (part, target) in enumerate(zip(parts, targets)):
        meta = {k: v for k, v in part.metadata.items() if k not in ("machine", "format")}
        part = replace(part, name=f"{name}_part{i}", metadata=meta)
        formats.save(part, target)
        click.echo(f"{target}  {part.count_non_air()} blocks")
    click.echo(f"cut {name} along {'xyz'[a]} at {pos}")
