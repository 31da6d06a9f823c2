"""Mesh export: files reload (with trimesh) with the expected faces and colours."""

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from voxgen.blocks import compile_palette
from voxgen.errors import VoxgenError
from voxgen.render.export import export_mesh, material_name
from voxgen.render.mesh import build_mesh
from voxgen.structure import Structure

PALETTE = ["minecraft:air", "minecraft:stone", "minecraft:red_wool",
           "minecraft:observer[facing=up,powered=false]",
           "minecraft:observer[facing=down,powered=false]"]
COLOURS = compile_palette(PALETTE).colour


@pytest.fixture
def structure():
    rng = np.random.default_rng(11)
    blocks = np.where(rng.random((5, 4, 6)) < 0.6, rng.integers(1, 5, (5, 4, 6)), 0)
    return Structure(blocks, PALETTE)


def geometries(path):
    loaded = trimesh.load(path, process=False)
    return list(loaded.geometry.values()) if hasattr(loaded, "geometry") else [loaded]


def expected_triangles(structure):
    """Sorted (centroid, rgb) of every triangle, from the mesh builder."""
    mesh = build_mesh(structure)
    tri = mesh.triangles()
    colours = np.repeat(mesh.unshaded_colours(), 2, axis=0)
    return sorted(zip(corner_sums(mesh.vertices, tri), map(tuple, colours.tolist())))


def corner_sums(vertices, triangles):
    """Each triangle's three corners added up: integers (3 x centroid) that
    identify a triangle of a block mesh exactly."""
    return map(tuple, np.rint(vertices[triangles].sum(axis=1)).astype(int).tolist())


def test_glb_reloads_with_the_same_triangles_and_colours(structure, tmp_path):
    mesh = export_mesh(structure, tmp_path / "s.glb")
    (geometry,) = geometries(tmp_path / "s.glb")
    assert len(geometry.faces) == 2 * mesh.n_faces
    colours = geometry.visual.vertex_colors[:, :3]
    # Vertices are unshared, so a triangle's three vertices carry one colour.
    tri_colours = colours[geometry.faces]
    assert (tri_colours == tri_colours[:, :1]).all()
    got = sorted(zip(corner_sums(geometry.vertices, geometry.faces),
                     map(tuple, tri_colours[:, 0].tolist())))
    assert got == expected_triangles(structure)


def test_ply_reloads_with_face_colours(structure, tmp_path):
    mesh = export_mesh(structure, tmp_path / "s.ply")
    (geometry,) = geometries(tmp_path / "s.ply")
    assert len(geometry.faces) == 2 * mesh.n_faces
    got = sorted(zip(corner_sums(geometry.vertices, geometry.faces),
                     map(tuple, geometry.visual.face_colors[:, :3].tolist())))
    assert got == expected_triangles(structure)


def test_obj_has_one_material_per_block_type(structure, tmp_path):
    mesh = export_mesh(structure, tmp_path / "s.obj")
    assert (tmp_path / "s.mtl").exists()
    parts = geometries(tmp_path / "s.obj")
    # Two observer states share one block type, hence one material.
    names = {material_name(s) for s in PALETTE[1:]}
    assert len(parts) == len(names) == 3
    faces_per_colour = {tuple(g.visual.material.main_color[:3].tolist()): len(g.faces)
                        for g in parts}
    expected = {}
    for b in mesh.face_block.tolist():
        key = tuple(COLOURS[b].tolist())
        expected[key] = expected.get(key, 0) + 2          # each quad is two triangles
    assert faces_per_colour == expected
    assert sum(len(g.faces) for g in parts) == 2 * mesh.n_faces


def test_bad_extension_or_empty_structure_writes_nothing(tmp_path, structure):
    with pytest.raises(VoxgenError, match=".glb, .obj or .ply"):
        export_mesh(structure, tmp_path / "s.stl")
    empty = Structure(np.zeros((2, 2, 2), np.int32), PALETTE)
    with pytest.raises(VoxgenError, match="no blocks"):
        export_mesh(empty, tmp_path / "e.glb")
    assert list(tmp_path.iterdir()) == []


def test_cli_export(tmp_path):
    from voxgen.cli import main

    out = tmp_path / "fm.ply"
    result = CliRunner().invoke(main, ["export", "blueprints/flying_machine.toml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "24 block faces" in result.output
    assert len(geometries(out)[0].faces) == 48
    result = CliRunner().invoke(main, ["export", "blueprints/flying_machine.toml", "-o",
                                       str(tmp_path / "x.fbx")])
    assert result.exit_code == 2 and "error" in result.output


@pytest.mark.parametrize("output, words", [("x.glb/", "names a folder"), ("", "-o is empty")])
def test_cli_export_refuses_odd_output_paths_in_one_line(tmp_path, output, words):
    from voxgen.cli import main

    target = f"{tmp_path}/{output}" if output else output
    result = CliRunner().invoke(main, ["export", "flying_machine", "-o", target])
    assert result.exit_code == 2 and words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
