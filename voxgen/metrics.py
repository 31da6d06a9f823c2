"""Compare a grown structure with its blueprint (layer L2).

    compare(grown, target, translate=False) -> dict

Cells compare by block state; void and air-like states count as air.
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import AIR, AIR_IDS, block_id
from voxgen.structure import Structure


def _codes(structures) -> tuple[list[np.ndarray], list[str]]:
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


def _shift(codes: np.ndarray, offset) -> np.ndarray:
    """Contents moved by `offset` inside the same box; air fills in."""
    out = np.zeros_like(codes)
    src, dst = [], []
    for n, d in zip(codes.shape, offset):
        src.append(slice(max(0, -d), max(0, min(n, n - d))))
        dst.append(slice(max(0, d), max(0, min(n, n + d))))
    out[tuple(dst)] = codes[tuple(src)]
    return out


def _score(grown: np.ndarray, target: np.ndarray, vocab) -> dict:
    right = grown == target
    g_solid, t_solid = grown != 0, target != 0
    union = int((g_solid | t_solid).sum())
    per_class = {vocab[c]: float(right[target == c].mean()) for c in np.unique(target)}
    return {
        "exact": bool(right.all()),
        "accuracy": float(right.mean()),
        "iou": 1.0 if union == 0 else float((g_solid & t_solid).sum() / union),
        "per_class": per_class,
        "wrong_cells": int((~right).sum()),
    }


def compare(grown: Structure, target: Structure, translate: bool = False, window: int = 3) -> dict:
    """Scores of `grown` against `target` (same box shape).

    exact: every cell right; accuracy: fraction of cells right; iou: overlap of
    non-air cells (1.0 when both are empty); per_class: {state: fraction of
    the target's cells of that state grown right}; wrong_cells: count.
    With `translate`, `grown` is also tried shifted by every offset within
    `window` cells per axis; the best (most accurate, then smallest) shift is
    applied and reported as `offset` [dx, dy, dz]."""
    if grown.shape != target.shape:
        raise ValueError(f"shapes differ: grown {grown.shape}, target {target.shape}")
    (g, t), vocab = _codes([grown, target])
    if not translate:
        return _score(g, t, vocab)
    r = range(-window, window + 1)
    offsets = sorted(((dx, dy, dz) for dx in r for dy in r for dz in r),
                     key=lambda o: sum(abs(v) for v in o))
    best, best_right = (0, 0, 0), -1
    for offset in offsets:
        right = int((_shift(g, offset) == t).sum())
        if right > best_right:
            best, best_right = offset, right
    return {**_score(_shift(g, best), t, vocab), "offset": list(best)}
