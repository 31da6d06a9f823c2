"""Rules per block family for the 1.13 "flattening" table (used only by
`make_legacy_table.py`, which lists every legacy id with its family).

Each family knows how Minecraft 1.12 packed a block's state into the 4-bit
data value and which 1.13 block state that state became. A family adds one
row per data value the game uses: (`id:data`, 1.12 state with only the
data-encoded properties, 1.13 state with every property of the 1.13 block,
defaults where the data value says nothing).
"""

from __future__ import annotations

COLOURS = ("white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray",
           "light_gray", "cyan", "purple", "blue", "brown", "green", "red", "black")
COLOURS_112 = tuple("silver" if c == "light_gray" else c for c in COLOURS)
WOODS = ("oak", "spruce", "birch", "jungle", "acacia", "dark_oak")
FACING6 = ("down", "up", "north", "south", "west", "east")       # EnumFacing index
HORIZONTAL = ("south", "west", "north", "east")                   # horizontal index
DRY = {"waterlogged": "false"}
NO_SIDES = {"east": "false", "north": "false", "south": "false", "west": "false"}

ROWS: list[tuple[str, str, str]] = []


def state(name: str, props: dict | None = None) -> str:
    name = name if ":" in name else "minecraft:" + name
    if not props:
        return name
    return name + "[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]"


def row(block: int | None, data: int | None, old: str, old_props: dict, new: str,
        new_props: dict | None = None) -> None:
    key = "-" if block is None else f"{block}:{data}"
    ROWS.append((key, state(old, old_props), state(new, new_props)))


def family(block: int, old: str, decode) -> None:
    """`decode(data) -> (old_props, new_name, new_props)` or None if unused."""
    for data in range(16):
        out = decode(data)
        if out is not None:
            row(block, data, old, *out)


def simple(block: int, old: str, new: str, new_props: dict | None = None) -> None:
    family(block, old, lambda d: ({}, new, new_props) if d == 0 else None)


def variants(block: int, old: str, key: str, pairs, new_props: dict | None = None) -> None:
    """Data value = index into `pairs` of (1.12 variant, 1.13 name)."""
    pairs = list(pairs)
    family(block, old, lambda d: ({key: pairs[d][0]}, pairs[d][1], new_props) if d < len(pairs) else None)


def ranged(block: int, old: str, new: str, key: str, n: int, extra: dict | None = None,
           new_key: str | None = None, offset: int = 0) -> None:
    """Data value 0..n-1 is a numeric property (e.g. crop age)."""
    family(block, old, lambda d: ({key: str(d + offset)}, new,
                                  {**(extra or {}), (new_key or key): str(d + offset)}) if d < n else None)


# --- families ----------------------------------------------------------------

def stairs(block, old, new):
    def decode(d):
        facing, half = ("east", "west", "south", "north")[d & 3], "top" if d & 4 else "bottom"
        if d & 8:
            return None
        return ({"facing": facing, "half": half}, new,
                {"facing": facing, "half": half, "shape": "straight", **DRY})
    family(block, old, decode)


def door(block, old, new):
    def decode(d):
        if d & 8:
            if d & 4:
                return None
            hinge, powered = ("right" if d & 1 else "left"), ("true" if d & 2 else "false")
            return ({"half": "upper", "hinge": hinge, "powered": powered}, new,
                    {"facing": "east", "half": "upper", "hinge": hinge, "open": "false", "powered": powered})
        facing = ("east", "south", "west", "north")[d & 3]
        is_open = "true" if d & 4 else "false"
        return ({"facing": facing, "half": "lower", "open": is_open}, new,
                {"facing": facing, "half": "lower", "hinge": "right", "open": is_open, "powered": "false"})
    family(block, old, decode)


def facing6(block, old, new, bit8: str | None = None, new_extra=None, valid=range(6), old_extra=None):
    """facing = EnumFacing(data & 7); bit 8 = boolean `bit8` (e.g. extended)."""
    def decode(d):
        if d & 7 not in valid or (bit8 is None and d & 8):
            return None
        props = {"facing": FACING6[d & 7]}
        if bit8:
            props[bit8] = "true" if d & 8 else "false"
        return ({**props, **(old_extra or {})}, new, {**props, **(new_extra or {})})
    family(block, old, decode)


def horizontal(block, old, new, extra=None):
    """facing = horizontal index (data & 3), higher bits unused."""
    family(block, old, lambda d: ({"facing": HORIZONTAL[d]}, new, {"facing": HORIZONTAL[d], **(extra or {})})
           if d < 4 else None)


def wall_facing(block, old, new, extra=None):
    """Ladders, wall signs, furnaces, chests: data 2..5 = north, south, west, east."""
    family(block, old, lambda d: ({"facing": FACING6[d]}, new, {"facing": FACING6[d], **(extra or {})})
           if 2 <= d <= 5 else None)


def slab(block, old, names, double: bool, seamless=None):
    """Stone/wooden slabs: variant = data & 7, bit 8 = top half (or seamless for doubles)."""
    def decode(d):
        v = d & 7
        if v >= len(names) or names[v] is None:
            return None
        old_variant, new = names[v]
        if double:
            props = {"variant": old_variant}
            if seamless is not None:
                props["seamless"] = "true" if d & 8 else "false"
                if d & 8 and v in seamless:
                    return props, seamless[v], None
            elif d & 8:
                return None
            return props, new, {"type": "double", **DRY}
        half = "top" if d & 8 else "bottom"
        return {"half": half, "variant": old_variant}, new, {"type": half, **DRY}
    family(block, old, decode)


def log(block, old, species):
    def decode(d):
        if d & 3 >= len(species):
            return None
        wood, axis = species[d & 3], ("y", "x", "z", "none")[d >> 2]
        if axis == "none":
            return {"axis": "none", "variant": wood}, f"{wood}_wood", {"axis": "y"}
        return {"axis": axis, "variant": wood}, f"{wood}_log", {"axis": axis}
    family(block, old, decode)


def leaves(block, old, species):
    def decode(d):
        if d & 3 >= len(species):
            return None
        decayable, check = not d & 4, bool(d & 8)
        # 1.12 has no `distance`; the game recomputes it on the next tick.
        # A leaf flagged for a decay check gets 2, the others 1 (next to wood).
        return ({"variant": species[d & 3], "decayable": str(decayable).lower(),
                 "check_decay": str(check).lower()},
                f"{species[d & 3]}_leaves",
                {"distance": "2" if check else "1", "persistent": str(not decayable).lower()})
    family(block, old, decode)


def axis_block(block, old, new, extra_old=None):
    """Pillars: bits 4/8 hold the axis (y, x, z)."""
    family(block, old, lambda d: ({"axis": ("y", "x", "z")[d >> 2], **(extra_old or {})}, new,
                                  {"axis": ("y", "x", "z")[d >> 2]}) if d in (0, 4, 8) else None)


def rail(block, old, new, powered: bool):
    shapes = ("north_south", "east_west", "ascending_east", "ascending_west", "ascending_north",
              "ascending_south", "south_east", "south_west", "north_west", "north_east")
    if not powered:
        family(block, old, lambda d: ({"shape": shapes[d]}, new, {"shape": shapes[d]}) if d < 10 else None)
        return
    family(block, old, lambda d: ({"shape": shapes[d & 7], "powered": str(bool(d & 8)).lower()}, new,
                                  {"shape": shapes[d & 7], "powered": str(bool(d & 8)).lower()})
           if d & 7 < 6 else None)


def torch(block, old, wall, floor, extra=None):
    sides = {1: "east", 2: "west", 3: "south", 4: "north"}
    family(block, old, lambda d: ({"facing": "up"}, floor, extra) if d == 5 else
           ({"facing": sides[d]}, wall, {"facing": sides[d], **(extra or {})}) if d in sides else None)


def button(block, old, new):
    def decode(d):
        if d & 7 > 5:
            return None
        # Buttons count like torches: 0 down, 1 east, 2 west, 3 south, 4 north, 5 up.
        f = ("down", "east", "west", "south", "north", "up")[d & 7]
        powered = str(bool(d & 8)).lower()
        face = {"down": "ceiling", "up": "floor"}.get(f, "wall")
        return ({"facing": f, "powered": powered}, new,
                {"face": face, "facing": "north" if face != "wall" else f, "powered": powered})
    family(block, old, decode)


def lever(block):
    placements = (("down_x", "ceiling", "west"), ("east", "wall", "east"), ("west", "wall", "west"),
                  ("south", "wall", "south"), ("north", "wall", "north"), ("up_z", "floor", "north"),
                  ("up_x", "floor", "west"), ("down_z", "ceiling", "north"))
    def decode(d):
        old_facing, face, facing = placements[d & 7]
        powered = str(bool(d & 8)).lower()
        return {"facing": old_facing, "powered": powered}, "lever", {"face": face, "facing": facing,
                                                                     "powered": powered}
    family(block, "lever", decode)


def trapdoor(block, old, new):
    def decode(d):
        facing = ("north", "south", "west", "east")[d & 3]
        props = {"facing": facing, "open": str(bool(d & 4)).lower(), "half": "top" if d & 8 else "bottom"}
        return props, new, {**props, "powered": "false", **DRY}
    family(block, old, decode)


def fence_gate(block, old, new):
    def decode(d):
        props = {"facing": HORIZONTAL[d & 3], "open": str(bool(d & 4)).lower(),
                 "powered": str(bool(d & 8)).lower()}
        return props, new, {**props, "in_wall": "false"}
    family(block, old, decode)


def mushroom_block(block, old, new):
    caps = {0: "", 1: "unw", 2: "un", 3: "une", 4: "uw", 5: "u", 6: "ue", 7: "usw", 8: "us",
            9: "use", 14: "udnsew"}
    names = {0: "all_inside", 1: "north_west", 2: "north", 3: "north_east", 4: "west", 5: "center",
             6: "east", 7: "south_west", 8: "south", 9: "south_east", 10: "stem", 14: "all_outside",
             15: "all_stem"}
    faces = {"u": "up", "d": "down", "n": "north", "s": "south", "e": "east", "w": "west"}
    def decode(d):
        variant = names.get(d, "all_inside")          # 11..13: the game reads them as all_inside
        if variant == "stem":
            return {"variant": variant}, "mushroom_stem", {**{f: "true" for f in faces.values()},
                                                           "up": "false", "down": "false"}
        if variant == "all_stem":
            return {"variant": variant}, "mushroom_stem", {f: "true" for f in faces.values()}
        on = {faces[c] for c in caps[[k for k, v in names.items() if v == variant][0]]}
        return {"variant": variant}, new, {f: str(f in on).lower() for f in faces.values()}
    family(block, old, decode)


def double_plant(block):
    plants = (("sunflower", "sunflower"), ("syringa", "lilac"), ("double_grass", "tall_grass"),
              ("double_fern", "large_fern"), ("double_rose", "rose_bush"), ("paeonia", "peony"))
    def decode(d):
        if d < 6:
            return {"half": "lower", "variant": plants[d][0]}, plants[d][1], {"half": "lower"}
        if 8 <= d < 12:
            # The upper half stores only the facing; its variant is the lower
            # half's (the legacy reader copies it from the block below).
            return {"facing": HORIZONTAL[d & 3], "half": "upper"}, "sunflower", {"half": "upper"}
        return None
    # Name-only rows first: a 1.12 file names the upper half's variant, and
    # these rows must win the tie with the facing-only rows below.
    for old_variant, new in plants:
        row(None, None, "double_plant", {"half": "upper", "variant": old_variant}, new, {"half": "upper"})
    family(block, "double_plant", decode)
