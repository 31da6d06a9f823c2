"""Damage for training: what an NCA must learn to heal.

Every function takes states (B, C, X, Y, Z), a region `box` ((lo), (hi)) of the
grid that holds the blueprint's blocks (`blocks_box`: damage is placed
relative to it), and a CPU torch.Generator; it returns the damaged states
(zeroed cells are dead).
"""

from __future__ import annotations

import numpy as np
import torch

AXIS_INDEX = {"x": 0, "y": 1, "z": 2}


def blocks_box(classes) -> tuple[tuple, tuple]:
    """((lo), (hi)): the bounding box of the non-air cells of the class grid
    `classes` (X, Y, Z), hi exclusive. Not the blueprint's own box: a
    schematic saved with air around its blocks would have a half-cut keep
    only air layers (a wiped sample, nothing to heal) or a sphere miss every
    block. Every face of this box touches a block, so a cut inside it leaves
    blocks on both sides."""
    solid = np.argwhere(np.asarray(classes) > 0)
    if not len(solid):
        raise ValueError("no blocks in the class grid")
    return tuple(int(v) for v in solid.min(0)), tuple(int(v) + 1 for v in solid.max(0))


def _uniform(lo: float, hi: float, generator) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def sphere(state, box, radius_range, generator):
    """Zero a ball centred on a random cell of the box; radius a fraction of
    the box's largest extent drawn from `radius_range`."""
    lo, hi = box
    extent = max(h - l for l, h in zip(lo, hi))
    radius = _uniform(*radius_range, generator) * extent
    centre = [_uniform(l, h - 1, generator) for l, h in zip(lo, hi)]
    coords = [torch.arange(n, device=state.device, dtype=torch.float32) for n in state.shape[2:]]
    gx, gy, gz = torch.meshgrid(*coords, indexing="ij")
    d2 = (gx - centre[0]) ** 2 + (gy - centre[1]) ** 2 + (gz - centre[2]) ** 2
    return state * (d2 > radius ** 2)


def halfcut(state, box, axes, at_range, generator):
    """Cut by the plane `axis = at` (axis drawn from `axes`, `at` a fraction of
    the box extent from `at_range`) and keep one side at random, as the
    regeneration harness does: cells with coordinate < at form the first part.
    Each part keeps at least one layer of the box (at_range 0 or 1 would
    keep all of it or nothing: a wiped sample, nothing to heal), and so
    blocks, the box being `blocks_box`. Across an axis the box is one cell
    thick no such cut exists: callers leave those axes out (`train`'s
    cut_axes)."""
    lo, hi = box
    axis = AXIS_INDEX[axes[int(torch.randint(len(axes), (), generator=generator))]]
    at = lo[axis] + round(_uniform(*at_range, generator) * (hi[axis] - lo[axis]))
    at = min(max(at, lo[axis] + 1), hi[axis] - 1)
    coord = torch.arange(state.shape[2 + axis], device=state.device)
    first = coord < at
    keep = first if bool(torch.rand((), generator=generator) < 0.5) else ~first
    shape = [1, 1, 1, 1, 1]
    shape[2 + axis] = -1
    return state * keep.reshape(shape)


def dropout(state, rate, generator):
    """Zero a random `rate` fraction of cells."""
    b, _, x, y, z = state.shape
    keep = torch.rand((b, 1, x, y, z), generator=generator) >= rate
    return state * keep.to(state.device)


def apply_damage(state, kind: str, config, box, generator, axes=None):
    """One damage of `kind` (sphere | halfcut | dropout) to every sample of
    `state`; a half-cut across one of `axes` (default the config's
    halfcut_axes)."""
    if kind == "sphere":
        return sphere(state, box, config.sphere_radius, generator)
    if kind == "halfcut":
        return halfcut(state, box, axes or config.halfcut_axes, config.halfcut_range, generator)
    return dropout(state, config.dropout_rate, generator)
