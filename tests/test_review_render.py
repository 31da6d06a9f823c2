"""Review of what pictures show: block colours of unlisted variants, and the
front face of machine blocks marked so their facing can be read off a picture."""

import numpy as np
import pytest

from conftest import SAMPLES

from voxgen import formats
from voxgen.blocks import _UNKNOWN_COLOUR, block_id, block_info, is_air
from voxgen.render import offscreen
from voxgen.render.marks import FRONT_MARK_SHADE, front_marks
from voxgen.render.mesh import build_mesh
from voxgen.render.shapes import BRIGHTNESS, DIRECTIONS
from voxgen.structure import Structure

needs_gl = pytest.mark.skipif(offscreen.opengl_problem() is not None,
                              reason=f"no OpenGL: {offscreen.opengl_problem()}")


def colour(state):
    return block_info(state).colour


@pytest.mark.parametrize("variant, listed", [
    ("oak_stairs", "oak_planks"),             # was stone grey: wooden roofs drew as stone
    ("spruce_slab", "spruce_planks"),
    ("oak_fence", "oak_planks"),
    ("oak_wall_sign", "oak_planks"),          # was `_wall` grey, before `_sign` was tried
    ("stone_brick_slab", "stone_bricks"),
    ("nether_brick_slab", "nether_bricks"),
    ("quartz_stairs", "quartz_block"),
    ("cobblestone_wall", "cobblestone"),
    ("infested_stone_bricks", "stone_bricks"),  # was brick red (`_bricks`)
    ("chiseled_red_sandstone", "red_sandstone"),
    ("stripped_oak_wood", "stripped_oak_log"),
    ("lime_bed", "lime_wool"),                # every bed was red
    ("blue_carpet", "blue_wool"),             # every carpet was white
    ("red_wall_banner", "red_wool"),
    ("gray_glazed_terracotta", "gray_wool"),
    ("heavy_weighted_pressure_plate", "iron_block"),
    ("potted_cactus", "flower_pot"),          # was magenta
])
def test_a_variant_takes_the_colour_of_the_listed_block(variant, listed):
    assert colour(f"minecraft:{variant}") == colour(f"minecraft:{listed}")


def test_stained_glass_keeps_its_dye():
    lime, blue = colour("minecraft:lime_stained_glass"), colour("minecraft:blue_stained_glass")
    assert lime != blue
    assert lime[1] > lime[2] and blue[2] > blue[0]      # green-ish, blue-ish
    assert colour("minecraft:lime_stained_glass_pane") == lime


@pytest.mark.parametrize("state, physics", [
    ("minecraft:oak_wall_sign", "immovable"), ("minecraft:lime_bed", "immovable"),
    ("minecraft:oak_stairs", "unknown"), ("minecraft:red_carpet", "destroy"),
    ("minecraft:infested_stone_bricks", "solid"), ("mod:thing", "unknown"),
])
def test_colour_variants_leave_physics_to_the_by_name_fallback(state, physics):
    assert block_info(state).physics == physics


def test_modded_blocks_stay_magenta():
    assert colour("betternether:rubeus_bark") == _UNKNOWN_COLOUR


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="no sample schematics")
@pytest.mark.parametrize("sample", [
    "anchor-nca/pixl_apartmentblock.nbt", "anchor-nca/micmokum-town1.nbt",
    "anchor-nca/chalet-1559991421.nbt", "anchor-nca/maison1-1558119604.nbt",
])
def test_no_vanilla_block_of_the_samples_draws_magenta(sample):
    structure = formats.load(SAMPLES / sample)
    magenta = sorted({block_id(s) for s in structure.palette if not is_air(s)
                      and s.startswith("minecraft:") and colour(s) == _UNKNOWN_COLOUR})
    assert magenta == []


def one_block(state):
    return Structure(np.ones((1, 1, 1), np.int32), ["minecraft:air", state])


@pytest.mark.parametrize("facing", DIRECTIONS)
def test_a_piston_marks_the_face_it_pushes_from(facing):
    mesh = build_mesh(one_block(f"minecraft:sticky_piston[extended=false,facing={facing}]"))
    vertices, quads, colours = front_marks(mesh)
    assert quads.shape == (1, 4)
    d = DIRECTIONS.index(facing)
    axis = int(np.flatnonzero([facing in ("east", "west"), facing in ("up", "down"),
                               facing in ("south", "north")])[0])
    outside = 1.01 if facing in ("east", "up", "south") else -0.01
    assert np.allclose(vertices[:, axis], outside)
    others = [a for a in range(3) if a != axis]
    assert np.allclose(vertices[:, others].min(axis=0), 0.2)
    assert np.allclose(vertices[:, others].max(axis=0), 0.8)
    # wound like its face: the right-hand normal points the way the piston faces
    a, b, c = vertices[quads[0, :3]]
    normal = np.cross(b - a, c - a)
    assert np.sign(normal[axis]) == (1 if outside > 0 else -1)
    face = mesh.face_colours[mesh.face_direction == d][0]
    assert colours[0].tolist() == np.rint(face * FRONT_MARK_SHADE).astype(int).tolist()


def test_only_machine_blocks_are_marked():
    for state in ("minecraft:stone", "minecraft:oak_stairs[facing=east]",
                  "minecraft:chest[facing=north]", "minecraft:observer"):
        assert len(front_marks(build_mesh(one_block(state)))[1]) == 0


def test_exported_colours_stay_one_per_block():
    mesh = build_mesh(one_block("minecraft:observer[facing=south]"))
    assert len({tuple(c) for c in mesh.unshaded_colours()}) == 1


@needs_gl
def test_a_picture_shows_which_way_an_observer_looks():
    from voxgen.render.scene import render_still

    south = BRIGHTNESS[DIRECTIONS.index("south")]
    body = np.rint(np.array(colour("minecraft:observer")) * south)
    pictures = {facing: render_still(one_block(f"minecraft:observer[facing={facing}]"),
                                     size=64, azimuth=0, elevation=0)
                for facing in ("south", "north")}
    # From the south, looking north: the south face fills the middle.
    assert np.abs(pictures["north"][32, 32].astype(int) - body).max() <= 2
    assert np.abs(pictures["south"][32, 32].astype(int)
                  - np.rint(body * FRONT_MARK_SHADE)).max() <= 2
    # ... and the mark is inset: the face's own colour shows near its edge.
    assert np.abs(pictures["south"][32, 6].astype(int) - body).max() <= 2


@needs_gl
def test_compare_shows_a_piston_grown_facing_the_wrong_way():
    from voxgen.render.scene import render_still

    right = one_block("minecraft:sticky_piston[extended=false,facing=south]")
    wrong = one_block("minecraft:sticky_piston[extended=false,facing=north]")
    image = render_still(right, compare=wrong, size=64, azimuth=0, elevation=0)
    assert np.abs(image[32, 32].astype(int) - image[32, 64 + 32].astype(int)).max() > 20


# --- see-through blocks: water, glass, ice ------------------------------------------

def pond() -> Structure:
    """A 3x2x3 pool: stone at the bottom centre, water everywhere else in the
    lower layer and over all of the upper one."""
    blocks = np.full((3, 2, 3), 2, np.int32)
    blocks[1, 0, 1] = 1
    return Structure(blocks, ("minecraft:air", "minecraft:stone", "minecraft:water[level=0]"))


def test_water_hides_nothing_in_a_picture_and_everything_in_an_export():
    from voxgen.render.mesh import check_faces, count_faces, visible_faces

    s = pond()
    exported = build_mesh(s)
    assert exported.n_faces == 2 * (3 * 3 + 3 * 2 + 3 * 2)      # the closed skin of the 3x2x3 box
    assert not exported.face_clear.any() and (exported.face_block == 1).sum() == 1     # the stone's bottom only
    seen = build_mesh(s, see_through=True)
    stone = seen.face_block == 1
    assert stone.sum() == 6 and not seen.face_clear[stone].any()     # all of the stone's faces
    water = seen.face_block == 2
    assert seen.face_clear[water].all()
    assert water.sum() == (exported.face_block == 2).sum()     # water's faces: the pool's skin, none on the stone
    assert check_faces(s, see_through=True) == seen.n_faces and check_faces(s) == exported.n_faces
    rng = np.random.default_rng(5)
    for _ in range(20):                             # the count agrees with the faces built
        cells, blockers = rng.random((2, 4, 5, 3)) < 0.5
        blockers |= cells & (rng.random((4, 5, 3)) < 0.5)
        assert count_faces(cells, blockers) == sum(len(f) for f in visible_faces(cells, blockers))


@needs_gl
def test_a_picture_shows_the_stone_under_the_water():
    from voxgen.render.scene import render_still

    s = pond()
    under = render_still(s, size=96, azimuth=0, elevation=90)[48, 48].astype(int)     # looking down
    only_water = render_still(replace_block(s, 1, 2), size=96, azimuth=0, elevation=90)[48, 48].astype(int)
    stone, water = np.array(colour("minecraft:stone")), np.array(colour("minecraft:water"))
    assert np.abs(under - only_water).max() > 10                  # something shows through
    assert np.abs(under - stone).sum() < np.abs(only_water - stone).sum()    # and it is the stone


def replace_block(s: Structure, old: int, new: int) -> Structure:
    from dataclasses import replace
    return replace(s, blocks=np.where(s.blocks == old, new, s.blocks).astype(np.int32))
