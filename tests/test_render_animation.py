"""Animations: BFS reveal frames, GIF/MP4 frame counts, step counter, growth path."""

from pathlib import Path

import numpy as np
import pytest

from voxgen.errors import VoxgenError
from voxgen.render import offscreen
from voxgen.render.reveal import bfs_order, reveal_frames
from voxgen.structure import Structure

needs_gl = pytest.mark.skipif(offscreen.opengl_problem() is not None,
                              reason=f"no OpenGL: {offscreen.opengl_problem()}")
ROOT = Path(__file__).resolve().parent.parent
PALETTE = ["minecraft:air", "minecraft:stone", "minecraft:red_wool"]


def l_shape():
    blocks = np.zeros((4, 3, 2), np.int32)
    blocks[:, 0, 0] = 1
    blocks[0, :, 0] = 2
    blocks[3, 2, 1] = 1                      # a separate piece
    return Structure(blocks, PALETTE)


def test_bfs_order_visits_every_filled_cell_once_nearest_first():
    s = l_shape()
    filled = ~s.air_mask()
    order = bfs_order(filled, seed=(0, 0, 0))
    assert sorted(order.tolist()) == np.flatnonzero(filled).tolist()
    cells = np.stack(np.unravel_index(order, s.shape), axis=1)
    assert tuple(cells[0]) == (0, 0, 0)
    # Within the connected L, graph distance from the corner is the Manhattan
    # distance, so it never decreases along the order; the lone cell is last.
    assert tuple(cells[-1]) == (3, 2, 1)
    manhattan = cells[:-1].sum(axis=1)
    assert (np.diff(manhattan) >= 0).all()


def slow_bfs_order(filled, seed):
    """Slow twin of bfs_order: whole-box array waves, a piece at a time, each
    piece from its unreached cell nearest the seed; then (level, index)."""
    distance = np.full(filled.shape, -1, dtype=np.int64)
    level = 0
    steps = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))
    while (filled & (distance < 0)).any():
        candidates = np.argwhere(filled & (distance < 0))
        start = candidates[np.argmin(((candidates - np.array(seed)) ** 2).sum(axis=1))]
        frontier = np.zeros(filled.shape, dtype=bool)
        frontier[tuple(start)] = True
        while frontier.any():
            distance[frontier] = level
            level += 1
            padded, grown = np.pad(frontier, 1), np.zeros_like(frontier)
            X, Y, Z = filled.shape
            for dx, dy, dz in steps:
                grown |= padded[1 - dx:1 - dx + X, 1 - dy:1 - dy + Y, 1 - dz:1 - dz + Z]
            frontier = grown & filled & (distance < 0)
    flat = np.flatnonzero(filled)
    return flat[np.argsort(distance.ravel()[flat], kind="stable")]


@pytest.mark.parametrize("share", [0.2, 0.5, 0.9])
def test_bfs_order_equals_its_slow_twin(share):
    rng = np.random.default_rng(int(share * 10))
    for _ in range(20):
        shape = tuple(int(n) for n in rng.integers(1, 7, 3))
        filled = rng.random(shape) < share
        seed = tuple(int(rng.integers(0, n)) for n in shape)
        assert np.array_equal(bfs_order(filled, seed), slow_bfs_order(filled, seed))


def test_bfs_order_of_a_checkerboard_is_quick():
    """Every filled cell its own piece: 32,000 pieces in one queue pass (a
    wave of whole-box passes per piece took minutes)."""
    filled = np.indices((40, 40, 40)).sum(axis=0) % 2 == 0
    order = bfs_order(filled, (20, 20, 20))
    assert order.size == filled.sum() and order[0] == np.ravel_multi_index((20, 20, 20), filled.shape)


def test_reveal_frames_grow_from_one_block_to_the_whole():
    s = l_shape()
    frames = list(reveal_frames(s, 5))
    counts = [f.count_non_air() for f in frames]
    assert len(frames) == 5 and counts[0] == 1 and counts[-1] == s.count_non_air()
    assert counts == sorted(counts)
    for a, b in zip(frames, frames[1:]):                 # each frame contains the last
        shown = ~a.air_mask()
        assert (b.blocks[shown] == a.blocks[shown]).all()
    assert frames[-1].same_blocks(s)


def gif_frames(path):
    from PIL import Image

    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


@needs_gl
def test_gif_has_one_frame_per_structure_and_a_step_counter(tmp_path):
    from voxgen.render.animate import write_animation

    frames = list(reveal_frames(l_shape(), 6))
    out = tmp_path / "grow.gif"
    assert write_animation(frames, out, size=96, progress=False) == 6
    images = gif_frames(out)
    assert len(images) == 6 and images[0].shape == (96, 96, 3)
    # The counter text changes in the upper-left corner; the camera does not
    # move, so the background far from the structure stays put.
    corner = slice(0, 14), slice(0, 40)
    assert not np.array_equal(images[0][corner], images[1][corner])
    assert np.array_equal(images[0][-3:, -3:], images[-1][-3:, -3:])
    # More of the structure is drawn as it grows.
    background = images[0][-1, -1].astype(int)
    drawn = [(np.abs(im.astype(int) - background).max(axis=2) > 10).sum() for im in images]
    assert drawn[-1] > drawn[0]
    assert not list(tmp_path.glob(".*"))       # no temporary file left


@needs_gl
def test_mp4_has_the_expected_frame_count_and_side_by_side_width(tmp_path):
    import imageio.v2 as imageio

    from voxgen.render.animate import write_animation

    s = l_shape()
    out = tmp_path / "grow.mp4"
    n = write_animation(reveal_frames(s, 7), out, final=s, total=7, size=64, compare=s,
                        progress=False)
    assert n == 7
    reader = imageio.get_reader(out)
    assert reader.count_frames() == 7
    assert reader.get_data(0).shape == (64, 128, 3)
    reader.close()


@needs_gl
def test_empty_frames_render_as_background(tmp_path):
    from voxgen.render.animate import write_animation

    s = l_shape()
    empty = s.masked(np.zeros(s.shape, bool))
    out = tmp_path / "blink.gif"
    assert write_animation([empty, s, empty], out, size=64, progress=False) == 3
    images = gif_frames(out)
    background = images[0][-1, -1].astype(int)
    drawn = [(np.abs(im.astype(int) - background).max(axis=2) > 10)[20:, :].sum() for im in images]
    assert drawn[0] == 0 and drawn[1] > 100 and drawn[2] == 0


@needs_gl
def test_a_frame_larger_than_the_last_stays_in_view(tmp_path):
    # A growth can overshoot its final shape: the camera frames every frame's
    # blocks, not the last frame's alone, so nothing is cut off at the edges.
    from voxgen.render.animate import write_animation

    wide = np.zeros((12, 3, 12), np.int32)
    wide[:, 0, :] = 1                                    # a 12x12 floor
    small = np.zeros_like(wide)
    small[5:7, 0:2, 5:7] = 2                             # a 2x2x2 block in its middle
    frames = [Structure(wide, PALETTE), Structure(small, PALETTE)]
    out = tmp_path / "overshoot.gif"
    write_animation(frames, out, size=96, progress=False)
    first = gif_frames(out)[0]
    background = first[-1, -1].astype(int)
    drawn = np.abs(first.astype(int) - background).max(axis=2) > 10
    drawn[:14, :40] = False                              # the step counter
    assert drawn.sum() > 500
    # No drawn pixel on the picture's border: the floor is whole.
    assert not (drawn[0].any() or drawn[-1].any() or drawn[:, 0].any() or drawn[:, -1].any())


@needs_gl
def test_no_frames_is_an_error_and_leaves_no_file(tmp_path):
    from voxgen.render.animate import write_animation

    out = tmp_path / "empty.mp4"
    with pytest.raises(VoxgenError, match="no frames"):
        write_animation(iter([]), out, final=l_shape(), progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(VoxgenError, match=".gif or .mp4"):
        write_animation([l_shape()], tmp_path / "x.avi", progress=False)


def trained_names():
    return sorted(p.stem for p in (ROOT / "structures").glob("*.safetensors"))


@needs_gl
@pytest.mark.skipif(not trained_names(), reason="no trained structures/*.safetensors yet")
def test_growth_animation_from_trained_weights(tmp_path):
    from voxgen.render.animate import write_animation
    from voxgen.render.growth import grow_frames

    name = trained_names()[0]
    growth = grow_frames(ROOT / "structures" / f"{name}.safetensors", steps=4, seed=0,
                         device="cpu")
    assert len(growth.frames) >= 2
    out = tmp_path / "growth.gif"
    assert write_animation(growth.frames, out, size=64, progress=False) == len(growth.frames)
    assert len(gif_frames(out)) == len(growth.frames)


@pytest.mark.skipif(not trained_names(), reason="no trained structures/*.safetensors yet")
def test_long_growth_keeps_evenly_spaced_frames_and_the_last(monkeypatch):
    import voxgen.render.growth as growth_module

    name = trained_names()[0]
    weights = ROOT / "structures" / f"{name}.safetensors"
    every = growth_module.grow_frames(weights, steps=10, seed=0, device="cpu")
    assert every.steps[-10:] == list(range(1, 11)) and every.steps[0] in (0, 1)
    monkeypatch.setattr(growth_module, "MAX_FRAMES", 4)
    few = growth_module.grow_frames(weights, steps=10, seed=0, device="cpu")
    assert few.steps[-4:] == [3, 6, 9, 10]                      # every 3rd step, and the last
    for s, frame in zip(few.steps, few.frames):
        assert (frame.blocks == every.frames[every.steps.index(s)].blocks).all()
    assert few.labels()[-1] == "step 10/10"


def test_cli_growth_errors_are_one_line(tmp_path):
    from click.testing import CliRunner

    from voxgen.cli import main

    out = tmp_path / "g.gif"
    result = CliRunner().invoke(main, ["render", "--growth", str(tmp_path / "none.safetensors"),
                                       "-o", str(out)])
    assert result.exit_code == 2 and "error" in result.output
    result = CliRunner().invoke(main, ["render", "blueprints/flying_machine.toml", "--growth", "x",
                                       "-o", str(out)])
    assert result.exit_code == 2 and "either a blueprint FILE or --growth" in result.output
    assert list(tmp_path.iterdir()) == []


@needs_gl
@pytest.mark.skipif(not trained_names(), reason="no trained structures/*.safetensors yet")
def test_cli_growth_side_by_side_mp4(tmp_path):
    import imageio.v2 as imageio
    from click.testing import CliRunner

    from voxgen.cli import main

    out = tmp_path / "g.mp4"
    weights = ROOT / "structures" / f"{trained_names()[0]}.safetensors"
    result = CliRunner().invoke(main, ["render", "--growth", str(weights), "--steps", "3",
                                       "--side-by-side", "--size", "64", "--device", "cpu",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    reader = imageio.get_reader(out)
    assert reader.count_frames() in (3, 4)          # steps 1..3, led by the seed if it shows
    assert reader.get_data(0).shape == (64, 128, 3)
    reader.close()


def test_a_gif_too_large_to_hold_is_refused_before_or_while_rendering(tmp_path, monkeypatch):
    """A GIF's frames stay in memory until it is written: past GIF_MAX_BYTES
    it is refused, before rendering when the frame count is known, at the
    frame that passes it otherwise; no file is left either way."""
    from voxgen.render import animate
    from voxgen.render.animate import write_animation
    monkeypatch.setattr(animate, "GIF_MAX_BYTES", 3 * 64 * 64)       # three 64 x 64 frames
    s, out = l_shape(), tmp_path / "x.gif"
    with pytest.raises(VoxgenError, match=r"x.gif: a GIF of 4 frames of 64 x 64 pixels holds more than"):
        write_animation(reveal_frames(s, 4), out, final=s, total=4, size=64, progress=False)
    with pytest.raises(VoxgenError, match=r"x.gif: a GIF of 4 frames of 64 x 64 pixels"):
        write_animation(reveal_frames(s, 6), out, final=s, size=64, progress=False)   # count unknown
    assert write_animation(reveal_frames(s, 3), out, final=s, total=3, size=64, progress=False) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gif"]


def gif_durations(path) -> list[int]:
    from PIL import Image

    with Image.open(path) as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    return durations


def test_gif_writer_holds_a_repeated_frame_as_one_longer_frame(tmp_path):
    """Identical consecutive frames become one frame shown for their summed
    time, and the writer counts what the file holds (Pillow would merge them
    silently), so a printed frame count is true."""
    from voxgen.render.animate import _GifWriter

    red, blue = np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 200
    out = tmp_path / "held.gif"
    writer = _GifWriter(out, fps=10)
    for image in (red, red, red, blue, red):
        writer.append(image)
    writer.close()
    assert writer.written == 3
    assert len(gif_frames(out)) == 3
    assert gif_durations(out) == [300, 100, 100]


@pytest.mark.parametrize("fps, n", [(12, 6), (7, 10), (30, 31)])
def test_gif_length_is_frames_over_fps_whatever_the_rounding(tmp_path, fps, n):
    """GIF delays are whole centiseconds: 1000/12 ms a frame cannot be kept
    exactly, but the delays round on a running clock, so the GIF lasts n/fps."""
    from voxgen.render.animate import _GifWriter

    out = tmp_path / "clock.gif"
    writer = _GifWriter(out, fps=fps)
    for i in range(n):
        writer.append(np.full((4, 4, 3), 5 * i, np.uint8))
    writer.close()
    durations = gif_durations(out)
    assert len(durations) == n and all(d % 10 == 0 for d in durations)
    assert sum(durations) == round(n * 100 / fps) * 10
    assert max(durations) - min(durations) <= 10


@needs_gl
def test_write_animation_returns_the_frames_in_the_file(tmp_path):
    from voxgen.render.animate import write_animation

    s = l_shape()
    out = tmp_path / "held.gif"
    n = write_animation([s, s, s, s.masked(np.zeros(s.shape, bool))], out, size=64, fps=10,
                        labels=["held"] * 3 + ["gone"], progress=False)
    assert n == len(gif_frames(out)) == 2
    assert gif_durations(out) == [300, 100]


def test_a_gif_faster_than_50_frames_a_second_is_refused(tmp_path):
    from click.testing import CliRunner

    from voxgen.cli import main

    result = CliRunner().invoke(main, ["render", "--growth", "caterpillar", "-o",
                                       str(tmp_path / "g.gif"), "--fps", "60"])
    assert result.exit_code == 2 and "at most 50 frames a second" in result.output, result.output
    assert list(tmp_path.iterdir()) == []
