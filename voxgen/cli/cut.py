"""`voxgen cut FILE|NAME --axis A --at P -o DIR`: cut a blueprint in two."""

from __future__ import annotations

import re
from pathlib import Path

import click

from voxgen.cli import BLUEPRINT, SEED, load_blueprint, output_folder

# The most cells `cut` takes on. Both parts keep the whole box, and writing
# them (e.g. .schem) peaks near 100 bytes a cell: a 256^3 sample (16.7 M
# cells, exactly this limit) peaks at about 1.7 GB; the 64 M cells a blueprint
# may hold would need over 4 GB.
MAX_CUT_CELLS = 1 << 24


def part_stem(path: Path) -> str:
    """The parts' name: the input file's own stem with anything that is not
    a plain file-name character replaced, never the name stored inside the
    file (which could hold `../` or an absolute path)."""
    stem = re.sub(r"[\x00-\x1f\x7f/\\]", "_", path.stem)
    return stem if stem.strip(".") else "blueprint"


@click.command()
@click.argument("blueprint", type=BLUEPRINT)
@click.option("--axis", type=click.Choice(["x", "y", "z"]), default=None,
              help="Axis the cut plane crosses (default: the longest).")
@click.option("--at", "at", default="half", show_default=True,
              help="Plane position in blueprint coordinates: cells < AT go to part 0; "
                   "an integer, half, or random (half +- 2).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for --at random.")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), required=True,
              help="Directory for NAME_part0 and NAME_part1 (NAME: the input file's name).")
@click.option("--format", "fmt", default="toml", show_default=True,
              help="Extension of the written parts (toml, schem, nbt, litematic, ...).")
def cut(blueprint, axis, at, seed, out, fmt):
    """Cut BLUEPRINT (a file or a bundled name) by a plane into two parts.

    Both parts keep the whole box (the other part's cells become air), so
    their coordinates match the original's. Both parts are written, or
    neither."""
    from dataclasses import replace

    import numpy as np

    from voxgen import formats
    from voxgen.atomic_write import atomic_outputs
    from voxgen.bundled import resolve_blueprint
    from voxgen.cut_plane import axis_index, cut_position
    from voxgen.errors import ParameterError, VoxgenError

    if not out:
        raise VoxgenError("-o is empty: name the folder for the two parts")
    if not re.fullmatch(r"\.?[A-Za-z0-9]+", fmt):
        raise VoxgenError(f"--format is a file extension such as schem or toml, not {fmt!r}")
    from voxgen.formats.file_palette import cell_limit

    path = resolve_blueprint(blueprint)
    with cell_limit(MAX_CUT_CELLS, "too large to cut"):  # from the header, before the blocks are decoded
        structure = load_blueprint(path)
    cells = int(np.prod(structure.shape))
    if cells > MAX_CUT_CELLS:                            # (a format that sums regions: the whole box)
        size = "x".join(str(e) for e in structure.shape)
        raise VoxgenError(f"too large to cut: {size} = {cells:,} cells "
                          f"(limit {MAX_CUT_CELLS:,})", path)
    a = axis_index(axis, structure.shape)
    try:
        pos = cut_position(at, structure.shape[a], np.random.default_rng(seed))
    except ParameterError as err:                        # the library names `at`; the user typed --at
        raise err.as_option(path=path) from None
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise VoxgenError("-o must name a directory", out)
    name = part_stem(path)
    targets = [out / f"{name}_part{i}.{fmt.lstrip('.')}" for i in range(2)]
    formats.format_for_output(targets[0])               # refuse a bad format before writing
    parts = structure.cut_along(a, pos)
    with output_folder(out), atomic_outputs(targets) as temps:     # both parts or neither
        for i, (part, tmp) in enumerate(zip(parts, temps)):
            meta = {k: v for k, v in part.metadata.items() if k not in ("machine", "format")}
            formats.save(replace(part, name=f"{name}_part{i}", metadata=meta), tmp)
    for part, target in zip(parts, targets):
        click.echo(f"{target}  {part.count_non_air()} blocks")
    click.echo(f"cut {name} along {'xyz'[a]} at {pos}")

