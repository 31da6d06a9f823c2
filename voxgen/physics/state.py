"""Block-state strings <-> packed cells, through the registry's physics classes.

`Materials` is the table of exact states behind non-parametric cells (which
stone, which wool); parametric kinds (observer, pistons, head, moving piston)
are rebuilt from kind, facing and flag. A state the engine cannot model
raises VoxgenError naming it.
"""

from __future__ import annotations

from voxgen.blocks import block_id, block_info, canonical, join_state, split_state
from voxgen.errors import VoxgenError
from voxgen.physics.cells import (
    AIR, DESTROY, DOOR, DOOR_HINGE, DOOR_ID, DOOR_OPEN, DOOR_POWERED, DOWN, FACINGS, GLAZED, HEAD,
    HONEY, IMMOVABLE, LEVER, MOVING, OBSERVER, PISTON, REDSTONE, SLIME, SOLID, STICKY, UP,
    facing_of, flag_of, kind_of, material_of, pack,
)

_KIND = {"air": AIR, "solid": SOLID, "immovable": IMMOVABLE, "slime": SLIME, "honey": HONEY,
         "glazed": GLAZED, "destroy": DESTROY, "redstone_block": REDSTONE, "observer": OBSERVER,
         "piston": PISTON, "sticky_piston": STICKY, "piston_head": HEAD}
# Destroy-on-push blocks that stand on their own (no support to lose).
FREE_STANDING = {"minecraft:cobweb": False, "minecraft:pumpkin": True,
                 "minecraft:carved_pumpkin": True, "minecraft:jack_o_lantern": True,
                 "minecraft:melon": True}   # id -> is a redstone conductor
# Solid blocks that are not redstone conductors.
NON_CONDUCTORS = {"minecraft:glowstone", "minecraft:soul_sand", "minecraft:mud",
                  "minecraft:sea_lantern", "minecraft:ice", "minecraft:frosted_ice"}
# Destroy-class blocks with redstone or two-block behaviour the engine lacks.
UNMODELLED = ("redstone_wire", "redstone_torch", "redstone_wall_torch", "repeater", "comparator",
              "tall_grass", "large_fern", "sunflower", "lilac", "rose_bush", "peony",
              "tall_seagrass", "pitcher_plant", "tripwire", "daylight_detector", "target")
NEW_IN_116 = {"minecraft:crying_obsidian", "minecraft:respawn_anchor", "minecraft:honey_block"}


class Materials:
    """Material index <-> exact state string (index 0 unused)."""

    def __init__(self):
        self.states = [""]
        self.index = {}

    def get(self, state: str) -> int:
        if state not in self.index:
            self.index[state] = len(self.states)
            self.states.append(state)
        return self.index[state]


def _facing(props, state, allowed=FACINGS) -> int:
    value = props.get("facing")
    if value not in allowed:
        raise VoxgenError(f"block state {state!r} needs a facing")
    return FACINGS.index(value)


def encode(state: str, materials: Materials, version: str = "modern") -> int:
    """The packed cell for a canonical block state. Raises VoxgenError."""
    state = canonical(state)
    name, props = split_state(state)
    physics = block_info(state).physics
    if physics == "moving_piston":
        raise VoxgenError(f"cannot simulate {state}: a moving piston needs its block entity")
    if physics not in _KIND:
        raise VoxgenError(f"cannot simulate block {name}: the physics engine does not model it")
    if version == "1.12" and name in NEW_IN_116:
        raise VoxgenError(f"block {name} does not exist in 1.12")
    k = _KIND[physics]
    if k == DESTROY and name == "minecraft:lever":
        return _encode_lever(state, props, materials)
    if k == DESTROY and name.endswith("_door"):
        return _encode_door(name, props, state, materials)
    if k == AIR:
        return 0
    if k == OBSERVER:
        return pack(k, _facing(props, state), props.get("powered") == "true")
    if k in (PISTON, STICKY):
        return pack(k, _facing(props, state), props.get("extended") == "true")
    if k == HEAD:
        return pack(k, _facing(props, state), props.get("type") == "sticky")
    if k == DESTROY:
        path = name.partition(":")[2]
        if any(part in path for part in UNMODELLED) or props.get("powered") == "true":
            raise VoxgenError(f"cannot simulate {state}: its redstone or two-block "
                              "behaviour is not modelled")
        conductor = FREE_STANDING.get(name, False)
        fragile = name not in FREE_STANDING
        return pack(k, int(fragile), conductor, materials.get(state))
    conductor = k in (SOLID, IMMOVABLE, GLAZED) and name not in NON_CONDUCTORS
    return pack(k, 0, conductor, materials.get(state))


def _encode_lever(state, props, materials) -> int:
    face = props.get("face", "wall")
    if face == "floor":
        towards = UP
    elif face == "ceiling":
        towards = DOWN
    else:
        towards = _facing(props, state, FACINGS[2:])
    off = join_state("minecraft:lever", {**props, "powered": "false"})
    return pack(LEVER, towards, props.get("powered") == "true", materials.get(off))


def _encode_door(name, props, state, materials) -> int:
    bits = ((DOOR_POWERED if props.get("powered") == "true" else 0)
            | (DOOR_OPEN if props.get("open") == "true" else 0)
            | (DOOR_HINGE if props.get("hinge") == "right" else 0))
    facing = _facing(props, state, FACINGS[2:])
    upper = props.get("half") == "upper"
    return pack(DOOR, facing, upper, bits | (materials.get(name) << DOOR_ID))


def _decode_door(cell: int, materials: Materials) -> str:
    bits = material_of(cell)
    return join_state(materials.states[bits >> DOOR_ID], {
        "facing": FACINGS[facing_of(cell)], "half": "upper" if flag_of(cell) else "lower",
        "hinge": "right" if bits & DOOR_HINGE else "left",
        "open": "true" if bits & DOOR_OPEN else "false",
        "powered": "true" if bits & DOOR_POWERED else "false"})


def decode(cell: int, materials: Materials) -> str:
    """The canonical state string of a packed cell."""
    k, f, fl = kind_of(cell), FACINGS[facing_of(cell)], flag_of(cell)
    boolean = "true" if fl else "false"
    if k == AIR:
        return "minecraft:air"
    if k == OBSERVER:
        return join_state("minecraft:observer", {"facing": f, "powered": boolean})
    if k == PISTON:
        return join_state("minecraft:piston", {"extended": boolean, "facing": f})
    if k == STICKY:
        return join_state("minecraft:sticky_piston", {"extended": boolean, "facing": f})
    if k == HEAD:
        return join_state("minecraft:piston_head", {
            "facing": f, "short": "false", "type": "sticky" if fl else "normal"})
    if k == MOVING:
        return join_state("minecraft:moving_piston", {
            "facing": f, "type": "sticky" if fl else "normal"})
    if k == LEVER:
        name, props = split_state(materials.states[material_of(cell)])
        return join_state(name, {**props, "powered": boolean})
    if k == DOOR:
        return _decode_door(cell, materials)
    return materials.states[material_of(cell)]


def is_full_block(cell: int) -> bool:
    """Placed in the first group of the game's placement order (full cube,
    no dynamic shape): everything but extended pistons, heads, honey and
    destroy-on-push blocks (pumpkins and melons are full), levers and doors."""
    k = kind_of(cell)
    if k in (HEAD, MOVING, HONEY, LEVER, DOOR):
        return False
    if k in (PISTON, STICKY):
        return not flag_of(cell)
    if k == DESTROY:
        return bool(flag_of(cell))
    return True


def block_name(cell: int, materials: Materials) -> str:
    return block_id(decode(cell, materials))
