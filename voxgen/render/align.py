"""Where to draw a structure beside another so that their blocks line up,
whatever air each carries around its blocks (a grown one sits in a grid
with a margin, a stray block widens a box):

    at = best_offset(grown, other)      # other's cell p beside grown's cell p + at

The shift chosen is the one, among a few near the two boxes' ends, that puts
the most cells of one block state on each other.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from voxgen.metrics import state_codes
from voxgen.render.scene import filled_bounds
from voxgen.structure import Structure

SLACK = 2
"""Cells either way of each box-end alignment that `best_offset` tries."""

ALIGN_MAX_CELLS = 2_000_000
"""Cells of the box `best_offset` searches (the fixed structure's, widened
to where the shifts take the other's blocks) at most, ~0.1 s of work ..."""
ALIGN_MAX_LOOKUPS = 50_000_000
"""... and block-and-shift pairs scored at most, ~0.1 s: above either the
boxes' low ends are lined up unscored."""


def shifts_tried(fixed_box, moved_box) -> list[tuple[int, int, int]]:
    """The offsets `best_offset` scores, the preferred first: per axis the
    boxes' low ends lined up or their high ends, each moved by up to SLACK
    cells; ordered by distance (cells, summed over the axes) from the
    low-end alignment, then by value. fixed_box, moved_box: (lo, hi) int (3,)
    corners of the boxes around the blocks."""
    (f_lo, f_hi), (m_lo, m_hi) = fixed_box, moved_box
    low, high = f_lo - m_lo, f_hi - m_hi
    per_axis = [sorted({int(end) + k for end in (lo, hi) for k in range(-SLACK, SLACK + 1)})
                for lo, hi in zip(low, high)]
    return sorted(product(*per_axis), key=lambda d: (int(np.abs(np.subtract(d, low)).sum()), d))


def best_offset(fixed: Structure, moved: Structure) -> tuple[int, int, int]:
    """(dx, dy, dz): where `moved`'s cell p goes, at `fixed`'s cell p + d,
    for the most cells holding one block state (not air) in both, among
    `shifts_tried`; ties go to the first tried (the low ends lined up). An
    empty structure's box is its whole box. Above ALIGN_MAX_CELLS or
    ALIGN_MAX_LOOKUPS the low ends are lined up unscored."""
    fixed_box = [v.astype(np.int64) for v in filled_bounds(fixed)]
    moved_box = [v.astype(np.int64) for v in filled_bounds(moved)]
    shifts = shifts_tried(fixed_box, moved_box)
    n_moved = moved.count_non_air()
    # fixed's codes padded with -1 (no state) wide enough that every shift
    # of moved's blocks lands inside: one lookup per block and shift
    reach = np.array(shifts)
    before = np.maximum(0, -(reach.min(axis=0) + moved_box[0]))
    after = np.maximum(0, reach.max(axis=0) + moved_box[1] - fixed.shape)
    padded_shape = np.array(fixed.shape) + before + after
    if (not n_moved or int(padded_shape.prod()) > ALIGN_MAX_CELLS
            or len(shifts) * n_moved > ALIGN_MAX_LOOKUPS):
        return shifts[0]
    (fixed_codes, moved_codes), _ = state_codes([fixed, moved])
    padded = np.pad(fixed_codes, list(zip(before, after)), constant_values=-1).ravel()
    cells = np.argwhere(moved_codes != 0)                       # (N, 3)
    states = moved_codes[tuple(cells.T)]                        # (N,)
    strides = np.array([padded_shape[1] * padded_shape[2], padded_shape[2], 1])
    at = (cells + before) @ strides                             # flat index, shift (0, 0, 0)
    scores = [np.count_nonzero(padded[at + int(np.dot(d, strides))] == states) for d in shifts]
    return shifts[int(np.argmax(scores))]                      # argmax: the first of the best

