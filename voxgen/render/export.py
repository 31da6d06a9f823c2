"""Mesh export: the visible faces of a Structure as .glb, .obj or .ply.

Every face keeps its own four vertices, so colours cannot bleed between
neighbouring blocks. Colours are the registry's exact block colours (no
direction shading: viewers light meshes themselves). Coordinates are block
units in the structure's index space, +y up (glTF's convention too).

    .glb  one trimesh mesh, per-vertex colours (COLOR_0), two triangles a face
    .ply  one trimesh mesh, per-face colours, two triangles a face
    .obj  quads, one material per block type (Kd = block colour) in a .mtl beside
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxgen.atomic_write import atomic_output, atomic_outputs, check_output
from voxgen.blocks import block_id
from voxgen.errors import VoxgenError
from voxgen.render.mesh import VoxelMesh, build_mesh, require_blocks
from voxgen.structure import Structure


def _trimesh(mesh: VoxelMesh, per_vertex: bool):
    import trimesh

    rgba = np.concatenate([mesh.unshaded_colours(), np.full((mesh.n_faces, 1), 255, np.uint8)],
                          axis=1)
    colours = dict(vertex_colors=np.repeat(rgba, 4, axis=0)) if per_vertex else dict(
        face_colors=np.repeat(rgba, 2, axis=0))
    return trimesh.Trimesh(mesh.vertices, mesh.triangles(), process=False, **colours)


def _save_glb(mesh: VoxelMesh, path: Path) -> None:
    data = _trimesh(mesh, per_vertex=True).export(file_type="glb")
    with atomic_output(path) as partial:
        partial.write_bytes(data)


def _save_ply(mesh: VoxelMesh, path: Path) -> None:
    data = _trimesh(mesh, per_vertex=False).export(file_type="ply")
    with atomic_output(path) as partial:
        partial.write_bytes(data)


def material_name(state: str) -> str:
    """`minecraft:sticky_piston[...]` -> `minecraft_sticky_piston`."""
    return block_id(state).replace(":", "_")


def _save_obj(mesh: VoxelMesh, path: Path) -> None:
    """Quads grouped by block type; `path.with_suffix('.mtl')` holds the colours."""
    names = [material_name(s) for s in mesh.palette]
    types = sorted({names[b] for b in np.unique(mesh.face_block)})
    colour_of = {names[b]: mesh.block_colours[b] for b in range(len(names))}
    mtl = path.with_suffix(".mtl")
    lines = ["# voxgen block colours"]
    for name in types:
        r, g, b = (colour_of[name] / 255.0).tolist()
        lines += [f"newmtl {name}", f"Kd {r:.6f} {g:.6f} {b:.6f}", "Ka 0 0 0", "d 1", "illum 1"]

    face_type = np.array([names[b] for b in mesh.face_block], dtype=object)
    with atomic_outputs([path, mtl]) as (partial, mtl_partial):
        mtl_partial.write_text("\n".join(lines) + "\n")
        with open(partial, "w") as out:
            out.write(f"# voxgen: {mesh.n_faces} block faces\nmtllib {mtl.name}\n")
            np.savetxt(out, mesh.vertices, fmt="v %d %d %d")
            for name in types:
                quads = mesh.faces[face_type == name] + 1      # OBJ counts from 1
                out.write(f"o {name}\nusemtl {name}\n")
                np.savetxt(out, quads, fmt="f %d %d %d %d")


EXPORTERS = {".glb": _save_glb, ".obj": _save_obj, ".ply": _save_ply}


def export_mesh(structure: Structure, path, source=None) -> VoxelMesh:
    """Write the visible faces of `structure` to `path` (format by extension);
    returns the mesh written (its `n_faces` quads). More than
    `mesh.MAX_FACES` faces, or none at all, is a VoxgenError naming `source`
    (the input file; else `path`), raised before any mesh is built."""
    path = Path(path)
    save = EXPORTERS.get(path.suffix.lower())
    if save is None:
        raise VoxgenError("mesh export writes .glb, .obj or .ply, not "
                          f"{path.suffix or 'no extension'!r}", path)
    for target in [path, path.with_suffix(".mtl")] if save is _save_obj else [path]:
        check_output(target)             # before the work of building the mesh
    require_blocks(structure, path if source is None else source, "export")
    mesh = build_mesh(structure, source=source)
    save(mesh, path)
    return mesh
