"""The per-cell MLP's elementwise work on the CPU (numba, private): what torch
does in two or three passes over the rows of a layer, in one.

    add_bias(h, bias, relu) h (n, W) + bias, then ReLU if `relu` (not for the output
                           layer), in place after the layer's product
    relu_backward(t, h)    t (n, W), the gradient after a product, zeroed in place where h,
                           the layer's ReLU output, is 0; returns t's column sums, the
                           gradient of that layer's bias
    typed(value, like)     `value` as a number of `like`'s dtype: the kernels' constants
                           (here and in stencils.py)

In place of `torch.addmm(bias, x, w.t()).clamp_min_(0)` (a copy of the
bias into every row, the product added to it, the ReLU) and of
`threshold_backward` then `.sum(0)`. The column sums are taken over fixed
chunks of rows, then the chunks in order, so they do not depend on the
thread count. `tests/test_nca_model.py` checks them against those torch ops.
"""

from __future__ import annotations

import numpy as np

from voxgen.kernel_cache import njit, prange

_CHUNK = 256


@njit(cache=True)
def typed(value, like):
    """`value` as a number of the array `like`'s dtype. In a numba kernel a
    bare 0.0 (or 0.0625) is float64, and a float32 loop using it converts
    every number to float64 and back (the ReLUs' backward ran 59 against 51
    us a call); this one is the arrays' own."""
    return np.full(1, value, like.dtype)[0]


@njit(parallel=True, cache=True)
def add_bias(h, bias, relu):
    n, w = h.shape
    zero = typed(0, h)
    for i in prange(n):
        r = h[i]
        for j in range(w):
            v = r[j] + bias[j]
            r[j] = zero if relu and v <= 0 else v      # NaN kept, as torch.relu keeps it
    return h


@njit(parallel=True, cache=True)
def relu_backward(t, h):
    n, w = t.shape
    chunks = (n + _CHUNK - 1) // _CHUNK
    part = np.zeros((chunks, w), t.dtype)
    zero = typed(0, t)
    for k in prange(chunks):
        p = part[k]
        for i in range(k * _CHUNK, min(n, (k + 1) * _CHUNK)):
            r, hr = t[i], h[i]
            for j in range(w):
                v = zero if hr[j] <= 0 else r[j]    # as torch's threshold_backward, NaN passing
                r[j] = v
                p[j] += v
    total = np.zeros(w, t.dtype)
    for k in range(chunks):
        total += part[k]
    return total
