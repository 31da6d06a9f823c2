"""Performance review: each fast path gives exactly what its slow, obviously
correct twin (kept here; bench/large_files.py times the two) gives.

    obj_text_twin        .obj text as np.savetxt wrote it, one pass per block type
    count_faces_twin     visible faces counted cell by cell, neighbour by neighbour
    sponge block entities read with and without the tolist() fast path
    sniff                a Sponge v3 file decided without walking its block entities
    render/export        draw from blocks alone: block entities are never decoded
"""

from __future__ import annotations

import importlib
import io

import nbtlib
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io, nbt_walk, sponge
from voxgen.render import export as export_mod
from voxgen.render import mesh as mesh_mod
from voxgen.structure import Structure

PALETTE = ("minecraft:air", "minecraft:stone", "minecraft:chest[facing=north,type=single,waterlogged=false]",
           "minecraft:oak_planks", "minecraft:red_wool")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def random_structure(shape, seed=0, fill=0.4, chests=0) -> Structure:
    rng = np.random.default_rng(seed)
    blocks = np.where(rng.random(shape) < fill, rng.integers(1, len(PALETTE), shape), 0).astype(np.int32)
    s = Structure(blocks, PALETTE)
    cells = np.argwhere(blocks == 2)[:chests]
    s.block_entities = {tuple(int(v) for v in c): nbtlib.Compound({
        "id": nbtlib.String("minecraft:chest"), "CustomName": nbtlib.String(f"c{i}"),
        "Items": nbtlib.List[nbtlib.Compound]([])}) for i, c in enumerate(cells)}
    return s


# --- .obj text ----------------------------------------------------------------

def obj_text_twin(mesh, mtl_name: str) -> str:
    """The .obj text as the original writer made it: np.savetxt, one boolean
    pass over every face per block type."""
    names = [export_mod.material_name(s) for s in mesh.palette]
    types = sorted({names[b] for b in np.unique(mesh.face_block)})
    face_type = np.array([names[b] for b in mesh.face_block], dtype=object)
    out = io.StringIO()
    out.write(f"# voxgen: {mesh.n_faces} block faces\nmtllib {mtl_name}\n")
    np.savetxt(out, mesh.vertices, fmt="v %d %d %d")
    for name in types:
        out.write(f"o {name}\nusemtl {name}\n")
        np.savetxt(out, mesh.faces[face_type == name] + 1, fmt="f %d %d %d %d")
    return out.getvalue()


@pytest.mark.parametrize("shape,seed", [((1, 1, 1), 0), ((9, 7, 5), 1), ((30, 20, 30), 2)])
def test_obj_is_byte_for_byte_the_savetxt_text(tmp_path, monkeypatch, shape, seed):
    monkeypatch.setattr(export_mod, "_ROWS_PER_CHUNK", 7)          # many chunks, a ragged last one
    s = random_structure(shape, seed, fill=1.0 if shape == (1, 1, 1) else 0.4)
    mesh = export_mod.export_mesh(s, tmp_path / "m.obj")
    assert (tmp_path / "m.obj").read_text() == obj_text_twin(mesh, "m.mtl")


def test_obj_groups_types_that_share_a_material(tmp_path):
    # two states of one block share a material: their faces form one group, in mesh order
    palette = ("minecraft:air", "minecraft:oak_log[axis=x]", "minecraft:stone", "minecraft:oak_log[axis=y]")
    blocks = np.array([[[1, 2, 3, 1]], [[3, 0, 2, 1]]], np.int32)
    mesh = export_mod.export_mesh(Structure(blocks, palette), tmp_path / "m.obj")
    assert (tmp_path / "m.obj").read_text() == obj_text_twin(mesh, "m.mtl")


# --- face count ---------------------------------------------------------------

def count_faces_twin(filled: np.ndarray) -> int:
    """Visible faces, cell by cell: a face shows where the neighbour is empty
    or outside the box."""
    X, Y, Z = filled.shape
    n = 0
    for x, y, z in np.argwhere(filled):
        for dx, dy, dz in mesh_mod.NORMALS:
            a, b, c = x + dx, y + dy, z + dz
            n += not (0 <= a < X and 0 <= b < Y and 0 <= c < Z and filled[a, b, c])
    return n


@pytest.mark.parametrize("slab", [1, 5, 64, 1 << 22])
def test_count_faces_agrees_with_the_cell_by_cell_twin(monkeypatch, slab):
    monkeypatch.setattr(mesh_mod, "_SLAB_CELLS", slab)                # one x-layer a slab .. all at once
    rng = np.random.default_rng(slab)
    for shape in [(1, 1, 1), (0, 3, 3), (3, 0, 2), (2, 3, 0), (3, 4, 5), (7, 1, 2), (1, 9, 1), (9, 9, 9)]:
        for p in (0.0, 0.3, 0.7, 1.0):
            filled = rng.random(shape) < p
            assert mesh_mod.count_faces(filled) == count_faces_twin(filled), (shape, p)
            assert mesh_mod.count_faces(filled) == sum(len(f) for f in mesh_mod.visible_faces(filled))


def test_count_faces_takes_a_strided_view():
    filled = np.random.default_rng(3).random((6, 8, 10)) < 0.5
    view = filled.transpose(2, 0, 1)[:, ::2]
    assert mesh_mod.count_faces(view) == count_faces_twin(view)


# --- Sponge block entities ----------------------------------------------------

@pytest.mark.parametrize("version", [2, 3])
def test_sponge_block_entities_come_back_unchanged(tmp_path, version):
    s = random_structure((12, 6, 10), seed=4, chests=200)
    path = tmp_path / "c.schem"
    sponge.save(s, path, version=version)
    back = formats.load(path)
    assert list(back.block_entities) == sorted(s.block_entities)
    assert all(type(v) is int for pos in back.block_entities for v in pos)
    for pos, tag in back.block_entities.items():
        assert tag == s.block_entities[pos] and list(tag) == ["id", "CustomName", "Items"]
        assert all(type(tag[k]) is type(s.block_entities[pos][k]) for k in tag)


def test_sponge_block_entity_outside_is_named_as_before(tmp_path):
    entries = nbtlib.List[nbtlib.Compound]([nbtlib.Compound({
        "Pos": nbtlib.IntArray([1, 7, 0]), "Id": nbtlib.String("minecraft:chest")})])
    with pytest.raises(VoxgenError, match=r"block entity position \[1, 7, 0\] is outside the structure"):
        sponge._read_block_entities(entries, 3, (2, 2, 2), tmp_path / "x.schem")


# --- sniffing -----------------------------------------------------------------

def test_sniff_decides_a_v3_file_without_walking_its_block_entities(tmp_path, monkeypatch):
    sniff_mod = importlib.import_module("voxgen.formats.sniff")  # (the package's `sniff` is a function)

    path = tmp_path / "many.schem"
    sponge.save(random_structure((40, 10, 40), seed=5, chests=3000), path, version=3)
    data, _ = nbt_io.read_bytes(path)
    assert len(data) >= nbt_walk.COMPILED_MIN_BYTES
    skipped = []

    def recording_skip(data, pos, tag, order, depth):
        end = nbt_walk.skip(data, pos, tag, order, depth)
        skipped.append(end - pos)
        return end

    monkeypatch.setattr(sniff_mod, "_skip", recording_skip)
    assert sniff_mod.sniff_format(path) == "sponge"
    assert max(skipped) < 1000, skipped                               # the Blocks compound was not walked
    assert formats.load(path).block_entities


def test_sniff_still_refuses_a_small_truncated_v3_file(tmp_path):
    path = tmp_path / "small.schem"
    sponge.save(random_structure((4, 3, 4), seed=6, chests=5), path, version=3)
    data, _ = nbt_io.read_bytes(path)
    assert len(data) < nbt_walk.COMPILED_MIN_BYTES
    cut = tmp_path / "cut.schem"
    cut.write_bytes(data[:len(data) - 40])
    with pytest.raises(VoxgenError, match="corrupt or truncated NBT"):
        formats.sniff(cut)


# --- render and export draw from blocks alone ---------------------------------

@pytest.fixture
def chests_file(tmp_path):
    path = tmp_path / "chests.schem"
    s = random_structure((10, 4, 10), seed=7, chests=50)
    sponge.save(s, path)
    return path, s


def test_export_never_decodes_block_entities(chests_file, tmp_path, monkeypatch):
    path, s = chests_file
    full = tmp_path / "full.glb"
    export_mod.export_mesh(s, full)

    def boom(*a, **k):
        raise AssertionError("block entities decoded")

    monkeypatch.setattr(sponge, "_read_block_entities", boom)
    result = run("export", path, "-o", tmp_path / "lean.glb")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lean.glb").read_bytes() == full.read_bytes()


def test_render_never_decodes_block_entities(chests_file, tmp_path, monkeypatch):
    pytest.importorskip("pyvista")
    path, _ = chests_file

    def boom(*a, **k):
        raise AssertionError("block entities decoded")

    monkeypatch.setattr(sponge, "_read_block_entities", boom)
    result = run("render", path, "-o", tmp_path / "r.png", "--size", "64")
    if result.exit_code != 0 and "OpenGL" in result.output:
        pytest.skip("no OpenGL here")
    assert result.exit_code == 0, result.output
