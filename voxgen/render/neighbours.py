"""What a block offers the blocks beside it, and reading neighbours off a
grid, for joining blocks saved unconnected (`joins`, `wire`).

`face(state, side)` is bool (16, 16): the pixels of the cell's side `side`
("north" .. "west", "up", "down") that the block's collision shape covers
there, as the game's isFaceSturdy and getFaceShape read it. A full cube
covers every side; a block with no collision (torches, signs, plants,
vines, wire, fluids, air) none; a shaped block what its boxes
(`shapes.block_shape`) touch. Face grids are indexed [u, v] with (u, v) =
(x, z) on up and down, (x, y) on north and south, (z, y) on east and west.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from voxgen.blocks import AIR_IDS, block_id
from voxgen.render.shapes import CROPS, DIRECTIONS, NORMALS, PLANTS, RAILS, SIDES, TORCHES, WALL_TORCHES, block_shape
from voxgen.structure import Structure

# Steps (dx, dz) to the neighbour on each of SIDES.
SIDE_STEPS = tuple((int(NORMALS[DIRECTIONS.index(side)][0]), int(NORMALS[DIRECTIONS.index(side)][2]))
                   for side in SIDES)
FLUIDS = frozenset({"water", "lava", "bubble_column"})
# Blocks nothing stands on or leans against: no collision shape.
_NO_COLLISION = (FLUIDS | TORCHES | WALL_TORCHES | RAILS | PLANTS.keys() | CROPS.keys()
                 | {"redstone_wire", "lever", "tripwire", "tripwire_hook", "vine", "glow_lichen", "sculk_vein",
                    "cobweb", "fire", "soul_fire", "sign", "wall_sign"})
_NO_COLLISION_SUFFIXES = ("_sign", "_banner", "_pressure_plate", "_button", "_sapling", "_coral",
                          "_coral_fan", "_coral_wall_fan")
# (axis along the side's normal, the face's u and v axes, the side's plane: 0 or 16)
_FACE_AXES = {"east": (0, 2, 1, 16), "west": (0, 2, 1, 0), "up": (1, 0, 2, 16), "down": (1, 0, 2, 0),
              "south": (2, 0, 1, 16), "north": (2, 0, 1, 0)}


def collides(state: str) -> bool:
    """Whether anything can stand on or lean against `state`."""
    path = block_id(state).partition(":")[2]
    return not (block_id(state) in AIR_IDS or path in _NO_COLLISION or path.endswith(_NO_COLLISION_SUFFIXES))


@functools.lru_cache(maxsize=65536)
def face(state: str, side: str) -> np.ndarray:
    """bool (16, 16): what `state` covers of its cell's side `side` (see the
    module doc). Shared: do not write to it."""
    covered = np.zeros((16, 16), dtype=bool)
    if collides(state):
        boxes = block_shape(state)
        if boxes is None:
            covered[:] = True
        else:
            axis, u, v, plane = _FACE_AXES[side]
            for box in boxes.tolist():
                if box[axis + 3 * (plane == 16)] == plane:
                    covered[box[u]:box[u + 3], box[v]:box[v + 3]] = True
    covered.flags.writeable = False
    return covered


def full_cube(state: str) -> bool:
    """A block drawn as a full cube that anything can stand on."""
    return block_shape(state) is None and collides(state)


def opposite(side: str) -> str:
    return SIDES[(SIDES.index(side) + 2) % 4]


# Connectable cells read per run of the grid (`in_slabs`): bounds the
# temporaries (about 100 bytes a cell) to ~100 MB whatever the grid.
JOIN_CELLS = 1 << 20


def in_slabs(structure: Structure, wanted: np.ndarray):
    """Per run of x-slabs of about JOIN_CELLS cells: the flat indices and
    (x, y, z) of its cells whose entry is `wanted` (bool (K,)), void cells
    left out; runs with none are skipped."""
    X, Y, Z = structure.shape
    void = None if structure.void is None else structure.void.ravel()
    rows = max(1, JOIN_CELLS // max(1, Y * Z))
    for a in range(0, X, rows):
        cells = np.flatnonzero(wanted[structure.blocks[a:a + rows]]) + a * Y * Z
        if void is not None:
            cells = cells[~void[cells]]
        if len(cells):
            yield cells, np.unravel_index(cells, structure.shape)


def entry_at(structure: Structure, x, y, z, blocks=None) -> np.ndarray:
    """The entries at cells (x, y, z) of `blocks` (default the structure's);
    0 (air) outside the grid or in a void cell."""
    X, Y, Z = structure.shape
    blocks = structure.blocks if blocks is None else blocks
    inside = (x >= 0) & (x < X) & (y >= 0) & (y < Y) & (z >= 0) & (z < Z)
    flat = np.where(inside, (x * Y + y) * Z + z, 0)
    entry = np.where(inside, blocks.ravel()[flat], 0)
    if structure.void is not None:
        entry[structure.void.ravel()[flat]] = 0
    return entry


class NewEntries:
    """A structure's blocks with some cells given new states, new states
    becoming palette entries after the structure's own (which keep their
    indices)."""

    def __init__(self, structure: Structure):
        self.structure = structure
        self.states = list(structure.palette)
        self.index = {state: k for k, state in enumerate(self.states)}
        self.blocks = None              # copied at the first change

    def entry(self, state: str) -> int:
        if state not in self.index:
            self.index[state] = len(self.states)
            self.states.append(state)
        return self.index[state]

    def put(self, cells, entry, code, state_of) -> None:
        """Cells `cells` (flat) of entries `entry`, found with codes `code`,
        drawn as `state_of(entry, code)` (None: unchanged)."""
        pairs, pair_of_cell = np.unique(np.stack([entry, code]), axis=1, return_inverse=True)
        drawn = np.empty(pairs.shape[1], dtype=np.int32)
        for i, (k, c) in enumerate(pairs.T.tolist()):
            state = state_of(k, c)
            drawn[i] = k if state is None else self.entry(state)
        if (drawn == pairs[0]).all():
            return
        if self.blocks is None:
            self.blocks = self.structure.blocks.copy()
        self.blocks.ravel()[cells] = drawn[pair_of_cell.ravel()]

    def result(self) -> Structure:
        if self.blocks is None:
            return self.structure
        return dataclasses.replace(self.structure, blocks=self.blocks, palette=tuple(self.states))
