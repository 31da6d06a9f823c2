"""The shapes of the small things in and on blocks: redstone parts and
wire, buttons and levers, signs, lanterns, vines, rods, mob heads, potted
plants, cauldrons and hoppers, candles and sea pickles, bells, grindstones,
scaffolding and amethyst (boxes as `boxes` writes them; `shapes` looks
them up by name)."""

from __future__ import annotations

from voxgen.render.boxes import SIDES, attached, cross, facing_of, flip, turn


def lantern(props):
    if props.get("hanging") == "true":           # hung from the block above by its chain
        return [(5, 1, 5, 11, 8, 11), (6, 8, 6, 10, 10, 10), (7, 10, 7, 9, 16, 9)]
    return [(5, 0, 5, 11, 7, 11), (6, 7, 6, 10, 9, 10)]


def button(props):
    depth = 1 if props.get("powered") == "true" else 2        # pressed in
    return attached(props, [(5, 0, 6, 11, depth, 10)])


# A lever's handle above its base, written lying on the floor facing north:
# the game's model turns a 2 x 10 pixel stick 45 degrees about x from its
# foot (8, 1, 8), towards the facing (north) when off and away when on;
# here three steps of it, each on the one below, its tip at (8, 9, 1) (the
# model's at (8, 8.1, 0.9)).
_HANDLE_OFF = [(7, 3, 5, 9, 5, 8), (7, 5, 3, 9, 7, 6), (7, 7, 1, 9, 9, 4)]


def lever(props):
    """The base and its handle, leaning to `facing` when off and away from
    it when on: on a wall, down when off, up when on."""
    handle = _HANDLE_OFF if props.get("powered") != "true" else \
        [(x0, y0, 16 - z1, x1, y1, 16 - z0) for x0, y0, z0, x1, y1, z1 in _HANDLE_OFF]
    return attached(props, [(5, 0, 4, 11, 3, 12), *handle])


def repeater(props):
    """The slab, the fixed torch at the output end and the torch that moves
    from the middle back towards the input (`facing`) with `delay` 1..4;
    locked, a low bar across the slab instead of the moving torch."""
    delay = int(props["delay"]) if props.get("delay") in ("1", "2", "3", "4") else 1
    z = 10 - 2 * delay
    moving = (2, 2, z, 14, 4, z + 2) if props.get("locked") == "true" else (7, 2, z, 9, 7, z + 2)
    return turn([(0, 0, 0, 16, 2, 16), (7, 2, 12, 9, 7, 14), moving], facing_of(props))


def wire_sides(props) -> dict[str, str]:
    """Side -> "side", "up" or "none": where a redstone wire reaches (`up`:
    on to the top of the block beside it, up that block's face)."""
    return {side: props.get(side, "none") if props.get(side) in ("side", "up") else "none"
            for side in SIDES}


def wire(props):
    """The wire's middle, a line to each side it reaches, and for `up` a strip
    up the side of its cell (where the neighbour's face is); reaching no side,
    the dot in the middle alone."""
    boxes = [(5, 0, 5, 11, 1, 11)]
    for side, reach in wire_sides(props).items():
        if reach != "none":
            boxes += turn([(6, 0, 0, 10, 1, 5)] + ([(6, 1, 0, 10, 16, 1)] if reach == "up" else []), side)
    return boxes


def multiface(props):
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


def rod(*upright):
    """The maker of a rod written pointing up (`upright` boxes, y along the
    rod), pointed to its `facing`: up, down, or a side (y becoming the way
    it points)."""
    def make(props):
        facing = props.get("facing", "up")
        if facing == "down":
            return flip(upright)
        if facing not in SIDES:
            return list(upright)
        north = [(x0, z0, 16 - y1, x1, z1, 16 - y0) for x0, y0, z0, x1, y1, z1 in upright]
        return turn(north, facing)
    return make


def potted(props, path: str):
    """A flower pot and what grows in it (a cactus's column, else a small cross)."""
    if path == "potted_cactus":
        return [(5, 0, 5, 11, 6, 11), (6, 6, 6, 10, 15, 10)]
    return [(5, 0, 5, 11, 6, 11), (7, 6, 3, 9, 15, 13), (3, 6, 7, 7, 15, 9), (9, 6, 7, 13, 15, 9)]


def sea_pickle(props):
    count = int(props["pickles"]) if props.get("pickles") in ("1", "2", "3", "4") else 1
    return [(6, 0, 6, 10, 6, 10), (2, 0, 2, 5, 4, 5), (11, 0, 2, 14, 6, 5), (2, 0, 11, 5, 5, 14)][:count]


def bowl(y0: int, wall: int = 2) -> list[tuple]:
    """Four walls `wall` thick from y0 to the top and a one-pixel floor
    between them: a cauldron's or a hopper's bowl."""
    w = wall
    return [(0, y0, 0, 16, 16, w), (0, y0, 16 - w, 16, 16, 16), (0, y0, w, w, 16, 16 - w),
            (16 - w, y0, w, 16, 16, 16 - w), (w, y0, w, 16 - w, y0 + 1, 16 - w)]


def cauldron(props):
    legs = [(0, 0, 0, 4, 3, 2), (12, 0, 0, 16, 3, 2), (0, 0, 14, 4, 3, 16), (12, 0, 14, 16, 3, 16)]
    return bowl(3) + legs


def hopper(props):
    """Its bowl, the middle below it and the spout, down or to `facing`."""
    spout = (6, 0, 6, 10, 4, 10) if props.get("facing", "down") == "down" else turn(
        [(6, 4, 0, 10, 8, 4)], facing_of(props))[0]
    return bowl(10) + [(4, 4, 4, 12, 10, 12), spout]


def candles(props):
    count = int(props["candles"]) if props.get("candles") in ("1", "2", "3", "4") else 1
    return [(7, 0, 7, 9, 6, 9), (4, 0, 9, 6, 5, 11), (10, 0, 9, 12, 5, 11), (9, 0, 4, 11, 4, 6)][:count]


# Mob heads: on the floor, or on a wall against the side opposite `facing`.
HEADS = frozenset({"skeleton_skull", "wither_skeleton_skull", "zombie_head", "player_head",
                   "creeper_head", "dragon_head", "piglin_head"})
WALL_HEADS = frozenset({"skeleton_wall_skull", "wither_skeleton_wall_skull", "zombie_wall_head",
                        "player_wall_head", "creeper_wall_head", "dragon_wall_head", "piglin_wall_head"})


# Signs: a board on a post; on a wall, the board alone; hanging, a board on
# two chains (and on a wall, the bar they hang from).
SIGN = ((0, 8, 7, 16, 16, 9), (7, 0, 7, 9, 8, 9))
WALL_SIGN = ((0, 4, 14, 16, 12, 16),)
HANGING_SIGN = ((1, 0, 7, 15, 10, 9), (2, 10, 7, 4, 16, 9), (12, 10, 7, 14, 16, 9))
WALL_HANGING_SIGN = ((1, 0, 7, 15, 10, 9), (2, 10, 7, 4, 14, 9), (12, 10, 7, 14, 14, 9), (0, 14, 6, 16, 16, 10))


def bell(props):
    """The bell (its rim and body) and what holds it, by `attachment`: a
    frame of two posts and a bar on the floor, a chain from the ceiling, a
    bar from the wall behind it, or a bar between two walls."""
    body = [(4, 4, 4, 12, 6, 12), (5, 6, 5, 11, 13, 11)]
    holder = {"floor": [(0, 0, 6, 2, 16, 10), (14, 0, 6, 16, 16, 10), (2, 13, 7, 14, 15, 9)],
              "ceiling": [(7, 13, 7, 9, 16, 9)],
              "single_wall": [(7, 13, 5, 9, 15, 16)],
              "double_wall": [(7, 13, 0, 9, 15, 16)]}.get(props.get("attachment"), [(7, 13, 7, 9, 16, 9)])
    return turn(body + holder, facing_of(props))


def grindstone(props):
    """The wheel between two supports on two legs, placed by `face` as a
    button or lever is."""
    return attached(props, [(4, 4, 2, 12, 16, 14), (2, 0, 6, 4, 7, 10), (12, 0, 6, 14, 7, 10),
                            (2, 7, 5, 4, 13, 11), (12, 7, 5, 14, 13, 11)])


def scaffolding(props):
    """Its top and four corner posts."""
    posts = [(0, 0, 0, 2, 14, 2), (14, 0, 0, 16, 14, 2), (0, 0, 14, 2, 14, 16), (14, 0, 14, 16, 14, 16)]
    return [(0, 14, 0, 16, 16, 16)] + posts


# Amethyst buds and clusters: a cross of this height, pointed to `facing` (`rod`).
AMETHYST = {"small_amethyst_bud": 3, "medium_amethyst_bud": 4, "large_amethyst_bud": 5, "amethyst_cluster": 7}
