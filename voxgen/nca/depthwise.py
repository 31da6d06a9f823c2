"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. Both ways read the
state copied channels last, zero padded in space and from C to `ncp`
channels (the next multiple of 8: whole vectors), `padded` (B, X+2, Y+2,
(Z+2)*ncp): the three z-taps of a row's (x, y) column are then 3 ncp
contiguous numbers, one stream. The kernel is laid out the same way, `taps`
(P, 9, 3 ncp): filter, (x, y) tap, then z-tap and channel.

    learned_rows(state, rows, kernel)          -> features (n, P*C), filter-major (p * C + c),
                                                  and `saved`: padded and taps
    learned_backward(grad, saved, rows, d_state) -> the kernel's (C, P, 27) gradient;
                                                  adds the state's to d_state

The kernels are compiled for each (P, ncp), made constants (`_kernels`), so
that the loop over the P filters unrolls and a stream's numbers take one
pass for all of them (with P and ncp read at run time the same loops ran
12-14x slower: the filter loop innermost, nothing vectorised). Indexing
goes through a stream's base view plus constant offsets, so the vectorised
loop's runtime alias checks stay few (a view per filter, more pointers for
LLVM to check, ran no faster than the old kernels, and 3.5x slower at 8
filters). Against the
earlier kernels, which read a copy of the state tiled P times along the
channels, measured on this 2-core CPU: forward 1.8x faster at the prior
work's grid and 2.9x at the temple's (copies included), backward 1.7x at
both; loops of a few registers' worth of numbers, bound by loads and
stores.

`rows` are sorted flat indices into (B, X, Y, Z). The forward runs chunks of
rows in parallel; the backward runs samples in parallel (each scatters into
its own slab), sums each sample's kernel gradient in row order and the
samples in order, and takes the 27 taps in (x, y, z) order, so results
depend neither on the thread count nor on the crop of the active region.
(Fixed perception is computed separably instead, in `stencils.py`.)
`tests/test_nca_model.py` checks all of it against the plain torch code.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange


def learned_rows(state, rows, kernel):
    """Features (n, P*C) at `rows` of `state` (B, C, X, Y, Z) by the depthwise
    `kernel` (C, P, 27), zero padded, and what `learned_backward` needs: the
    padded copy of the state and the taps."""
    nc, nf, _ = kernel.shape
    ncp = -(-nc // 8) * 8
    padded, taps = _padded_channels_last(state, ncp), _taps(kernel, ncp)
    forward, _ = _kernels(nf, ncp)
    return forward(padded, rows, taps, nc), (padded, taps)


def learned_backward(grad, saved, rows, d_state):
    """The gradient of the kernel (C, P, 27) of `learned_rows`' features at
    `rows`, given theirs, `grad` (n, P*C); adds the state's to `d_state`
    (B, C, X, Y, Z). `saved` is what `learned_rows` returned with them."""
    padded, taps = saved
    nc = d_state.shape[1]
    ncp = padded.shape[3] // (d_state.shape[4] + 2)
    nf = taps.size // (27 * ncp)
    _, backward = _kernels(nf, ncp)
    d_taps = backward(grad, padded, rows, taps, nc, d_state)
    return np.ascontiguousarray(d_taps.reshape(nf, 27, ncp)[..., :nc].transpose(2, 0, 1))


def _taps(kernel, ncp):
    """(P*9*3*ncp,): the kernel (C, P, 27) as taps[p, (x, y), z, c], channels zero padded."""
    nc, nf, _ = kernel.shape
    taps = np.zeros((nf, 9, 3, ncp), kernel.dtype)
    taps[..., :nc] = kernel.transpose(1, 2, 0).reshape(nf, 9, 3, nc)
    return taps.reshape(-1)


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
def _padded_channels_last(state, ncp):
    """(B, X+2, Y+2, (Z+2)*ncp): `state` channels last, zero padded in space
    and from C to ncp channels. Each number is written once (no zero fill
    first: fresh memory every step, its first touch is the cost)."""
    nb, nc, nx, ny, nz = state.shape
    zpc = (nz + 2) * ncp
    out = np.empty((nb, nx + 2, ny + 2, zpc), state.dtype)
    for item in prange(nb * (nx + 2)):
        b, u = item // (nx + 2), item % (nx + 2)
        if u == 0 or u == nx + 1:
            out[b, u] = 0
            continue
        out[b, u, 0] = 0
        out[b, u, ny + 1] = 0
        for y in range(ny):
            row = out[b, u, y + 1]
            row[:ncp] = 0
            row[zpc - ncp:] = 0
            for z in range(nz):
                cell = row[(z + 1) * ncp:(z + 2) * ncp]
                for c in range(nc):
                    cell[c] = state[b, c, u - 1, y, z]
                cell[nc:] = 0
    return out


@functools.cache
def _kernels(nf, ncp):
    """The forward and backward kernels for `nf` filters and `ncp` padded
    channels, both compile-time constants (numba freezes closure variables,
    and its disk cache keys closures by their values)."""
    n3 = 3 * ncp      # a stream: the three z-taps of one (x, y) tap
    fs = 9 * n3       # from one filter's taps to the next's

    @njit(parallel=True, fastmath=True, cache=True)
    def forward(padded, rows, taps, nc):
        nb, xp, yp, zpc = padded.shape
        nx, ny, nz = xp - 2, yp - 2, zpc // ncp - 2
        n = rows.shape[0]
        out = np.empty((n, nf * nc), padded.dtype)
        chunks = min(n, 64)
        for chunk in prange(chunks):
            acc = np.empty(nf * ncp, padded.dtype)     # a row's sums, reused row after row
            for i in range(chunk * n // chunks, (chunk + 1) * n // chunks):
                b, x, y, z = _corner(rows[i], nx, ny, nz)
                sb = padded[b].reshape(xp * yp * zpc)
                acc[:] = 0
                o = 0
                for u in range(x, x + 3):
                    for v in range(y, y + 3):
                        base = (u * yp + v) * zpc + z * ncp
                        s, t = sb[base:base + n3], taps[o * n3:]
                        for c in range(ncp):
                            s0, s1, s2 = s[c], s[ncp + c], s[2 * ncp + c]
                            for f in range(nf):
                                q = f * fs + c
                                acc[f * ncp + c] += t[q] * s0 + t[q + ncp] * s1 + t[q + 2 * ncp] * s2
                        o += 1
                for f in range(nf):
                    for c in range(nc):
                        out[i, f * nc + c] = acc[f * ncp + c]
        return out

    @njit(parallel=True, fastmath=True, cache=True)
    def backward(grad, padded, rows, taps, nc, d_state):
        nb, xp, yp, zpc = padded.shape
        nx, ny, nz = xp - 2, yp - 2, zpc // ncp - 2
        starts = np.searchsorted(rows, np.arange(nb + 1) * (nx * ny * nz))
        d_taps = np.zeros((nb, nf * fs), grad.dtype)
        for b in prange(nb):
            g = np.zeros(xp * yp * zpc, grad.dtype)    # this sample's padded gradient
            sb, db = padded[b].reshape(xp * yp * zpc), d_taps[b]
            r = np.zeros(nf * ncp, grad.dtype)         # the row's gradient, channels padded
            for i in range(starts[b], starts[b + 1]):
                _, x, y, z = _corner(rows[i], nx, ny, nz)
                for f in range(nf):
                    for c in range(nc):
                        r[f * ncp + c] = grad[i, f * nc + c]
                o = 0
                for u in range(x, x + 3):
                    for v in range(y, y + 3):
                        base = (u * yp + v) * zpc + z * ncp
                        gb, s, t, d = g[base:base + n3], sb[base:base + n3], taps[o * n3:], db[o * n3:]
                        for w in range(3):
                            for c in range(ncp):     # both gradients, all filters, in one pass
                                k = w * ncp + c
                                sk = s[k]
                                acc = t[k] * r[c]
                                d[k] += r[c] * sk
                                for f in range(1, nf):
                                    q = f * fs + k
                                    rk = r[f * ncp + c]
                                    acc += t[q] * rk
                                    d[q] += rk * sk
                                gb[k] += acc
                        o += 1
            for x in range(nx):
                for y in range(ny):
                    for z in range(nz):
                        src = g[((x + 1) * yp + y + 1) * zpc + (z + 1) * ncp:]
                        for c in range(nc):
                            d_state[b, c, x, y, z] += src[c]
        total = np.zeros(nf * fs, grad.dtype)
        for b in range(nb):
            total += d_taps[b]
        return total

    return forward, backward
