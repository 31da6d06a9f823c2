"""The arms the game gives fences, walls, panes and iron bars saved with
no side connected, for pictures (`mesh.build_mesh(shapes=True)`).

    drawn = with_joined_sides(structure)     # new entries after the palette's own

Files upgraded from 1.12 (legacy .schematic, 1.12 structure .nbt) save every
fence, wall, pane and iron bars with no side connected; placed in the world,
the game recomputes the sides from the neighbours (updateFromNeighbourShapes).
Pictures do the same for those states only: a state with a side set was
saved by the game and is drawn as stored (a neighbour outside the saved
region may be why). Only the neighbours `_joined_by` lists are joined; a
shaped block's full side (a stair's back) is not, though it is in the game.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from voxgen.blocks import AIR_IDS, block_id, join_state, properties
from voxgen.render.shapes import DIRECTIONS, NORMALS, SIDES, block_shape, connected_sides, connector
from voxgen.structure import Structure

# Kinds of block that reach out to their neighbours, as bits.
FENCE, NETHER_FENCE, PANE, WALL = 1, 2, 4, 8
# Full cubes nothing joins: fluids, and the game's exceptions (isExceptionForConnection).
_JOIN_NONE = frozenset({"water", "lava", "bubble_column", "barrier", "pumpkin", "carved_pumpkin",
                        "jack_o_lantern", "melon"})
_JOIN_NONE_SUFFIXES = ("_leaves", "shulker_box")
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
    return [0] * 4


def joined_state(state: str, sides: list[str]) -> str:
    """`state` (a fence, wall, pane or iron bars) connected on `sides` only:
    true / false, or for a wall low / none, with its post (`up`) left out
    only on a straight run."""
    props = properties(state)
    wall = connector(state) == "wall"
    for side in SIDES:
        props[side] = ("low" if side in sides else "none") if wall else str(side in sides).lower()
    if wall:
        props["up"] = str(sorted(sides) not in (["north", "south"], ["east", "west"])).lower()
    return join_state(block_id(state), props)


# Connectable cells joined per run of the grid (`with_joined_sides`): bounds
# its temporaries (about 100 bytes a cell) to ~100 MB whatever the grid.
_JOIN_CELLS = 1 << 20


def with_joined_sides(structure: Structure) -> Structure:
    """`structure` with each fence, wall, pane and iron bars saved with no
    side connected given the sides the game would connect (see above), as
    new palette entries after the structure's own (which keep their
    indices); `structure` itself when none changes. Blocks, not pictures:
    no cell is hidden or cut here. Runs of x-slabs of about _JOIN_CELLS
    cells, each a pass over its cells, then loops over the 4 sides and the
    (entry, sides) pairs found; neighbours are read from the blocks as saved."""
    palette = structure.palette
    reach = np.array([_reach(state) for state in palette], dtype=np.uint8)
    if not reach.any():
        return structure
    joins = np.array([_joined_by(state) for state in palette], dtype=np.uint8)     # (K, 4)
    blocks = structure.blocks.ravel()
    void = None if structure.void is None else structure.void.ravel()
    X, Y, Z = structure.shape
    index = {state: k for k, state in enumerate(palette)}
    joined = None
    rows = max(1, _JOIN_CELLS // max(1, Y * Z))
    for a in range(0, X, rows):
        cells = np.flatnonzero(reach[structure.blocks[a:a + rows]]) + a * Y * Z
        if void is not None:
            cells = cells[~void[cells]]
        if len(cells) == 0:
            continue
        x, y, z = np.unravel_index(cells, structure.shape)
        entry = blocks[cells]
        sides = np.zeros(len(cells), dtype=np.int64)            # bit s: joined on SIDES[s]
        for s, (dx, dz) in enumerate(SIDE_STEPS):
            inside = (x + dx >= 0) & (x + dx < X) & (z + dz >= 0) & (z + dz < Z)
            beside = np.where(inside, ((x + dx) * Y + y) * Z + (z + dz), 0)
            neighbour = np.where(inside, blocks[beside], 0)     # 0 is air
            if void is not None:
                neighbour[void[beside]] = 0
            sides |= ((joins[neighbour, s] & reach[entry]) != 0).astype(np.int64) << s
        if not sides.any():
            continue
        pairs, pair_of_cell = np.unique(entry * 16 + sides, return_inverse=True)
        drawn = np.empty(len(pairs), dtype=np.int32)
        for i, pair in enumerate(pairs.tolist()):
            k, bits = divmod(pair, 16)
            state = joined_state(palette[k], [side for s, side in enumerate(SIDES) if bits >> s & 1])
            drawn[i] = k if bits == 0 else index.setdefault(state, len(index))
        if joined is None:
            joined = structure.blocks.copy()
        joined.ravel()[cells] = drawn[pair_of_cell.ravel()]
    if joined is None:
        return structure
    return dataclasses.replace(structure, blocks=joined, palette=tuple(index))
