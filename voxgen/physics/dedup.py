"""Exact sharing of work between identical machines of a batch (numba, private).

Machines of a batch never interact and the engine is deterministic, so two
machines whose whole state is equal (every meta field, the grid, the live rows
of the scheduled ticks, block events and moving pistons, the pending log rows
and the placements) have equal futures. `classes` maps every machine to the
lowest-index machine with the same state; a run then simulates one
representative per class and `copy_from` makes the others equal to it.
Equality is checked array by array; the hash only sorts candidates.

Arrays as in engine.py: grid (B, X, Y, Z) int32, meta (B, NMETA), ticks_q
(B, SCHED_CAP, 4), events_q (B, EV_CAP, NEV), pistons (B, MP_CAP, NMP),
logs (B, LOG_CAP, 5), places (B, P, NPL), all int64 but the grid.
"""

import numpy as np

from voxgen.kernel_cache import njit, prange
from voxgen.physics.cells import EH, ET, EV_CAP, HIX, LOGN, LOX, MPN, OX, PN, SCHED_CAP, SH, ST

_PRIME = np.uint64(1099511628211)


@njit(cache=True, inline="always")
def _mix(h, v):
    return (h ^ np.uint64(v)) * _PRIME


@njit(cache=True)
def _hash(g, m, sq, eq, mp, lg, pl):
    """A bucket key of one machine's state (equal states, equal keys)."""
    h = np.uint64(14695981039346656037)
    for i in range(m.shape[0]):
        h = _mix(h, m[i])
    lo = np.empty(3, dtype=np.int64)
    hi = np.empty(3, dtype=np.int64)
    for a in range(3):   # every block lies inside [LO, HI] (putc keeps it so)
        lo[a] = max(0, m[LOX + a] - m[OX + a])
        hi[a] = min(g.shape[a] - 1, m[HIX + a] - m[OX + a])
    for i in range(lo[0], hi[0] + 1):
        for j in range(lo[1], hi[1] + 1):
            for k in range(lo[2], hi[2] + 1):
                h = _mix(h, g[i, j, k])
    for q in range(m[SH], m[ST]):
        for c in range(sq.shape[1]):
            h = _mix(h, sq[q % SCHED_CAP, c])
    for q in range(m[EH], m[ET]):
        for c in range(eq.shape[1]):
            h = _mix(h, eq[q % EV_CAP, c])
    for i in range(m[MPN]):
        for c in range(mp.shape[1]):
            h = _mix(h, mp[i, c])
    for i in range(m[LOGN]):
        for c in range(lg.shape[1]):
            h = _mix(h, lg[i, c])
    for i in range(m[PN]):
        for c in range(pl.shape[1]):
            h = _mix(h, pl[i, c])
    return h


@njit(cache=True)
def _same(grid, meta, ticks_q, events_q, pistons, logs, places, a, b):
    """Whole states of machines a and b are equal (whole grids compared)."""
    ma, mb = meta[a], meta[b]
    for i in range(ma.shape[0]):
        if ma[i] != mb[i]:
            return False
    ga, gb = grid[a], grid[b]
    for i in range(ga.shape[0]):
        for j in range(ga.shape[1]):
            for k in range(ga.shape[2]):
                if ga[i, j, k] != gb[i, j, k]:
                    return False
    for q in range(ma[SH], ma[ST]):
        for c in range(ticks_q.shape[2]):
            if ticks_q[a, q % SCHED_CAP, c] != ticks_q[b, q % SCHED_CAP, c]:
                return False
    for q in range(ma[EH], ma[ET]):
        for c in range(events_q.shape[2]):
            if events_q[a, q % EV_CAP, c] != events_q[b, q % EV_CAP, c]:
                return False
    for i in range(ma[MPN]):
        for c in range(pistons.shape[2]):
            if pistons[a, i, c] != pistons[b, i, c]:
                return False
    for i in range(ma[LOGN]):
        for c in range(logs.shape[2]):
            if logs[a, i, c] != logs[b, i, c]:
                return False
    for i in range(places.shape[1]):
        for c in range(places.shape[2]):
            if places[a, i, c] != places[b, i, c]:
                return False
    return True


@njit(cache=True, parallel=True)
def _keys(grid, meta, ticks_q, events_q, pistons, logs, places):
    keys = np.empty(grid.shape[0], dtype=np.uint64)
    for b in prange(grid.shape[0]):
        keys[b] = _hash(grid[b], meta[b], ticks_q[b], events_q[b], pistons[b], logs[b], places[b])
    return keys


@njit(cache=True, parallel=True)
def _same_as_first(grid, meta, ticks_q, events_q, pistons, logs, places, first):
    """rep[b] = first[b] when machine b equals it, else -1."""
    rep = np.empty(grid.shape[0], dtype=np.int64)
    for b in prange(grid.shape[0]):
        f = first[b]
        if f == b or _same(grid, meta, ticks_q, events_q, pistons, logs, places, f, b):
            rep[b] = f
        else:
            rep[b] = -1
    return rep


@njit(cache=True)
def classes(grid, meta, ticks_q, events_q, pistons, logs, places):
    """(B,) int64: for each machine, the lowest index of a machine in exactly
    the same state (itself when it is the first such)."""
    B = grid.shape[0]
    keys = _keys(grid, meta, ticks_q, events_q, pistons, logs, places)
    order = np.argsort(keys, kind="mergesort")      # stable: lower index first
    first = np.empty(B, dtype=np.int64)              # first machine of each key run
    for n in range(B):
        b = order[n]
        if n > 0 and keys[b] == keys[order[n - 1]]:
            first[b] = first[order[n - 1]]
        else:
            first[b] = b
    rep = _same_as_first(grid, meta, ticks_q, events_q, pistons, logs, places, first)
    for n in range(B):                               # hash collisions, one by one
        b = order[n]
        if rep[b] != -1:
            continue
        rep[b] = b
        m = n - 1
        while m >= 0 and keys[order[m]] == keys[b]:
            c = order[m]
            if rep[c] == c and _same(grid, meta, ticks_q, events_q, pistons, logs, places, c, b):
                rep[b] = c
            m -= 1
    return rep


@njit(cache=True)
def _copy(g, m, sq, eq, mp, lg, g0, m0, sq0, eq0, mp0, lg0):
    """One machine := another (live table rows only: nothing reads the others)."""
    g[:, :, :] = g0
    m[:] = m0
    for q in range(m0[SH], m0[ST]):
        sq[q % SCHED_CAP, :] = sq0[q % SCHED_CAP, :]
    for q in range(m0[EH], m0[ET]):
        eq[q % EV_CAP, :] = eq0[q % EV_CAP, :]
    for i in range(m0[MPN]):
        mp[i, :] = mp0[i, :]
    for i in range(m0[LOGN]):
        lg[i, :] = lg0[i, :]


@njit(cache=True, parallel=True)
def copy_from(grid, meta, ticks_q, events_q, pistons, logs, rep):
    """Make every machine b equal to its representative rep[b]."""
    for b in prange(grid.shape[0]):
        r = rep[b]
        if r != b:
            _copy(grid[b], meta[b], ticks_q[b], events_q[b], pistons[b], logs[b],
                  grid[r], meta[r], ticks_q[r], events_q[r], pistons[r], logs[r])
