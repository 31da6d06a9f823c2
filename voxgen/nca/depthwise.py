"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. A row's features are
ordered filter-major (p * C + c), so the state is first copied zero padded,
channels last and tiled P times along the channels, `tiled` (B, X+2, Y+2,
Z+2, P*C): then every tap of every row is one multiply-add over P*C
contiguous numbers (vectorised), with the kernel laid out the same way,
`taps` (27, P*C). The three taps along z of a row are neighbours in both
arrays, so the forward adds them in one pass over the row's sums, and the
backward treats each as one stream of 3*P*C numbers (1.2-1.6x faster than a
tap at a time, measured on this 2-core CPU):

    tile_padded(state, P)                    state (B, C, X, Y, Z) -> tiled (in scratch memory,
                                             kept per thread and overwritten by its next call)
    learned_rows(tiled, rows, taps)          -> (n, P*C)
    rows_backward(grad, tiled, rows, taps, d_state) -> the taps' gradient; adds the state's to
                                             d_state (B, C, X, Y, Z)

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


@njit(parallel=True, fastmath=True, cache=True)
def rows_backward(grad, tiled, rows, taps, d_state):
    nb, xp, yp, zp, m = tiled.shape
    nx, ny, nz = xp - 2, yp - 2, zp - 2
    nc = d_state.shape[1]
    m3 = 3 * m                           # the three z-taps of a row are 3m contiguous numbers
    starts = np.searchsorted(rows, np.arange(nb + 1) * (nx * ny * nz))
    d_taps = np.zeros((nb, 9, m3), grad.dtype)
    taps3 = taps.reshape(9, m3)
    for b in prange(nb):
        g = np.zeros((xp, yp, zp * m), grad.dtype)     # this sample's tiled gradient
        tb = tiled[b].reshape(xp, yp, zp * m)
        rep = np.empty(m3, grad.dtype)                 # the row's gradient, three times
        for i in range(starts[b], starts[b + 1]):
            _, x, y, z = _corner(rows[i], nx, ny, nz)
            for j in range(m):
                rep[j] = rep[m + j] = rep[2 * m + j] = grad[i, j]
            o = 0
            for u in range(x, x + 3):
                for v in range(y, y + 3):      # each (u, v) is one stream of 3m numbers
                    gb, t = g[u, v, z * m:z * m + m3], taps3[o]
                    s, d = tb[u, v, z * m:z * m + m3], d_taps[b, o]
                    for k in range(m3):        # both gradients in one pass (1.1x two passes)
                        r = rep[k]
                        gb[k] += t[k] * r
                        d[k] += r * s[k]
                    o += 1
        for x in range(nx):                            # fold the P tiles, drop the padding
            for y in range(ny):
                for z in range(nz):
                    src = g[x + 1, y + 1, (z + 1) * m:(z + 2) * m]
                    for c in range(nc):
                        total = src[c]
                        for j0 in range(nc, m, nc):    # no j % nc: a division per number
                            total += src[j0 + c]
                        d_state[b, c, x, y, z] += total
    total = np.zeros((9, m3), grad.dtype)
    for b in range(nb):
        total += d_taps[b]
    return total.reshape(27, m)
