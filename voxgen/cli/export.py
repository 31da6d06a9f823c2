"""`voxgen export`: a blueprint's visible block faces as a .glb, .obj or .ply mesh."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.argument("file", metavar="FILE|NAME")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output mesh: .glb, .obj (+ .mtl beside it) or .ply.")
def export(file, output):
    """Export FILE (or bundled blueprint NAME) as a mesh with one colour per block type."""
    from voxgen.bundled import resolve_blueprint
    from voxgen.cli import load_blueprint
    from voxgen.errors import VoxgenError
    from voxgen.render.export import export_mesh

    if not output:
        raise VoxgenError("-o is empty: give the output file, e.g. -o mesh.glb")
    if output.endswith(("/", os.sep)):      # Path() would drop the slash and write a file
        raise VoxgenError("-o names a folder (it ends in '/'), not a file", output)
    output = Path(output)
    path = resolve_blueprint(file)
    mesh = export_mesh(load_blueprint(path), output, source=path)
    click.echo(f"wrote {output} ({mesh.n_faces} block faces)")
