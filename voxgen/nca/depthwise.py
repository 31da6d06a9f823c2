"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell:

    padded_channels_last(state)                 (B, C, X, Y, Z) -> (B, X+2, Y+2, Z+2, C)
    learned_rows(padded, rows, kernel)          kernel (27, P, C) -> (n, P*C)
    rows_backward(grad, shape, rows, kernel)    -> state gradient (B, C, X, Y, Z)
    kernel_grad(grad, padded, rows, P)          -> kernel gradient (27, P, C)

`rows` are flat indices into (B, X, Y, Z); a row's features are ordered
filter-major (p * C + c). Channels last, the innermost loop runs over the C
contiguous channels of a cell. The 27 taps are summed in (x, y, z) order and
the backward scatters each row's gradient to its 27 neighbours, rows in flat
order, so results do not depend on the crop of the active region. (Fixed
perception stays in torch: its separable Sobel over whole tensors measured
faster than these per-row loops, whose inner loops are only C long.)
`tests/test_nca_model.py` checks all of it against the plain torch code.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def padded_channels_last(s):
    b_, c_, x_, y_, z_ = s.shape
    p = np.zeros((b_, x_ + 2, y_ + 2, z_ + 2, c_), s.dtype)
    for b in range(b_):
        for c in range(c_):
            for x in range(x_):
                for y in range(y_):
                    for z in range(z_):
                        p[b, x + 1, y + 1, z + 1, c] = s[b, c, x, y, z]
    return p


@njit(cache=True)
def _cell(row, x_, y_, z_):
    """(b, x, y, z) of flat row index `row` into (B, X, Y, Z)."""
    z = row % z_
    row //= z_
    y = row % y_
    row //= y_
    return row // x_, row % x_, y, z


@njit(cache=True)
def learned_rows(p, rows, kernel):
    b_, xp, yp, zp, c_ = p.shape
    taps, f_, _ = kernel.shape
    out = np.zeros((rows.shape[0], f_ * c_), p.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _cell(rows[i], xp - 2, yp - 2, zp - 2)
        o = 0
        for dx in range(3):
            for dy in range(3):
                for dz in range(3):
                    for f in range(f_):
                        for c in range(c_):
                            out[i, f * c_ + c] += kernel[o, f, c] * p[b, x + dx, y + dy, z + dz, c]
                    o += 1
    return out


@njit(cache=True)
def rows_backward(grad, shape, rows, kernel):
    """Adjoint of learned_rows with respect to the state."""
    b_, c_, x_, y_, z_ = shape
    taps, f_, _ = kernel.shape
    gp = np.zeros((b_, x_ + 2, y_ + 2, z_ + 2, c_), grad.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _cell(rows[i], x_, y_, z_)
        o = 0
        for dx in range(3):
            for dy in range(3):
                for dz in range(3):
                    for f in range(f_):
                        for c in range(c_):
                            gp[b, x + dx, y + dy, z + dz, c] += kernel[o, f, c] * grad[i, f * c_ + c]
                    o += 1
    out = np.empty((b_, c_, x_, y_, z_), grad.dtype)
    for b in range(b_):
        for c in range(c_):
            for x in range(x_):
                for y in range(y_):
                    for z in range(z_):
                        out[b, c, x, y, z] = gp[b, x + 1, y + 1, z + 1, c]
    return out


@njit(cache=True)
def kernel_grad(grad, p, rows, f_):
    """Gradient of learned_rows' kernel: (27, P, C)."""
    b_, xp, yp, zp, c_ = p.shape
    out = np.zeros((27, f_, c_), grad.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _cell(rows[i], xp - 2, yp - 2, zp - 2)
        o = 0
        for dx in range(3):
            for dy in range(3):
                for dz in range(3):
                    for f in range(f_):
                        for c in range(c_):
                            out[o, f, c] += grad[i, f * c_ + c] * p[b, x + dx, y + dy, z + dz, c]
                    o += 1
    return out
