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
there cannot be pushed). Every position the game checks in a tick lies
within 2 cells of a block present then (a piston's head cell, the cell a
sticky piston pulls from, the cell past a pushed line), and every block
present during a period lies in its first quiet box or was set during it:
`putc` widens meta RLX..RHZ, the reach, with each block it sets, and each
quiet point recorded stores the reach since the one before (hist columns
6-11) and restarts it from its own box. A jump is made only where, along
every axis the machine moves on, the reach of the last period and of each
period jumped (shifted by D) keeps 2 cells from the world's limits; along
an axis it does not move on it repeats in place, limits and all. The
machine then ticks into the border, and stopped there repeats in place
(D = 0), which holds anywhere.

hist: int64 (HIST, HIST_COLS) ring of quiet points (hash, time, lox, loy, loz,
log rows, then the reach since the quiet point before: lo x, y, z, hi x, y, z).
"""

import numpy as np

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    BORDER_HI, BORDER_LO, EH, ET, HIX, LOG_CAP, LOG_REPEAT, LOG_SHIFT, LOGN, LOX, MPN, OX, PH, PN,
    RHX, RLX, SCHED_CAP, SH, ST, TIME, WOX,
)
from voxgen.physics.resolver import build_height

HIST = 8
HIST_COLS = 12
REACH = 2      # cells past its blocks that a tick's checks look at
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
        lo[a] += m[OX + a]                     # the machine's coordinates from here on
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
def _periods_within_limits(m, a, low, high, d):
    """How many periods a machine moving d a period along axis a (0 x, 1 y,
    2 z) may jump when its last period reached cells low..high on that axis
    (the machine's coordinates): every period jumped, that reach shifted by
    d, keeps REACH cells from the world's limits, as the last one did. Any
    number when it does not move along the axis (d = 0)."""
    if d == 0:
        return 1 << 62
    if a == 1:
        wlo, whi = build_height(m)
    else:
        wlo, whi = BORDER_LO, BORDER_HI
    wlo += REACH - m[WOX + a]                  # the limits, less REACH, in the
    whi -= REACH + m[WOX + a]                  # machine's own coordinates
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
            low, high = m[RLX + a], m[RHX + a]          # the last period's reach: since the
            for later in range(back):                   # newest entry, and the entries after e
                k = (nhist - 1 - later) % HIST
                low, high = min(low, hist[k, 6 + a]), max(high, hist[k, 9 + a])
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
    for a in range(3):                         # the reach since the entry before; from here
        hist[e, 6 + a], hist[e, 9 + a] = m[RLX + a], m[RHX + a]    # on, from this box
        m[RLX + a], m[RHX + a] = lo[a], hi[a]
    return nhist + 1
