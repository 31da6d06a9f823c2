"""The numpy face-culled mesh against a slow per-cube twin."""

import numpy as np
import pytest

from voxgen.blocks import compile_palette
from voxgen.render.mesh import build_mesh
from voxgen.render.shapes import BRIGHTNESS, DIRECTIONS
from voxgen.structure import Structure
from render_mesh_twin import TWIN_NORMALS, per_cube_faces

PALETTE = ["minecraft:air", "minecraft:stone", "minecraft:red_wool", "minecraft:slime_block",
           "minecraft:observer[facing=up,powered=false]", "minecraft:cave_air"]


def numpy_faces(mesh):
    """The same tuples from a VoxelMesh (cell = min corner of the face, moved
    inward for faces on the far side)."""
    out = []
    for f in range(mesh.n_faces):
        quad = mesh.vertices[mesh.faces[f]].astype(int)
        name = DIRECTIONS[mesh.face_direction[f]]
        cell = quad.min(axis=0) - np.maximum(TWIN_NORMALS[name], 0)
        corners = frozenset(tuple(v) for v in quad.tolist())
        out.append((*cell.tolist(), name, *mesh.face_colours[f].tolist(), corners))
    return sorted(out, key=lambda f: f[:7])


def random_structure(rng, shape=(6, 5, 7), fill=0.5, with_void=True):
    blocks = np.where(rng.random(shape) < fill, rng.integers(1, len(PALETTE), shape), 0)
    void = rng.random(shape) < 0.1 if with_void else None
    return Structure(blocks, PALETTE, void=void)


@pytest.mark.parametrize("seed", range(6))
def test_mesh_matches_per_cube_twin(seed):
    s = random_structure(np.random.default_rng(seed))
    assert numpy_faces(build_mesh(s)) == per_cube_faces(s)


def test_mesh_matches_twin_with_cut_and_hidden_blocks():
    rng = np.random.default_rng(7)
    s = random_structure(rng, fill=0.8)
    keep = rng.random(s.shape) < 0.7
    hidden = np.zeros(len(PALETTE), bool)
    hidden[2] = True
    mesh = build_mesh(s, keep=keep, hidden=hidden)
    assert numpy_faces(mesh) == per_cube_faces(s, keep=keep, hidden={2})
    assert 2 not in set(mesh.face_block.tolist())


def test_solid_box_shows_only_its_shell():
    s = Structure(np.ones((3, 4, 5), np.int32), PALETTE)
    mesh = build_mesh(s)
    assert mesh.n_faces == 2 * (3 * 4 + 4 * 5 + 3 * 5)


def test_single_block_colours_per_direction():
    s = Structure(np.full((1, 1, 1), 2, np.int32), PALETTE)
    mesh = build_mesh(s)
    base = compile_palette(PALETTE).colour[2].astype(float)
    assert mesh.n_faces == 6
    for f in range(6):
        expected = np.rint(base * BRIGHTNESS[mesh.face_direction[f]]).astype(int)
        assert mesh.face_colours[f].tolist() == expected.tolist()
    assert (mesh.unshaded_colours() == base.astype(np.uint8)).all()


def test_winding_points_outward_and_vertices_are_unshared():
    s = random_structure(np.random.default_rng(3), with_void=False)
    mesh = build_mesh(s)
    v = mesh.vertices[mesh.faces]                       # (F, 4, 3)
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    expected = np.array([TWIN_NORMALS[DIRECTIONS[d]] for d in mesh.face_direction])
    assert (normal == expected).all()
    assert len(mesh.vertices) == 4 * mesh.n_faces
    assert sorted(mesh.faces.ravel().tolist()) == list(range(4 * mesh.n_faces))
    tri = mesh.triangles()
    assert tri.shape == (2 * mesh.n_faces, 3)
    tnormal = np.cross(mesh.vertices[tri[:, 1]] - mesh.vertices[tri[:, 0]],
                       mesh.vertices[tri[:, 2]] - mesh.vertices[tri[:, 0]])
    assert (tnormal == np.repeat(expected, 2, axis=0)).all()


def test_air_void_and_cave_air_draw_nothing():
    blocks = np.array([[[0, 5]]], np.int32)
    s = Structure(blocks, PALETTE)
    assert build_mesh(s).n_faces == 0
    s = Structure(np.ones((2, 1, 1), np.int32), PALETTE, void=np.array([[[True]], [[False]]]))
    assert build_mesh(s).n_faces == 6


@pytest.mark.parametrize("eye", [(20.0, 15.0, 25.0), (-8.0, 2.5, 3.5), (3.0, -10.0, -4.0)])
def test_eye_leaves_out_exactly_the_faces_turned_away(eye):
    s = random_structure(np.random.default_rng(5))
    faces = per_cube_faces(s)
    expected = []
    for face in faces:
        normal = np.array(TWIN_NORMALS[face[3]])
        corner = np.array(next(iter(face[7])))
        if normal @ (np.array(eye) - corner) > 0:
            expected.append(face)
    got = numpy_faces(build_mesh(s, eye=np.array(eye)))
    assert got == expected
    assert 0 < len(got) < len(faces)
