"""Active-region stepping: compute only on the box where life can be.

After any step, non-zero cells lie within one cell of an alive cell (alive
channel > threshold), and a step changes only living cells. So the next state
is zero outside the bounding box of alive cells grown by one cell, and inside
that box it depends only on the box (cells beyond it are zero, exactly like
the convolution's zero padding). Computing the step on that crop and padding
the result back with zeros equals the dense step bit for bit in exact
arithmetic; firing masks are drawn for the whole grid, then cropped, so the
random stream does not depend on the box either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from voxgen.nca import stencils
from voxgen.nca.model import NCA, uses_numba, fire_mask


def live_box(model: NCA, state: torch.Tensor):
    """((x0, y0, z0), (x1, y1, z1)) half-open box of alive cells over the
    whole batch, grown by one cell and clipped to the grid; None if none alive."""
    if uses_numba(state):      # one numba pass instead of a dozen small torch ops
        lo, hi = stencils.alive_box(state.detach()[:, model.channels.alive].numpy(),
                                    model.config.alive_threshold)
        if hi[0] <= lo[0]:
            return None
        grid = state.shape[2:]
        return (tuple(max(int(a) - 1, 0) for a in lo),
                tuple(min(int(b) + 1, n) for b, n in zip(hi, grid)))
    alive = (state[:, model.channels.alive] > model.config.alive_threshold).any(0)
    if not bool(alive.any()):
        return None
    lo, hi = [], []
    for axis, n in enumerate(alive.shape):
        other = tuple(a for a in range(3) if a != axis)
        idx = torch.nonzero(alive.any(other)).squeeze(1)
        lo.append(max(int(idx[0]) - 1, 0))
        hi.append(min(int(idx[-1]) + 2, n))
    return tuple(lo), tuple(hi)


def step_active(model: NCA, state: torch.Tensor, fire: torch.Tensor) -> torch.Tensor:
    """`model.step` computed on the live box only; same result as the dense step."""
    box = live_box(model, state)
    if box is None:   # all dead: zero, as the dense step gives, graph kept for backward
        return state * 0
    (x0, y0, z0), (x1, y1, z1) = box
    full = state.shape[2:]
    if (x0, y0, z0) == (0, 0, 0) and (x1, y1, z1) == tuple(full):
        return model.step(state, fire)
    crop = (slice(None), slice(None), slice(x0, x1), slice(y0, y1), slice(z0, z1))
    out = model.step(state[crop], fire[crop])
    pad = (z0, full[2] - z1, y0, full[1] - y1, x0, full[0] - x1)
    return F.pad(out, pad)


def rollout(model: NCA, state: torch.Tensor, steps: int, generator=None, on_step=None,
            active: bool = True) -> torch.Tensor:
    """Run `steps` steps from `state` (B, C, X, Y, Z). `generator` drives the
    firing masks (one Generator, or one per sample). `on_step(i, state)` is
    called after each step i = 0..steps-1. `active=False` computes densely."""
    step = step_active if active else (lambda m, s, f: m.step(s, f))
    for i in range(steps):
        fire = fire_mask(state.shape, model.config.fire_rate, generator, state.device)
        state = step(model, state, fire)
        if on_step is not None:
            on_step(i, state)
    return state
