"""3x3x3 stencils of an NCA step on the CPU (numba, private): fixed (identity +
Sobel) perception at the cells that fire, the life mask, and the masked update.

    sobel_rows(state, rows)                 state (B, C, X, Y, Z) -> (n, 4C)
    sobel_rows_backward(grad, rows, d_state) (n, 4C) -> adds the state's gradient to
                                            d_state (B, C, X, Y, Z)
    life_mask(alive, threshold)             alive (B, X, Y, Z) -> bool, same shape
    alive_box(alive, threshold)             -> (lo, hi): the box of alive cells
    apply_update(state, out, rows, pre, alive, threshold) -> (next state, mask)
    apply_update_backward(grad, mask, rows) -> gradients of state and out

`rows` are sorted flat indices into (B, X, Y, Z); a row's features are
[identity, Sobel x, Sobel y, Sobel z] of every channel (feature p * C + c),
Sobel scaled by 1/16 and zero padded: the same numbers as the depthwise
conv with `model.perception_kernels()` at those rows. Each sample's channels-last slab is
filtered separably, [1, 2, 1] smoothing and [-1, 0, 1] differences along one
axis at a time (contiguous inner loops over the cells beside each other on
that axis), in scratch slabs that stay in cache, and only the firing rows are
gathered. The backward scatters the rows' gradients into slabs and applies
the adjoint filters: the smoothing is symmetric and the difference
antisymmetric, so the adjoint of a Sobel filter is minus itself.

The life mask marks the cells with an alive neighbour (alive > threshold
somewhere in their 3x3x3 neighbourhood), the same as
`max_pool3d(alive, 3, 1, 1) > threshold` (the torch `NCA.life`), by a separable OR.
Both it and `alive_box` compare in the state's dtype, the threshold rounded
to it, as torch compares a float32 tensor with a Python float (compared in
float64, a float32 cell holding 0.1 at a threshold of 0.1 was alive here and
dead in torch's max-pool and on CUDA). A NaN in a cell's neighbourhood makes
torch's max-pool NaN, and NaN > threshold is false: the life mask kills such a
cell too, even beside an alive one (a diverged state then steps alike on both
paths). A NaN cell is not alive for `alive_box` either, so the box holds every
living cell.
apply_update ends a step: it adds the MLP's rows to the (B, C, X, Y, Z)
state at their cells and zeroes the cells outside `pre & life(result)`; its
backward is the mask times the gradient, and that gathered at the rows.
Each call replaces dozens of small torch ops (pads, slices, adds, maxima)
that a step otherwise costs. `tests/test_nca_model.py` checks all of them
against the torch code.
"""

from __future__ import annotations

import numpy as np

from voxgen.kernel_cache import njit, prange
from voxgen.nca.mlp_rows import typed


@njit(cache=True)
def _smooth(v, out, n, s):
    """out = v[i-1] + 2 v[i] + v[i+1] along the axis of length n and stride s
    of the flat channels-last slab v, zero beyond its ends (one sweep)."""
    a_ = v.reshape(-1, n, s)
    o_ = out.reshape(-1, n, s)
    for a in range(a_.shape[0]):
        if n == 1:
            for k in range(s):
                o_[a, 0, k] = a_[a, 0, k] + a_[a, 0, k]
            continue
        for k in range(s):
            o_[a, 0, k] = a_[a, 0, k] + a_[a, 0, k] + a_[a, 1, k]
        for i in range(1, n - 1):
            for k in range(s):
                o_[a, i, k] = a_[a, i - 1, k] + a_[a, i, k] + a_[a, i, k] + a_[a, i + 1, k]
        for k in range(s):
            o_[a, n - 1, k] = a_[a, n - 2, k] + a_[a, n - 1, k] + a_[a, n - 1, k]


@njit(cache=True)
def _diff(v, out, n, s):
    """out = v[i+1] - v[i-1] along the axis of length n and stride s."""
    a_ = v.reshape(-1, n, s)
    o_ = out.reshape(-1, n, s)
    for a in range(a_.shape[0]):
        if n == 1:
            for k in range(s):
                o_[a, 0, k] = 0.0
            continue
        for k in range(s):
            o_[a, 0, k] = a_[a, 1, k]
        for i in range(1, n - 1):
            for k in range(s):
                o_[a, i, k] = a_[a, i + 1, k] - a_[a, i - 1, k]
        for k in range(s):
            o_[a, n - 1, k] = -a_[a, n - 2, k]


@njit(parallel=True, cache=True)
def sobel_rows(state, rows):
    nb, nc, nx, ny, nz = state.shape
    cells = nx * ny * nz
    size = cells * nc
    flat = state.reshape(nb, nc, cells)
    out = np.empty((rows.shape[0], 4 * nc), state.dtype)
    starts = np.searchsorted(rows, np.arange(nb + 1) * cells)
    sixteenth = typed(0.0625, state)
    for b in prange(nb):
        lo, hi = starts[b], starts[b + 1]
        if lo == hi:
            continue
        scratch = np.empty((7, size), state.dtype)      # this sample's channels-last slabs
        v, sz, dz, t, sx, sy, sd = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5],
                                    scratch[6])
        src = flat[b]
        for p in range(cells):
            for ch in range(nc):
                v[p * nc + ch] = src[ch, p]
        _smooth(v, sz, nz, nc)
        _diff(v, dz, nz, nc)
        _smooth(sz, t, ny, nz * nc)            # Sobel x: smooth z, smooth y, diff x
        _diff(t, sx, nx, ny * nz * nc)
        _diff(sz, t, ny, nz * nc)              # Sobel y: smooth z, diff y, smooth x
        _smooth(t, sy, nx, ny * nz * nc)
        _smooth(dz, t, ny, nz * nc)            # Sobel z: diff z, smooth y, smooth x
        _smooth(t, sd, nx, ny * nz * nc)
        for i in range(lo, hi):
            at = (rows[i] - b * cells) * nc
            for ch in range(nc):
                out[i, ch] = v[at + ch]
                out[i, nc + ch] = sx[at + ch] * sixteenth
                out[i, 2 * nc + ch] = sy[at + ch] * sixteenth
                out[i, 3 * nc + ch] = sd[at + ch] * sixteenth
    return out


@njit(parallel=True, cache=True)
def sobel_rows_backward(grad, rows, d_state):
    nb, nc, nx, ny, nz = d_state.shape
    cells = nx * ny * nz
    size = cells * nc
    out = d_state.reshape(nb, nc, cells)
    starts = np.searchsorted(rows, np.arange(nb + 1) * cells)
    sixteenth = typed(0.0625, grad)
    for b in prange(nb):
        lo, hi = starts[b], starts[b + 1]
        if lo == hi:
            continue
        scratch = np.zeros((7, size), grad.dtype)       # this sample's channels-last slabs
        d, gx, gy, gz, t, u, w = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6]
        for i in range(lo, hi):
            at = (rows[i] - b * cells) * nc
            for ch in range(nc):
                d[at + ch] = grad[i, ch]
                gx[at + ch] = grad[i, nc + ch]
                gy[at + ch] = grad[i, 2 * nc + ch]
                gz[at + ch] = grad[i, 3 * nc + ch]
        # minus each Sobel filter applied to its gradient; y and z share their
        # final smoothing along x
        _smooth(gy, t, nz, nc)
        _diff(t, u, ny, nz * nc)
        _diff(gz, t, nz, nc)
        _smooth(t, w, ny, nz * nc)
        u += w
        _smooth(u, w, nx, ny * nz * nc)
        _smooth(gx, t, nz, nc)
        _smooth(t, u, ny, nz * nc)
        _diff(u, t, nx, ny * nz * nc)
        for m in range(size):
            d[m] -= (w[m] + t[m]) * sixteenth
        ob = out[b]
        for ch in range(nc):                            # added to the (C, X, Y, Z) gradient
            for p in range(cells):
                ob[ch, p] += d[p * nc + ch]
    return d_state


@njit(cache=True)
def life_mask(alive, threshold):
    nb, nx, ny, nz = alive.shape
    level = typed(threshold, alive)
    a = np.empty(alive.shape, np.bool_)
    nan = False
    for i in range(nb):
        for x in range(nx):
            for y in range(ny):
                for z in range(nz):
                    v = alive[i, x, y, z]
                    a[i, x, y, z] = v > level
                    nan |= v != v           # folded into this pass: no second pass on the hot path
    b = _near(a)
    if nan:                 # a diverged state, rarely: a second pass, off the hot path
        poisoned = _near(np.isnan(alive))
        for i in range(nb):
            for x in range(nx):
                for y in range(ny):
                    for z in range(nz):
                        b[i, x, y, z] = b[i, x, y, z] and not poisoned[i, x, y, z]
    return b


@njit(cache=True)
def _near(a):
    """bool (B, X, Y, Z): the cells with a set cell of `a` in their 3x3x3
    neighbourhood, by a separable OR (`a` is overwritten)."""
    nb, nx, ny, nz = a.shape
    b = np.zeros_like(a)
    for i in range(nb):                  # OR along z into b, along y into a, along x into b
        for x in range(nx):
            for y in range(ny):
                for z in range(nz):
                    b[i, x, y, z] = (a[i, x, y, z] or (z > 0 and a[i, x, y, z - 1])
                                     or (z < nz - 1 and a[i, x, y, z + 1]))
        for x in range(nx):
            for y in range(ny):
                for z in range(nz):
                    a[i, x, y, z] = (b[i, x, y, z] or (y > 0 and b[i, x, y - 1, z])
                                     or (y < ny - 1 and b[i, x, y + 1, z]))
        for x in range(nx):
            for y in range(ny):
                for z in range(nz):
                    b[i, x, y, z] = (a[i, x, y, z] or (x > 0 and a[i, x - 1, y, z])
                                     or (x < nx - 1 and a[i, x + 1, y, z]))
    return b


@njit(cache=True)
def alive_box(alive, threshold):
    """(lo, hi) int arrays of 3: the half-open box of cells (x, y, z) where
    alive (B, X, Y, Z) > threshold in any sample; hi <= lo where none is.
    Each face of the box is found by scanning planes in from the grid's
    face, each plane only until its first alive cell: a grid full of life
    costs a few cells (1 us at the prior work's batch, where a pass over
    every cell took 12), an empty one a pass over every cell."""
    nb, nx, ny, nz = alive.shape
    level = typed(threshold, alive)
    lo = np.array([nx, ny, nz])
    hi = np.zeros(3, np.int64)
    x0 = 0
    while x0 < nx and not _alive_in(alive, level, x0, x0 + 1, 0, ny, 0, nz):
        x0 += 1
    if x0 == nx:
        return lo, hi
    x1 = nx
    while not _alive_in(alive, level, x1 - 1, x1, 0, ny, 0, nz):
        x1 -= 1
    y0 = 0
    while not _alive_in(alive, level, x0, x1, y0, y0 + 1, 0, nz):
        y0 += 1
    y1 = ny
    while not _alive_in(alive, level, x0, x1, y1 - 1, y1, 0, nz):
        y1 -= 1
    z0 = 0
    while not _alive_in(alive, level, x0, x1, y0, y1, z0, z0 + 1):
        z0 += 1
    z1 = nz
    while not _alive_in(alive, level, x0, x1, y0, y1, z1 - 1, z1):
        z1 -= 1
    lo[0], lo[1], lo[2] = x0, y0, z0
    hi[0], hi[1], hi[2] = x1, y1, z1
    return lo, hi


@njit(cache=True)
def _alive_in(alive, threshold, x0, x1, y0, y1, z0, z1):
    """Whether any cell of the box [x0, x1) x [y0, y1) x [z0, z1) is alive in
    any sample; stops at the first."""
    for b in range(alive.shape[0]):
        for x in range(x0, x1):
            for y in range(y0, y1):
                for z in range(z0, z1):
                    if alive[b, x, y, z] > threshold:
                        return True
    return False


@njit(parallel=True, cache=True)
def apply_update(state, out, rows, pre, alive, threshold):
    nb, nc, nx, ny, nz = state.shape
    cells = nx * ny * nz
    x = np.empty_like(state)
    src = state.reshape(nb, nc, cells)
    flat = x.reshape(nb, nc, cells)
    starts = np.searchsorted(rows, np.arange(nb + 1) * cells)
    for item in prange(nb * nc):                # a channel of a sample each
        b, ch = item // nc, item % nc
        dst = flat[b, ch]
        dst[:] = src[b, ch]
        for i in range(starts[b], starts[b + 1]):
            dst[rows[i] - b * cells] += out[i, ch]
    mask = life_mask(x[:, alive], threshold)
    for b in range(nb):
        m = mask[b].reshape(cells)
        pb = pre[b].reshape(cells)
        for p in range(cells):
            m[p] = m[p] and pb[p]
    zero = typed(0, state)
    for item in prange(nb * nc):
        b, ch = item // nc, item % nc
        m = mask[b].reshape(cells)
        dst = flat[b, ch]
        for p in range(cells):
            dst[p] = dst[p] if m[p] else zero   # chosen, not multiplied: NaN * 0 is NaN
    return x, mask


@njit(parallel=True, cache=True)
def apply_update_backward(grad, mask, rows):
    nb, nc, nx, ny, nz = grad.shape
    cells = nx * ny * nz
    d_state = np.empty_like(grad)
    g = grad.reshape(nb, nc, cells)
    d = d_state.reshape(nb, nc, cells)
    zero = typed(0, grad)
    for item in prange(nb * nc):
        b, ch = item // nc, item % nc
        m = mask[b].reshape(cells)
        for p in range(cells):
            d[b, ch, p] = g[b, ch, p] if m[p] else zero
    d_out = np.empty((rows.shape[0], nc), grad.dtype)
    for i in prange(rows.shape[0]):
        b, p = rows[i] // cells, rows[i] % cells
        for ch in range(nc):
            d_out[i, ch] = d[b, ch, p]
    return d_state, d_out
