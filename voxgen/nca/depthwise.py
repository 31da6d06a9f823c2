"""Learned depthwise perception at the cells that fire, on the CPU (numba, private).

The MLP runs only on the cells that fire (about half the living ones), so
learned perception is computed only there too, straight into the MLP's input
rows, instead of as a dense 3x3x3 conv over every cell. Both ways read the
state copied channels last with one zero cell at both ends of every z
column, `padded` (B, X, Y, (Z+2)*C): the three z-taps of a row's (x, y)
tap are then 3 C contiguous numbers, one stream, and taps beyond the grid
in x and y are skipped, not padded. The kernel is laid out the same way,
`taps` (P, 9, 3 C): filter, (x, y) tap, then z-tap and channel; a row's
features (and their gradient) are filter-major, p * C + c.

    learned_rows(state, rows, kernel)            -> features (n, P*C), and `saved`:
                                                    padded and taps
    learned_backward(grad, saved, rows, d_state) -> the kernel's (C, P, 27) gradient;
                                                    adds the state's to d_state

The kernels are compiled for each (P, C), made constants (`_kernels`), so
that the loop over the P filters unrolls and a stream's numbers take one
pass for all of them (with P and C read at run time the same loops ran
12-14x slower: the filter loop innermost, nothing vectorised). Indexing
goes through a stream's base view plus constant offsets, so the vectorised
loop's runtime alias checks stay few (a view per filter, more pointers for
LLVM to check, ran no faster than the old kernels, and 3.5x slower at 8
filters). Against the earlier kernels, which read a copy of the state
padded on all sides and tiled P times along the channels, measured on this
2-core CPU: forward 1.9x faster at the prior work's grid and 2.8x at the
temple's (copies included), backward 1.7-1.8x at both; loops of a few
registers' worth of numbers, bound by loads and stores. Padding only z,
and the channels not at all (a constant C vectorises with its remainder),
halves the copy against padding all sides and the channels to a multiple
of 8: 3-4% faster training at the prior work's configuration, where the
copy is written to fresh memory every step.

`rows` are sorted flat indices into (B, X, Y, Z). The forward runs rows in
parallel; the backward runs samples in parallel (each scatters into
its own slab; an odd batch's last sample as two halves of its rows, so
that two threads share batch 5 evenly, 1.15x faster than 3 samples
against 2), sums each item's kernel gradient in row order and the items
in a fixed order, and takes the 27 taps in (x, y, z) order, so results
depend neither on the thread count nor on the crop of the active region
(a crop keeps the rows and their order, so the halves too).
(Fixed perception is computed separably instead, in `stencils.py`.)
`tests/test_nca_model.py` checks all of it against the plain torch code.
"""

from __future__ import annotations

import functools

import numpy as np

from voxgen.kernel_cache import njit, prange


def learned_rows(state, rows, kernel, taps=None):
    """Features (n, P*C) at `rows` of `state` (B, C, X, Y, Z) by the depthwise
    `kernel` (C, P, 27), zero padded, and what `learned_backward` needs: the
    z-padded copy of the state and the taps (`kernel_taps(kernel)`, made
    here unless given: a rollout makes them once for all its steps)."""
    nc, nf, _ = kernel.shape
    padded = _z_padded_channels_last(state)
    taps = kernel_taps(kernel) if taps is None else taps
    forward, _ = _kernels(nf, nc, state.dtype)
    return forward(padded, rows, taps), (padded, taps)


def learned_backward(grad, saved, rows, d_state):
    """The gradient of the kernel (C, P, 27) of `learned_rows`' features at
    `rows`, given theirs, `grad` (n, P*C); adds the state's to `d_state`
    (B, C, X, Y, Z). `saved` is what `learned_rows` returned with them."""
    padded, taps = saved
    nc = d_state.shape[1]
    nf = taps.size // (27 * nc)
    _, backward = _kernels(nf, nc, grad.dtype)
    d_taps = backward(grad, padded, rows, taps, d_state)
    return np.ascontiguousarray(d_taps.reshape(nf, 27, nc).transpose(2, 0, 1))


def kernel_taps(kernel):
    """(P*27*C,): the kernel (C, P, 27) as taps[p, (x, y), z, c]."""
    return np.ascontiguousarray(kernel.transpose(1, 2, 0)).reshape(-1)


@njit(cache=True)
def _corner(row, nx, ny, nz):
    """(b, x, y, z) of flat row index `row` into (B, X, Y, Z)."""
    z = row % nz
    row //= nz
    y = row % ny
    row //= ny
    return row // nx, row % nx, y, z


@njit(parallel=True, cache=True)
def _z_padded_channels_last(state):
    """(B, X, Y, (Z+2)*C): `state` channels last, one zero cell padded at
    both ends of every z column (so a cell's three z-taps are one stream of
    3 C numbers, its neighbours in x and y looked up only where they exist).
    Each number is written once, with no zero fill first: fresh memory every
    step, its first touch is the cost."""
    nb, nc, nx, ny, nz = state.shape
    zpc = (nz + 2) * nc
    out = np.empty((nb, nx, ny, zpc), state.dtype)
    for item in prange(nb * nx):
        b, x = item // nx, item % nx
        for y in range(ny):
            row = out[b, x, y]
            row[:nc] = 0
            row[zpc - nc:] = 0
            for z in range(nz):
                cell = row[(z + 1) * nc:(z + 2) * nc]
                for c in range(nc):
                    cell[c] = state[b, c, x, y, z]
    return out


@njit(cache=True)
def _work_items(starts):
    """The backward's work: (sample, first row, end row) arrays, a sample
    each, except that an odd batch's last sample is split at its middle
    row into two items, placed so that the first half of the items and the
    second hold the same number of rows' worth of samples (batch 5: 0, 1,
    4a | 2, 3, 4b). numba gives each of two threads one half, so neither
    waits for the other's extra sample. The items do not depend on the
    thread count."""
    nb = starts.shape[0] - 1
    split = nb % 2
    order = np.empty(nb + split, np.int64)
    half = nb // 2
    order[:half] = np.arange(half)
    order[half + split:nb] = np.arange(half, nb - split)
    if split:
        order[half] = order[nb] = nb - 1
    lo, hi = starts[order].copy(), starts[order + 1].copy()
    if split:
        mid = (starts[nb - 1] + starts[nb]) // 2
        hi[half], lo[nb] = mid, mid
    return order, lo, hi


@functools.cache
def _kernels(nf, nc, dtype):
    """The forward and backward kernels for `nf` filters of `nc` channels,
    both compile-time constants (numba freezes closure variables), on arrays
    of `dtype` (a numpy dtype, not its name: `.name` took 7 us a call, twice
    a step). Each (nf, nc, dtype) compiles under a name of its own, so its
    disk cache is an index file of its own holding one entry: numba numbers
    a new entry's file from the index it read, so two processes adding
    different closures to one index at once (`make test` runs two) could
    write the same number for both, and one closure's key would then load
    the other's machine code (seen: "'descr' is NULL" on a later run)."""
    n3 = 3 * nc       # a stream: the three z-taps of one (x, y) tap
    fs = 9 * n3       # from one filter's taps to the next's

    def forward(padded, rows, taps):
        nb, nx, ny, zpc = padded.shape
        nz = zpc // nc - 2
        n = rows.shape[0]
        out = np.empty((n, nf * nc), padded.dtype)
        for i in prange(n):
            b, x, y, z = _corner(rows[i], nx, ny, nz)
            sb, dst = padded[b].reshape(nx * ny * zpc), out[i]
            dst[:] = 0                # here, in parallel and in cache, not a fill of all first
            for u in range(max(x - 1, 0), min(x + 2, nx)):
                for v in range(max(y - 1, 0), min(y + 2, ny)):
                    base = (u * ny + v) * zpc + z * nc
                    s, t = sb[base:base + n3], taps[((u - x + 1) * 3 + v - y + 1) * n3:]
                    for c in range(nc):
                        s0, s1, s2 = s[c], s[nc + c], s[2 * nc + c]
                        for f in range(nf):
                            q = f * fs + c
                            dst[f * nc + c] += t[q] * s0 + t[q + nc] * s1 + t[q + 2 * nc] * s2
        return out

    def backward(grad, padded, rows, taps, d_state):
        nb, nx, ny, zpc = padded.shape
        nz = zpc // nc - 2
        starts = np.searchsorted(rows, np.arange(nb + 1) * (nx * ny * nz))
        sample, lo, hi = _work_items(starts)
        items = sample.shape[0]
        g_all = np.empty((items, nx * ny * zpc), grad.dtype)    # each item's z-padded state gradient
        d_taps = np.zeros((items, nf * fs), grad.dtype)
        for item in prange(items):
            b, g = sample[item], g_all[item]
            g[:] = 0
            sb, db = padded[b].reshape(nx * ny * zpc), d_taps[item]
            for i in range(lo[item], hi[item]):
                _, x, y, z = _corner(rows[i], nx, ny, nz)
                r = grad[i]
                for u in range(max(x - 1, 0), min(x + 2, nx)):
                    for v in range(max(y - 1, 0), min(y + 2, ny)):
                        base = (u * ny + v) * zpc + z * nc
                        o = ((u - x + 1) * 3 + v - y + 1) * n3
                        gb, s, t, d = g[base:base + n3], sb[base:base + n3], taps[o:], db[o:]
                        for w in range(3):
                            for c in range(nc):     # both gradients, all filters, in one pass
                                k = w * nc + c
                                sk = s[k]
                                acc = t[k] * r[c]
                                d[k] += r[c] * sk
                                for f in range(1, nf):
                                    q = f * fs + k
                                    rk = r[f * nc + c]
                                    acc += t[q] * rk
                                    d[q] += rk * sk
                                gb[k] += acc
        for b in prange(nb):
            for item in range(items):
                if sample[item] != b:
                    continue
                g = g_all[item]
                for x in range(nx):
                    for y in range(ny):
                        for z in range(nz):
                            src = g[(x * ny + y) * zpc + (z + 1) * nc:]
                            for c in range(nc):
                                d_state[b, c, x, y, z] += src[c]
        total = np.zeros(nf * fs, grad.dtype)
        for item in range(items):
            total += d_taps[item]
        return total

    jit = njit(parallel=True, fastmath=True, cache=True)
    for kernel in (forward, backward):
        kernel.__qualname__ = f"{kernel.__name__}_{nf}x{nc}_{np.dtype(dtype).name}"     # names the cache files
    return jit(forward), jit(backward)
