"""The lines the game gives redstone wire saved with no side connected
(files upgraded from 1.12), for pictures (`joins.with_joined_sides`).

Only in files saved before 1.16 (DataVersion below DOT_DATA_VERSION: 1.12
files upgraded are 1519): from 1.16 on a wire reaching no side is a dot the
player chose (the game's data fixer of that version,
RedstoneWireConnectionsFix, made every older one a line or cross), and is
drawn as saved. So is a structure of no DataVersion (one voxgen made, a
text blueprint without one), which voxgen's writers stamp as current.

On each side a wire reaches (the game's getConnectingSide):
- `up` the wire one block up on the block beside it, where that block's
  top is a full face (or it is a hopper) and no conductor lies on this
  wire; `side` instead where the block's face towards this wire is not full;
- `side` a redstone part that gives power that way (`_links`);
- `side` the wire one block down beside it, past a block beside it that
  does not conduct.
Then, as the game does (and as its data fixer of 1.16 makes a lone wire of
1.12 a cross), a wire reaching neither north nor south reaches east and
west, and the other way round: a lone wire is a cross, one reaching one
side a line through its cell.
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import block_id, join_state, properties
from voxgen.render.boxes import SIDES
from voxgen.render.fixtures import wire_sides
from voxgen.render.neighbours import SIDE_STEPS, NewEntries, entry_at, face, full_cube, in_slabs, opposite
from voxgen.structure import Structure

# Redstone parts wire reaches whichever side it meets them on (signal
# sources), by name without the namespace; and by the end of the name.
_SOURCES = frozenset({"redstone_wire", "lever", "redstone_torch", "redstone_wall_torch",
                      "redstone_block", "detector_rail", "daylight_detector", "comparator",
                      "target", "trapped_chest", "tripwire_hook", "lectern", "sculk_sensor",
                      "calibrated_sculk_sensor", "lightning_rod"})
_SOURCE_SUFFIXES = ("_button", "_pressure_plate")
# Full blocks that do not conduct power (the game's isRedstoneConductor);
# every other full block does.
_NOT_CONDUCTORS = frozenset({"glass", "tinted_glass", "ice", "frosted_ice", "glowstone", "redstone_block",
                             "observer", "piston", "sticky_piston", "beacon", "barrier", "spawner"})
_NOT_CONDUCTOR_SUFFIXES = ("_stained_glass", "_leaves")
# The first DataVersion (the data fixer V2531, 20w18a) with dots: wire saved
# from it on reaching no side is a dot.
DOT_DATA_VERSION = 2531


def is_wire(state: str) -> bool:
    return block_id(state) == "minecraft:redstone_wire"


def conducts(state: str) -> bool:
    """A full block that passes power on: on a wire it keeps the wire from
    climbing, and beside one it keeps the wire from reaching down past it."""
    path = block_id(state).partition(":")[2]
    return full_cube(state) and not (path in _NOT_CONDUCTORS or path.endswith(_NOT_CONDUCTOR_SUFFIXES))


def _links(state: str) -> list[bool]:
    """Per side s of SIDES, whether a wire reaches `state` lying on its side s
    (the game's shouldConnectTo): a repeater only along its length, an
    observer only at its back, a signal source from any side."""
    path = block_id(state).partition(":")[2]
    facing = properties(state).get("facing")
    if path == "repeater":
        return [facing in (side, opposite(side)) for side in SIDES]
    if path == "observer":
        return [facing == side for side in SIDES]
    return [path in _SOURCES or path.endswith(_SOURCE_SUFFIXES)] * 4


def wire_state(state: str, code: int) -> str:
    """The wire `state` reaching by `code` (2 bits a side of SIDES: 0 none,
    1 side, 2 up), filled out to a line or cross as the game does."""
    reach = {side: ("none", "side", "up")[code >> 2 * s & 3] for s, side in enumerate(SIDES)}
    fill = [axis for axis, other in ((("east", "west"), ("north", "south")), (("north", "south"), ("east", "west")))
            if all(reach[side] == "none" for side in other)]          # both when it reaches nothing: a cross
    for side in (side for axis in fill for side in axis):
        reach[side] = reach[side] if reach[side] != "none" else "side"
    return join_state(block_id(state), {**properties(state), **reach})


def joined_wire(structure: Structure) -> Structure:
    """`structure` with its wire saved reaching no side joined as the module
    says (new palette entries after its own); itself when none changes, and
    when it was saved from 1.16 on, or has no DataVersion (its wire
    reaching nothing is a dot)."""
    palette = structure.palette
    if structure.data_version is None or structure.data_version >= DOT_DATA_VERSION:
        return structure
    wire = np.array([is_wire(s) for s in palette], dtype=bool)
    unset = wire & np.array([set(wire_sides(properties(s)).values()) == {"none"} for s in palette], dtype=bool)
    if not unset.any():
        return structure
    links = np.array([_links(s) for s in palette], dtype=bool)                      # (K, 4)
    conductor = np.array([conducts(s) for s in palette], dtype=bool)
    # stood on: a full top face, or a hopper
    holds = np.array([face(s, "up").all() or block_id(s) == "minecraft:hopper" for s in palette], dtype=bool)
    # per side s, the face towards a wire on its side s is full
    towards = np.array([[face(s, opposite(side)).all() for side in SIDES] for s in palette], dtype=bool)
    out = NewEntries(structure)
    for cells, (x, y, z) in in_slabs(structure, unset):
        capped = conductor[entry_at(structure, x, y + 1, z)]
        code = np.zeros(len(cells), dtype=np.int64)
        for s, (dx, dz) in enumerate(SIDE_STEPS):
            beside = entry_at(structure, x + dx, y, z + dz)
            climbs = ~capped & holds[beside] & wire[entry_at(structure, x + dx, y + 1, z + dz)]
            down = ~conductor[beside] & wire[entry_at(structure, x + dx, y - 1, z + dz)]
            reach = np.where(climbs, np.where(towards[beside, s], 2, 1), np.where(links[beside, s] | down, 1, 0))
            code |= reach << 2 * s
        out.put(cells, structure.blocks.ravel()[cells], code, lambda k, c: wire_state(palette[k], c))
    return out.result()
