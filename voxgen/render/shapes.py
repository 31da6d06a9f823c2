"""The shapes pictures draw for blocks that do not fill their cell.

A shape is a union of axis-aligned boxes inside the unit cell, written in
Minecraft's model pixels (16 to a block): int (B, 6) rows
`x0, y0, z0, x1, y1, z1` with 0 <= lo < hi <= 16. `block_shape(state)` gives
it for one block state, or None for a block drawn as a full cube (anything
not listed here, and the states that fill their cell: double slabs, eight
snow layers). The boxes of one shape never overlap, so no two faces of one
block lie on top of each other.

Shapes with a direction are written facing north and turned (`turn`); the
rules follow the game's block models: a stair's step is on its `facing` side,
an open trapdoor, a closed door, a ladder, a wall sign and a button or lever
on a wall lie against the side opposite `facing`, an open door against the
side of its hinge; a repeater or comparator takes its input on its `facing`
side. Standing signs and banners turn to the side nearest their `rotation`.
Names are matched without their namespace, so a mod's `*_stairs` with the
game's states draws as stairs. These are pictures only: physics and export
keep every block a full cube.

The small things in and on blocks (redstone parts, signs, vines, heads,
cauldrons, ...) are written in `fixtures`, with the helpers of `boxes`.
Fences, walls, panes, iron bars and redstone wire saved with no side
connected (files upgraded from 1.12) are given the sides the game would
connect from their neighbours by `joins.with_joined_sides`, which reads a
block's kind here (`connector`).

Also here, because both the cubes and the boxes are made of them: the face
directions of a cell (DIRECTIONS, NORMALS, BRIGHTNESS, CORNERS) and
`compile_shapes`, which turns a palette's shapes into one table of box
faces for `mesh.build_mesh`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from voxgen.blocks import block_id, properties
from voxgen.render.boxes import SIDES, cross, faced, facing_of, flat, flip, rotated, turn
from voxgen.render.fixtures import (AMETHYST, HANGING_SIGN, HEADS, SIGN, WALL_HANGING_SIGN, WALL_HEADS, WALL_SIGN,
                                    bell, button, candles, cauldron, grindstone, hopper, lantern, lever, multiface,
                                    potted, repeater, rod, scaffolding, sea_pickle, wire)

# Face directions, defined once: name, outward normal, brightness. Brightness
# follows Minecraft's own flat shading (top 1.0, north/south 0.8,
# east/west 0.6, bottom 0.5).
DIRECTIONS = ("east", "west", "up", "down", "south", "north")
NORMALS = np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)],
                   dtype=np.int64)
BRIGHTNESS = np.array([0.6, 0.6, 1.0, 0.5, 0.8, 0.8])

# The four corners of each face of the unit cube, counter-clockwise seen from
# outside (so the right-hand normal of corners 0, 1, 2 points outward).
CORNERS = np.array([
    [(1, 0, 0), (1, 1, 0), (1, 1, 1), (1, 0, 1)],  # east,  x = 1
    [(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0)],  # west,  x = 0
    [(0, 1, 0), (0, 1, 1), (1, 1, 1), (1, 1, 0)],  # up,    y = 1
    [(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)],  # down,  y = 0
    [(0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],  # south, z = 1
    [(0, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 0)],  # north, z = 0
], dtype=np.float32)



# Cross-shaped plants (and saplings) and their height in pixels.
PLANTS = {
    "dandelion": 10, "poppy": 10, "blue_orchid": 10, "allium": 10, "azure_bluet": 10,
    "red_tulip": 10, "orange_tulip": 10, "white_tulip": 10, "pink_tulip": 10, "oxeye_daisy": 10,
    "cornflower": 10, "lily_of_the_valley": 10, "wither_rose": 10, "torchflower": 10,
    "open_eyeblossom": 10, "closed_eyeblossom": 10,
    "short_grass": 13, "grass": 13, "fern": 13, "dead_bush": 13, "bush": 13, "firefly_bush": 13,
    "tall_grass": 16, "large_fern": 16, "sunflower": 16, "lilac": 16, "rose_bush": 16,
    "peony": 16, "pitcher_plant": 16, "sugar_cane": 16, "seagrass": 13, "tall_seagrass": 16,
    "kelp": 16, "kelp_plant": 16, "sweet_berry_bush": 13, "bamboo_sapling": 12,
    "brown_mushroom": 7, "red_mushroom": 7, "crimson_fungus": 9, "warped_fungus": 9,
    "crimson_roots": 12, "warped_roots": 12, "nether_sprouts": 6,
}
# Crops grow from 2 pixels to a full block over their ages 0 .. max.
CROPS = {"wheat": 7, "carrots": 7, "potatoes": 7, "beetroots": 3, "torchflower_crop": 2}
TORCHES = frozenset({"torch", "soul_torch", "redstone_torch", "copper_torch"})
WALL_TORCHES = frozenset({"wall_torch", "soul_wall_torch", "redstone_wall_torch",
                          "copper_wall_torch"})
RAILS = frozenset({"rail", "powered_rail", "detector_rail", "activator_rail"})
PANES = frozenset({"glass_pane", "iron_bars"})      # and every *_glass_pane


def _stairs(props):
    # Facing north: the slab, and the step on the north half (right = east).
    steps = {"straight": [(0, 8, 0, 16, 16, 8)],
             "outer_right": [(8, 8, 0, 16, 16, 8)],
             "outer_left": [(0, 8, 0, 8, 16, 8)],
             "inner_right": [(0, 8, 0, 16, 16, 8), (8, 8, 8, 16, 16, 16)],
             "inner_left": [(0, 8, 0, 16, 16, 8), (0, 8, 8, 8, 16, 16)]}
    boxes = [(0, 0, 0, 16, 8, 16)] + steps.get(props.get("shape"), steps["straight"])
    boxes = flip(boxes) if props.get("half") == "top" else boxes
    return turn(boxes, facing_of(props))


def _slab(props):
    kind = props.get("type", "bottom")
    return None if kind == "double" else [(0, 8, 0, 16, 16, 16) if kind == "top" else (0, 0, 0, 16, 8, 16)]


def _snow(props):
    layers = int(props.get("layers", "1")) if props.get("layers", "1").isdigit() else 1
    return None if layers >= 8 else [(0, 0, 0, 16, 2 * max(1, layers), 16)]


def _trapdoor(props):
    if props.get("open") == "true":
        return turn([(0, 0, 13, 16, 16, 16)], facing_of(props))
    return [(0, 13, 0, 16, 16, 16) if props.get("half") == "top" else (0, 0, 0, 16, 3, 16)]


def _door(props):
    if props.get("open") == "true":
        panel = (13, 0, 0, 16, 16, 16) if props.get("hinge") == "right" else (0, 0, 0, 3, 16, 16)
    else:
        panel = (0, 0, 13, 16, 16, 16)
    return turn([panel], facing_of(props))


def connected_sides(props) -> list[str]:
    """The sides a fence, wall or pane reaches to (true, low or tall)."""
    return [side for side in SIDES if props.get(side, "false") not in ("false", "none")]


def _post_and_arms(post, arm, sides) -> list[tuple]:
    """The `post` boxes and the `arm` boxes (written for north) turned to each of `sides`."""
    return list(post) + [box for side in sides for box in turn(arm, side)]


def _fence(props):
    return _post_and_arms([(6, 0, 6, 10, 16, 10)], [(7, 12, 0, 9, 15, 6), (7, 6, 0, 9, 9, 6)],
                          connected_sides(props))


def _pane(props):
    return _post_and_arms([(7, 0, 7, 9, 16, 9)], [(7, 0, 0, 9, 16, 7)], connected_sides(props))


def _wall(props):
    # Without its post (up=false, which the game sets only on a straight run)
    # the two arms meet in the middle; any other state keeps the post, so
    # arms never overlap.
    sides = connected_sides(props)
    straight = sorted(sides) in (["north", "south"], ["east", "west"])
    post = props.get("up", "true") == "true" or not straight
    boxes = [(4, 0, 4, 12, 16, 12)] if post else []
    for side in sides:
        height = 16 if props[side] == "tall" else 14
        boxes += turn([(5, 0, 0, 11, height, 4 if post else 8)], side)
    return boxes


def _fence_gate(props):
    posts = [(0, 5, 7, 2, 16, 9), (14, 5, 7, 16, 16, 9)]
    if props.get("open") == "true":
        bars = [(0, 6, 0, 2, 15, 7), (14, 6, 0, 16, 15, 7)]
    else:
        bars = [(2, 6, 7, 14, 9, 9), (2, 12, 7, 14, 15, 9)]
    return turn(posts + bars, facing_of(props))


def _crop(props, oldest: int):
    age = int(props["age"]) if props.get("age", "").isdigit() else oldest
    return cross(2 + 14 * min(age, oldest) // oldest)


# Shapes found by the end of the block's name (checked in this order).
_BY_SUFFIX = (
    ("_stairs", _stairs), ("_slab", _slab), ("_carpet", flat(1)),
    ("_pressure_plate", flat(1, 1)), ("_trapdoor", _trapdoor), ("_door", _door),
    ("_fence_gate", _fence_gate), ("_fence", _fence), ("_wall", _wall),
    ("_glass_pane", _pane), ("_sapling", lambda props: cross(14)), ("_bed", flat(9)),
    ("_wall_banner", faced((1, 0, 14, 15, 16, 16))),
    ("_banner", rotated((7, 0, 7, 9, 16, 9), (1, 3, 6, 15, 16, 7))),    # the cloth on the side it faces
    ("button", button), ("_wall_hanging_sign", faced(*WALL_HANGING_SIGN)),
    ("_hanging_sign", rotated(*HANGING_SIGN)), ("_wall_sign", faced(*WALL_SIGN)), ("_sign", rotated(*SIGN)),
    ("_coral_wall_fan", faced((2, 6, 10, 14, 8, 16))), ("_coral_fan", lambda props: cross(6)),
    ("_coral", lambda props: cross(15)),
)
_BY_NAME = {
    "snow": _snow, "ladder": faced((0, 0, 15, 16, 16, 16)),
    "sign": rotated(*SIGN), "wall_sign": faced(*WALL_SIGN),       # as 1.13 named the oak ones
    "redstone_wire": wire, "lever": lever, "repeater": repeater,
    # The comparator: its slab, the two torches at the input end and the low one at the output.
    "comparator": faced((0, 0, 0, 16, 2, 16), (4, 2, 3, 6, 7, 5), (10, 2, 3, 12, 7, 5), (7, 2, 12, 9, 4, 14)),
    "chest": flat(14, 1), "trapped_chest": flat(14, 1), "ender_chest": flat(14, 1),
    "flower_pot": lambda props: [(5, 0, 5, 11, 6, 11)],
    "lantern": lantern, "soul_lantern": lantern,
    "vine": multiface, "glow_lichen": multiface, "sculk_vein": multiface,
    # the end rod on its base; the lightning rod with its tip at the far end
    "end_rod": rod((6, 0, 6, 10, 1, 10), (7, 1, 7, 9, 16, 9)),
    "lightning_rod": rod((7, 0, 7, 9, 12, 9), (6, 12, 6, 10, 16, 10)), "sea_pickle": sea_pickle,
    "bell": bell, "grindstone": grindstone, "scaffolding": scaffolding,
    **{name: rod(*cross(height)) for name, height in AMETHYST.items()},
    "chain": lambda props: [{"x": (0, 7, 7, 16, 9, 9), "z": (7, 7, 0, 9, 9, 16)}.get(props.get("axis"),
                                                                                   (7, 0, 7, 9, 16, 9))],
    "cobweb": lambda props: cross(16), "fire": lambda props: cross(16), "soul_fire": lambda props: cross(16),
    "enchanting_table": flat(12), "daylight_detector": flat(6), "stonecutter": flat(9),
    "cake": flat(8, 1), "campfire": flat(7), "soul_campfire": flat(7), "lily_pad": flat(1),
    "cactus": flat(16, 1), "bamboo": lambda props: [(6, 0, 6, 10, 16, 10)],
    "pointed_dripstone": lambda props: [(5, 0, 5, 11, 16, 11)],
    "cauldron": cauldron, "water_cauldron": cauldron, "lava_cauldron": cauldron,
    "powder_snow_cauldron": cauldron, "hopper": hopper,
    "candle": candles, **{f"{colour}_candle": candles for colour in (
        "white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray", "light_gray",
        "cyan", "purple", "blue", "brown", "green", "red", "black")},
    # The anvil's foot, waist and top, its top long along `facing` (as the game's model).
    **{name: faced((2, 0, 2, 14, 4, 14), (4, 4, 4, 12, 10, 12), (3, 10, 0, 13, 16, 16))
       for name in ("anvil", "chipped_anvil", "damaged_anvil")},
    "lectern": faced((0, 0, 0, 16, 2, 16), (4, 2, 4, 12, 13, 12), (0, 13, 0, 16, 16, 16)),
    "brewing_stand": lambda props: [(1, 0, 1, 15, 2, 15), (7, 2, 7, 9, 14, 9)],
    **{name: (lambda props: [(4, 0, 4, 12, 8, 12)]) for name in HEADS},
    **{name: faced((4, 4, 8, 12, 12, 16)) for name in WALL_HEADS},
    **{name: _pane for name in PANES},
    **{name: flat(1) for name in RAILS},
    **{name: (lambda props: [(7, 0, 7, 9, 10, 9)]) for name in TORCHES},
    **{name: faced((7, 3, 12, 9, 13, 14)) for name in WALL_TORCHES},
    **{name: (lambda props, h=h: cross(h)) for name, h in PLANTS.items()},
    **{name: (lambda props, oldest=oldest: _crop(props, oldest)) for name, oldest in CROPS.items()},
}


def connector(state: str) -> str | None:
    """"fence", "pane" (and iron bars), "wall" or "fence_gate": the kind of
    `state` that joins its neighbours, by the shape it is drawn with; None
    for any other block."""
    kinds = {_fence: "fence", _pane: "pane", _wall: "wall", _fence_gate: "fence_gate"}
    return kinds.get(_maker(block_id(state).partition(":")[2]))


def _maker(path: str):
    """The function giving the boxes of blocks named `path` (no namespace), or None."""
    make = _BY_NAME.get(path)
    if make is None and path.startswith("potted_"):
        return functools.partial(potted, path=path)
    return make if make is not None else next((f for suffix, f in _BY_SUFFIX if path.endswith(suffix)), None)


@functools.lru_cache(maxsize=65536)
def block_shape(state: str) -> np.ndarray | None:
    """int (B, 6) boxes `x0, y0, z0, x1, y1, z1` in pixels (16 a block) of
    the canonical block state `state`, or None when a picture draws it as a
    full cube. The array is shared: do not write to it."""
    make = _maker(block_id(state).partition(":")[2])
    boxes = None if make is None else make(properties(state))
    if boxes is None:
        return None
    shape = np.array(boxes, dtype=np.int64).reshape(-1, 6)
    shape.flags.writeable = False
    return shape


@dataclass
class ShapeTable:
    """The box faces of a palette's shaped entries (`shapes.block_shape`),
    one flat table of T faces; entry k's faces are start[k] : start[k] + count[k].

    shaped: bool (K,) entries drawn as boxes (the others are full cubes).
    start, count: int64 (K,).
    corners: float32 (T, 4, 3) block units inside the cell, wound as CORNERS.
    direction: int8 (T,) index into DIRECTIONS.
    plane: float32 (T,) the face's coordinate along its normal, inside the cell.
    on_side: bool (T,) the face lies on the cell's side it faces.
    side_faces: int64 (K, 6) per entry, how many faces lie on each side.
    full_side: bool (K, 6) per entry, whether those faces cover the whole
        side (a slab's bottom, a stair's back): the cube beside it there
        shows no face.
    """

    shaped: np.ndarray
    start: np.ndarray
    count: np.ndarray
    corners: np.ndarray
    direction: np.ndarray
    plane: np.ndarray
    on_side: np.ndarray
    side_faces: np.ndarray
    full_side: np.ndarray


def compile_shapes(palette) -> ShapeTable:
    """The ShapeTable of `palette` (one Python loop over its entries)."""
    shapes = [block_shape(state) for state in palette]
    boxes = [np.zeros((0, 6)) if b is None else b / 16.0 for b in shapes]
    count = np.array([6 * len(b) for b in boxes], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    every = np.concatenate(boxes).reshape(-1, 2, 3)                     # (N, lo/hi, xyz)
    lo, size = every[:, 0], every[:, 1] - every[:, 0]
    corners = lo[:, None, None, :] + CORNERS[None] * size[:, None, None, :]   # (N, 6, 4, 3)
    direction = np.tile(np.arange(6, dtype=np.int8), len(every))
    axis = np.argmax(np.abs(NORMALS), axis=1)[direction]
    positive = NORMALS[direction, axis] > 0
    box = np.repeat(np.arange(len(every)), 6)
    plane = np.where(positive, every[box, 1, axis], every[box, 0, axis])
    on_side = plane == positive.astype(float)       # x = 1 for an east face, x = 0 for a west one
    entry = np.repeat(np.arange(len(palette)), count)
    side_faces = np.zeros((len(palette), 6), dtype=np.int64)
    np.add.at(side_faces, (entry[on_side], direction[on_side]), 1)
    # The boxes of a shape do not overlap, so neither do its faces on one
    # side: they cover it when their areas add up to 1.
    area = np.prod(np.where(np.eye(3, dtype=bool)[axis], 1.0, size.repeat(6, axis=0)), axis=1)
    covered = np.zeros((len(palette), 6))
    np.add.at(covered, (entry[on_side], direction[on_side]), area[on_side])
    return ShapeTable(np.array([b is not None for b in shapes], dtype=bool), start, count,
                      corners.reshape(-1, 4, 3).astype(np.float32), direction,
                      plane.astype(np.float32), on_side, side_faces, np.isclose(covered, 1.0))
