"""A machine's bookkeeping (numba, private to the physics): its event log,
the first unmodelled cell, observers' scheduled ticks, block events and
moving-piston block entities, on the arrays `kernels.py` describes (m meta,
sq scheduled ticks, eq block events, mp moving pistons, lg event log). Each
full queue sets ERR_OVERFLOW and drops what did not fit.
"""

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    EH, ERR_OVERFLOW, ERR_UNMODELLED, ET, EV_CAP, LOG_CAP, LOGN, MALIVE, MEXT, MLAST, MP_CAP, MPN,
    MPO, MSRC, MX, MY, MZ, MMOVED, MDIR, MPR, SCHED_CAP, SH, ST, STATUS, SX, SY, SZ, TIME,
)


@njit(cache=True, _nrt=False)
def log_event(m, lg, x, y, z, what):
    n = m[LOGN]
    if n >= LOG_CAP:
        m[STATUS] = ERR_OVERFLOW
        return
    lg[n, 0], lg[n, 1], lg[n, 2], lg[n, 3], lg[n, 4] = m[TIME], x, y, z, what
    m[LOGN] = n + 1


@njit(cache=True, _nrt=False)
def unmodelled(m, x, y, z):
    if m[STATUS] == 0:
        m[STATUS] = ERR_UNMODELLED
        m[SX], m[SY], m[SZ] = x, y, z


# --- scheduled ticks (observers only) and block events ---------------------

@njit(cache=True, _nrt=False)
def has_scheduled(m, sq, x, y, z):
    for i in range(m[SH], m[ST]):
        s = i % SCHED_CAP
        if sq[s, 1] == x and sq[s, 2] == y and sq[s, 3] == z:
            return True
    return False


@njit(cache=True, _nrt=False)
def start_signal(m, sq, x, y, z):
    if has_scheduled(m, sq, x, y, z):
        return
    if m[ST] - m[SH] >= SCHED_CAP:
        m[STATUS] = ERR_OVERFLOW
        return
    s = m[ST] % SCHED_CAP
    sq[s, 0], sq[s, 1], sq[s, 2], sq[s, 3] = m[TIME] + 2, x, y, z
    m[ST] += 1


@njit(cache=True, _nrt=False)
def queue_event(m, eq, x, y, z, k, typ, param):
    for i in range(m[EH], m[ET]):
        e = i % EV_CAP
        if (eq[e, 0] == x and eq[e, 1] == y and eq[e, 2] == z and eq[e, 3] == k
                and eq[e, 4] == typ and eq[e, 5] == param):
            return
    if m[ET] - m[EH] >= EV_CAP:
        m[STATUS] = ERR_OVERFLOW
        return
    e = m[ET] % EV_CAP
    eq[e, 0], eq[e, 1], eq[e, 2], eq[e, 3], eq[e, 4], eq[e, 5] = x, y, z, k, typ, param
    m[ET] += 1


# --- moving-piston block entities ------------------------------------------

@njit(cache=True, _nrt=False)
def find_moving(m, mp, x, y, z):
    for i in range(m[MPN]):
        if mp[i, MALIVE] == 1 and mp[i, MX] == x and mp[i, MY] == y and mp[i, MZ] == z:
            return i
    return -1


@njit(cache=True, _nrt=False)
def add_moving(m, mp, x, y, z, moved, d, extending, source):
    i = find_moving(m, mp, x, y, z)      # a live entity here is rebound in place
    if i < 0:
        i = m[MPN]
        if i >= MP_CAP:
            m[STATUS] = ERR_OVERFLOW
            return
        m[MPN] = i + 1
    mp[i, MX], mp[i, MY], mp[i, MZ], mp[i, MMOVED], mp[i, MDIR] = x, y, z, moved, d
    mp[i, MEXT], mp[i, MSRC], mp[i, MPO], mp[i, MPR] = extending, source, 0, 0
    mp[i, MLAST], mp[i, MALIVE] = -1, 1
