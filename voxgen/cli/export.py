"""`voxgen export`: a blueprint's visible block faces as a .glb, .obj or .ply mesh."""

from __future__ import annotations

import click

from voxgen.cli import BLUEPRINT


@click.command()
@click.argument("file", metavar="FILE|NAME", type=BLUEPRINT)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output mesh: .glb, .obj (+ .mtl beside it) or .ply.")
def export(file, output):
    """Export FILE (or bundled blueprint NAME) as a mesh with one colour per block type."""
    from voxgen.bundled import resolve_blueprint
    from voxgen.cli import load_blueprint, output_path
    from voxgen.render.export import export_mesh

    output = output_path(output, "mesh.glb")
    path = resolve_blueprint(file)
    # A mesh is made of blocks alone: block entities are not decoded (most of
    # the 256^3 sample's load time).
    mesh = export_mesh(load_blueprint(path, block_entities=False), output, source=path)
    click.echo(f"wrote {output} ({mesh.n_faces} block faces)")
