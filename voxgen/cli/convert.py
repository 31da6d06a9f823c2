"""`voxgen convert IN OUT [--schem-version 2|3]`: any readable format to any
writable one, chosen by OUT's extension."""

from __future__ import annotations

import click

from voxgen.cli import BLUEPRINT, GivenPath


@click.command()
@click.argument("source", metavar="IN|NAME", type=BLUEPRINT)
@click.argument("target", metavar="OUT", type=GivenPath("the file to write", "tree.schem", path_type=str))
@click.option("--schem-version", type=click.Choice(["2", "3"]), default=None,
              help="Sponge schematic version for .schem output (default 3).")
def convert(source, target, schem_version):
    """Convert blueprint IN (a file or a bundled blueprint NAME) to OUT
    (format from OUT's extension)."""
    from voxgen import formats
    from voxgen.bundled import resolve_blueprint
    from voxgen.cli import load_blueprint
    from voxgen.errors import VoxgenError

    fmt = formats.format_for_output(target)
    opts = {}
    if schem_version is not None:
        if fmt != "sponge":
            raise VoxgenError("--schem-version applies to .schem output only", target)
        opts["version"] = int(schem_version)
    structure = load_blueprint(resolve_blueprint(source))
    formats.save(structure, target, **opts)
    x, y, z = structure.shape
    click.echo(f"wrote {target} ({formats.FORMATS[fmt][2]}, {x} x {y} x {z}, "
               f"{structure.count_non_air()} blocks)")
