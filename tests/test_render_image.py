"""Off-screen stills: the expected block colours in the expected places."""

import ctypes.util
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voxgen.blocks import compile_palette
from voxgen.errors import VoxgenError
from voxgen.render import offscreen
from voxgen.render.shapes import BRIGHTNESS, DIRECTIONS
from voxgen.structure import Structure

needs_gl = pytest.mark.skipif(offscreen.opengl_problem() is not None,
                              reason=f"no OpenGL: {offscreen.opengl_problem()}")

PALETTE = ["minecraft:air", "minecraft:red_wool", "minecraft:blue_wool",
           "minecraft:gold_block", "minecraft:emerald_block"]
COLOURS = compile_palette(PALETTE).colour.astype(int)
ROOT = Path(__file__).resolve().parent.parent
BACKGROUND = np.rint(np.array((0.88, 0.91, 0.95)) * 255)


def shaded(block, direction):
    return np.rint(COLOURS[block] * BRIGHTNESS[DIRECTIONS.index(direction)])


def assert_colour(image, row, col, expected, tol=3):
    got = image[row, col].astype(int)
    assert np.abs(got - expected).max() <= tol, f"pixel ({row}, {col}) is {got}, want {expected}"


def test_palette_colours_are_distinct():
    assert len({tuple(c) for c in COLOURS[1:]}) == 4


@needs_gl
def test_top_view_shows_each_block_in_its_quadrant():
    from voxgen.render.scene import render_still

    # Seen from above, north at the top and east to the right, like a map.
    blocks = np.zeros((2, 1, 2), np.int32)
    blocks[0, 0, 0], blocks[1, 0, 0] = 1, 2      # north-west red, north-east blue
    blocks[0, 0, 1], blocks[1, 0, 1] = 3, 4      # south-west gold, south-east emerald
    image = render_still(Structure(blocks, PALETTE), size=128, azimuth=0, elevation=90)
    assert image.shape == (128, 128, 3)
    # The camera fits the box to the picture: each block's top is about a
    # quarter of it; sample the middle of each quarter.
    q = 32
    assert_colour(image, q, q, shaded(1, "up"))
    assert_colour(image, q, 128 - q, shaded(2, "up"))
    assert_colour(image, 128 - q, q, shaded(3, "up"))
    assert_colour(image, 128 - q, 128 - q, shaded(4, "up"))


@needs_gl
def test_side_view_shows_the_south_faces_stacked():
    from voxgen.render.scene import render_still

    blocks = np.array([[[3], [1]]], np.int32)     # x=0: gold at y=0, red at y=1
    image = render_still(Structure(blocks, PALETTE), size=96, azimuth=0, elevation=0)
    assert_colour(image, 48 - 10, 48, shaded(1, "south"))     # upper block: red
    assert_colour(image, 48 + 10, 48, shaded(3, "south"))     # lower block: gold
    assert_colour(image, 48, 5, BACKGROUND)


@needs_gl
def test_compare_puts_the_second_structure_in_the_right_panel():
    from voxgen.render.scene import render_still

    left = Structure(np.full((1, 1, 1), 1, np.int32), PALETTE)
    right = Structure(np.full((1, 1, 1), 2, np.int32), PALETTE)
    image = render_still(left, size=64, azimuth=0, elevation=90, compare=right)
    assert image.shape == (64, 128, 3)
    assert_colour(image, 32, 32, shaded(1, "up"))
    assert_colour(image, 32, 96, shaded(2, "up"))


@needs_gl
def test_cli_compare_of_two_files_lines_their_blocks_up(tmp_path):
    """A grown structure keeps its training margin of air: beside the
    blueprint it must look the same, not nearer the camera."""
    from PIL import Image

    from voxgen.cli import main
    from voxgen.formats.text import save

    blocks = np.zeros((3, 2, 2), np.int32)
    blocks[:, 0] = 3
    blocks[1, 1, 1] = 4
    save(Structure(blocks, PALETTE), tmp_path / "a.toml")
    save(Structure(blocks, PALETTE).pad([(1, 2), (0, 1), (2, 0)]), tmp_path / "b.toml")
    out = tmp_path / "ab.png"
    result = CliRunner().invoke(main, ["render", str(tmp_path / "a.toml"), "--compare", str(tmp_path / "b.toml"),
                                       "-o", str(out), "--size", "96"])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    left, right = image[24:, :96], image[24:, 96:]          # below the panels' labels
    assert (left != BACKGROUND).any(axis=2).sum() > 500
    assert np.abs(left - right).max() <= 1


@needs_gl
def test_cli_render_writes_a_png_of_the_blueprint(tmp_path):
    from PIL import Image

    from voxgen.cli import main
    from voxgen.formats.text import save

    path = tmp_path / "gold.toml"
    save(Structure(np.full((2, 2, 2), 3, np.int32), PALETTE), path)
    out = tmp_path / "gold.png"
    result = CliRunner().invoke(main, ["render", str(path), "-o", str(out), "--size", "80",
                                       "--elevation", "90", "--azimuth", "0"])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (80, 80, 3)
    assert_colour(image, 40 - 8, 40 + 8, shaded(3, "up"))     # off the block outlines


def test_cli_render_refuses_bad_output_and_writes_nothing(tmp_path):
    from voxgen.cli import main

    out = tmp_path / "x.jpg"
    result = CliRunner().invoke(main, ["render", "blueprints/flying_machine.toml", "-o", str(out)])
    assert result.exit_code == 2
    assert ".png, .gif or .mp4" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, ["render", str(tmp_path / "nope.toml"), "-o",
                                       str(tmp_path / "y.png")])
    assert result.exit_code == 2 and "no such file" in result.output
    assert list(tmp_path.iterdir()) == []


def test_missing_egl_is_a_clear_error_not_a_crash(monkeypatch):
    monkeypatch.setattr(offscreen.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(VoxgenError, match="libegl1 libgl1-mesa-dri"):
        offscreen.require_opengl()


def test_missing_mesa_driver_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(offscreen.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("LIBGL_DRIVERS_PATH", raising=False)
    monkeypatch.delenv("__EGL_VENDOR_LIBRARY_FILENAMES", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library",
                        lambda name: "libEGL.so.1" if name == "EGL" else None)
    monkeypatch.setattr(offscreen.glob, "glob", lambda pattern: [])
    assert "DRI" in offscreen.opengl_problem()
    with pytest.raises(VoxgenError, match="apt-get install libegl1 libgl1-mesa-dri"):
        offscreen.require_opengl()


@needs_gl
def test_leaving_out_faces_turned_from_the_camera_changes_no_pixel_that_matters():
    from voxgen.render.scene import Scene

    rng = np.random.default_rng(2)
    blocks = np.where(rng.random((9, 7, 8)) < 0.5, rng.integers(1, 5, (9, 7, 8)), 0)
    s = Structure(blocks, PALETTE)
    images = []
    for fixed in (False, True):
        with Scene(160, fixed_camera=fixed) as scene:
            scene.frame_structure(s, azimuth=120, elevation=25)
            mesh = scene.show(s)
            images.append(scene.snapshot())
        if fixed:
            assert mesh.n_faces < 0.7 * n_all
        n_all = mesh.n_faces
    differ = (np.abs(images[0].astype(int) - images[1]).max(axis=2) > 3).mean()
    assert differ < 0.001


def test_display_without_libgl_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(offscreen.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(VoxgenError, match="libGL is not installed"):
        offscreen.require_opengl()


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1, result.output
    return result.output


@pytest.mark.parametrize("suffix", [".png", ".gif", ".mp4"])
def test_cli_render_refuses_an_empty_blueprint_and_writes_nothing(tmp_path, suffix):
    from voxgen.cli import main
    from voxgen.formats.text import save

    empty = tmp_path / "empty.toml"
    save(Structure(np.zeros((3, 2, 2), np.int32), PALETTE), empty)
    out = tmp_path / f"out{suffix}"
    output = one_line_error(CliRunner().invoke(main, ["render", str(empty), "-o", str(out)]))
    assert "empty.toml: nothing to render: the structure has no blocks" in output
    # Both sides of a comparison empty: still nothing to draw.
    output = one_line_error(CliRunner().invoke(main, ["render", str(empty), "--compare", str(empty),
                                                      "-o", str(out)]))
    assert "nothing to render" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.toml"]


def test_marked_titles_name_the_empty_side():
    from voxgen.cli.render import _marked

    full = Structure(np.ones((1, 1, 1), np.int32), PALETTE)
    empty = Structure(np.zeros((1, 1, 1), np.int32), PALETTE)
    assert _marked(("a", "b"), full, empty) == ("a", "b (no blocks)")
    assert _marked(("a", "b"), empty, None) == ("a (no blocks)", "b")


@needs_gl
def test_cli_compare_with_an_empty_side_draws_the_other_and_labels_the_empty_one(tmp_path):
    """An NCA that grew nothing is a result: compared with its blueprint, it
    shows as an empty panel whose title says "(no blocks)"."""
    from PIL import Image

    from voxgen.cli import main
    from voxgen.formats.text import save

    blocks = np.zeros((3, 2, 2), np.int32)
    blocks[:, 0] = 3
    save(Structure(blocks, PALETTE), tmp_path / "a.toml")
    save(Structure(np.zeros((2, 2, 2), np.int32), PALETTE), tmp_path / "b.toml")
    out = tmp_path / "ab.png"
    result = CliRunner().invoke(main, ["render", str(tmp_path / "a.toml"), "--compare",
                                       str(tmp_path / "b.toml"), "-o", str(out), "--size", "128"])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    drawn = np.abs(image - BACKGROUND).max(axis=2) > 10
    left, right = drawn[:, :128], drawn[:, 128:]
    assert left[24:].sum() > 500 and not right[24:].any()      # below the titles
    # Its title is "b (no blocks)", far wider than "b" alone (6 pixels at this size).
    columns = right.any(axis=0).nonzero()[0]
    assert columns.max() - columns.min() > 40


@pytest.mark.parametrize("output, words", [
    ("x.png/", "names a folder"),
    ("", "-o is empty"),
    ("x", "not 'no extension'"),
])
def test_cli_render_refuses_odd_output_paths_in_one_line(tmp_path, monkeypatch, output, words):
    from voxgen.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["render", str(ROOT / "blueprints" / "flying_machine.toml"),
                                       "-o", output])
    assert words in one_line_error(result)
    assert "'none'" not in result.output and ".:" not in result.output
    assert list(tmp_path.iterdir()) == []
