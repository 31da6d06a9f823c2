"""Re-audit N1/A7/N2: mesh, simulate and cut refuse oversized input in one
line naming the file, before the big allocations (limits lowered here)."""

import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.render import mesh as mesh_mod
from voxgen.structure import Structure


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxgen: error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def checkerboard(tmp_path):
    n = 6
    x, y, z = np.indices((n, n, n))
    blocks = ((x + y + z) % 2).astype(np.int32)
    path = tmp_path / "cb.toml"
    formats.save(Structure(blocks, ("minecraft:air", "minecraft:stone"), name="cb"), path)
    return path          # 108 blocks, every face visible: 648 faces


@pytest.fixture
def no_mesh(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a mesh was built")
    monkeypatch.setattr(mesh_mod, "visible_faces", boom)


def test_count_faces_matches_the_mesh():
    rng = np.random.default_rng(1)
    for shape in [(1, 1, 1), (3, 4, 5), (7, 1, 2), (9, 9, 9), (0, 3, 3)]:
        filled = rng.random(shape) < 0.5
        assert mesh_mod.count_faces(filled) == sum(len(f) for f in mesh_mod.visible_faces(filled))


@pytest.mark.parametrize("suffix", [".glb", ".obj", ".ply"])
def test_export_refuses_too_many_faces(checkerboard, tmp_path, monkeypatch, no_mesh, suffix):
    monkeypatch.setattr(mesh_mod, "MAX_FACES", 600)
    out = tmp_path / f"cb{suffix}"
    one_line_error(run("export", checkerboard, "-o", out), str(checkerboard), "648", "600")
    assert not out.exists()


def test_render_refuses_too_many_faces(checkerboard, tmp_path, monkeypatch, no_mesh):
    monkeypatch.setattr(mesh_mod, "MAX_FACES", 600)
    one_line_error(run("render", checkerboard, "-o", tmp_path / "cb.png"), str(checkerboard),
                   "648", "600")
    small = tmp_path / "one.toml"
    formats.save(Structure(np.ones((1, 1, 1), np.int32), ("minecraft:air", "minecraft:stone")),
                 small)
    one_line_error(run("render", small, "--compare", checkerboard, "-o", tmp_path / "c.gif"),
                   str(checkerboard), "648")


def test_build_mesh_refuses_before_building(monkeypatch, no_mesh):
    monkeypatch.setattr(mesh_mod, "MAX_FACES", 5)
    s = Structure(np.ones((1, 1, 1), np.int32), ("minecraft:air", "minecraft:stone"), name="x")
    from voxgen.errors import VoxgenError
    with pytest.raises(VoxgenError, match="6 .*limit 5"):
        mesh_mod.build_mesh(s, source="x.toml")


def test_simulate_refuses_a_box_the_engine_cannot_take(tmp_path, monkeypatch):
    from voxgen.physics import engine

    def boom(*a, **k):
        raise AssertionError("converted")
    monkeypatch.setattr(engine, "MAX_BOX_CELLS", 1000)
    monkeypatch.setattr(engine, "placement_order", boom)
    path = tmp_path / "box.toml"
    formats.save(Structure(np.ones((4, 4, 4), np.int32), ("minecraft:air", "minecraft:stone")),
                 path)
    one_line_error(run("simulate", path, "--ticks", "1"), str(path), "4x4x4", "limit 1,000")


def test_cut_refuses_too_many_cells(checkerboard, tmp_path, monkeypatch):
    from voxgen.cli import cut

    monkeypatch.setattr(cut, "MAX_CUT_CELLS", 100)
    out = tmp_path / "parts"
    one_line_error(run("cut", checkerboard, "-o", out), str(checkerboard), "216", "100")
    assert not out.exists()
