"""A synthetic growth: a blueprint revealed cell by cell in BFS order from a seed.

Useful to animate any blueprint (before trained NCA weights exist, or to show
how a structure is put together) with the same machinery as real growth
frames: it is just a sequence of Structures of one box.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from voxgen.structure import Structure

_STEPS = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))


def seed_cell(filled: np.ndarray) -> tuple[int, int, int]:
    """The filled cell nearest the centre of the filled cells (where an NCA
    seed usually sits)."""
    cells = np.argwhere(filled)
    centre = cells.mean(axis=0)
    return tuple(int(v) for v in cells[np.argmin(((cells - centre) ** 2).sum(axis=1))])


def bfs_order(filled: np.ndarray, seed: tuple[int, int, int] | None = None) -> np.ndarray:
    """int64 (N,) flat indices of all filled cells in breadth-first order over
    face neighbours, from `seed` (default `seed_cell`). Disconnected pieces
    follow, each from its own cell nearest the seed. Ties keep index order."""
    filled = np.asarray(filled, dtype=bool)
    if not filled.any():
        return np.zeros(0, dtype=np.int64)
    seed = seed_cell(filled) if seed is None else tuple(seed)
    cells = np.argwhere(filled)
    distance = np.full(filled.shape, -1, dtype=np.int64)
    level = 0
    while True:
        unreached = filled & (distance < 0)
        if not unreached.any():
            break
        candidates = np.argwhere(unreached)
        start = candidates[np.argmin(((candidates - np.array(seed)) ** 2).sum(axis=1))]
        frontier = np.zeros(filled.shape, dtype=bool)
        frontier[tuple(start)] = True
        while frontier.any():
            distance[frontier] = level
            level += 1
            grown = np.zeros_like(frontier)
            padded = np.pad(frontier, 1)
            X, Y, Z = filled.shape
            for dx, dy, dz in _STEPS:
                grown |= padded[1 - dx:1 - dx + X, 1 - dy:1 - dy + Y, 1 - dz:1 - dz + Z]
            frontier = grown & filled & (distance < 0)
    flat = np.ravel_multi_index(cells.T, filled.shape)
    return flat[np.argsort(distance.ravel()[flat], kind="stable")]


def reveal_frames(structure: Structure, n_frames: int = 60,
                  seed: tuple[int, int, int] | None = None) -> Iterator[Structure]:
    """Yield `n_frames` Structures of `structure`'s box: frame 0 holds the seed
    cell only, the last the whole structure, frames between a growing prefix
    of `bfs_order`. Frames are made one at a time."""
    filled = ~structure.air_mask()
    order = bfs_order(filled, seed)
    n_frames = max(int(n_frames), 1)
    for k in range(n_frames):
        count = len(order) if n_frames == 1 else 1 + round(k * (len(order) - 1) / (n_frames - 1))
        keep = np.zeros(structure.blocks.size, dtype=bool)
        keep[order[:count]] = True
        yield structure.masked(keep.reshape(structure.shape))
