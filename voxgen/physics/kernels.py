"""Block-level game logic (numba, private): setBlock, updates, observers,
pistons, moving-piston block entities. PHYSICS.md §2 and
samples/physics/README.md, in the game's own order.

Every function works on one machine: g (X, Y, Z) int32 grid, m (NMETA,)
int64 meta, sq (SCHED_CAP, 4) scheduled ticks (trigger, x, y, z),
eq (EV_CAP, NEV) block events, mp (MP_CAP, NMP) moving pistons in creation
order, lg (LOG_CAP, 5) event log, sc int64 scratch (SCRATCH, 4).
"""

from numba import njit

from voxgen.physics.cells import (
    AIR, BLOCK_UPDATE_ORDER, DESTROY, GLAZED, IMMOVABLE, DX, DY, DZ, EH, ERR_OVERFLOW, ERR_UNMODELLED, ET, EV_CAP,
    HANDLING, HEAD, LOG_CAP, LOG_DROP, LOG_EXTEND, LOG_RETRACT, LOGN,
    MALIVE, MDIR, MEXT, MLAST, MMOVED, MOVING, MP_CAP, MPN, MPO, MPR, MSRC, MX, MY, MZ, OBSERVER,
    PISTON, PLACING, SCHED_CAP, SHAPE_UPDATE_ORDER, SH, ST, STATUS, STICKY, SX, SY, SZ, TIME, V112,
)
from voxgen.physics.resolver import (
    facing, flag, getc, is_pushable, kind, piston_powered, putc, resolve,
)

SCRATCH = 320   # rows of the (SCRATCH, 5) int64 scratch; see move_blocks
F_NEIGHBORS, F_KNOWN_SHAPE = 1, 16


@njit(cache=True)
def log_event(m, lg, x, y, z, what):
    n = m[LOGN]
    if n >= LOG_CAP:
        m[STATUS] = ERR_OVERFLOW
        return
    lg[n, 0], lg[n, 1], lg[n, 2], lg[n, 3], lg[n, 4] = m[TIME], x, y, z, what
    m[LOGN] = n + 1


@njit(cache=True)
def unmodelled(m, x, y, z):
    if m[STATUS] == 0:
        m[STATUS] = ERR_UNMODELLED
        m[SX], m[SY], m[SZ] = x, y, z


# --- scheduled ticks (observers only) and block events ---------------------

@njit(cache=True)
def has_scheduled(m, sq, x, y, z):
    for i in range(m[SH], m[ST]):
        s = i % SCHED_CAP
        if sq[s, 1] == x and sq[s, 2] == y and sq[s, 3] == z:
            return True
    return False


@njit(cache=True)
def start_signal(m, sq, x, y, z):
    if has_scheduled(m, sq, x, y, z):
        return
    if m[ST] - m[SH] >= SCHED_CAP:
        m[STATUS] = ERR_OVERFLOW
        return
    s = m[ST] % SCHED_CAP
    sq[s, 0], sq[s, 1], sq[s, 2], sq[s, 3] = m[TIME] + 2, x, y, z
    m[ST] += 1


@njit(cache=True)
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

@njit(cache=True)
def find_moving(m, mp, x, y, z):
    for i in range(m[MPN]):
        if mp[i, MALIVE] == 1 and mp[i, MX] == x and mp[i, MY] == y and mp[i, MZ] == z:
            return i
    return -1


@njit(cache=True)
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


# --- updates ---------------------------------------------------------------

@njit(cache=True)
def head_survives(g, m, x, y, z, c):
    f = facing(c)
    b = getc(g, m, x - DX[f], y - DY[f], z - DZ[f])
    kb = kind(b)
    if kb == MOVING:
        return facing(b) == f
    want = STICKY if flag(c) == 1 else PISTON
    return kb == want and flag(b) == 1 and facing(b) == f


@njit(cache=True)
def update_shape(g, m, sq, x, y, z, d):
    """The cell at (x,y,z) gets a shape update from its neighbour in direction d.
    Returns the cell's new state (the same cell if unchanged)."""
    c = getc(g, m, x, y, z)
    k = kind(c)
    if k == OBSERVER:
        if facing(c) == d and flag(c) == 0:
            start_signal(m, sq, x, y, z)
    elif k == HEAD:
        if d == (facing(c) ^ 1) and not head_survives(g, m, x, y, z, c):
            return 0
    elif k == DESTROY:
        if facing(c) & 1 and m[PLACING] == 0:
            unmodelled(m, x, y, z)
    return c


@njit(cache=True)
def _shape_updates_plain(g, m, sq, x, y, z):
    for i in range(6):
        d = SHAPE_UPDATE_ORDER[i]
        update_shape(g, m, sq, x + DX[d], y + DY[d], z + DZ[d], d ^ 1)


@njit(cache=True)
def shape_updates_around(g, m, sq, eq, mp, lg, sc, x, y, z):
    """Shape updates to the six neighbours (W,E,N,S,D,U). A piston head that
    lost its base breaks (destroyBlock: air, block and shape updates); its
    disappearance cannot break another head, so the cascade stops there."""
    for i in range(6):
        d = SHAPE_UPDATE_ORDER[i]
        nx, ny, nz = x + DX[d], y + DY[d], z + DZ[d]
        old = getc(g, m, nx, ny, nz)
        if old == 0:
            continue
        new = update_shape(g, m, sq, nx, ny, nz, d ^ 1)
        if new != old:
            putc(g, m, nx, ny, nz, 0)
            update_neighbors_at(g, m, sq, eq, mp, lg, sc, nx, ny, nz)
            _shape_updates_plain(g, m, sq, nx, ny, nz)


@njit(cache=True)
def neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z):
    c = getc(g, m, x, y, z)
    k = kind(c)
    if k == PISTON or k == STICKY:
        check_if_extend(g, m, sq, eq, mp, lg, sc, x, y, z)
    elif k == HEAD:
        if head_survives(g, m, x, y, z, c):
            f = facing(c)
            bx, by, bz = x - DX[f], y - DY[f], z - DZ[f]
            kb = kind(getc(g, m, bx, by, bz))
            if kb == PISTON or kb == STICKY:
                check_if_extend(g, m, sq, eq, mp, lg, sc, bx, by, bz)


@njit(cache=True)
def update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z):
    for i in range(6):
        d = BLOCK_UPDATE_ORDER[i]
        neighbor_changed(g, m, sq, eq, mp, lg, sc, x + DX[d], y + DY[d], z + DZ[d])


@njit(cache=True)
def observer_update_front(g, m, sq, eq, mp, lg, sc, x, y, z, f):
    """updateNeighborsInFront: the cell behind the observer, then its
    neighbours except the observer."""
    bx, by, bz = x - DX[f], y - DY[f], z - DZ[f]
    neighbor_changed(g, m, sq, eq, mp, lg, sc, bx, by, bz)
    for i in range(6):
        d = BLOCK_UPDATE_ORDER[i]
        if d != f:
            neighbor_changed(g, m, sq, eq, mp, lg, sc, bx + DX[d], by + DY[d], bz + DZ[d])


@njit(cache=True)
def set_block(g, m, sq, eq, mp, lg, sc, x, y, z, new, flags):
    """Level.setBlock for this block set: onRemove, write, onPlace, block
    updates (flag 1), shape updates (unless flag 16). False if unchanged."""
    old = getc(g, m, x, y, z)
    if old == new:
        return False
    ko, kn = kind(old), kind(new)
    putc(g, m, x, y, z, new)
    if ko == MOVING and kn != MOVING:
        i = find_moving(m, mp, x, y, z)
        if i >= 0:
            mp[i, MALIVE] = 0
    if ko == OBSERVER and kn != OBSERVER and flag(old) == 1 and has_scheduled(m, sq, x, y, z):
        observer_update_front(g, m, sq, eq, mp, lg, sc, x, y, z, facing(old))
    if (kn == PISTON or kn == STICKY) and ko != kn and find_moving(m, mp, x, y, z) < 0:
        check_if_extend(g, m, sq, eq, mp, lg, sc, x, y, z)
    if kn == OBSERVER and ko != OBSERVER:
        if flag(new) == 1 and not has_scheduled(m, sq, x, y, z):
            off = new & ~128
            putc(g, m, x, y, z, off)      # setBlock flags 18: no updates
            observer_update_front(g, m, sq, eq, mp, lg, sc, x, y, z, facing(new))
        if m[V112] == 1:                  # 1.12 onBlockAdded -> startSignal
            start_signal(m, sq, x, y, z)
    if flags & F_NEIGHBORS:
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z)
    if not flags & F_KNOWN_SHAPE:
        shape_updates_around(g, m, sq, eq, mp, lg, sc, x, y, z)
    return True


@njit(cache=True)
def from_neighbour_shapes(g, m, sq, x, y, z, c):
    """Block.updateFromNeighbourShapes for a state about to land at (x,y,z)."""
    k = kind(c)
    if k == OBSERVER:
        if flag(c) == 0:
            start_signal(m, sq, x, y, z)
    elif k == HEAD:
        if not head_survives(g, m, x, y, z, c):
            return 0
    return c


# --- pistons ---------------------------------------------------------------

@njit(cache=True)
def check_if_extend(g, m, sq, eq, mp, lg, sc, x, y, z):
    c = getc(g, m, x, y, z)
    f = facing(c)
    powered = piston_powered(g, m, x, y, z, f)
    if powered and flag(c) == 0:
        if resolve(g, m, x, y, z, f, True, sc[0:16], sc[32:64], sc[64], sc[16:32], sc[272:320]):
            queue_event(m, eq, x, y, z, kind(c), 0, f)
    elif not powered and flag(c) == 1:
        typ = 1
        tx, ty, tz = x + 2 * DX[f], y + 2 * DY[f], z + 2 * DZ[f]
        t = getc(g, m, tx, ty, tz)
        if kind(t) == MOVING and facing(t) == f and m[V112] == 0:
            i = find_moving(m, mp, tx, ty, tz)
            if i >= 0 and mp[i, MEXT] == 1 and (
                    mp[i, MPO] < 1 or mp[i, MLAST] == m[TIME] or m[HANDLING] == 1):
                typ = 2
        queue_event(m, eq, x, y, z, kind(c), typ, f)


@njit(cache=True)
def final_tick(g, m, sq, eq, mp, lg, sc, i):
    """Force-finish a moving piston (PistonMovingBlockEntity.finalTick)."""
    if mp[i, MPO] >= 2:
        return
    mp[i, MPR], mp[i, MPO], mp[i, MALIVE] = 2, 2, 0
    x, y, z = mp[i, MX], mp[i, MY], mp[i, MZ]
    if kind(getc(g, m, x, y, z)) != MOVING:
        return
    st = 0 if mp[i, MSRC] == 1 else from_neighbour_shapes(g, m, sq, x, y, z, mp[i, MMOVED])
    set_block(g, m, sq, eq, mp, lg, sc, x, y, z, st, 3)
    neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z)


@njit(cache=True)
def move_blocks(g, m, sq, eq, mp, lg, sc, x, y, z, f, extending):
    """PistonBaseBlock.moveBlocks. The lists are copied first: updates sent
    while moving may run the resolver again for other pistons."""
    hx, hy, hz = x + DX[f], y + DY[f], z + DZ[f]
    sticky = 1 if kind(getc(g, m, x, y, z)) == STICKY else 0
    if not extending and kind(getc(g, m, hx, hy, hz)) == HEAD:
        set_block(g, m, sq, eq, mp, lg, sc, hx, hy, hz, 0, 20)
    if not resolve(g, m, x, y, z, f, extending, sc[0:16], sc[32:64], sc[64], sc[16:32], sc[272:320]):
        return False
    n, nd = sc[64, 0], sc[64, 1]
    mv, de, vac = sc[80:96], sc[96:128], sc[128:144]
    for i in range(n):
        mv[i, 0], mv[i, 1], mv[i, 2] = sc[i, 0], sc[i, 1], sc[i, 2]
        mv[i, 3] = getc(g, m, sc[i, 0], sc[i, 1], sc[i, 2])
        vac[i, 0] = 1
    for i in range(nd):
        de[i, 0], de[i, 1], de[i, 2] = sc[32 + i, 0], sc[32 + i, 1], sc[32 + i, 2]
    d = f if extending else f ^ 1
    for k in range(nd - 1, -1, -1):
        set_block(g, m, sq, eq, mp, lg, sc, de[k, 0], de[k, 1], de[k, 2], 0, 18)
    for k in range(n - 1, -1, -1):
        tx, ty, tz = mv[k, 0] + DX[d], mv[k, 1] + DY[d], mv[k, 2] + DZ[d]
        for q in range(n):
            if mv[q, 0] == tx and mv[q, 1] == ty and mv[q, 2] == tz:
                vac[q, 0] = 0
        set_block(g, m, sq, eq, mp, lg, sc, tx, ty, tz, MOVING | (f << 4), 68)
        add_moving(m, mp, tx, ty, tz, mv[k, 3], f, 1 if extending else 0, 0)
    if extending:
        for q in range(n):
            if mv[q, 0] == hx and mv[q, 1] == hy and mv[q, 2] == hz:
                vac[q, 0] = 0
        tag = sticky << 7
        set_block(g, m, sq, eq, mp, lg, sc, hx, hy, hz, MOVING | (f << 4) | tag, 68)
        add_moving(m, mp, hx, hy, hz, HEAD | (f << 4) | tag, f, 1, 1)
    for q in range(n):
        if vac[q, 0] == 1:
            set_block(g, m, sq, eq, mp, lg, sc, mv[q, 0], mv[q, 1], mv[q, 2], 0, 82)
    for q in range(n):
        if vac[q, 0] == 1:
            shape_updates_around(g, m, sq, eq, mp, lg, sc, mv[q, 0], mv[q, 1], mv[q, 2])
    for k in range(nd - 1, -1, -1):
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, de[k, 0], de[k, 1], de[k, 2])
    for k in range(n - 1, -1, -1):
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, mv[k, 0], mv[k, 1], mv[k, 2])
    if extending:
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, hx, hy, hz)
    return True


@njit(cache=True)
def trigger_event(g, m, sq, eq, mp, lg, sc, x, y, z, typ, param):
    """PistonBaseBlock.triggerEvent for extend (0), retract (1), drop (2)."""
    c = getc(g, m, x, y, z)
    f = facing(c)
    k = kind(c)
    powered = piston_powered(g, m, x, y, z, f)
    if powered and typ != 0:
        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, c | 128, 2)
        return
    if not powered and typ == 0:
        return
    if typ == 0:
        if not move_blocks(g, m, sq, eq, mp, lg, sc, x, y, z, f, True):
            return
        log_event(m, lg, x, y, z, LOG_EXTEND)
        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, c | 128, 67)
        return
    log_event(m, lg, x, y, z, LOG_RETRACT if typ == 1 else LOG_DROP)
    hx, hy, hz = x + DX[f], y + DY[f], z + DZ[f]
    i = find_moving(m, mp, hx, hy, hz)
    if i >= 0:
        final_tick(g, m, sq, eq, mp, lg, sc, i)
    sticky = 1 if k == STICKY else 0
    set_block(g, m, sq, eq, mp, lg, sc, x, y, z, MOVING | (f << 4) | (sticky << 7), 20)
    add_moving(m, mp, x, y, z, k | (param << 4), f, 0, 1)
    update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z)
    shape_updates_around(g, m, sq, eq, mp, lg, sc, x, y, z)
    if sticky == 0:
        set_block(g, m, sq, eq, mp, lg, sc, hx, hy, hz, 0, 3)
        return
    tx, ty, tz = x + 2 * DX[f], y + 2 * DY[f], z + 2 * DZ[f]
    t = getc(g, m, tx, ty, tz)
    if kind(t) == MOVING:
        j = find_moving(m, mp, tx, ty, tz)
        if j >= 0 and mp[j, MDIR] == f and mp[j, MEXT] == 1:
            final_tick(g, m, sq, eq, mp, lg, sc, j)
            return
    kt = kind(t)
    normal = kt != DESTROY and kt != GLAZED and kt != HEAD and kt != MOVING and kt != IMMOVABLE
    if typ != 1 or kt == AIR or not is_pushable(t, f ^ 1, False, f) or not normal:
        set_block(g, m, sq, eq, mp, lg, sc, hx, hy, hz, 0, 3)
    else:
        move_blocks(g, m, sq, eq, mp, lg, sc, x, y, z, f, False)
