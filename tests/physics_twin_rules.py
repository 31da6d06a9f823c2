"""Block facts for the slow physics twin: directions, kinds, pushability, power.

Everything here is a plain function of block-state strings, written to read
like PHYSICS.md §2.2-2.3 and §2.7. No arrays, no speed tricks.
"""

from __future__ import annotations

import functools

from voxgen.blocks import block_id, block_info, join_state, split_state

AIR = "minecraft:air"

DIRS = {
    "down": (0, -1, 0), "up": (0, 1, 0), "north": (0, 0, -1),
    "south": (0, 0, 1), "west": (-1, 0, 0), "east": (1, 0, 0),
}
OPPOSITE = {"down": "up", "up": "down", "north": "south", "south": "north", "west": "east", "east": "west"}
AXIS = {"down": "y", "up": "y", "north": "z", "south": "z", "west": "x", "east": "x"}
ALL_DIRECTIONS = ("down", "up", "north", "south", "west", "east")    # Direction.values(); branch order
BLOCK_UPDATE_ORDER = ("west", "east", "down", "up", "north", "south")
SHAPE_UPDATE_ORDER = ("west", "east", "north", "south", "down", "up")
PUSH_LIMIT = 12

# Destroy-class blocks that are redstone components: treating them as inert
# would be quietly wrong, so the twin refuses them (the lever is modelled).
UNMODELLED_COMPONENTS = ("redstone_torch", "redstone_wall_torch", "redstone_wire", "repeater",
                         "comparator", "button", "pressure_plate", "tripwire", "daylight_detector")


def step(pos, direction, n: int = 1):
    d = DIRS[direction]
    return (pos[0] + n * d[0], pos[1] + n * d[1], pos[2] + n * d[2])


@functools.lru_cache(maxsize=None)
def kind(state: str) -> str:
    """The physics kind: the registry class, with levers and doors told apart."""
    name = block_id(state)
    if name == "minecraft:lever":
        return "lever"
    if name.endswith("_door"):
        return "door"
    return block_info(state).physics


@functools.lru_cache(maxsize=None)
def props(state: str) -> dict:
    return split_state(state)[1]


def prop(state: str, key: str) -> str:
    return props(state)[key]


def with_props(state: str, **changes) -> str:
    name, p = split_state(state)
    p = dict(p)
    p.update({k: str(v).lower() if isinstance(v, bool) else v for k, v in changes.items()})
    return join_state(name, p)


def is_air(state: str) -> bool:
    return kind(state) == "air"


def is_piston_base(state: str) -> bool:
    return kind(state) in ("piston", "sticky_piston")


def is_sticky(state: str) -> bool:
    return kind(state) in ("slime", "honey")


def can_stick(a: str, b: str) -> bool:
    """canStickToEachOther: slime and honey never; otherwise if either is sticky."""
    if {kind(a), kind(b)} == {"slime", "honey"}:
        return False
    return is_sticky(a) or is_sticky(b)


def push_reaction(state: str) -> str:
    k = kind(state)
    if k in ("destroy", "lever", "door"):
        return "destroy"
    if k == "glazed":
        return "push_only"
    if k in ("immovable", "piston_head", "moving_piston"):
        return "block"
    return "normal"


WORLD_BORDER = (-29_999_984, 29_999_983)        # x and z: WorldBorder.isWithinBounds, default size
BUILD_HEIGHT = {"modern": (-64, 319), "1.12": (0, 255)}


def is_pushable(state: str, move_dir: str, allow_destroy: bool, piston_facing: str,
                at=None, version: str = "modern") -> bool:
    """PistonBaseBlock.isPushable (1.12: BlockPistonBase.canPush) of `state`
    at `at`, its position in the game's world (None: far from every limit)."""
    if at is not None:
        x, y, z = at
        low, high = BUILD_HEIGHT[version]
        if not (WORLD_BORDER[0] <= x <= WORLD_BORDER[1] and WORLD_BORDER[0] <= z <= WORLD_BORDER[1]
                and low <= y <= high):
            return False
        if version == "modern" and kind(state) == "air":
            return True              # modern looks at air before the edges; 1.12 after
        if (move_dir == "down" and y == low) or (move_dir == "up" and y == high):
            return False
    k = kind(state)
    if k == "air":
        return True
    if k == "immovable":
        return False
    if is_piston_base(state):
        return prop(state, "extended") == "false"
    if k in ("moving_piston", "piston_head"):  # hardness -1 / push reaction BLOCK
        return False
    reaction = push_reaction(state)
    if reaction == "destroy":
        return allow_destroy
    if reaction == "push_only":
        return move_dir == piston_facing
    return True


def moving_piston_state(facing: str, sticky: bool = False) -> str:
    return join_state("minecraft:moving_piston", {"facing": facing, "type": "sticky" if sticky else "normal"})


def head_state(facing: str, sticky: bool) -> str:
    return join_state("minecraft:piston_head",
                      {"facing": facing, "short": "false", "type": "sticky" if sticky else "normal"})


# --- power (PHYSICS.md §2.3) -------------------------------------------------

def is_conductor(state: str) -> bool:
    """Full, solid cubes conduct strong power: stone-likes, obsidian, slime, glazed.
    Honey, observers, pistons, redstone blocks and non-full blocks do not."""
    return kind(state) in ("solid", "immovable", "slime", "glazed")


def lever_connected_direction(state: str) -> str:
    face = prop(state, "face")
    if face == "floor":
        return "up"
    if face == "ceiling":
        return "down"
    return prop(state, "facing")


def weak_signal(state: str, direction: str) -> int:
    """Signal the block emits towards a receiver that looks at it in `direction`."""
    k = kind(state)
    if k == "redstone_block":
        return 15
    if k == "observer":
        return 15 if prop(state, "powered") == "true" and prop(state, "facing") == direction else 0
    if k == "lever":
        return 15 if prop(state, "powered") == "true" else 0
    return 0


def strong_signal(state: str, direction: str) -> int:
    k = kind(state)
    if k == "observer":
        return weak_signal(state, direction)
    if k == "lever":
        on = prop(state, "powered") == "true"
        return 15 if on and lever_connected_direction(state) == direction else 0
    return 0


def has_sturdy_top(state: str) -> bool:
    """Can a floor lever or a door stand on this block? (full top face)"""
    k = kind(state)
    if k in ("solid", "immovable", "slime", "honey", "glazed", "redstone_block", "observer"):
        return True
    if is_piston_base(state):
        return prop(state, "extended") == "false" or prop(state, "facing") == "down"
    if k == "piston_head":
        return prop(state, "facing") == "up"
    return False


def is_full_block(state: str) -> bool:
    """Placement pass 1 writes these first (non-dynamic, full collision cube)."""
    k = kind(state)
    if k in ("solid", "immovable", "slime", "glazed", "redstone_block", "observer"):
        return True
    return is_piston_base(state) and prop(state, "extended") == "false"
