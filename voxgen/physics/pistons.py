"""How pistons move (numba, private): PistonBaseBlock.triggerEvent and
moveBlocks, and force-finishing a moving piston. PHYSICS.md §2.6; array
arguments as in kernels.py.
"""

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    AIR, DESTROY, DOOR, DX, DY, DZ, GLAZED, HEAD, IMMOVABLE, LEVER, LOG_DROP, LOG_EXTEND,
    LOG_RETRACT, MDIR, MEXT, MOVING, MPO, MPR, MALIVE, MSRC, MX, MY, MZ, MMOVED, STICKY,
)
from voxgen.physics.kernels import (
    from_neighbour_shapes, neighbor_changed, set_block, shape_updates_around, update_neighbors_at,
)
from voxgen.physics.queues import add_moving, find_moving, log_event
from voxgen.physics.resolver import facing, getc, is_pushable, kind, piston_powered, resolve


@njit(cache=True, _nrt=False)
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


@njit(cache=True, _nrt=False)
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
            shape_updates_around(g, m, sq, eq, mp, lg, sc, mv[q, 0], mv[q, 1], mv[q, 2], 0)
    for k in range(nd - 1, -1, -1):
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, de[k, 0], de[k, 1], de[k, 2])
    for k in range(n - 1, -1, -1):
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, mv[k, 0], mv[k, 1], mv[k, 2])
    if extending:
        update_neighbors_at(g, m, sq, eq, mp, lg, sc, hx, hy, hz)
    return True


@njit(cache=True, _nrt=False)
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
    base = MOVING | (f << 4) | (sticky << 7)
    set_block(g, m, sq, eq, mp, lg, sc, x, y, z, base, 20)
    add_moving(m, mp, x, y, z, k | (param << 4), f, 0, 1)
    update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z)
    shape_updates_around(g, m, sq, eq, mp, lg, sc, x, y, z, base)
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
    normal = (kt != DESTROY and kt != LEVER and kt != DOOR and kt != GLAZED and kt != HEAD
              and kt != MOVING and kt != IMMOVABLE)
    if typ != 1 or kt == AIR or not is_pushable(m, t, tx, ty, tz, f ^ 1, False, f) or not normal:
        set_block(g, m, sq, eq, mp, lg, sc, hx, hy, hz, 0, 3)
    else:
        move_blocks(g, m, sq, eq, mp, lg, sc, x, y, z, f, False)
