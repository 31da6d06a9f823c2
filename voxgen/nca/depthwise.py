"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. A row's features are
ordered filter-major (p * C + c), so the state is first copied zero padded,
channels last and tiled P times along the channels, `tiled` (B, X+2, Y+2,
Z+2, P*C): then every tap of every row is one multiply-add over P*C
contiguous numbers (vectorised), with the kernel laid out the same way,
`taps` (27, P*C):

    tile_padded(state, P)                    state (B, C, X, Y, Z) -> tiled
    learned_rows(tiled, rows, taps)          -> (n, P*C)
    rows_backward(grad, tiled, rows, taps, C) -> gradients of the state (B, C, X, Y, Z) and taps

`rows` are sorted flat indices into (B, X, Y, Z). The forward runs rows in
parallel; the backward runs samples in parallel (each scatters into its own
slab), sums each sample's kernel gradient in row order and the samples in
order, and takes the 27 taps in (x, y, z) order, so results depend neither
on the thread count nor on the crop of the active region. (Fixed perception
is computed separably instead, in `stencils.py`.) `tests/test_nca_model.py`
checks all of it against the plain torch code.
"""

from __future__ import annotations

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


@njit(parallel=True, cache=True)
def tile_padded(state, f_):
    nb, nc, nx, ny, nz = state.shape
    out = np.empty((nb, nx + 2, ny + 2, nz + 2, f_ * nc), state.dtype)
    for b in prange(nb):
        out[b, 0] = 0                  # zero only the padding; write each cell's P*C row in order
        out[b, nx + 1] = 0
        for x in range(nx):
            out[b, x + 1, 0] = 0
            out[b, x + 1, ny + 1] = 0
            for y in range(ny):
                out[b, x + 1, y + 1, 0] = 0
                out[b, x + 1, y + 1, nz + 1] = 0
                for z in range(nz):
                    row = out[b, x + 1, y + 1, z + 1]
                    for c in range(nc):
                        v = state[b, c, x, y, z]
                        for f in range(f_):
                            row[f * nc + c] = v
    return out


@njit(parallel=True, fastmath=True, cache=True)
def learned_rows(tiled, rows, taps):
    _, xp, yp, zp, m = tiled.shape
    out = np.empty((rows.shape[0], m), tiled.dtype)
    for i in prange(rows.shape[0]):
        b, x, y, z = _corner(rows[i], xp - 2, yp - 2, zp - 2)
        for j in range(m):
            out[i, j] = 0.0
        for o in range(27):
            u, v, w = x + o // 9, y + o // 3 % 3, z + o % 3
            for j in range(m):
                out[i, j] += taps[o, j] * tiled[b, u, v, w, j]
    return out


@njit(parallel=True, fastmath=True, cache=True)
def rows_backward(grad, tiled, rows, taps, nc):
    nb, xp, yp, zp, m = tiled.shape
    starts = np.searchsorted(rows, np.arange(nb + 1) * ((xp - 2) * (yp - 2) * (zp - 2)))
    d_state = np.zeros((nb, nc, xp - 2, yp - 2, zp - 2), grad.dtype)
    d_taps = np.zeros((nb, 27, m), grad.dtype)
    for b in prange(nb):
        g = np.zeros((xp, yp, zp, m), grad.dtype)     # this sample's tiled gradient
        for i in range(starts[b], starts[b + 1]):
            _, x, y, z = _corner(rows[i], xp - 2, yp - 2, zp - 2)
            for o in range(27):
                u, v, w = x + o // 9, y + o // 3 % 3, z + o % 3
                for j in range(m):
                    g[u, v, w, j] += taps[o, j] * grad[i, j]
                    d_taps[b, o, j] += grad[i, j] * tiled[b, u, v, w, j]
        for x in range(xp - 2):                      # fold the P tiles, drop the padding
            for y in range(yp - 2):
                for z in range(zp - 2):
                    for j0 in range(0, m, nc):           # no j % nc: a division per number
                        for c in range(nc):
                            d_state[b, c, x, y, z] += g[x + 1, y + 1, z + 1, j0 + c]
    total = np.zeros((27, m), grad.dtype)
    for b in range(nb):
        total += d_taps[b]
    return d_state, total
