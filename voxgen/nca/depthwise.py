"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. The state comes zero
padded and channels last, `padded` (B, X+2, Y+2, Z+2, C):

    learned_rows(padded, rows, kernel)              kernel (27, P, C) -> (n, P*C)
    rows_backward(grad, padded_shape, rows, kernel) -> gradient of `padded`
    kernel_grad(grad, padded, rows, P)              -> gradient of the kernel (27, P, C)

`rows` are flat indices into (B, X, Y, Z); a row's features are ordered
filter-major (p * C + c). The innermost loop runs over the C contiguous
channels of a cell. The 27 taps are taken in (x, y, z) order and the
backward scatters each row's gradient to its 27 neighbours, rows in flat
order, so results do not depend on the crop of the active region. (Fixed
perception is computed separably instead, in `stencils.py`: that measured
faster than these per-row loops, whose inner loops are only C long.)
`tests/test_nca_model.py` checks all of it against the plain torch code.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _corner(row, padded_shape):
    """(b, x, y, z) of flat row index `row` into (B, X, Y, Z): the corner of
    its 3x3x3 neighbourhood in the padded grid."""
    _, xp, yp, zp, _ = padded_shape
    z = row % (zp - 2)
    row //= zp - 2
    y = row % (yp - 2)
    row //= yp - 2
    return row // (xp - 2), row % (xp - 2), y, z


@njit(cache=True)
def learned_rows(p, rows, kernel):
    c_ = p.shape[4]
    f_ = kernel.shape[1]
    out = np.zeros((rows.shape[0], f_ * c_), p.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _corner(rows[i], p.shape)
        for o in range(27):
            u, v, w = x + o // 9, y + o // 3 % 3, z + o % 3
            for f in range(f_):
                for c in range(c_):
                    out[i, f * c_ + c] += kernel[o, f, c] * p[b, u, v, w, c]
    return out


@njit(cache=True)
def rows_backward(grad, padded_shape, rows, kernel):
    """Adjoint of learned_rows with respect to the padded state."""
    c_ = padded_shape[4]
    f_ = kernel.shape[1]
    gp = np.zeros(padded_shape, grad.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _corner(rows[i], padded_shape)
        for o in range(27):
            u, v, w = x + o // 9, y + o // 3 % 3, z + o % 3
            for f in range(f_):
                for c in range(c_):
                    gp[b, u, v, w, c] += kernel[o, f, c] * grad[i, f * c_ + c]
    return gp


@njit(cache=True)
def kernel_grad(grad, p, rows, f_):
    """Gradient of learned_rows' kernel: (27, P, C)."""
    c_ = p.shape[4]
    out = np.zeros((27, f_, c_), grad.dtype)
    for i in range(rows.shape[0]):
        b, x, y, z = _corner(rows[i], p.shape)
        for o in range(27):
            u, v, w = x + o // 9, y + o // 3 % 3, z + o % 3
            for f in range(f_):
                for c in range(c_):
                    out[o, f, c] += grad[i, f * c_ + c] * p[b, u, v, w, c]
    return out
