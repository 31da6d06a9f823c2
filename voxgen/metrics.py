"""Compare a grown structure with its blueprint (layer L2).

    compare(grown, target, translate=False) -> dict

Cells compare by block state; void and air-like states count as air.
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import AIR, AIR_IDS, block_id
from voxgen.structure import Structure


def state_codes(structures) -> tuple[list[np.ndarray], list[str]]:
    """Integer (X, Y, Z) arrays over one shared vocabulary (code 0 = air,
    including air-like states and void), and the vocabulary."""
    vocab = {AIR: 0}
    out = []
    for s in structures:
        lut = np.array([vocab.setdefault(AIR if block_id(p) in AIR_IDS else p, len(vocab))
                        for p in s.palette], dtype=np.int64)
        codes = lut[s.blocks]
        if s.void is not None:
            codes[s.void] = 0
        out.append(codes)
    return out, list(vocab)


def shifted(codes: np.ndarray, offset) -> np.ndarray:
    """(..., X, Y, Z) contents moved by `offset` inside the same box; air
    (code 0) fills in, and cells moved past the box are dropped (count them
    with `lost_off_grid`)."""
    out = np.zeros_like(codes)
    src, dst = [Ellipsis], [Ellipsis]
    for n, d in zip(codes.shape[-3:], offset):
        src.append(slice(max(0, -d), max(0, min(n, n - d))))
        dst.append(slice(max(0, d), max(0, min(n, n + d))))
    out[tuple(dst)] = codes[tuple(src)]
    return out


def lost_off_grid(codes: np.ndarray, offset, moved: np.ndarray | None = None) -> np.ndarray:
    """Non-air cells of (..., X, Y, Z) `codes` that a shift by `offset` moves
    past the box, per leading index; `moved` is `shifted(codes, offset)` if
    the caller has it."""
    moved = shifted(codes, offset) if moved is None else moved
    return (codes != 0).sum((-3, -2, -1)) - (moved != 0).sum((-3, -2, -1))


def _score(grown: np.ndarray, target: np.ndarray, vocab, lost: int = 0) -> dict:
    """Scores of `grown` (already shifted) against `target`; `lost` non-air
    cells of grown fell off the box in the shift: each is wrong (a block
    where the target has none) and counts in the cells scored."""
    right = grown == target
    g_solid, t_solid = grown != 0, target != 0
    union = int((g_solid | t_solid).sum()) + lost
    per_class = {vocab[c]: float(right[target == c].mean()) for c in np.unique(target)}
    wrong = int((~right).sum()) + lost
    return {
        "exact": wrong == 0,
        # a box of no cells (a 0-wide structure) has nothing wrong, as iou says
        "accuracy": int(right.sum()) / (right.size + lost) if right.size + lost else 1.0,
        "iou": 1.0 if union == 0 else float((g_solid & t_solid).sum() / union),
        "per_class": per_class,
        "wrong_cells": wrong,
    }


def compare(grown: Structure, target: Structure, translate: bool = False, window: int = 3) -> dict:
    """Scores of `grown` against `target` (same box shape).

    exact: every cell right; accuracy: fraction of cells right (1.0 for a
    box of no cells); iou: overlap of non-air cells (1.0 when both are
    empty); per_class: {state: fraction of the target's cells of that state
    grown right}; wrong_cells: count.
    With `translate`, `grown` is also tried shifted by every offset within
    `window` cells per axis; the best (most accurate, then smallest) shift is
    applied and reported as `offset` [dx, dy, dz]. Exact up to a shift means
    every non-air cell of `grown` lands on the target's same cell, so blocks
    the shift moves off the box are wrong cells (and count in accuracy's
    cells and in iou's union). Raises ValueError for boxes of different
    shapes or a negative `window` (no shift at all would be tried)."""
    if grown.shape != target.shape:
        raise ValueError(f"shapes differ: grown {grown.shape}, target {target.shape}")
    if translate and window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    (g, t), vocab = state_codes([grown, target])
    if not translate:
        return _score(g, t, vocab)
    # a shift of a whole box moves every block off it: wider ones can do no better, and ties go
    # to the smaller shift, so the answer is the same (a window of 10**6 had taken all memory)
    window = min(window, max(grown.shape))
    r = range(-window, window + 1)
    offsets = sorted(((dx, dy, dz) for dx in r for dy in r for dz in r),
                     key=lambda o: sum(abs(v) for v in o))
    best, best_wrong = (0, 0, 0), None
    for offset in offsets:
        moved = shifted(g, offset)
        wrong = int((moved != t).sum()) + int(lost_off_grid(g, offset, moved))
        if best_wrong is None or wrong < best_wrong:
            best, best_wrong = offset, wrong
    moved = shifted(g, best)
    return {**_score(moved, t, vocab, int(lost_off_grid(g, best, moved))), "offset": list(best)}
