"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. A row's features are
ordered filter-major (p * C + c), so the state is first copied zero padded,
channels last and tiled P times along the channels, `tiled` (B, X+2, Y+2,
Z+2, P*C): then every tap of every row is one multiply-add over P*C
contiguous numbers (vectorised), with the kernel laid out the same way,
`taps` (27, P*C). The three taps along z of a row are neighbours in both
arrays, so the forward adds them in one pass over the row's sums (1.3-1.6x
faster than a tap at a time, measured on this 2-core CPU; the backward's
untiled layout, tried in the forward, was 1.3-2.6x slower here at the prior
work's 20 channels and no faster in training at 40). The backward needs no
tiled copy (see `learned_backward`); it takes each (x, y) of a row's
neighbourhood as one stream of its three z-taps:

    tile_padded(state, P)                    state (B, C, X, Y, Z) -> tiled (in scratch memory,
                                             kept per thread and overwritten by its next call)
    learned_rows(tiled, rows, taps)          -> (n, P*C)
    learned_backward(grad, state, rows, kernel, d_state) -> the kernel's (C, P, 27) gradient;
                                             adds the state's to d_state (B, C, X, Y, Z)

`rows` are sorted flat indices into (B, X, Y, Z). The forward runs rows in
parallel; the backward runs samples in parallel (each scatters into its own
slab), sums each sample's kernel gradient in row order and the samples in
order, and takes the 27 taps in (x, y, z) order, so results depend neither
on the thread count nor on the crop of the active region. (Fixed perception
is computed separably instead, in `stencils.py`.) `tests/test_nca_model.py`
checks all of it against the plain torch code.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _corner(row, nx, ny, nz):
    """(b, x, y, z) of flat row index `row` into (B, X, Y, Z): the corner of
    its 3x3x3 neighbourhood in the padded grid."""
    z = row % nz
    row //= nz
    y = row % ny
    row //= ny
    return row // nx, row % nx, y, z


_buffers = threading.local()


def tile_padded(state, f_):
    """The tiled copy of `state`, written into storage this thread keeps for
    its next call: fresh memory for every step's copy (tens of MB at a
    temple's size) cost more than the copy (a temple-size iteration 3-7%
    slower)."""
    nb, nc, nx, ny, nz = state.shape
    shape = (nb, nx + 2, ny + 2, nz + 2, f_ * nc)
    size = math.prod(shape)
    have = getattr(_buffers, "tiled", None)
    if have is None or have.size < size or have.dtype != state.dtype:
        have = np.empty(size, state.dtype)
        _buffers.tiled = have
    return _tile_padded(state, f_, have[:size].reshape(shape))


@njit(parallel=True, cache=True)
def _tile_padded(state, f_, out):
    nb, nc, nx, ny, nz = state.shape
    for item in prange(nb * (nx + 2)):  # a padded x-plane of a sample each: both threads busy at batch 5 too
        b, u = item // (nx + 2), item % (nx + 2)
        if u == 0 or u == nx + 1:
            out[b, u] = 0              # zero only the padding; write each cell's P*C row in order
            continue
        x = u - 1
        out[b, u, 0] = 0
        out[b, u, ny + 1] = 0
        for y in range(ny):
            out[b, u, y + 1, 0] = 0
            out[b, u, y + 1, nz + 1] = 0
            for z in range(nz):
                row = out[b, u, y + 1, z + 1]
                for c in range(nc):
                    v = state[b, c, x, y, z]
                    for f in range(f_):
                        row[f * nc + c] = v
    return out


@njit(parallel=True, fastmath=True, cache=True)
def learned_rows(tiled, rows, taps):
    _, xp, yp, zp, m = tiled.shape
    out = np.zeros((rows.shape[0], m), tiled.dtype)
    for i in prange(rows.shape[0]):
        b, x, y, z = _corner(rows[i], xp - 2, yp - 2, zp - 2)
        dst = out[i]
        o = 0
        for u in range(x, x + 3):
            for v in range(y, y + 3):
                # the three taps along z in one pass: a third of the loads
                # and stores of the row's sums (1.3-1.6x faster than one a pass)
                s0, s1, s2 = tiled[b, u, v, z], tiled[b, u, v, z + 1], tiled[b, u, v, z + 2]
                t0, t1, t2 = taps[o], taps[o + 1], taps[o + 2]
                for j in range(m):
                    dst[j] += t0[j] * s0[j] + t1[j] * s1[j] + t2[j] * s2[j]
                o += 3
    return out


def learned_backward(grad, state, rows, kernel, d_state):
    """The gradient of the kernel (C, P, 27) of `learned_rows`' features at
    `rows`, given theirs, `grad` (n, P*C); adds the state's to `d_state`
    (B, C, X, Y, Z). Untiled: a row's gradient is spread over the state's
    own C channels (padded to a multiple of 8, whole vectors), filter by
    filter, not over a P-times tiled copy, so the copy is P times smaller and
    there is no folding of the tiles: as fast as the tiled way on the prior
    work's grid (1.15-1.25 ms against 1.20-1.33 ms a step) and 1.4x faster
    on the temple's (12 ms against 17-18 ms), measured on this 2-core CPU."""
    nc, nf, _ = kernel.shape
    ncp = -(-nc // 8) * 8
    taps = np.zeros((nf, 9, 3, ncp), grad.dtype)        # taps[f, (x, y), z, c]
    taps[..., :nc] = kernel.transpose(1, 2, 0).reshape(nf, 9, 3, nc)
    d_taps = _rows_backward(grad, _padded_channels_last(state, ncp), rows, taps.reshape(nf, 9, 3 * ncp), nc,
                            d_state)
    return np.ascontiguousarray(d_taps.reshape(nf, 27, ncp)[..., :nc].transpose(2, 0, 1))


@njit(parallel=True, cache=True)
def _padded_channels_last(state, ncp):
    """(B, X+2, Y+2, (Z+2)*ncp): `state` channels last, zero padded in space
    and from C to ncp channels."""
    nb, nc, nx, ny, nz = state.shape
    out = np.zeros((nb, nx + 2, ny + 2, (nz + 2) * ncp), state.dtype)
    for item in prange(nb * nx):
        b, x = item // nx, item % nx
        for y in range(ny):
            for z in range(nz):
                for c in range(nc):
                    out[b, x + 1, y + 1, (z + 1) * ncp + c] = state[b, c, x, y, z]
    return out


@njit(parallel=True, fastmath=True, cache=True)
def _rows_backward(grad, padded, rows, taps, nc, d_state):
    nb, xp, yp, zpc = padded.shape
    nf, _, n3 = taps.shape
    ncp = n3 // 3                        # the three z-taps of a (x, y) are 3 ncp contiguous numbers
    nx, ny, nz = xp - 2, yp - 2, zpc // ncp - 2
    starts = np.searchsorted(rows, np.arange(nb + 1) * (nx * ny * nz))
    d_taps = np.zeros((nb, nf, 9, n3), grad.dtype)
    for b in prange(nb):
        g = np.zeros((xp, yp, zpc), grad.dtype)        # this sample's padded gradient
        sb, db = padded[b], d_taps[b]
        rep = np.zeros((nf, n3), grad.dtype)           # the row's gradient, three times a filter
        for i in range(starts[b], starts[b + 1]):
            _, x, y, z = _corner(rows[i], nx, ny, nz)
            for f in range(nf):
                for c in range(nc):
                    v = grad[i, f * nc + c]
                    rep[f, c] = rep[f, ncp + c] = rep[f, 2 * ncp + c] = v
            o = 0
            for u in range(x, x + 3):
                for v in range(y, y + 3):      # each (u, v) is one stream of 3 ncp numbers
                    gb, s = g[u, v, z * ncp:z * ncp + n3], sb[u, v, z * ncp:z * ncp + n3]
                    for f in range(nf):
                        t, r, d = taps[f, o], rep[f], db[f, o]
                        for k in range(n3):    # both gradients in one pass (1.1x two passes)
                            rk = r[k]
                            gb[k] += t[k] * rk
                            d[k] += rk * s[k]
                    o += 1
        for x in range(nx):
            for y in range(ny):
                for z in range(nz):
                    src = g[x + 1, y + 1, (z + 1) * ncp:(z + 2) * ncp]
                    for c in range(nc):
                        d_state[b, c, x, y, z] += src[c]
    total = np.zeros((nf, 9, n3), grad.dtype)
    for b in range(nb):
        total += d_taps[b]
    return total
