"""Exact fast-forward of periodic machines (numba, private).

The engine is deterministic and translation invariant, and the box holds the
whole world. So if, at a quiet point between ticks (no block event, no moving
piston), the machine's entire state (blocks relative to their bounding box,
pending observer ticks relative to it and to the time) equals its state at an
earlier quiet point P ticks before, shifted by D, and no player placement is
due, then the next P ticks repeat the last P ticks shifted by D, forever.
`fast_forward` then jumps whole periods: blocks, tables and time move by
n * (D, P) and the log gets one compressed repeat record (cells.LOG_REPEAT).

Translation invariance ends at the world's border and build height (a block
there cannot be pushed). Along an axis the machine moves on, a jump must
start, end and have had its last period at least `_margin(d)` blocks from
that axis's limits, where no check of the game reaches them; the machine
then runs tick by tick into the border, and stopped there repeats in place
(D = 0), which holds anywhere.

hist: int64 (HIST, 6) ring of quiet points (hash, time, lox, loy, loz, log rows).
"""

import numpy as np

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    BORDER_HI, BORDER_LO, EH, ET, HIX, LOG_CAP, LOG_REPEAT, LOG_SHIFT, LOGN, LOX, MPN, OX, PH, PN,
    SCHED_CAP, SH, ST, TIME, WOX,
)
from voxgen.physics.resolver import PUSH_LIMIT, build_height

HIST = 8
_PRIME = np.uint64(1099511628211)


@njit(cache=True)
def _mix(h, v):
    return (h ^ np.uint64(v)) * _PRIME


@njit(cache=True)
def quiet_state_hash(g, m, sq, lo, hi):
    """Hash of the whole state relative to the exact bounding box [lo, hi]
    (both filled in) and the time. Returns 0 when there are no blocks."""
    lo[0], lo[1], lo[2] = 1 << 40, 1 << 40, 1 << 40
    hi[0], hi[1], hi[2] = -(1 << 40), -(1 << 40), -(1 << 40)
    a0 = np.empty(3, dtype=np.int64)
    a1 = np.empty(3, dtype=np.int64)
    for a in range(3):
        a0[a] = max(0, m[LOX + a] - m[OX + a])
        a1[a] = min(g.shape[a] - 1, m[HIX + a] - m[OX + a])
    for i in range(a0[0], a1[0] + 1):
        for j in range(a0[1], a1[1] + 1):
            for k in range(a0[2], a1[2] + 1):
                if g[i, j, k] != 0:
                    lo[0], hi[0] = min(lo[0], i), max(hi[0], i)
                    lo[1], hi[1] = min(lo[1], j), max(hi[1], j)
                    lo[2], hi[2] = min(lo[2], k), max(hi[2], k)
    if hi[0] < lo[0]:
        return np.uint64(0)
    h = np.uint64(14695981039346656037)
    for a in range(3):
        h = _mix(h, hi[a] - lo[a] + 1)
    for i in range(lo[0], hi[0] + 1):
        for j in range(lo[1], hi[1] + 1):
            for k in range(lo[2], hi[2] + 1):
                h = _mix(h, g[i, j, k])
    for a in range(3):
        lo[a] += m[OX + a]                     # world coordinates from here on
        hi[a] += m[OX + a]
    for q in range(m[SH], m[ST]):
        s = q % SCHED_CAP
        h = _mix(h, sq[s, 0] - m[TIME] + 8)
        for a in range(3):
            h = _mix(h, sq[s, 1 + a] - lo[a] + (1 << 20))
    if h == 0:
        h = np.uint64(1)
    return h


@njit(cache=True)
def _margin(d):
    """Blocks between a machine moving d a period and the world's limits
    that no check of the game within a period reaches: its blocks move at
    most |d| + 1 away from its box, and a push looks one block past them."""
    return 2 * abs(d) + PUSH_LIMIT + 4


@njit(cache=True)
def _periods_within_limits(m, a, low, high, d):
    """How many periods a machine moving d a period along axis a (0 x, 1 y,
    2 z) may jump so that it keeps _margin(d) from the world's limits on that
    axis all the while: [low, high] spans its boxes now and a period back,
    in the machine's coordinates. Any number when it does not move along
    the axis (d = 0): there it repeats in place, limits and all."""
    if d == 0:
        return 1 << 62
    if a == 1:
        wlo, whi = build_height(m)
    else:
        wlo, whi = BORDER_LO, BORDER_HI
    wlo += _margin(d) - m[WOX + a]              # the limits, less the margin, in the
    whi -= _margin(d) + m[WOX + a]              # machine's own coordinates
    if low < wlo or high > whi:
        return 0
    if d > 0:
        return (whi - high) // d
    return (low - wlo) // (-d)


@njit(cache=True)
def fast_forward(g, m, sq, eq, lg, pl, hist, nhist, target):
    """At a quiet point, record it; if it repeats an earlier one, jump whole
    periods towards `target` (stopping before the next placement). Returns
    the new number of history entries (0 after a jump)."""
    if m[EH] != m[ET] or m[MPN] != 0:
        return nhist
    lo = np.empty(3, dtype=np.int64)
    hi = np.empty(3, dtype=np.int64)
    h = np.int64(quiet_state_hash(g, m, sq, lo, hi))
    for back in range(min(nhist, HIST)):
        e = (nhist - 1 - back) % HIST
        if hist[e, 0] != h:
            continue
        period = m[TIME] - hist[e, 1]
        rows = m[LOGN] - hist[e, 5]
        limit = target
        if m[PH] < m[PN]:
            limit = min(limit, pl[m[PH], 0])
        if period <= 0:
            break
        n = (limit - m[TIME]) // period
        d = np.empty(3, dtype=np.int64)
        for a in range(3):
            d[a] = lo[a] - hist[e, 2 + a]
            low, high = min(lo[a], lo[a] - d[a]), max(hi[a], hi[a] - d[a])   # now and a period back
            n = min(n, _periods_within_limits(m, a, low, high, d[a]))
        if rows < 0 or n < 1 or m[LOGN] + 2 > LOG_CAP:
            break
        for a in range(3):
            m[OX + a] += n * d[a]
            m[LOX + a] += n * d[a]
            m[HIX + a] += n * d[a]
        for q in range(m[SH], m[ST]):
            s = q % SCHED_CAP
            sq[s, 0] += n * period
            for a in range(3):
                sq[s, 1 + a] += n * d[a]
        m[TIME] += n * period
        k = m[LOGN]
        lg[k, 0], lg[k, 1], lg[k, 2], lg[k, 3], lg[k, 4] = n, rows, period, 0, LOG_REPEAT
        lg[k + 1, 0], lg[k + 1, 1], lg[k + 1, 2], lg[k + 1, 3] = 0, d[0], d[1], d[2]
        lg[k + 1, 4] = LOG_SHIFT
        m[LOGN] = k + 2
        return 0
    e = nhist % HIST
    hist[e, 0], hist[e, 1], hist[e, 5] = h, m[TIME], m[LOGN]
    hist[e, 2], hist[e, 3], hist[e, 4] = lo[0], lo[1], lo[2]
    return nhist + 1
