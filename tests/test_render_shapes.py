"""Pictures draw non-full blocks as their boxes (`build_mesh(shapes=True)`):
each shape kind, fences, panes and redstone wire saved unconnected joined to
their neighbours, the culling beside them, the face count, and the numpy kernel
against its slow twin (tests/render_mesh_twin.per_box_faces)."""

import numpy as np
import pytest

from voxgen.render import mesh as mesh_mod
from voxgen.render.marks import FRONT_MARK_LIFT, front_marks
from voxgen.render.joins import with_joined_sides
from voxgen.render.mesh import build_mesh, check_faces
from voxgen.render.shapes import DIRECTIONS, NORMALS, block_shape
from voxgen.structure import Structure
from render_mesh_twin import TWIN_NORMALS, per_box_faces

AIR = "minecraft:air"


def one_block(state: str) -> Structure:
    return Structure(np.ones((1, 1, 1), np.int32), (AIR, state))


def shape_mesh(state: str):
    """The picture mesh of `state` alone in its cell, checked against the count."""
    s = one_block(state)
    mesh = build_mesh(s, shapes=True)
    assert check_faces(s, shapes=True) == mesh.n_faces
    return mesh


def extent(state: str) -> tuple[list, list]:
    """(lo, hi) corners of the box around everything drawn of `state`."""
    v = shape_mesh(state).vertices
    return v.min(axis=0).tolist(), v.max(axis=0).tolist()


def faces_towards(mesh, name: str) -> np.ndarray:
    """float (n, 4, 3): the quads of `mesh` facing `name`."""
    return mesh.vertices.reshape(-1, 4, 3)[mesh.face_direction == DIRECTIONS.index(name)]


def faces_at(mesh, name: str, axis: int, at: float) -> np.ndarray:
    """The quads facing `name` that lie at coordinate `at` of `axis`."""
    quads = faces_towards(mesh, name)
    return quads[np.isclose(quads[:, 0, axis], at)]


def top_at(mesh, y: float) -> np.ndarray:
    """The up-facing quads at height y."""
    return faces_at(mesh, "up", 1, y)


# --- each kind of shape --------------------------------------------------------

def test_slabs_fill_their_half_and_a_double_slab_is_a_cube():
    assert extent("minecraft:stone_slab[type=bottom,waterlogged=false]") == ([0, 0, 0], [1, 0.5, 1])
    assert extent("minecraft:oak_slab[type=top,waterlogged=false]") == ([0, 0.5, 0], [1, 1, 1])
    assert block_shape("minecraft:oak_slab[type=double,waterlogged=false]") is None
    assert shape_mesh("minecraft:oak_slab[type=bottom]").n_faces == 6


@pytest.mark.parametrize("facing, high_side", [("east", (0.5, 1, 0, 1)), ("west", (0, 0.5, 0, 1)),
                                               ("south", (0, 1, 0.5, 1)), ("north", (0, 1, 0, 0.5))])
def test_a_stair_has_its_step_on_its_facing_half(facing, high_side):
    mesh = shape_mesh(f"minecraft:oak_stairs[facing={facing},half=bottom,shape=straight]")
    step = top_at(mesh, 1.0)
    assert len(step) == 1
    x0, x1, z0, z1 = high_side
    assert step[0, :, 0].min() == x0 and step[0, :, 0].max() == x1
    assert step[0, :, 2].min() == z0 and step[0, :, 2].max() == z1
    assert len(top_at(mesh, 0.5)) == 1                    # the slab under it
    assert mesh.vertices.min(axis=0).tolist() == [0, 0, 0] and mesh.n_faces == 12


def test_an_upside_down_stair_hangs_its_step_below():
    mesh = shape_mesh("minecraft:oak_stairs[facing=east,half=top,shape=straight]")
    bottom = faces_towards(mesh, "down")
    low = bottom[np.isclose(bottom[:, 0, 1], 0.0)]
    assert len(low) == 1 and low[0, :, 0].min() == 0.5      # the step, on the east half, at y = 0
    assert len(top_at(mesh, 1.0)) == 1 and top_at(mesh, 1.0)[0, :, 0].min() == 0


def test_stair_corners_follow_the_game_models():
    outer = top_at(shape_mesh("minecraft:oak_stairs[facing=east,half=bottom,shape=outer_right]"), 1.0)
    assert len(outer) == 1                                   # one quarter: south-east
    assert outer[0, :, 0].min() == 0.5 and outer[0, :, 2].min() == 0.5
    outer = top_at(shape_mesh("minecraft:oak_stairs[facing=east,half=bottom,shape=outer_left]"), 1.0)
    assert outer[0, :, 0].min() == 0.5 and outer[0, :, 2].max() == 0.5    # north-east
    inner = top_at(shape_mesh("minecraft:oak_stairs[facing=east,half=bottom,shape=inner_left]"), 1.0)
    area = sum(np.ptp(q[:, 0]) * np.ptp(q[:, 2]) for q in inner)
    assert area == 0.75                                      # east half and the north-west quarter
    assert any(q[:, 0].max() == 0.5 and q[:, 2].max() == 0.5 for q in inner)


@pytest.mark.parametrize("state, top", [
    ("minecraft:red_carpet", 1 / 16), ("minecraft:stone_pressure_plate[powered=false]", 1 / 16),
    ("minecraft:snow[layers=3]", 6 / 16), ("minecraft:rail[shape=north_south,waterlogged=false]", 1 / 16),
    ("minecraft:oak_trapdoor[facing=north,half=bottom,open=false,powered=false]", 3 / 16),
])
def test_thin_boxes_lie_on_the_floor(state, top):
    lo, hi = extent(state)
    assert lo[1] == 0 and hi[1] == top


def test_snow_of_eight_layers_is_a_cube():
    assert block_shape("minecraft:snow[layers=8]") is None


def test_trapdoors_top_and_open():
    assert extent("minecraft:oak_trapdoor[facing=north,half=top,open=false]") == ([0, 13 / 16, 0], [1, 1, 1])
    # Open, a trapdoor stands against the side opposite its facing.
    assert extent("minecraft:oak_trapdoor[facing=north,half=bottom,open=true]") == ([0, 0, 13 / 16], [1, 1, 1])
    assert extent("minecraft:oak_trapdoor[facing=east,half=bottom,open=true]") == ([0, 0, 0], [3 / 16, 1, 1])


def test_fences_walls_and_panes_are_posts_with_arms_to_their_connected_sides():
    post = extent("minecraft:oak_fence[east=false,north=false,south=false,waterlogged=false,west=false]")
    assert post == ([6 / 16, 0, 6 / 16], [10 / 16, 1, 10 / 16])
    lo, hi = extent("minecraft:oak_fence[east=true,north=false,south=false,waterlogged=false,west=false]")
    assert hi[0] == 1 and lo[0] == 6 / 16 and lo[2] > 0 and hi[2] < 1
    lo, hi = extent("minecraft:cobblestone_wall[east=none,north=tall,south=low,up=false,west=none]")
    assert lo[2] == 0 and hi[2] == 1 and hi[1] == 1 and lo[0] == 5 / 16
    lo, hi = extent("minecraft:glass_pane[east=true,north=false,south=false,waterlogged=false,west=true]")
    assert (lo[0], hi[0], lo[2], hi[2]) == (0, 1, 7 / 16, 9 / 16)
    assert extent("minecraft:iron_bars[east=false,north=false,south=false,west=false]") == (
        [7 / 16, 0, 7 / 16], [9 / 16, 1, 9 / 16])


def test_a_wall_without_its_post_on_a_corner_keeps_it():
    """up=false is the game's own only on a straight run; on a corner the
    arms would overlap, so the post stays."""
    boxes = block_shape("minecraft:stone_brick_wall[east=low,north=low,south=none,up=false,west=none]")
    assert [4, 0, 4, 12, 16, 12] in boxes.tolist()


def test_torches_and_plants_are_thin_and_not_cubes():
    lo, hi = extent("minecraft:torch")
    assert hi[0] - lo[0] <= 0.125 and hi[1] < 1
    lo, hi = extent("minecraft:wall_torch[facing=south]")     # on the north wall: leans out south
    assert hi[2] < 0.5 and lo[1] > 0
    for plant in ("minecraft:poppy", "minecraft:oak_sapling[stage=0]", "minecraft:short_grass",
                  "minecraft:fern", "minecraft:wheat[age=7]"):
        mesh = shape_mesh(plant)
        assert mesh.n_faces == 18                          # a cross of three thin boxes
        assert len(top_at(mesh, mesh.vertices[:, 1].max())) == 3
    assert extent("minecraft:wheat[age=0]")[1][1] == 2 / 16
    assert extent("minecraft:wheat[age=7]")[1][1] == 1


@pytest.mark.parametrize("state, lo, hi", [
    ("minecraft:oak_door[facing=south,half=lower,hinge=left,open=false,powered=false]",
     [0, 0, 0], [1, 1, 3 / 16]),
    ("minecraft:oak_door[facing=east,half=upper,hinge=left,open=false,powered=false]",
     [0, 0, 0], [3 / 16, 1, 1]),
    ("minecraft:oak_door[facing=east,half=lower,hinge=left,open=true,powered=false]",
     [0, 0, 0], [1, 1, 3 / 16]),
    ("minecraft:oak_door[facing=east,half=lower,hinge=right,open=true,powered=false]",
     [0, 0, 13 / 16], [1, 1, 1]),
    ("minecraft:ladder[facing=north,waterlogged=false]", [0, 0, 15 / 16], [1, 1, 1]),
])
def test_doors_and_ladders_are_panels(state, lo, hi):
    assert extent(state) == (lo, hi)


@pytest.mark.parametrize("state, lo, hi", [
    ("minecraft:lantern[hanging=false,waterlogged=false]", [5 / 16, 0, 5 / 16], [11 / 16, 9 / 16, 11 / 16]),
    ("minecraft:lantern[hanging=true,waterlogged=false]", [5 / 16, 1 / 16, 5 / 16], [11 / 16, 1, 11 / 16]),
    ("minecraft:green_banner[rotation=0]", [1 / 16, 0, 7 / 16], [15 / 16, 1, 10 / 16]),    # cloth south of the pole
    ("minecraft:green_wall_banner[facing=south]", [1 / 16, 0, 0], [15 / 16, 1, 2 / 16]),  # on the north wall
    ("minecraft:red_bed[facing=south,occupied=false,part=head]", [0, 0, 0], [1, 9 / 16, 1]),
    ("minecraft:chest[facing=east,type=single,waterlogged=false]", [1 / 16, 0, 1 / 16], [15 / 16, 14 / 16, 15 / 16]),
])
def test_a_few_more_common_blocks(state, lo, hi):
    assert extent(state) == (lo, hi)


# --- redstone parts, buttons, levers and signs ------------------------------------------

@pytest.mark.parametrize("state, lo, hi", [
    # On a wall, against the side opposite `facing`: 6 wide, 4 tall, 2 deep.
    ("minecraft:stone_button[face=wall,facing=east,powered=false]", [0, 6 / 16, 5 / 16], [2 / 16, 10 / 16, 11 / 16]),
    ("minecraft:oak_button[face=wall,facing=north,powered=false]", [5 / 16, 6 / 16, 14 / 16], [11 / 16, 10 / 16, 1]),
    ("minecraft:stone_button[face=wall,facing=east,powered=true]", [0, 6 / 16, 5 / 16], [1 / 16, 10 / 16, 11 / 16]),
    ("minecraft:polished_blackstone_button[face=floor,facing=east,powered=false]",
     [6 / 16, 0, 5 / 16], [10 / 16, 2 / 16, 11 / 16]),
    ("minecraft:stone_button[face=ceiling,facing=north,powered=true]", [5 / 16, 15 / 16, 6 / 16], [11 / 16, 1, 10 / 16]),
])
def test_a_button_lies_on_the_face_it_is_attached_to(state, lo, hi):
    assert extent(state) == (lo, hi)


def test_a_lever_is_a_plate_on_its_face_with_a_handle():
    mesh = shape_mesh("minecraft:lever[face=floor,facing=north,powered=false]")
    floor = faces_at(mesh, "down", 1, 0)
    assert len(floor) == 1                                          # flat on the floor: 6 x 8 pixels
    assert np.ptp(floor[0, :, 0]) == 6 / 16 and np.ptp(floor[0, :, 2]) == 8 / 16
    assert mesh.vertices[:, 1].max() == 9 / 16
    # the handle leans to the facing when off (its tip at the north edge), away when on
    assert extent("minecraft:lever[face=floor,facing=north,powered=false]")[0][2] == 1 / 16
    assert extent("minecraft:lever[face=floor,facing=north,powered=true]")[1][2] == 15 / 16
    assert extent("minecraft:lever[face=floor,facing=east,powered=false]")[1][0] == 15 / 16
    lo, hi = extent("minecraft:lever[face=wall,facing=south,powered=true]")     # on the north wall: up when on
    assert lo == [5 / 16, 4 / 16, 0] and hi[1:] == [15 / 16, 9 / 16]
    assert extent("minecraft:lever[face=wall,facing=south,powered=false]")[0][1] == 1 / 16     # down when off
    wall = faces_at(shape_mesh("minecraft:lever[face=wall,facing=south,powered=true]"), "north", 2, 0)
    assert len(wall) == 1 and np.ptp(wall[0, :, 0]) == 6 / 16 and np.ptp(wall[0, :, 1]) == 8 / 16
    assert extent("minecraft:lever[face=ceiling,facing=east,powered=false]")[1][1] == 1


@pytest.mark.parametrize("state, lo, hi", [
    ("minecraft:oak_sign[rotation=0,waterlogged=false]", [0, 0, 7 / 16], [1, 1, 9 / 16]),
    ("minecraft:birch_sign[rotation=4,waterlogged=false]", [7 / 16, 0, 0], [9 / 16, 1, 1]),     # turned to face west
    ("minecraft:sign[rotation=8,waterlogged=false]", [0, 0, 7 / 16], [1, 1, 9 / 16]),         # the 1.13 name
    ("minecraft:oak_wall_sign[facing=south,waterlogged=false]", [0, 4 / 16, 0], [1, 12 / 16, 2 / 16]),
    ("minecraft:spruce_wall_sign[facing=west,waterlogged=false]", [14 / 16, 4 / 16, 0], [1, 12 / 16, 1]),
    ("minecraft:oak_hanging_sign[attached=false,rotation=4,waterlogged=false]", [7 / 16, 0, 1 / 16], [9 / 16, 1, 15 / 16]),
    ("minecraft:oak_wall_hanging_sign[facing=north,waterlogged=false]", [0, 0, 6 / 16], [1, 1, 10 / 16]),
])
def test_signs_stand_on_a_post_lie_on_a_wall_or_hang(state, lo, hi):
    assert extent(state) == (lo, hi)


def test_a_standing_sign_is_a_board_on_a_post():
    mesh = shape_mesh("minecraft:oak_sign[rotation=0,waterlogged=false]")
    post = faces_at(mesh, "down", 1, 0)
    assert len(post) == 1 and np.ptp(post[0, :, 0]) == 2 / 16 and mesh.n_faces == 12
    board = faces_at(mesh, "down", 1, 8 / 16)
    assert len(board) == 1 and np.ptp(board[0, :, 0]) == 1 and np.ptp(board[0, :, 2]) == 2 / 16


def wire(north="none", east="none", south="none", west="none", power=0) -> str:
    return f"minecraft:redstone_wire[east={east},north={north},power={power},south={south},west={west}]"


def test_redstone_wire_is_a_line_to_each_side_it_reaches():
    line = shape_mesh(wire(east="side", west="side", power=7))
    assert extent(wire(east="side", west="side")) == ([0, 0, 5 / 16], [1, 1 / 16, 11 / 16])
    assert len(faces_at(line, "east", 0, 1)) == 1 and len(faces_at(line, "north", 2, 0)) == 0
    assert extent(wire(north="side", east="side")) == ([5 / 16, 0, 0], [1, 1 / 16, 11 / 16])
    assert block_shape(wire()).tolist() == [[5, 0, 5, 11, 1, 11]]                  # reaching no side: the dot


def test_redstone_wire_going_up_climbs_the_side_of_its_cell():
    mesh = shape_mesh(wire(north="up", south="side"))
    assert extent(wire(north="up", south="side")) == ([5 / 16, 0, 0], [11 / 16, 1, 1])
    strip = faces_at(mesh, "south", 2, 1 / 16)                      # the strip's face away from the wall
    assert len(strip) == 1 and strip[0, :, 1].min() == 1 / 16 and strip[0, :, 1].max() == 1


def test_a_repeater_torch_moves_back_towards_its_input_with_its_delay():
    """Facing east, the input is east and the output west: the fixed torch
    stands near the west end, the delay torch goes from the middle (delay 1)
    to the east end (delay 4)."""
    def torches(delay):
        mesh = shape_mesh(f"minecraft:repeater[delay={delay},facing=east,locked=false,powered=false]")
        assert len(top_at(mesh, 2 / 16)) == 1                  # the slab under them
        return sorted(q[:, 0].min() * 16 for q in top_at(mesh, 7 / 16))
    assert torches(1) == [2, 6] and torches(4) == [2, 12]
    locked = shape_mesh("minecraft:repeater[delay=1,facing=east,locked=true,powered=false]")
    bar = top_at(locked, 4 / 16)                             # across the slab where the torch was
    assert len(top_at(locked, 7 / 16)) == 1 and len(bar) == 1
    assert np.ptp(bar[0, :, 2]) == 12 / 16 and bar[0, :, 0].min() == 6 / 16
    assert extent("minecraft:repeater[delay=2,facing=north,locked=false,powered=false]") == ([0, 0, 0], [1, 7 / 16, 1])


def test_a_comparator_has_two_torches_at_its_input_and_a_low_one_at_its_output():
    mesh = shape_mesh("minecraft:comparator[facing=south,mode=compare,powered=false]")
    tall = top_at(mesh, 7 / 16)
    assert len(tall) == 2 and (tall[:, :, 2] >= 11 / 16).all()          # input on the south side
    low = top_at(mesh, 4 / 16)
    assert len(low) == 1 and low[0, :, 2].max() == 4 / 16
    assert len(top_at(mesh, 2 / 16)) == 1 and mesh.n_faces == 24


def test_vines_are_plates_on_the_faces_they_grow_on():
    assert extent("minecraft:vine[east=false,north=true,south=false,up=false,west=false]") == ([0, 0, 0], [1, 1, 1 / 16])
    mesh = shape_mesh("minecraft:vine[east=true,north=false,south=false,up=true,west=false]")
    assert len(faces_at(mesh, "west", 0, 15 / 16)) == 1 and len(faces_at(mesh, "down", 1, 15 / 16)) == 1
    lichen = "minecraft:glow_lichen[down=true,east=false,north=false,south=false,up=false,waterlogged=false,west=false]"
    assert extent(lichen) == ([0, 0, 0], [1, 1 / 16, 1])
    hanging = [[0, 15, 0, 16, 16, 16]]                                # no face (1.12): from the block above
    assert block_shape("minecraft:vine[east=false,north=false,south=false,up=false,west=false]").tolist() == hanging
    assert block_shape("minecraft:vine").tolist() == hanging


def test_rods_chains_and_heads_point_and_hang_the_right_way():
    assert extent("minecraft:end_rod[facing=up]") == ([6 / 16, 0, 6 / 16], [10 / 16, 1, 10 / 16])
    assert extent("minecraft:end_rod[facing=east]") == ([0, 6 / 16, 6 / 16], [1, 10 / 16, 10 / 16])
    base = faces_at(shape_mesh("minecraft:end_rod[facing=east]"), "east", 0, 1 / 16)   # the base, at the west end
    assert len(base) == 1 and np.ptp(base[0, :, 1]) == 4 / 16
    rod = shape_mesh("minecraft:lightning_rod[facing=north,powered=false,waterlogged=false]")
    tip = faces_at(rod, "north", 2, 0)                                  # its tip, at the north end
    assert len(tip) == 1 and np.ptp(tip[0, :, 0]) == 4 / 16
    assert extent("minecraft:chain[axis=z,waterlogged=false]") == ([7 / 16, 7 / 16, 0], [9 / 16, 9 / 16, 1])
    assert extent("minecraft:player_head[powered=false,rotation=3]") == ([4 / 16, 0, 4 / 16], [12 / 16, 0.5, 12 / 16])
    # on a wall facing west: against the east side
    assert extent("minecraft:creeper_wall_head[facing=west,powered=false]") == ([0.5, 4 / 16, 4 / 16], [1, 12 / 16, 12 / 16])
    assert block_shape("minecraft:piston_head[facing=up,short=false,type=normal]") is None


def test_cauldrons_and_hoppers_are_bowls_and_a_hopper_spout_turns_to_its_facing():
    cauldron = shape_mesh("minecraft:water_cauldron[level=3]")
    assert len(top_at(cauldron, 4 / 16)) == 1 and len(faces_at(cauldron, "down", 1, 0)) == 4     # floor, 4 legs
    down = extent("minecraft:hopper[enabled=true,facing=down]")
    assert down == ([0, 0, 0], [1, 1, 1])
    east = shape_mesh("minecraft:hopper[enabled=true,facing=east]")
    spout = faces_at(east, "east", 0, 1)
    heights = sorted(np.ptp(q[:, 1]) for q in spout)            # the spout, then the bowl's three walls there
    assert heights == [4 / 16] + [6 / 16] * 3 and not len(faces_at(east, "down", 1, 0))
    assert extent("minecraft:anvil[facing=north]")[0][0] == 2 / 16               # its top long north-south
    assert extent("minecraft:anvil[facing=east]")[0][2] == 2 / 16
    assert len(block_shape("minecraft:lime_candle[candles=3,lit=true,waterlogged=false]")) == 3


def test_bells_hang_from_what_holds_them_and_amethyst_points_its_way():
    floor = shape_mesh("minecraft:bell[attachment=floor,facing=north,powered=false]")
    assert len(faces_at(floor, "down", 1, 0)) == 2                       # the frame's two posts
    assert extent("minecraft:bell[attachment=ceiling,facing=north,powered=false]")[1][1] == 1
    assert extent("minecraft:bell[attachment=double_wall,facing=north,powered=false]")[0][2] == 0
    east = extent("minecraft:amethyst_cluster[facing=east,waterlogged=false]")
    assert east[0][0] == 0 and east[1][0] == 7 / 16                       # on the west side, 7 pixels long
    assert extent("minecraft:scaffolding[bottom=false,distance=0,waterlogged=false]") == ([0, 0, 0], [1, 1, 1])
    assert len(top_at(shape_mesh("minecraft:scaffolding[bottom=false,distance=0,waterlogged=false]"), 1)) == 1


def test_a_potted_plant_grows_out_of_its_pot():
    assert extent("minecraft:potted_red_tulip") == ([3 / 16, 0, 3 / 16], [13 / 16, 15 / 16, 13 / 16])
    assert len(top_at(shape_mesh("minecraft:potted_cactus"), 6 / 16)) == 1      # the pot's rim around the cactus
    assert block_shape("minecraft:brain_coral_block") is None


@pytest.mark.parametrize("state", ["minecraft:stone", "minecraft:observer[facing=up,powered=false]",
                                   "minecraft:oak_leaves[distance=1,persistent=true,waterlogged=false]",
                                   "minecraft:grass_block[snowy=false]", "minecraft:water[level=0]"])
def test_other_blocks_stay_cubes(state):
    assert block_shape(state) is None
    assert extent(state) == ([0, 0, 0], [1, 1, 1])


def test_boxes_of_a_shape_never_overlap():
    for state in ["minecraft:oak_stairs[facing=west,half=top,shape=inner_right]",
                  "minecraft:oak_fence[east=true,north=true,south=true,west=true]",
                  "minecraft:cobblestone_wall[east=tall,north=low,south=low,up=true,west=tall]",
                  "minecraft:glass_pane[east=true,north=true,south=true,west=true]",
                  "minecraft:lantern[hanging=true]", "minecraft:poppy", "minecraft:white_banner[rotation=7]",
                  "minecraft:oak_fence_gate[facing=east,open=true]",
                  "minecraft:lever[face=wall,facing=west,powered=false]",
                  "minecraft:lever[face=ceiling,facing=south,powered=true]",
                  "minecraft:repeater[delay=3,facing=west,locked=false,powered=false]",
                  "minecraft:repeater[delay=4,facing=south,locked=true,powered=false]",
                  "minecraft:comparator[facing=east,mode=subtract,powered=true]",
                  "minecraft:oak_sign[rotation=12]", "minecraft:cherry_hanging_sign[attached=true,rotation=5]",
                  "minecraft:oak_wall_hanging_sign[facing=west]",
                  "minecraft:redstone_wire[east=up,north=side,power=3,south=up,west=side]",
                  "minecraft:glow_lichen[down=true,east=true,north=true,south=true,up=true,waterlogged=false,west=true]",
                  "minecraft:vine[east=true,north=false,south=true,up=true,west=true]",
                  "minecraft:end_rod[facing=down]", "minecraft:lightning_rod[facing=south,powered=false]",
                  "minecraft:potted_poppy", "minecraft:sea_pickle[pickles=4,waterlogged=true]",
                  "minecraft:cobweb", "minecraft:brain_coral_fan[waterlogged=true]",
                  "minecraft:lava_cauldron", "minecraft:hopper[enabled=true,facing=north]",
                  "minecraft:hopper[enabled=false,facing=down]", "minecraft:candle[candles=4,lit=false,waterlogged=false]",
                  "minecraft:anvil[facing=west]", "minecraft:lectern[facing=east,has_book=true,powered=false]",
                  "minecraft:brewing_stand[has_bottle_0=false,has_bottle_1=false,has_bottle_2=false]",
                  *[f"minecraft:bell[attachment={a},facing=east,powered=false]"
                    for a in ("floor", "ceiling", "single_wall", "double_wall")],
                  "minecraft:grindstone[face=ceiling,facing=south]", "minecraft:grindstone[face=wall,facing=west]",
                  "minecraft:scaffolding[bottom=true,distance=0,waterlogged=false]",
                  "minecraft:amethyst_cluster[facing=north,waterlogged=false]",
                  "minecraft:large_amethyst_bud[facing=down,waterlogged=false]"]:
        grid = np.zeros((16, 16, 16), int)
        for x0, y0, z0, x1, y1, z1 in block_shape(state).tolist():
            assert 0 <= x0 < x1 <= 16 and 0 <= y0 < y1 <= 16 and 0 <= z0 < z1 <= 16
            grid[x0:x1, y0:y1, z0:z1] += 1
        assert grid.max() == 1, state


def test_an_export_keeps_every_block_a_cube():
    s = one_block("minecraft:oak_stairs[facing=east,half=bottom,shape=straight]")
    mesh = build_mesh(s)
    assert mesh.n_faces == 6 and check_faces(s) == 6
    assert (mesh.vertices.reshape(-1, 4, 3).max(axis=1).max(axis=0) == 1).all()


# --- fences, walls and panes saved unconnected, joined as the game would ------------

UNJOINED_PANE = "minecraft:glass_pane[east=false,north=false,south=false,waterlogged=false,west=false]"
UNJOINED_FENCE = "minecraft:oak_fence[east=false,north=false,south=false,waterlogged=false,west=false]"
UNJOINED_WALL = "minecraft:cobblestone_wall[east=none,north=none,south=none,up=true,waterlogged=false,west=none]"


def row(*states: str) -> Structure:
    """The blocks `states` in a row along x (east), air where None."""
    palette = [AIR] + sorted({s for s in states if s})
    blocks = np.array([palette.index(s) if s else 0 for s in states], np.int32).reshape(-1, 1, 1)
    return Structure(blocks, tuple(palette))


def cell_of_faces(mesh) -> np.ndarray:
    """int (F, 3): the cell each face of `mesh` belongs to (just behind its centre)."""
    centre = mesh.vertices.reshape(-1, 4, 3).mean(axis=1)
    return np.floor(centre - 0.01 * NORMALS[mesh.face_direction]).astype(int)


def drawn_states(s: Structure) -> list[str]:
    """The state a picture draws in each cell of the row `s` (None for air),
    checking the count against the mesh on the way."""
    mesh = build_mesh(s, shapes=True, see_through=True)
    assert check_faces(s, shapes=True, see_through=True) == mesh.n_faces
    at = cell_of_faces(mesh)[:, 0]
    out = []
    for x in range(s.shape[0]):
        states = {mesh.palette[b] for b in mesh.face_block[at == x]}
        assert len(states) <= 1
        out.append(states.pop() if states else None)
    return out


def test_a_row_of_unjoined_panes_between_stone_joins_up():
    states = drawn_states(row("minecraft:stone", UNJOINED_PANE, UNJOINED_PANE, UNJOINED_PANE, "minecraft:stone"))
    joined = "minecraft:glass_pane[east=true,north=false,south=false,waterlogged=false,west=true]"
    assert states == ["minecraft:stone", joined, joined, joined, "minecraft:stone"]
    mesh = build_mesh(row("minecraft:stone", UNJOINED_PANE, UNJOINED_PANE, "minecraft:stone"), shapes=True)
    pane = mesh.vertices.reshape(-1, 4, 3)[mesh.face_block == mesh.palette.index(joined)]
    assert pane[:, :, 0].min() == 1 and pane[:, :, 0].max() == 3       # one sheet, wall to wall
    assert mesh.palette[:3] == (AIR, UNJOINED_PANE, "minecraft:stone")  # the structure's own entries first


def test_a_lone_unjoined_fence_stays_a_post():
    assert drawn_states(row(None, UNJOINED_FENCE, None)) == [None, UNJOINED_FENCE, None]
    assert extent(UNJOINED_FENCE) == ([6 / 16, 0, 6 / 16], [10 / 16, 1, 10 / 16])


def test_a_fence_does_not_join_leaves():
    leaves = "minecraft:oak_leaves[distance=1,persistent=true,waterlogged=false]"
    assert drawn_states(row(leaves, UNJOINED_FENCE))[1] == UNJOINED_FENCE


def test_a_nether_brick_fence_does_not_join_an_oak_fence():
    nether = "minecraft:nether_brick_fence[east=false,north=false,south=false,waterlogged=false,west=false]"
    assert drawn_states(row(nether, UNJOINED_FENCE)) == [nether, UNJOINED_FENCE]
    birch = UNJOINED_FENCE.replace("oak", "birch")
    assert drawn_states(row(birch, UNJOINED_FENCE)) == [
        birch.replace("east=false", "east=true"), UNJOINED_FENCE.replace("west=false", "west=true")]


def test_a_fence_joins_a_gate_only_in_line():
    across = "minecraft:oak_fence_gate[facing=north,in_wall=false,open=false,powered=false]"
    assert drawn_states(row(UNJOINED_FENCE, across))[0] == UNJOINED_FENCE.replace("east=false", "east=true")
    facing_it = across.replace("north", "east")
    assert drawn_states(row(UNJOINED_FENCE, facing_it))[0] == UNJOINED_FENCE


def test_fences_and_panes_join_a_stair_by_its_back_only():
    """A stair's full side (its back) is on its `facing` side, where its step is."""
    back_west = "minecraft:oak_stairs[facing=west,half=bottom,shape=straight,waterlogged=false]"
    assert drawn_states(row(UNJOINED_FENCE, back_west))[0] == UNJOINED_FENCE.replace("east=false", "east=true")
    back_east = back_west.replace("facing=west", "facing=east")
    assert drawn_states(row(UNJOINED_FENCE, back_east))[0] == UNJOINED_FENCE     # its back faces away
    assert drawn_states(row(back_east, UNJOINED_PANE))[1] == UNJOINED_PANE.replace("west=false", "west=true")
    slab = "minecraft:stone_slab[type=bottom,waterlogged=false]"                 # half a side: not joined
    assert drawn_states(row(UNJOINED_FENCE, slab))[0] == UNJOINED_FENCE


def test_a_state_with_a_side_set_is_drawn_as_stored():
    south = "minecraft:glass_pane[east=false,north=false,south=true,waterlogged=false,west=false]"
    assert drawn_states(row("minecraft:stone", south, "minecraft:stone"))[1] == south


def test_an_export_keeps_the_stored_state():
    s = row("minecraft:stone", UNJOINED_PANE, "minecraft:stone")
    mesh = build_mesh(s)
    assert mesh.palette == s.palette and mesh.n_faces == 14


def test_a_straight_run_of_wall_has_no_post_and_a_corner_has_one():
    blocks = np.zeros((3, 1, 3), np.int32)
    blocks[:, 0, 1] = 1            # a run along x at z = 1
    blocks[2, 0, 2] = 1            # and a corner at its east end, turning south
    s = Structure(blocks, (AIR, UNJOINED_WALL))
    mesh = build_mesh(s, shapes=True)
    assert check_faces(s, shapes=True) == mesh.n_faces
    at = cell_of_faces(mesh)
    drawn = {(x, z): mesh.palette[b] for (x, _, z), b in zip(at.tolist(), mesh.face_block.tolist())}
    straight = "minecraft:cobblestone_wall[east=low,north=none,south=none,up=false,waterlogged=false,west=low]"
    corner = "minecraft:cobblestone_wall[east=none,north=none,south=low,up=true,waterlogged=false,west=low]"
    assert drawn[1, 1] == straight and drawn[2, 1] == corner
    assert drawn[0, 1] == straight.replace("up=false", "up=true").replace("west=low", "west=none")
    assert [4, 0, 4, 12, 16, 12] not in block_shape(straight).tolist()
    assert [4, 0, 4, 12, 16, 12] in block_shape(corner).tolist()


def test_a_wall_under_a_block_is_tall_and_a_torch_on_a_straight_run_keeps_its_post():
    def middle(on_top):
        blocks = np.zeros((3, 2, 1), np.int32)
        blocks[:, 0, 0] = 1                       # a straight run along x
        palette = (AIR, UNJOINED_WALL) + ((on_top,) if on_top else ())
        if on_top:
            blocks[1, 1, 0] = 2
        return with_joined_sides(Structure(blocks, palette))

    def drawn(s):
        return s.palette[s.blocks[1, 0, 0]]
    low = "minecraft:cobblestone_wall[east=low,north=none,south=none,up=false,waterlogged=false,west=low]"
    assert drawn(middle(None)) == low
    assert drawn(middle("minecraft:stone")) == low.replace("low", "tall")
    assert drawn(middle("minecraft:torch")) == low.replace("up=false", "up=true")
    assert drawn(middle("minecraft:oak_pressure_plate[powered=false]")) == low.replace("up=false", "up=true")
    assert drawn(middle("minecraft:oak_sign[rotation=0,waterlogged=false]")) == low.replace("up=false", "up=true")
    # not in the game's tag, and no collision: nothing changes
    for top in ("minecraft:wall_torch[facing=north]", "minecraft:oak_hanging_sign[attached=false,rotation=0]"):
        assert drawn(middle(top)) == low, top
    # a bottom face covering the sides' test boxes: tall (and a tall straight run has no post)
    for top in ("minecraft:stone_slab[type=bottom,waterlogged=false]", "minecraft:white_carpet"):
        assert drawn(middle(top)) == low.replace("low", "tall"), top
    # one covering the post's test box: the post
    for top in ("minecraft:oak_fence[east=false,north=false,south=false,waterlogged=false,west=false]",
                "minecraft:lantern[hanging=false,waterlogged=false]", "minecraft:chain[axis=y,waterlogged=false]"):
        assert drawn(middle(top)) == low.replace("up=false", "up=true"), top
    # a lone wall on it keeps its post (up=true as the game gives it): so does this one
    assert drawn(middle(UNJOINED_WALL)) == low.replace("up=false", "up=true")


def test_walls_stacked_in_a_straight_run_are_tall_below_and_have_no_post():
    blocks = np.zeros((3, 2, 1), np.int32)
    blocks[:, :, 0] = 1                           # two straight runs along x, one on the other
    s = with_joined_sides(Structure(blocks, (AIR, UNJOINED_WALL)))
    low = "minecraft:cobblestone_wall[east=low,north=none,south=none,up=false,waterlogged=false,west=low]"
    assert s.palette[s.blocks[1, 1, 0]] == low                    # the top one: nothing on it
    assert s.palette[s.blocks[1, 0, 0]] == low.replace("low", "tall")     # under the top one's arms


def test_panes_join_walls_and_iron_bars_but_not_fences():
    bars = "minecraft:iron_bars[east=false,north=false,south=false,waterlogged=false,west=false]"
    states = drawn_states(row(UNJOINED_FENCE, UNJOINED_PANE, bars, UNJOINED_WALL))
    assert states[0] == UNJOINED_FENCE
    assert states[1] == UNJOINED_PANE.replace("east=false", "east=true")
    assert states[2] == bars.replace("east=false", "east=true").replace("west=false", "west=true")
    assert states[3] == UNJOINED_WALL.replace("west=none", "west=low")


def test_joining_ignores_void_and_the_box_edge():
    s = row("minecraft:stone", UNJOINED_PANE, "minecraft:stone")
    s = Structure(s.blocks, s.palette, void=np.array([True, False, False]).reshape(3, 1, 1))
    assert drawn_states(s)[1] == UNJOINED_PANE.replace("east=false", "east=true")


# --- redstone wire saved unconnected ---------------------------------------------

def joined_wire(cells: dict, data_version=1519) -> dict:
    """The states drawn at the cells of a structure of `cells` ((x, y, z) ->
    state, air elsewhere in the box from the origin to the highest), saved
    with `data_version` (by default that of a 1.12 file upgraded)."""
    palette = [AIR] + sorted(set(cells.values()))
    blocks = np.zeros(np.max(list(cells), axis=0) + 1, np.int32)
    for at, state in cells.items():
        blocks[at] = palette.index(state)
    drawn = with_joined_sides(Structure(blocks, tuple(palette), data_version=data_version))
    return {at: drawn.palette[drawn.blocks[at]] for at in cells}


def test_a_row_of_unconnected_wire_is_drawn_as_a_line():
    drawn = joined_wire({(0, 0, 0): wire(), (1, 0, 0): wire(), (2, 0, 0): wire()})
    assert set(drawn.values()) == {wire(east="side", west="side")}      # the ends too: one side is a line


def test_a_lone_unconnected_wire_is_a_cross_and_a_corner_is_a_corner():
    """The game's data fixer of 1.16 makes a lone wire of 1.12 a cross."""
    cross = wire(north="side", east="side", south="side", west="side")
    assert joined_wire({(1, 0, 1): wire()}) == {(1, 0, 1): cross}
    bare = "minecraft:redstone_wire"                                   # no properties at all: the same
    assert joined_wire({(1, 0, 1): bare}) == {(1, 0, 1): cross.replace("power=0,", "")}
    drawn = joined_wire({(0, 0, 0): wire(), (1, 0, 0): wire(), (1, 0, 1): wire()})
    assert drawn[1, 0, 0] == wire(west="side", south="side")
    assert drawn[1, 0, 1] == wire(north="side", south="side")


def test_wire_reaching_nothing_is_a_dot_in_files_from_1_16_on():
    """From DataVersion 2531 (20w18a) a wire reaching no side is a dot the
    player chose; before it (1.13-1.15, and 1.12 files upgraded: 1519) it
    is joined as the game's data fixer does. No DataVersion (a structure
    voxgen made, which its writers stamp as current): drawn as saved."""
    row = {(0, 0, 0): wire(), (1, 0, 0): wire(), (2, 2, 2): wire()}
    for version in (2531, 2586, 3953, None):
        assert joined_wire(row, version) == row
    line, cross = wire(east="side", west="side"), wire(north="side", east="side", south="side", west="side")
    for version in (1519, 2230, 2530):
        assert joined_wire(row, version) == {(0, 0, 0): line, (1, 0, 0): line, (2, 2, 2): cross}


def test_wire_climbs_a_block_to_the_wire_on_top_unless_a_conductor_caps_it():
    stone = "minecraft:stone"
    stairs = {(0, 0, 0): wire(), (1, 0, 0): stone, (1, 1, 0): wire()}
    drawn = joined_wire(stairs)
    assert drawn[0, 0, 0] == wire(east="up", west="side")
    assert drawn[1, 1, 0] == wire(east="side", west="side")             # down past the air beside it
    cross = wire(north="side", east="side", south="side", west="side")
    capped = joined_wire({**stairs, (0, 1, 0): stone})
    assert capped[0, 0, 0] == cross and capped[1, 1, 0] == cross       # each alone
    glass = joined_wire({**stairs, (1, 0, 0): "minecraft:glass"})      # a full block, no conductor
    assert glass[0, 0, 0] == wire(east="up", west="side")
    assert joined_wire({**stairs, (0, 1, 0): "minecraft:glass"})[0, 0, 0] == wire(east="up", west="side")
    sand = joined_wire({**stairs, (0, 1, 0): "minecraft:sand"})        # sand conducts: it caps the wire
    assert sand[0, 0, 0] == cross
    # a top slab holds wire: the wire reaches it, but its side is not full, so not up
    slab = joined_wire({**stairs, (1, 0, 0): "minecraft:stone_slab[type=top,waterlogged=false]"})
    assert slab[0, 0, 0] == wire(east="side", west="side")


def test_wire_reaches_down_past_a_block_that_does_not_conduct_only():
    down = {(0, 1, 0): wire(), (1, 0, 0): wire()}
    assert joined_wire({**down, (1, 1, 0): "minecraft:glass"})[0, 1, 0] == wire(east="side", west="side")
    cross = wire(north="side", east="side", south="side", west="side")
    assert joined_wire({**down, (1, 1, 0): "minecraft:sand"})[0, 1, 0] == cross


def test_wire_reaches_power_sources_a_repeater_in_line_and_an_observer_back():
    lever = "minecraft:lever[face=floor,facing=north,powered=false]"
    assert joined_wire({(0, 0, 0): wire(), (1, 0, 0): lever})[0, 0, 0] == wire(east="side", west="side")
    along = "minecraft:repeater[delay=1,facing=west,locked=false,powered=false]"
    across = along.replace("west", "north")
    assert joined_wire({(0, 0, 0): wire(), (1, 0, 0): along})[0, 0, 0] == wire(east="side", west="side")
    cross = wire(north="side", east="side", south="side", west="side")
    assert joined_wire({(0, 0, 0): wire(), (1, 0, 0): across})[0, 0, 0] == cross
    away = "minecraft:observer[facing=east,powered=false]"              # its back, the output, to the wire
    assert joined_wire({(0, 0, 0): wire(), (1, 0, 0): away})[0, 0, 0] == wire(east="side", west="side")
    assert joined_wire({(0, 0, 0): wire(), (1, 0, 0): away.replace("east", "west")})[0, 0, 0] == cross
    stored = wire(north="side", south="side")                           # saved by the game: as stored
    assert joined_wire({(0, 0, 0): stored, (1, 0, 0): lever})[0, 0, 0] == stored


# Connectors saved unconnected among what changes how they join: conductors
# or not, faces full or not, blocks on top of walls.
JOINING = (AIR, "minecraft:stone", "minecraft:redstone_wire", wire(power=3), UNJOINED_WALL, UNJOINED_FENCE,
           UNJOINED_PANE, "minecraft:glass", "minecraft:sand", "minecraft:stone_slab[type=top,waterlogged=false]",
           "minecraft:stone_slab[type=bottom,waterlogged=false]", "minecraft:torch", "minecraft:white_carpet",
           "minecraft:oak_stairs[facing=east,half=bottom,shape=straight,waterlogged=false]",
           "minecraft:hopper[enabled=true,facing=down]", "minecraft:lantern[hanging=false,waterlogged=false]",
           "minecraft:repeater[delay=1,facing=north,locked=false,powered=false]",
           "minecraft:observer[facing=west,powered=false]", "minecraft:vine[east=false,north=true,south=false,"
           "up=false,west=false]")


@pytest.mark.parametrize("seed", range(12))
def test_joining_matches_its_twin_cell_by_cell(seed):
    from render_mesh_twin import twin_drawn_state
    rng = np.random.default_rng(seed)
    shape = (5, 4, 5)
    blocks = np.where(rng.random(shape) < 0.7, rng.integers(1, len(JOINING), shape), 0).astype(np.int32)
    s = Structure(blocks, JOINING, void=rng.random(shape) < 0.05 if seed % 2 else None,
                  data_version=(1519, 2230, 3953, None)[seed % 4])        # 1.12 upgraded, 1.15, 1.20.4, none
    joined = with_joined_sides(s)
    drawn = np.ones(shape, bool) if s.void is None else ~s.void
    for at in np.argwhere(drawn).tolist():
        assert joined.palette[joined.blocks[tuple(at)]] == twin_drawn_state(s, *at), at


# --- culling beside shaped blocks -------------------------------------------------

SLAB = "minecraft:stone_slab[type=bottom,waterlogged=false]"


def test_a_cube_beside_a_slab_shows_the_face_it_touches():
    s = Structure(np.array([[[1]], [[2]]], np.int32), (AIR, "minecraft:stone", SLAB))
    mesh = build_mesh(s, shapes=True)
    stone = mesh.face_direction[mesh.face_block == 1]
    assert sorted(DIRECTIONS[d] for d in stone) == sorted(DIRECTIONS)     # east face too
    slab = [DIRECTIONS[d] for d in mesh.face_direction[mesh.face_block == 2]]
    assert sorted(slab) == sorted(set(DIRECTIONS) - {"west"})          # its side on the stone is hidden
    assert mesh.n_faces == 11 == check_faces(s, shapes=True)
    assert build_mesh(s).n_faces == 10                                   # as cubes: the shared pair is hidden


def test_stone_under_a_slab_and_the_slab_hide_the_faces_they_share():
    s = Structure(np.array([[[1], [2], [1]]], np.int32), (AIR, "minecraft:stone", SLAB))
    mesh = build_mesh(s, shapes=True)
    below = (mesh.face_block == 1) & (mesh.vertices.reshape(-1, 4, 3)[:, :, 1].max(axis=1) <= 1)
    assert "up" not in [DIRECTIONS[d] for d in mesh.face_direction[below]]     # covered by the slab
    slab = [DIRECTIONS[d] for d in mesh.face_direction[mesh.face_block == 2]]
    assert "down" not in slab and "up" in slab                               # its top shows under the stone
    above = (mesh.face_block == 1) & (mesh.vertices.reshape(-1, 4, 3)[:, :, 1].min(axis=1) >= 2)
    assert "down" in [DIRECTIONS[d] for d in mesh.face_direction[above]]     # the slab does not reach it
    assert check_faces(s, shapes=True) == mesh.n_faces


def test_a_slab_inside_stone_shows_nothing():
    blocks = np.ones((3, 3, 3), np.int32)
    blocks[1, 1, 1] = 2
    s = Structure(blocks, (AIR, "minecraft:stone", SLAB))
    mesh = build_mesh(s, shapes=True)
    assert mesh.n_faces == 54 == check_faces(s, shapes=True) and 2 not in mesh.face_block


def test_a_piston_beside_stairs_keeps_its_front_mark():
    s = Structure(np.array([[[1]], [[2]]], np.int32),
                  (AIR, "minecraft:sticky_piston[extended=false,facing=east]",
                   "minecraft:oak_stairs[facing=east,half=bottom,shape=straight]"))
    mesh = build_mesh(s, shapes=True)
    vertices, quads, _ = front_marks(mesh)
    assert len(quads) == 1 and np.allclose(vertices[:, 0], 1 + FRONT_MARK_LIFT)


# --- the kernel against its twin, and the count --------------------------------------

PALETTE = (AIR, "minecraft:stone", "minecraft:glass", "minecraft:water[level=0]", SLAB,
           "minecraft:oak_slab[type=top,waterlogged=false]",
           "minecraft:oak_stairs[facing=north,half=bottom,shape=straight,waterlogged=false]",
           "minecraft:oak_stairs[facing=west,half=top,shape=outer_left,waterlogged=false]",
           "minecraft:oak_fence[east=true,north=false,south=true,waterlogged=false,west=false]",
           "minecraft:glass_pane[east=true,north=true,south=false,waterlogged=false,west=false]",
           "minecraft:torch", "minecraft:poppy", "minecraft:oak_trapdoor[facing=east,half=top,open=true]",
           "minecraft:oak_door[facing=south,half=lower,hinge=right,open=false,powered=false]",
           "minecraft:red_carpet", "minecraft:observer[facing=up,powered=false]",
           # saved unconnected (as upgraded from 1.12), and what they may join
           "minecraft:oak_fence[east=false,north=false,south=false,waterlogged=false,west=false]",
           "minecraft:nether_brick_fence[east=false,north=false,south=false,waterlogged=false,west=false]",
           "minecraft:glass_pane[east=false,north=false,south=false,waterlogged=false,west=false]",
           "minecraft:iron_bars[east=false,north=false,south=false,waterlogged=false,west=false]",
           "minecraft:cobblestone_wall[east=none,north=none,south=none,up=true,waterlogged=false,west=none]",
           "minecraft:oak_fence_gate[facing=north,in_wall=false,open=false,powered=false]",
           "minecraft:oak_leaves[distance=1,persistent=true,waterlogged=false]",
           # redstone parts, buttons, levers and signs
           "minecraft:redstone_wire[east=side,north=none,power=0,south=side,west=none]",
           "minecraft:redstone_wire[east=none,north=none,power=0,south=none,west=none]",    # as from 1.12
           "minecraft:repeater[delay=2,facing=east,locked=false,powered=false]",
           "minecraft:comparator[facing=north,mode=compare,powered=false]",
           "minecraft:stone_button[face=wall,facing=south,powered=false]",
           "minecraft:oak_button[face=floor,facing=east,powered=true]",
           "minecraft:lever[face=wall,facing=west,powered=false]",
           "minecraft:lever[face=ceiling,facing=north,powered=true]",
           "minecraft:oak_sign[rotation=4,waterlogged=false]",
           "minecraft:oak_wall_sign[facing=east,waterlogged=false]",
           "minecraft:oak_wall_hanging_sign[facing=north,waterlogged=false]",
           "minecraft:vine[east=false,north=true,south=false,up=true,west=true]", "minecraft:potted_fern",
           "minecraft:end_rod[facing=west]", "minecraft:cauldron", "minecraft:hopper[enabled=true,facing=south]")


def mesh_faces(mesh):
    """The twin's tuples from a VoxelMesh (corners in 16ths of a block)."""
    out = []
    for f in range(mesh.n_faces):
        corners = frozenset(tuple(c) for c in np.rint(mesh.vertices[mesh.faces[f]] * 16).astype(int).tolist())
        out.append((mesh.palette[mesh.face_block[f]], DIRECTIONS[mesh.face_direction[f]],
                    *mesh.face_colours[f].tolist(), bool(mesh.face_clear[f]), corners))
    return sorted(out, key=lambda f: (f[:6], sorted(f[6])))


def random_structure(rng, shape=(5, 4, 6), fill=0.6):
    blocks = np.where(rng.random(shape) < fill, rng.integers(1, len(PALETTE), shape), 0)
    # Some stone-heavy cells, so shaped blocks also sit inside and on top of cubes.
    blocks = np.where(rng.random(shape) < 0.25, 1, blocks).astype(np.int32)
    return Structure(blocks, PALETTE, void=rng.random(shape) < 0.05)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("see_through", [False, True])
def test_shaped_mesh_matches_per_box_twin(seed, see_through):
    s = random_structure(np.random.default_rng(seed))
    mesh = build_mesh(s, shapes=True, see_through=see_through)
    assert mesh_faces(mesh) == per_box_faces(s, see_through=see_through)
    assert check_faces(s, shapes=True, see_through=see_through) == mesh.n_faces


def test_shaped_mesh_matches_twin_with_cut_hidden_blocks_and_eye():
    rng = np.random.default_rng(11)
    s = random_structure(rng, fill=0.8)
    keep = rng.random(s.shape) < 0.8
    hidden = np.zeros(len(PALETTE), bool)
    hidden[[2, 8]] = True
    mesh = build_mesh(s, keep=keep, hidden=hidden, shapes=True, see_through=True)
    assert mesh_faces(mesh) == per_box_faces(s, keep=keep, hidden={2, 8}, see_through=True)
    assert check_faces(s, keep=keep, hidden=hidden, shapes=True, see_through=True) == mesh.n_faces
    for eye in [(20.0, 15.0, 25.0), (-8.0, 2.3, 3.4), (2.6, -10.0, -4.0)]:
        seen = build_mesh(s, keep=keep, hidden=hidden, shapes=True, see_through=True, eye=np.array(eye))
        twin = per_box_faces(s, keep=keep, hidden={2, 8}, see_through=True, eye=eye)
        assert mesh_faces(seen) == twin and 0 < len(twin) < mesh.n_faces


def test_shaped_faces_wind_outward():
    s = random_structure(np.random.default_rng(3))
    mesh = build_mesh(s, shapes=True, see_through=True)
    v = mesh.vertices[mesh.faces]
    normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    expected = np.array([TWIN_NORMALS[DIRECTIONS[d]] for d in mesh.face_direction])
    assert (np.sign(np.rint(normal * 256)) == expected).all()
    assert sorted(mesh.faces.ravel().tolist()) == list(range(4 * mesh.n_faces))


def test_counts_agree_slab_by_slab(monkeypatch):
    s = random_structure(np.random.default_rng(4), shape=(9, 4, 5))
    whole = check_faces(s, shapes=True, see_through=True)
    monkeypatch.setattr(mesh_mod, "_SLAB_CELLS", 20)          # one x layer a slab
    assert check_faces(s, shapes=True, see_through=True) == whole
    assert build_mesh(s, shapes=True, see_through=True).n_faces == whole


def test_shapes_over_the_face_limit_give_way_to_cubes(monkeypatch):
    """A picture that fits as cubes but not as shapes is drawn as cubes, and
    the count says so; over the limit even as cubes, it is refused."""
    s = Structure(np.full((2, 1, 1), 2, np.int32), (AIR, "minecraft:stone", "minecraft:poppy"), name="p")
    assert check_faces(s, shapes=True) == 36
    monkeypatch.setattr(mesh_mod, "MAX_FACES", 20)
    assert check_faces(s, shapes=True) == 10
    mesh = build_mesh(s, shapes=True)
    assert mesh.n_faces == 10 and mesh.vertices.max(axis=0).tolist() == [2, 1, 1]
    monkeypatch.setattr(mesh_mod, "MAX_FACES", 9)
    from voxgen.errors import VoxgenError
    with pytest.raises(VoxgenError, match="10 .*limit 9"):
        check_faces(s, shapes=True)


def test_a_box_full_of_slabs_is_counted_in_runs_of_bounded_size(monkeypatch):
    """The shaped cells' neighbours are looked up a bounded run of cells at a
    time, not a whole slab at once (a 256^3 box of slabs took 1.5 GB and 8.6 s
    to count that way); the runs together are every shaped cell with the
    opaque cubes beside it, as one look-up per cell gives them."""
    rng = np.random.default_rng(7)
    blocks = rng.choice([1, 2], size=(4, 4, 4), p=[0.3, 0.7]).astype(np.int32)
    s = Structure(blocks, (AIR, "minecraft:stone", "minecraft:oak_slab[type=bottom]"))
    shaped, opaque = blocks == 2, blocks == 1
    whole = check_faces(s, shapes=True)
    monkeypatch.setattr(mesh_mod, "_SLAB_CELLS", 64)          # the whole box one slab, runs of 8
    runs = list(mesh_mod._shaped_cells(shaped, opaque))
    assert max(len(flat) for flat, _ in runs) <= 8
    flat = np.concatenate([f for f, _ in runs])
    blocked = np.concatenate([b for _, b in runs])
    assert flat.tolist() == np.flatnonzero(shaped).tolist()
    padded = np.pad(opaque, 1)
    for cell, row in zip(flat, blocked):
        at = np.array(np.unravel_index(cell, shaped.shape)) + 1
        assert row.tolist() == [bool(padded[tuple(at + n)]) for n in NORMALS]
    assert check_faces(s, shapes=True) == build_mesh(s, shapes=True).n_faces == whole


@pytest.mark.parametrize("seed", range(4))
def test_joining_in_runs_of_a_few_cells_gives_the_same_states(seed, monkeypatch):
    """`with_joined_sides` works through the grid in runs of x-slabs (a 256^3
    box of unjoined fences took 1.8 GB in one pass); runs of one slab give
    every cell the state of one pass over all (new entries may come in
    another order)."""
    from voxgen.render import joins, neighbours
    s = random_structure(np.random.default_rng(seed), shape=(7, 3, 5))
    whole = joins.with_joined_sides(s)
    assert len(whole.palette) > len(s.palette)          # something was joined
    monkeypatch.setattr(neighbours, "JOIN_CELLS", 1)
    runs = joins.with_joined_sides(s)
    assert runs.palette[:len(s.palette)] == s.palette
    assert (np.array(runs.palette)[runs.blocks] == np.array(whole.palette)[whole.blocks]).all()
