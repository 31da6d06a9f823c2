"""Active-region stepping: compute only on the box where life can be.

After any step, non-zero cells lie within one cell of an alive cell (alive
channel > threshold), and a step changes only living cells. So the next state
is zero outside the bounding box of alive cells grown by one cell, and inside
that box it depends only on the box (cells beyond it are zero, exactly like
the convolution's zero padding). Computing the step on that crop and padding
the result back with zeros equals the dense step bit for bit in exact
arithmetic; firing masks are drawn for the whole grid, then cropped, so the
random stream does not depend on the box either.

A state no step made need not be so: a damaged or cut one (a pool sample
after dropout, half a grown creature) keeps non-zero cells whose alive
neighbours are gone, and a living cell at the edge of the box grown by one
perceives the cells a further cell out. The first step of a rollout (and
`step_active` by default) runs on the box grown by two, which holds every
cell that a living cell perceives, so its result and the start state's
gradient are the dense step's for any state.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from voxgen.nca import stencils
from voxgen.nca.cpu_step import CpuRollout
from voxgen.nca.model import NCA, uses_numba, fire_mask


def live_box(model: NCA, state: torch.Tensor, margin: int = 1):
    """((x0, y0, z0), (x1, y1, z1)) half-open box of alive cells over the
    whole batch, grown by `margin` cells and clipped to the grid; None if
    none alive."""
    if uses_numba(state):      # one numba pass instead of a dozen small torch ops
        return live_box_np(model, state.detach().numpy(), margin)
    alive, threshold, grid = state.detach()[:, model.channels.alive], model.config.alive_threshold, state.shape[2:]
    # whether each plane along each axis holds an alive cell, read back in one
    # transfer (one host synchronisation per step on a GPU); compared before
    # reducing, as `stencils.alive_box` does: a plane's largest value is NaN
    # if any cell is, which would hide the plane's alive cells
    lit = alive > threshold
    planes = torch.cat([lit.any(3).any(2).any(0), lit.any(3).any(1).any(0), lit.any(2).any(1).any(0)]).cpu().numpy()
    edges = [axis.nonzero()[0] for axis in np.split(planes, [grid[0], grid[0] + grid[1]])]
    if any(e.size == 0 for e in edges):
        return None
    return grown_box((tuple(int(e[0]) for e in edges), tuple(int(e[-1]) + 1 for e in edges)), grid, margin)


def live_box_np(model: NCA, state: np.ndarray, margin: int = 1):
    """`live_box` of the (B, C, X, Y, Z) array `state`, by one numba scan."""
    lo, hi = stencils.alive_box(state[:, model.channels.alive], model.config.alive_threshold)
    if hi[0] <= lo[0]:
        return None
    return grown_box((tuple(int(a) for a in lo), tuple(int(b) for b in hi)), state.shape[2:], margin)


def step_active(model: NCA, state: torch.Tensor, fire: torch.Tensor, box=False) -> torch.Tensor:
    """`model.step` computed on `box` only (by default the box of alive
    cells grown by two, found now); the same result as the dense step for
    any box that holds that, or the live box (grown by one) where `state`
    is one a step made. A `box` of None means nothing is alive."""
    if box is False:
        box = live_box(model, state, 2)
    if box is None:   # all dead: zero, as the dense step gives, graph kept for backward, and (as the
        # dense step's backward) a zero gradient for every parameter, not None: Adam skips a None.
        # Chosen, not multiplied, and the NaN of a diverged parameter dropped: NaN * 0 is NaN
        nothing = torch.zeros((), dtype=torch.bool, device=state.device)
        return torch.where(nothing, state, 0.0) + (sum(p.sum() for p in model.parameters()) * 0).nan_to_num(0.0)
    (x0, y0, z0), (x1, y1, z1) = box
    full = state.shape[2:]
    if (x0, y0, z0) == (0, 0, 0) and (x1, y1, z1) == tuple(full):
        return model.step(state, fire)
    crop = (slice(None), slice(None), slice(x0, x1), slice(y0, y1), slice(z0, z1))
    out = model.step(state[crop], fire[crop])
    pad = (z0, full[2] - z1, y0, full[1] - y1, x0, full[0] - x1)
    return F.pad(out, pad)


FIRE_BLOCK = 16
"""Steps whose firing masks the CPU draws at once, as long as that stays
within FIRE_BLOCK_NUMBERS random numbers (16 MB of them)."""
FIRE_BLOCK_NUMBERS = 1 << 22


def fire_masks(shape, rate: float, generator, device, steps: int):
    """The firing masks of `steps` steps in turn, as `fire_mask` draws them.
    On the CPU with a generator given (one, or one per sample) they are drawn
    FIRE_BLOCK steps at a time: torch's CPU generator fills a tensor number
    by number, so one draw for k steps gives the numbers of k draws, one a
    step (`tests/test_nca_model.py` checks it), in one call instead of k.
    (The global generator, `generator=None`, is drawn step by step: another
    draw from it between steps would come between them.)"""
    block = 1
    if generator is not None and torch.device(device).type == "cpu":
        per_step = math.prod(shape[:1] + shape[2:])                  # B X Y Z numbers
        block = max(1, min(FIRE_BLOCK, FIRE_BLOCK_NUMBERS // per_step))  # on large grids, fewer steps at once
    for start in range(0, steps, block):
        yield from fire_mask(shape, rate, generator, device, min(block, steps - start))


def grown_box(box, grid, by: int = 1):
    """The box `by` cells larger on every side, clipped to `grid`: by one,
    it holds the live box after one more step (life spreads at most one
    cell a step)."""
    if box is None:
        return None
    return (tuple(max(a - by, 0) for a in box[0]), tuple(min(b + by, n) for b, n in zip(box[1], grid)))


def rollout(model: NCA, state: torch.Tensor, steps: int, generator=None, on_step=None,
            active: bool = True, find_box_every: int | None = None) -> torch.Tensor:
    """Run `steps` steps from `state` (B, C, X, Y, Z). `generator` drives the
    firing masks (one Generator, or one per sample). `on_step(i, state)` is
    called after each step i = 0..steps-1. `active=False` computes densely.

    The live box is found anew every `find_box_every` steps (default: every
    step on the CPU, where it costs one numba pass; every 8th on a GPU, where
    reading it back stalls the queue of kernels) and grown by one cell a step
    in between, which always holds the live box, so the result is the same.
    The first step's box is grown by two (see the module's docstring): the
    start state may be one no step made."""
    every = find_box_every or (1 if state.device.type == "cpu" else 8)
    grid = state.shape[2:]
    box = None
    masks = fire_masks(state.shape, model.config.fire_rate, generator, state.device, steps)
    if active and on_step is None and uses_numba(state):   # the same steps, one autograd node
        return CpuRollout.apply(model, state, masks, every, torch.is_grad_enabled(), *model._cpu_weights())
    for i, fire in enumerate(masks):
        if not active:
            state = model.step(state, fire)
        else:
            box = live_box(model, state, 2 if i == 0 else 1) if i % every == 0 else grown_box(box, grid)
            state = step_active(model, state, fire, box)
        if on_step is not None:
            on_step(i, state)
    return state
