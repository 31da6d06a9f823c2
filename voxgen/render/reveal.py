"""A synthetic growth: a blueprint revealed cell by cell in BFS order from a seed.

Useful to animate any blueprint (before trained NCA weights exist, or to show
how a structure is put together) with the same machinery as real growth
frames: it is just a sequence of Structures of one box.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from voxgen.kernel_cache import njit
from voxgen.structure import Structure


def seed_cell(filled: np.ndarray) -> tuple[int, int, int]:
    """The filled cell nearest the centre of the filled cells (where an NCA
    seed usually sits)."""
    cells = np.argwhere(filled)
    centre = cells.mean(axis=0)
    return tuple(int(v) for v in cells[np.argmin(((cells - centre) ** 2).sum(axis=1))])


def bfs_order(filled: np.ndarray, seed: tuple[int, int, int] | None = None) -> np.ndarray:
    """int64 (N,) flat indices of all filled cells in breadth-first order over
    face neighbours, from `seed` (default `seed_cell`). Disconnected pieces
    follow, each from its own cell nearest the seed. Ties keep index order.
    One queue-based pass over the filled cells (`_bfs_levels`): a wave of
    whole-box array passes per piece took hours for a checkerboard's
    hundreds of thousands of one-cell pieces."""
    filled = np.ascontiguousarray(filled, dtype=bool)
    if not filled.any():
        return np.zeros(0, dtype=np.int64)
    seed = seed_cell(filled) if seed is None else tuple(seed)
    cells = np.argwhere(filled)
    flat = np.ravel_multi_index(cells.T, filled.shape)
    starts = flat[np.argsort(((cells - np.array(seed)) ** 2).sum(axis=1), kind="stable")]  # nearest first
    distance = _bfs_levels(filled, starts)
    return flat[np.argsort(distance[flat], kind="stable")]


@njit(cache=True)
def _bfs_levels(filled, starts):
    """(X*Y*Z,) int64: each filled cell's BFS level, -1 elsewhere; each piece
    from the first of `starts` not yet reached, its levels following on
    from the last piece's."""
    nx, ny, nz = filled.shape
    inside = filled.ravel()
    distance = np.full(inside.size, -1, np.int64)
    queue = np.empty(starts.size, np.int64)
    level = 0
    for start in starts:
        if distance[start] >= 0:
            continue
        distance[start] = level
        queue[0] = start
        head, tail = 0, 1
        while head < tail:                       # one wave a round
            wave_end = tail
            for q in range(head, wave_end):
                cell = queue[q]
                z = cell % nz
                y = (cell // nz) % ny
                x = cell // (ny * nz)
                for d in range(6):
                    if d == 0 and x + 1 < nx:
                        n = cell + ny * nz
                    elif d == 1 and x > 0:
                        n = cell - ny * nz
                    elif d == 2 and y + 1 < ny:
                        n = cell + nz
                    elif d == 3 and y > 0:
                        n = cell - nz
                    elif d == 4 and z + 1 < nz:
                        n = cell + 1
                    elif d == 5 and z > 0:
                        n = cell - 1
                    else:
                        continue
                    if inside[n] and distance[n] < 0:
                        distance[n] = level + 1
                        queue[tail] = n
                        tail += 1
            head = wave_end
            level += 1
    return distance


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
