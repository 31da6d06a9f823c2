"""The arms the game gives fences, walls, panes and iron bars, and the
lines it gives redstone wire, saved with no side connected, for pictures
(`mesh.build_mesh(shapes=True)`).

    drawn = with_joined_sides(structure)     # new entries after the palette's own

Files upgraded from 1.12 (legacy .schematic, 1.12 structure .nbt) save every
fence, wall, pane, iron bars and redstone wire with no side connected;
placed in the world, the game recomputes the sides from the neighbours
(updateFromNeighbourShapes). Pictures do the same for those states only: a
state with a side set was saved by the game and is drawn as stored (a
neighbour outside the saved region may be why). Only the neighbours
`_joined_by` lists are joined: full cubes, the other connectors as the game
pairs them, and a shaped block's full side (a stair's back).

Wire (`_joined_wire`) reaches, on each side, the wire beside it, the wire one
block up on a full block beside it (unless a conductor lies on the wire),
the wire one block down beside it past a non-conductor, and the redstone parts
that give power that way (`_WIRE_LINKS`). Then, as the game does, a wire
reaching only along one axis is drawn as a line through its cell; one that
reaches nothing stays the dot it was saved as.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from voxgen.blocks import AIR_IDS, block_id, block_info, join_state, properties
from voxgen.render.shapes import (DIRECTIONS, NORMALS, SIDES, block_shape, connected_sides, connector,
                                  wire_sides)
from voxgen.structure import Structure

# Kinds of block that reach out to their neighbours, as bits.
FENCE, NETHER_FENCE, PANE, WALL = 1, 2, 4, 8
# Full cubes nothing joins: fluids, and the game's exceptions (isExceptionForConnection).
_JOIN_NONE = frozenset({"water", "lava", "bubble_column", "barrier", "pumpkin", "carved_pumpkin",
                        "jack_o_lantern", "melon"})
_JOIN_NONE_SUFFIXES = ("_leaves", "shulker_box")
_FLUIDS = frozenset({"water", "lava", "bubble_column"})
# Steps (dx, dz) to the neighbour on each of SIDES.
SIDE_STEPS = tuple((int(NORMALS[DIRECTIONS.index(side)][0]), int(NORMALS[DIRECTIONS.index(side)][2]))
                   for side in SIDES)


def _reach(state: str) -> int:
    """The kind bit of a fence, nether brick fence, wall or pane / iron bars
    `state` saved with no side connected, else 0."""
    path = block_id(state).partition(":")[2]
    kind = {"fence": NETHER_FENCE if path == "nether_brick_fence" else FENCE,
            "pane": PANE, "wall": WALL}.get(connector(state), 0)
    return kind if kind and not connected_sides(properties(state)) else 0


def _joined_by(state: str) -> list[int]:
    """Per side s of SIDES, the kinds (bits) that join `state` when it lies on their side s."""
    path = block_id(state).partition(":")[2]
    kind = connector(state)
    if block_shape(state) is None:          # drawn as a full cube
        none = (block_id(state) in AIR_IDS or path in _JOIN_NONE or path.endswith(_JOIN_NONE_SUFFIXES))
        return [0 if none else FENCE | NETHER_FENCE | PANE | WALL] * 4
    if kind == "fence":
        return [NETHER_FENCE if path == "nether_brick_fence" else FENCE] * 4
    if kind in ("pane", "wall"):
        return [PANE | WALL] * 4
    if kind == "fence_gate":               # only in line: a gate facing north joins east and west
        facing = properties(state).get("facing", "north")
        along = SIDES.index(facing if facing in SIDES else "north") % 2
        return [0 if s % 2 == along else FENCE | NETHER_FENCE | WALL for s in range(4)]
    full = _full_sides(state)              # e.g. a stair's back
    return [FENCE | NETHER_FENCE | PANE | WALL if full[SIDES[(s + 2) % 4]] else 0 for s in range(4)]


def _full_sides(state: str) -> dict[str, bool]:
    """Side -> whether the boxes of shaped `state` cover its whole face there
    (the boxes never overlap, so their areas on a side add up)."""
    boxes = block_shape(state).tolist()
    area = {"north": sum((x1 - x0) * (y1 - y0) for x0, y0, z0, x1, y1, z1 in boxes if z0 == 0),
            "south": sum((x1 - x0) * (y1 - y0) for x0, y0, z0, x1, y1, z1 in boxes if z1 == 16),
            "west": sum((z1 - z0) * (y1 - y0) for x0, y0, z0, x1, y1, z1 in boxes if x0 == 0),
            "east": sum((z1 - z0) * (y1 - y0) for x0, y0, z0, x1, y1, z1 in boxes if x1 == 16)}
    return {side: a == 256 for side, a in area.items()}


# What lies on top of a wall, as far as its shape goes (`_above`).
OPEN, COVERED, RAISES_POST = 0, 1, 2
# Blocks on a wall that keep its post on a straight run (the game's tag
# wall_post_override), by the end of the name; and torches, by name.
_POST_OVERRIDE_SUFFIXES = ("_sign", "_banner", "_pressure_plate", "torch")


def _above(state: str) -> int:
    """OPEN, COVERED (a full block: the wall's sides under it are tall) or
    RAISES_POST (a wall saved with its post and a side set, or a torch,
    sign, banner or pressure plate) for `state` lying on a wall."""
    path = block_id(state).partition(":")[2]
    if block_shape(state) is None:
        return OPEN if block_id(state) in AIR_IDS or path in _FLUIDS else COVERED
    props = properties(state)
    if connector(state) == "wall" and props.get("up") == "true" and connected_sides(props):
        return RAISES_POST
    return RAISES_POST if path.endswith(_POST_OVERRIDE_SUFFIXES) or path == "tripwire" else OPEN


def joined_state(state: str, sides: list[str], above: int = OPEN) -> str:
    """`state` (a fence, wall, pane or iron bars) connected on `sides` only:
    true / false; for a wall low / none, tall under a full block (`above`,
    see `_above`), with its post (`up`) left out on a straight run unless a
    wall's post or a torch, sign, banner or pressure plate stands on it."""
    props = properties(state)
    wall = connector(state) == "wall"
    reach = "tall" if above == COVERED else "low"
    for side in SIDES:
        props[side] = (reach if side in sides else "none") if wall else str(side in sides).lower()
    if wall:
        straight = sorted(sides) in (["north", "south"], ["east", "west"])
        props["up"] = str(not straight or above == RAISES_POST).lower()
    return join_state(block_id(state), props)


# Connectable cells joined per run of the grid (`with_joined_sides`): bounds
# its temporaries (about 100 bytes a cell) to ~100 MB whatever the grid.
_JOIN_CELLS = 1 << 20


def with_joined_sides(structure: Structure) -> Structure:
    """`structure` with each fence, wall, pane, iron bars and redstone wire
    saved with no side connected given the sides the game would connect (see
    above), as new palette entries after the structure's own (which keep
    their indices); `structure` itself when none changes. Blocks, not
    pictures: no cell is hidden or cut here. Neighbours are read from the
    blocks as saved."""
    return _joined_wire(_joined_fences(structure))


def _in_slabs(structure: Structure, wanted: np.ndarray):
    """Per run of x-slabs of about _JOIN_CELLS cells: the flat indices and
    (x, y, z) of its cells whose entry is `wanted` (bool (K,)), void cells
    left out; runs with none are skipped."""
    X, Y, Z = structure.shape
    void = None if structure.void is None else structure.void.ravel()
    rows = max(1, _JOIN_CELLS // max(1, Y * Z))
    for a in range(0, X, rows):
        cells = np.flatnonzero(wanted[structure.blocks[a:a + rows]]) + a * Y * Z
        if void is not None:
            cells = cells[~void[cells]]
        if len(cells):
            yield cells, np.unravel_index(cells, structure.shape)


def _entry_at(structure: Structure, x, y, z) -> np.ndarray:
    """The entries at cells (x, y, z); 0 (air) outside the grid or in a void cell."""
    X, Y, Z = structure.shape
    inside = (x >= 0) & (x < X) & (y >= 0) & (y < Y) & (z >= 0) & (z < Z)
    flat = np.where(inside, (x * Y + y) * Z + z, 0)
    entry = np.where(inside, structure.blocks.ravel()[flat], 0)
    if structure.void is not None:
        entry[structure.void.ravel()[flat]] = 0
    return entry


def _with_entries(structure: Structure, changes) -> Structure:
    """`structure` with cells given new states: `changes` yields (cells,
    entries, codes, state_of) per run, `state_of(entry, code)` naming the
    state drawn for a cell of `entry` found with `code` (None: unchanged).
    New states become entries after the palette's own."""
    index = {state: k for k, state in enumerate(structure.palette)}
    joined = None
    for cells, entry, code, state_of in changes:
        pairs, pair_of_cell = np.unique(np.stack([entry, code]), axis=1, return_inverse=True)
        drawn = np.empty(pairs.shape[1], dtype=np.int32)
        for i, (k, c) in enumerate(pairs.T.tolist()):
            state = state_of(k, c)
            drawn[i] = k if state is None else index.setdefault(state, len(index))
        if (drawn == pairs[0]).all():
            continue
        if joined is None:
            joined = structure.blocks.copy()
        joined.ravel()[cells] = drawn[pair_of_cell.ravel()]
    if joined is None:
        return structure
    return dataclasses.replace(structure, blocks=joined, palette=tuple(index))


def _joined_fences(structure: Structure) -> Structure:
    """Fences, walls, panes and iron bars saved unconnected, joined (loops over
    the 4 sides and the (entry, sides) pairs found)."""
    palette = structure.palette
    reach = np.array([_reach(state) for state in palette], dtype=np.uint8)
    if not reach.any():
        return structure
    joins = np.array([_joined_by(state) for state in palette], dtype=np.uint8)     # (K, 4)
    above = np.array([_above(state) for state in palette], dtype=np.int64)

    def changes():
        for cells, (x, y, z) in _in_slabs(structure, reach.astype(bool)):
            entry = structure.blocks.ravel()[cells]
            sides = np.zeros(len(cells), dtype=np.int64)            # bit s: joined on SIDES[s]
            for s, (dx, dz) in enumerate(SIDE_STEPS):
                neighbour = _entry_at(structure, x + dx, y, z + dz)
                sides |= ((joins[neighbour, s] & reach[entry]) != 0).astype(np.int64) << s
            on_top = np.where(reach[entry] == WALL, above[_entry_at(structure, x, y + 1, z)], OPEN)   # walls only
            code = sides | on_top << 4
            yield cells, entry, code, lambda k, c: None if c & 15 == 0 else joined_state(
                palette[k], [side for s, side in enumerate(SIDES) if c >> s & 1], c >> 4)
    return _with_entries(structure, changes())


# Redstone parts wire reaches whichever side it meets them on (signal
# sources), by name without the namespace; and by the end of the name.
_WIRE_SOURCES = frozenset({"redstone_wire", "lever", "redstone_torch", "redstone_wall_torch",
                           "redstone_block", "detector_rail", "daylight_detector", "comparator",
                           "target", "trapped_chest", "tripwire_hook", "lectern", "sculk_sensor",
                           "calibrated_sculk_sensor", "lightning_rod"})
_WIRE_SOURCE_SUFFIXES = ("_button", "_pressure_plate")
# Physics classes that conduct power (PHYSICS.md 2.2): one on top of a wire
# keeps it from climbing, and a wire does not reach down past one.
_CONDUCTORS = frozenset({"solid", "immovable", "slime", "glazed"})


def _wire_links(state: str) -> list[bool]:
    """Per side s of SIDES, whether a wire reaches `state` lying on its side s
    (the game's shouldConnectTo): a repeater only along its length, an
    observer only at its back, a signal source from any side."""
    path = block_id(state).partition(":")[2]
    facing = properties(state).get("facing")
    if path == "repeater":
        return [facing in (side, SIDES[(s + 2) % 4]) for s, side in enumerate(SIDES)]
    if path == "observer":
        return [facing == side for side in SIDES]
    return [path in _WIRE_SOURCES or path.endswith(_WIRE_SOURCE_SUFFIXES)] * 4


def _wire_state(state: str, code: int) -> str | None:
    """The wire `state` reaching by `code` (2 bits a side of SIDES: 1 side,
    2 up), filled out to a line or cross as the game does; None when it
    reaches nothing (it stays a dot)."""
    reach = {side: ("none", "side", "up")[code >> 2 * s & 3] for s, side in enumerate(SIDES)}
    if all(r == "none" for r in reach.values()):
        return None
    for axis, other in ((("east", "west"), ("north", "south")), (("north", "south"), ("east", "west"))):
        if all(reach[side] == "none" for side in other):
            for side in axis:
                reach[side] = reach[side] if reach[side] != "none" else "side"
    return join_state(block_id(state), {**properties(state), **reach})


def _joined_wire(structure: Structure) -> Structure:
    """Redstone wire saved reaching no side, joined as the module says."""
    palette = structure.palette
    wire = np.array([block_id(s) == "minecraft:redstone_wire" for s in palette], dtype=bool)
    unset = wire & np.array([set(wire_sides(properties(s)).values()) == {"none"} for s in palette], dtype=bool)
    if not unset.any():
        return structure
    links = np.array([_wire_links(s) for s in palette], dtype=bool)               # (K, 4)
    cube = np.array([block_id(s) not in AIR_IDS and block_shape(s) is None
                     and block_id(s).partition(":")[2] not in _FLUIDS for s in palette], dtype=bool)
    conductor = cube & np.array([block_info(s).physics in _CONDUCTORS for s in palette], dtype=bool)

    def changes():
        for cells, (x, y, z) in _in_slabs(structure, unset):
            capped = conductor[_entry_at(structure, x, y + 1, z)]
            code = np.zeros(len(cells), dtype=np.int64)
            for s, (dx, dz) in enumerate(SIDE_STEPS):
                beside = _entry_at(structure, x + dx, y, z + dz)
                up = ~capped & cube[beside] & wire[_entry_at(structure, x + dx, y + 1, z + dz)]
                down = ~conductor[beside] & wire[_entry_at(structure, x + dx, y - 1, z + dz)]
                code |= np.where(up, 2, np.where(links[beside, s] | down, 1, 0)) << 2 * s
            yield cells, structure.blocks.ravel()[cells], code, lambda k, c: _wire_state(palette[k], c)
    return _with_entries(structure, changes())
