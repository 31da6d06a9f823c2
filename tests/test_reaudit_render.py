"""Re-audit of `voxgen render`: two panels with their blocks lined up
(--compare beside a growth, or beside a grown file with a stray block),
FILE | OTHER in animations too, a crafter's front face, a folder named as a
blueprint, and odd --size for GIFs."""

from itertools import product

import numpy as np
import pytest

from conftest import BLUEPRINTS, one_line_error, run

from voxgen import formats
from voxgen.render import offscreen
from voxgen.render.align import best_offset, shifts_tried
from voxgen.render.growth import Growth
from voxgen.render.marks import front_directions
from voxgen.render.reveal import reveal_frames
from voxgen.render.scene import filled_bounds, joint_bounds
from voxgen.render.shapes import DIRECTIONS
from voxgen.structure import Structure

needs_gl = pytest.mark.skipif(offscreen.opengl_problem() is not None,
                              reason=f"no OpenGL: {offscreen.opengl_problem()}")

STONE = "minecraft:stone"


def caterpillar() -> Structure:
    return formats.load(BLUEPRINTS / "caterpillar.toml")


def in_grid(structure: Structure, margin: int = 1) -> Structure:
    """`structure` where a growth keeps it: in a grid with `margin` cells of air around."""
    return structure.pad(margin)


def with_block(structure: Structure, cell, state: str = STONE) -> Structure:
    palette = structure.palette + ((state,) if state not in structure.palette else ())
    blocks = structure.blocks.copy()
    blocks[tuple(cell)] = palette.index(state)
    return Structure(blocks, palette)


def cube(state: str, n: int = 2) -> Structure:
    return Structure(np.ones((n, n, n), np.int32), ("minecraft:air", state))


def read_frames(path):
    """uint8 (H, W, 3) pixels of each frame of a .png, .gif or .mp4."""
    if path.suffix == ".mp4":
        import imageio.v2 as imageio

        reader = imageio.get_reader(path)
        try:
            return [np.asarray(frame) for frame in reader]
        finally:
            reader.close()
    from PIL import Image

    with Image.open(path) as im:
        frames = []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


# --- lining up: the search, against a slow twin -----------------------------

def slow_score(fixed: Structure, moved: Structure, offset) -> int:
    """Cells where `moved` shifted by `offset` holds the block (not air) `fixed` holds."""
    a, b = fixed.state_array(), moved.state_array()
    score = 0
    for p in zip(*np.nonzero(~moved.air_mask())):
        q = tuple(int(v) + d for v, d in zip(p, offset))
        if all(0 <= v < n for v, n in zip(q, fixed.shape)) and a[q] == b[p]:
            score += 1
    return score


def slow_best_offset(fixed: Structure, moved: Structure):
    boxes = [tuple(v.astype(int) for v in filled_bounds(s)) for s in (fixed, moved)]
    shifts = shifts_tried(*boxes)
    scores = [slow_score(fixed, moved, d) for d in shifts]
    return shifts[scores.index(max(scores))]


def test_the_shifts_tried_lead_with_the_low_ends_lined_up():
    lo = np.zeros(3, int)
    shifts = shifts_tried((lo, np.array([9, 3, 4])), (lo, np.array([8, 3, 4])))
    assert shifts[0] == (0, 0, 0)
    assert set(shifts) == set(product(range(-2, 4), range(-2, 3), range(-2, 3)))


@pytest.mark.parametrize("seed", range(6))
def test_best_offset_agrees_with_a_slow_twin(seed):
    rng = np.random.default_rng(seed)
    fixed = Structure(rng.integers(0, 3, (5, 4, 6)) * (rng.random((5, 4, 6)) < 0.5),
                      ("minecraft:air", STONE, "minecraft:dirt"))
    moved = fixed.trimmed().crop((0, 0, 0), (3, 3, 4))
    moved = with_block(moved, (2, 2, 3), "minecraft:gold_block")
    assert best_offset(fixed, moved) == slow_best_offset(fixed, moved)


def test_a_stray_block_in_the_margin_does_not_shift_the_match():
    grown = with_block(in_grid(caterpillar()), (0, 1, 1)).trimmed()    # one block left of the rest
    assert best_offset(grown, caterpillar()) == (1, 0, 0)


def test_without_a_common_block_the_low_ends_line_up():
    assert best_offset(cube(STONE, 3).pad(2), cube("minecraft:dirt")) == (2, 2, 2)


@pytest.mark.parametrize("bound", ["ALIGN_MAX_CELLS", "ALIGN_MAX_LOOKUPS"])
def test_above_the_work_bound_the_low_ends_line_up_unscored(monkeypatch, bound):
    import voxgen.render.align as align

    grown = with_block(in_grid(caterpillar()), (0, 1, 1)).trimmed()
    monkeypatch.setattr(align, bound, 100)
    assert best_offset(grown, caterpillar()) == (0, 0, 0)


def test_the_blueprint_goes_where_the_growth_grid_holds_it():
    assert best_offset(in_grid(caterpillar(), margin=2), caterpillar()) == (2, 2, 2)


def test_joint_bounds_places_each_structure_at_its_cell():
    lo, hi = joint_bounds([cube(STONE, 2), cube(STONE, 2).pad(1)], [(0, 0, 0), (-3, 0, 5)])
    assert lo.tolist() == [-2, 0, 0] and hi.tolist() == [2, 3, 8]


# --- the CLI: panels lined up -------------------------------------------------

@pytest.fixture
def fake_growth(monkeypatch):
    """`--growth caterpillar` without torch: the blueprint revealed in a
    grid with a margin, as an NCA grows it, and the grid's target."""
    import voxgen.render.growth as growth

    grid = in_grid(caterpillar())
    frames = list(reveal_frames(grid, 4))
    grown = Growth(frames, grid, "caterpillar", 0, list(range(len(frames))))
    monkeypatch.setattr(growth, "grow_frames", lambda *args, **kwargs: grown)
    return grown


@needs_gl
@pytest.mark.parametrize("suffix", [".png", ".gif", ".mp4"])
def test_growth_compare_draws_the_file_where_side_by_side_draws_the_target(tmp_path, fake_growth,
                                                                             suffix):
    compared, beside = tmp_path / f"compared{suffix}", tmp_path / f"beside{suffix}"
    result = run("render", "--growth", "caterpillar", "--compare", "caterpillar", "-o", compared,
                 "--size", "48")
    assert result.exit_code == 0, result.output
    result = run("render", "--growth", "caterpillar", "--side-by-side", "-o", beside, "--size", "48")
    assert result.exit_code == 0, result.output
    a, b = read_frames(compared), read_frames(beside)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def panel_difference(image: np.ndarray, size: int) -> int:
    """Pixels that differ between the left and the right panel, title rows left out."""
    left, right = image[size // 4:, :size], image[size // 4:, size:]
    return int((np.abs(left.astype(int) - right.astype(int)).max(axis=2) > 8).sum())


@needs_gl
def test_a_stray_block_in_a_grown_file_leaves_the_panels_lined_up(tmp_path):
    grown = tmp_path / "grown.schem"
    formats.save(with_block(in_grid(caterpillar()), (0, 1, 1)), grown)
    out = tmp_path / "c.png"
    result = run("render", grown, "--compare", "caterpillar", "-o", out, "--size", "96",
                 "--azimuth", "0", "--elevation", "0")
    assert result.exit_code == 0, result.output
    image = read_frames(out)[0]
    drawn = int((np.abs(image[24:, 96:].astype(int) - image[-1, -1]).max(axis=2) > 8).sum())
    # lined up, only the stray block (a few pixels more than a cell) tells the panels apart;
    # a cell off, every block's outline moves
    assert panel_difference(image, 96) < drawn // 6, (panel_difference(image, 96), drawn)


def test_help_says_how_blocks_are_lined_up():
    result = run("render", "--help")
    assert "the most cells hold the same block" in result.output
    assert "low ends or their high ends" in result.output


# --- the CLI: FILE | OTHER in an animation, as in a still --------------------

@needs_gl
@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_compare_puts_file_left_and_other_right(tmp_path, suffix):
    red, blue = tmp_path / "red.schem", tmp_path / "blue.schem"
    formats.save(cube("minecraft:red_wool"), red)
    formats.save(cube("minecraft:blue_wool"), blue)
    out = tmp_path / f"c{suffix}"
    result = run("render", red, "--compare", blue, "-o", out, "--size", "48", "--frames", "3")
    assert result.exit_code == 0, result.output
    image = read_frames(out)[-1].astype(int)

    def reddest(panel):
        return int((panel[..., 0] - panel[..., 2]).max())

    left, right = image[:, :48], image[:, 48:]
    assert reddest(left) > 60 and reddest(right) < 0


# --- a crafter's front --------------------------------------------------------

@pytest.mark.parametrize("orientation, front", [
    ("north_up", "north"), ("up_east", "up"), ("down_south", "down"), ("west_up", "west"),
])
def test_a_crafter_marks_the_face_its_orientation_puts_first(orientation, front):
    palette = ("minecraft:air", f"minecraft:crafter[crafting=false,orientation={orientation},"
                                "triggered=false]")
    assert front_directions(palette).tolist() == [-1, DIRECTIONS.index(front)]


# --- a folder named as a blueprint -------------------------------------------

def test_info_on_a_folder_says_it_is_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    one_line_error(run("info", "adir"), "adir", "is a directory")
    one_line_error(run("info", "nothing"), "no such file or bundled blueprint")


def test_a_folder_named_like_a_bundled_blueprint_leaves_the_blueprint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cottage").mkdir()
    result = run("info", "cottage")
    assert result.exit_code == 0 and "cottage.toml" in result.output, result.output


# --- an odd --size ------------------------------------------------------------

@needs_gl
@pytest.mark.parametrize("suffix, side", [(".png", 17), (".gif", 17), (".mp4", 18)])
def test_an_odd_size_is_kept_except_by_h264(tmp_path, suffix, side):
    out = tmp_path / f"s{suffix}"
    result = run("render", "flying_machine", "-o", out, "--size", "17", "--frames", "2")
    assert result.exit_code == 0, result.output
    assert read_frames(out)[0].shape == (side, side, 3)

