"""The shapes pictures draw for blocks that do not fill their cell.

A shape is a union of axis-aligned boxes inside the unit cell, written in
Minecraft's model pixels (16 to a block): int (B, 6) rows
`x0, y0, z0, x1, y1, z1` with 0 <= lo < hi <= 16. `block_shape(state)` gives
it for one block state, or None for a block drawn as a full cube (anything
not listed here, and the states that fill their cell: double slabs, eight
snow layers). The boxes of one shape never overlap, so no two faces of one
block lie on top of each other.

Shapes with a direction are written facing north and turned (`_turn`); the
rules follow the game's block models: a stair's step is on its `facing` side,
an open trapdoor, a closed door, a ladder, a wall sign and a button or lever
on a wall lie against the side opposite `facing`, an open door against the
side of its hinge; a repeater or comparator takes its input on its `facing`
side. Standing signs and banners turn to the side nearest their `rotation`.
Names are matched without their namespace, so a mod's `*_stairs` with the
game's states draws as stairs. These are pictures only: physics and export
keep every block a full cube.

Fences, walls, panes, iron bars and redstone wire saved with no side
connected (files upgraded from 1.12) are given the sides the game would
connect from their neighbours by `joins.with_joined_sides`, which reads a
block's kind here (`connector`, `wire_sides`).

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


# Horizontal sides in clockwise order seen from above: one quarter turn
# (`_turn`) takes each to the next.
SIDES = ("north", "east", "south", "west")

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


def _turn(boxes, facing: str) -> list[tuple]:
    """Boxes written facing north, turned to face `facing` (a quarter turn
    clockwise from above per step: (x, z) -> (16 - z, x))."""
    out = []
    for x0, y0, z0, x1, y1, z1 in boxes:
        for _ in range(SIDES.index(facing)):
            x0, z0, x1, z1 = 16 - z1, x0, 16 - z0, x1
        out.append((x0, y0, z0, x1, y1, z1))
    return out


def _flip(boxes) -> list[tuple]:
    """Boxes mirrored top to bottom (the upper-half stair, the top trapdoor)."""
    return [(x0, 16 - y1, z0, x1, 16 - y0, z1) for x0, y0, z0, x1, y1, z1 in boxes]


def _facing(props, default: str = "north") -> str:
    facing = props.get("facing", default)
    return facing if facing in SIDES else default


def _stairs(props):
    # Facing north: the slab, and the step on the north half (right = east).
    steps = {"straight": [(0, 8, 0, 16, 16, 8)],
             "outer_right": [(8, 8, 0, 16, 16, 8)],
             "outer_left": [(0, 8, 0, 8, 16, 8)],
             "inner_right": [(0, 8, 0, 16, 16, 8), (8, 8, 8, 16, 16, 16)],
             "inner_left": [(0, 8, 0, 16, 16, 8), (0, 8, 8, 8, 16, 16)]}
    boxes = [(0, 0, 0, 16, 8, 16)] + steps.get(props.get("shape"), steps["straight"])
    boxes = _flip(boxes) if props.get("half") == "top" else boxes
    return _turn(boxes, _facing(props))


def _slab(props):
    kind = props.get("type", "bottom")
    return None if kind == "double" else [(0, 8, 0, 16, 16, 16) if kind == "top" else (0, 0, 0, 16, 8, 16)]


def _snow(props):
    layers = int(props.get("layers", "1")) if props.get("layers", "1").isdigit() else 1
    return None if layers >= 8 else [(0, 0, 0, 16, 2 * max(1, layers), 16)]


def _trapdoor(props):
    if props.get("open") == "true":
        return _turn([(0, 0, 13, 16, 16, 16)], _facing(props))
    return [(0, 13, 0, 16, 16, 16) if props.get("half") == "top" else (0, 0, 0, 16, 3, 16)]


def _door(props):
    if props.get("open") == "true":
        panel = (13, 0, 0, 16, 16, 16) if props.get("hinge") == "right" else (0, 0, 0, 3, 16, 16)
    else:
        panel = (0, 0, 13, 16, 16, 16)
    return _turn([panel], _facing(props))


def connected_sides(props) -> list[str]:
    """The sides a fence, wall or pane reaches to (true, low or tall)."""
    return [side for side in SIDES if props.get(side, "false") not in ("false", "none")]


def _post_and_arms(post, arm, sides) -> list[tuple]:
    """The `post` boxes and the `arm` boxes (written for north) turned to each of `sides`."""
    return list(post) + [box for side in sides for box in _turn(arm, side)]


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
        boxes += _turn([(5, 0, 0, 11, height, 4 if post else 8)], side)
    return boxes


def _fence_gate(props):
    posts = [(0, 5, 7, 2, 16, 9), (14, 5, 7, 16, 16, 9)]
    if props.get("open") == "true":
        bars = [(0, 6, 0, 2, 15, 7), (14, 6, 0, 16, 15, 7)]
    else:
        bars = [(2, 6, 7, 14, 9, 9), (2, 12, 7, 14, 15, 9)]
    return _turn(posts + bars, _facing(props))


def _cross(height: int) -> list[tuple]:
    """Two thin crossing walls (the second in two pieces, so none overlap)."""
    return [(7, 0, 2, 9, height, 14), (2, 0, 7, 7, height, 9), (9, 0, 7, 14, height, 9)]


def _crop(props, oldest: int):
    age = int(props["age"]) if props.get("age", "").isdigit() else oldest
    return _cross(2 + 14 * min(age, oldest) // oldest)


def _lantern(props):
    if props.get("hanging") == "true":           # hung from the block above by its chain
        return [(5, 1, 5, 11, 8, 11), (6, 8, 6, 10, 10, 10), (7, 10, 7, 9, 16, 9)]
    return [(5, 0, 5, 11, 7, 11), (6, 7, 6, 10, 9, 10)]


def _faced(*boxes):
    """The maker of `boxes` (written facing north) turned to the block's `facing`."""
    return lambda props: _turn(boxes, _facing(props))


def _rotated(*boxes):
    """The maker of `boxes` (written facing north) turned to the side nearest
    a standing block's `rotation` (sixteenths of a turn from south)."""
    def make(props):
        rotation = int(props["rotation"]) if props.get("rotation", "").isdigit() else 0
        return _turn(boxes, SIDES[(2 + (rotation + 2) // 4) % 4])    # 0 south, 4 west, 8 north, 12 east
    return make


def _attached(props, boxes) -> list[tuple]:
    """`boxes` written lying on the floor facing north, placed by the block's
    `face`: on the floor, hung from the ceiling, or stood up against the
    side opposite `facing` on a wall (the floor's y = 0 becoming z = 16)."""
    face = props.get("face", "wall")
    if face == "wall":
        boxes = [(x0, z0, 16 - y1, x1, z1, 16 - y0) for x0, y0, z0, x1, y1, z1 in boxes]
    elif face == "ceiling":
        boxes = _flip(boxes)
    return _turn(boxes, _facing(props))


def _button(props):
    depth = 1 if props.get("powered") == "true" else 2        # pressed in
    return _attached(props, [(5, 0, 6, 11, depth, 10)])


def _lever(props):
    # The base and its handle, drawn upright (the game tilts it by `powered`).
    return _attached(props, [(5, 0, 4, 11, 3, 12), (7, 3, 7, 9, 10, 9)])


def _repeater(props):
    """The slab, the fixed torch at the output end and the torch that moves
    from the middle back towards the input (`facing`) with `delay` 1..4;
    locked, a low bar across the slab instead of the moving torch."""
    delay = int(props["delay"]) if props.get("delay") in ("1", "2", "3", "4") else 1
    z = 10 - 2 * delay
    moving = (2, 2, z, 14, 4, z + 2) if props.get("locked") == "true" else (7, 2, z, 9, 7, z + 2)
    return _turn([(0, 0, 0, 16, 2, 16), (7, 2, 12, 9, 7, 14), moving], _facing(props))


def wire_sides(props) -> dict[str, str]:
    """Side -> "side", "up" or "none": where a redstone wire reaches (`up`:
    on to the top of the block beside it, up that block's face)."""
    return {side: props.get(side, "none") if props.get(side) in ("side", "up") else "none"
            for side in SIDES}


def _wire(props):
    """The wire's middle, a line to each side it reaches, and for `up` a strip
    up the side of its cell (where the neighbour's face is); reaching no side,
    the dot in the middle alone."""
    boxes = [(5, 0, 5, 11, 1, 11)]
    for side, reach in wire_sides(props).items():
        if reach != "none":
            boxes += _turn([(6, 0, 0, 10, 1, 5)] + ([(6, 1, 0, 10, 16, 1)] if reach == "up" else []), side)
    return boxes


def _multiface(props):
    """Vines, glow lichen and sculk veins: a one-pixel plate on each face of
    the cell it grows on (`north` .. `west`, `up`, `down` true), the plates
    cut back where they meet (up and down keep the edge, then north and
    south); growing on none, a cube."""
    on = {face for face in (*SIDES, "up", "down") if props.get(face) == "true"} or {"up"}
    y0, y1 = int("down" in on), 16 - int("up" in on)
    z0, z1 = int("north" in on), 16 - int("south" in on)
    plates = {"up": (0, 15, 0, 16, 16, 16), "down": (0, 0, 0, 16, 1, 16),
              "north": (0, y0, 0, 16, y1, 1), "south": (0, y0, 15, 16, y1, 16),
              "west": (0, y0, z0, 1, y1, z1), "east": (15, y0, z0, 16, y1, z1)}
    return [plates[face] for face in plates if face in on]


def _rod(*upright):
    """The maker of a rod written pointing up (`upright` boxes, y along the
    rod), pointed to its `facing`: up, down, or a side (y becoming the way
    it points)."""
    def make(props):
        facing = props.get("facing", "up")
        if facing == "down":
            return _flip(upright)
        if facing not in SIDES:
            return list(upright)
        north = [(x0, z0, 16 - y1, x1, z1, 16 - y0) for x0, y0, z0, x1, y1, z1 in upright]
        return _turn(north, facing)
    return make


def _potted(props, path: str):
    """A flower pot and what grows in it (a cactus's column, else a small cross)."""
    if path == "potted_cactus":
        return [(5, 0, 5, 11, 6, 11), (6, 6, 6, 10, 15, 10)]
    return [(5, 0, 5, 11, 6, 11), (7, 6, 3, 9, 15, 13), (3, 6, 7, 7, 15, 9), (9, 6, 7, 13, 15, 9)]


def _sea_pickle(props):
    count = int(props["pickles"]) if props.get("pickles") in ("1", "2", "3", "4") else 1
    return [(6, 0, 6, 10, 6, 10), (2, 0, 2, 5, 4, 5), (11, 0, 2, 14, 6, 5), (2, 0, 11, 5, 5, 14)][:count]


def _bowl(y0: int, wall: int = 2) -> list[tuple]:
    """Four walls `wall` thick from y0 to the top and a one-pixel floor
    between them: a cauldron's or a hopper's bowl."""
    w = wall
    return [(0, y0, 0, 16, 16, w), (0, y0, 16 - w, 16, 16, 16), (0, y0, w, w, 16, 16 - w),
            (16 - w, y0, w, 16, 16, 16 - w), (w, y0, w, 16 - w, y0 + 1, 16 - w)]


def _cauldron(props):
    legs = [(0, 0, 0, 4, 3, 2), (12, 0, 0, 16, 3, 2), (0, 0, 14, 4, 3, 16), (12, 0, 14, 16, 3, 16)]
    return _bowl(3) + legs


def _hopper(props):
    """Its bowl, the middle below it and the spout, down or to `facing`."""
    spout = (6, 0, 6, 10, 4, 10) if props.get("facing", "down") == "down" else _turn(
        [(6, 4, 0, 10, 8, 4)], _facing(props))[0]
    return _bowl(10) + [(4, 4, 4, 12, 10, 12), spout]


def _candles(props):
    count = int(props["candles"]) if props.get("candles") in ("1", "2", "3", "4") else 1
    return [(7, 0, 7, 9, 6, 9), (4, 0, 9, 6, 5, 11), (10, 0, 9, 12, 5, 11), (9, 0, 4, 11, 4, 6)][:count]


# Mob heads: on the floor, or on a wall against the side opposite `facing`.
HEADS = frozenset({"skeleton_skull", "wither_skeleton_skull", "zombie_head", "player_head",
                   "creeper_head", "dragon_head", "piglin_head"})
WALL_HEADS = frozenset({"skeleton_wall_skull", "wither_skeleton_wall_skull", "zombie_wall_head",
                        "player_wall_head", "creeper_wall_head", "dragon_wall_head", "piglin_wall_head"})


def _flat(height: int, inset: int = 0):
    return lambda props: [(inset, 0, inset, 16 - inset, height, 16 - inset)]


# Signs: a board on a post; on a wall, the board alone; hanging, a board on
# two chains (and on a wall, the bar they hang from).
_SIGN = ((0, 8, 7, 16, 16, 9), (7, 0, 7, 9, 8, 9))
_WALL_SIGN = ((0, 4, 14, 16, 12, 16),)
_HANGING_SIGN = ((1, 0, 7, 15, 10, 9), (2, 10, 7, 4, 16, 9), (12, 10, 7, 14, 16, 9))
_WALL_HANGING_SIGN = ((1, 0, 7, 15, 10, 9), (2, 10, 7, 4, 14, 9), (12, 10, 7, 14, 14, 9), (0, 14, 6, 16, 16, 10))


# Shapes found by the end of the block's name (checked in this order).
_BY_SUFFIX = (
    ("_stairs", _stairs), ("_slab", _slab), ("_carpet", _flat(1)),
    ("_pressure_plate", _flat(1, 1)), ("_trapdoor", _trapdoor), ("_door", _door),
    ("_fence_gate", _fence_gate), ("_fence", _fence), ("_wall", _wall),
    ("_glass_pane", _pane), ("_sapling", lambda props: _cross(14)), ("_bed", _flat(9)),
    ("_wall_banner", _faced((1, 0, 14, 15, 16, 16))),
    ("_banner", _rotated((7, 0, 7, 9, 16, 9), (1, 3, 6, 15, 16, 7))),    # the cloth on the side it faces
    ("_button", _button), ("_wall_hanging_sign", _faced(*_WALL_HANGING_SIGN)),
    ("_hanging_sign", _rotated(*_HANGING_SIGN)), ("_wall_sign", _faced(*_WALL_SIGN)), ("_sign", _rotated(*_SIGN)),
    ("_coral_wall_fan", _faced((2, 6, 10, 14, 8, 16))), ("_coral_fan", lambda props: _cross(6)),
    ("_coral", lambda props: _cross(15)),
)
_BY_NAME = {
    "snow": _snow, "ladder": _faced((0, 0, 15, 16, 16, 16)),
    "sign": _rotated(*_SIGN), "wall_sign": _faced(*_WALL_SIGN),       # as 1.13 named the oak ones
    "redstone_wire": _wire, "lever": _lever, "repeater": _repeater,
    # The comparator: its slab, the two torches at the input end and the low one at the output.
    "comparator": _faced((0, 0, 0, 16, 2, 16), (4, 2, 3, 6, 7, 5), (10, 2, 3, 12, 7, 5), (7, 2, 12, 9, 4, 14)),
    "chest": _flat(14, 1), "trapped_chest": _flat(14, 1), "ender_chest": _flat(14, 1),
    "flower_pot": lambda props: [(5, 0, 5, 11, 6, 11)],
    "lantern": _lantern, "soul_lantern": _lantern,
    "vine": _multiface, "glow_lichen": _multiface, "sculk_vein": _multiface,
    # the end rod on its base; the lightning rod with its tip at the far end
    "end_rod": _rod((6, 0, 6, 10, 1, 10), (7, 1, 7, 9, 16, 9)),
    "lightning_rod": _rod((7, 0, 7, 9, 12, 9), (6, 12, 6, 10, 16, 10)), "sea_pickle": _sea_pickle,
    "chain": lambda props: [{"x": (0, 7, 7, 16, 9, 9), "z": (7, 7, 0, 9, 9, 16)}.get(props.get("axis"),
                                                                                   (7, 0, 7, 9, 16, 9))],
    "cobweb": lambda props: _cross(16), "fire": lambda props: _cross(16), "soul_fire": lambda props: _cross(16),
    "enchanting_table": _flat(12), "daylight_detector": _flat(6), "stonecutter": _flat(9),
    "cake": _flat(8, 1), "campfire": _flat(7), "soul_campfire": _flat(7), "lily_pad": _flat(1),
    "cactus": _flat(16, 1), "bamboo": lambda props: [(6, 0, 6, 10, 16, 10)],
    "pointed_dripstone": lambda props: [(5, 0, 5, 11, 16, 11)],
    "cauldron": _cauldron, "water_cauldron": _cauldron, "lava_cauldron": _cauldron,
    "powder_snow_cauldron": _cauldron, "hopper": _hopper,
    "candle": _candles, **{f"{colour}_candle": _candles for colour in (
        "white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray", "light_gray",
        "cyan", "purple", "blue", "brown", "green", "red", "black")},
    # The anvil's foot, waist and top, its top long along `facing` (as the game's model).
    **{name: _faced((2, 0, 2, 14, 4, 14), (4, 4, 4, 12, 10, 12), (3, 10, 0, 13, 16, 16))
       for name in ("anvil", "chipped_anvil", "damaged_anvil")},
    "lectern": _faced((0, 0, 0, 16, 2, 16), (4, 2, 4, 12, 13, 12), (0, 13, 0, 16, 16, 16)),
    "brewing_stand": lambda props: [(1, 0, 1, 15, 2, 15), (7, 2, 7, 9, 14, 9)],
    **{name: (lambda props: [(4, 0, 4, 12, 8, 12)]) for name in HEADS},
    **{name: _faced((4, 4, 8, 12, 12, 16)) for name in WALL_HEADS},
    **{name: _pane for name in PANES},
    **{name: _flat(1) for name in RAILS},
    **{name: (lambda props: [(7, 0, 7, 9, 10, 9)]) for name in TORCHES},
    **{name: _faced((7, 3, 12, 9, 13, 14)) for name in WALL_TORCHES},
    **{name: (lambda props, h=h: _cross(h)) for name, h in PLANTS.items()},
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
        return functools.partial(_potted, path=path)
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
