"""Block-level game logic (numba, private): setBlock, updates, observers,
levers and doors, when pistons fire (how pistons move: pistons.py; the
queues and moving-piston entities these fill: queues.py). PHYSICS.md §2 and
samples/physics/README.md, in the game's own order.

Every function works on one machine: g (X, Y, Z) int32 grid, m (NMETA,)
int64 meta, sq (SCHED_CAP, 4) scheduled ticks (trigger, x, y, z),
eq (EV_CAP, NEV) block events, mp (MP_CAP, NMP) moving pistons in creation
order, lg (LOG_CAP, 5) event log, sc int64 scratch (SCRATCH, SCRATCH_WIDTH):
rows 0-319 for the resolver and moveBlocks, rows STACK0.. for world_op's frames.
"""

import numpy as np

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    BLOCK_UPDATE_ORDER, DESTROY, DOOR, DOOR_ID, DOOR_OPEN, DOOR_POWERED, DOWN, DX, DY, DZ,
    ERR_OVERFLOW, GLAZED, HANDLING, HEAD, HONEY, IMMOVABLE, LEVER, MALIVE, MEXT, MLAST, MOVING, MPO,
    OBSERVER, PISTON, PLACING, REDSTONE, SHAPE_UPDATE_ORDER, SLIME, SOLID, STATUS, STICKY, TIME, UP,
    V112,
)
from voxgen.physics.queues import find_moving, has_scheduled, queue_event, start_signal, unmodelled
from voxgen.physics.resolver import (
    facing, flag, getc, has_neighbor_signal, kind, piston_powered, putc, resolve,
)

STACK0, DEPTH = 320, 96      # world_op's frame stack: scratch rows STACK0 .. STACK0 + DEPTH
SCRATCH, SCRATCH_WIDTH = STACK0 + DEPTH, 9
F_NEIGHBORS, F_KNOWN_SHAPE, F_MOVE_BY_PISTON = 1, 16, 64


# --- shape rules (pure: no world writes but scheduling) ---------------------

@njit(cache=True, _nrt=False)
def head_survives(g, m, x, y, z, c):
    f = facing(c)
    b = getc(g, m, x - DX[f], y - DY[f], z - DZ[f])
    kb = kind(b)
    if kb == MOVING:
        return facing(b) == f
    want = STICKY if flag(c) == 1 else PISTON
    return kb == want and flag(b) == 1 and facing(b) == f


@njit(cache=True, _nrt=False)
def sturdy_top(c):
    """Can a floor lever or a door stand on this cell? (a full top face)"""
    k = kind(c)
    if (k == SOLID or k == IMMOVABLE or k == SLIME or k == HONEY or k == GLAZED
            or k == REDSTONE or k == OBSERVER):
        return True
    if k == PISTON or k == STICKY:
        return flag(c) == 0 or facing(c) == DOWN
    if k == HEAD:
        return facing(c) == UP
    return False


@njit(cache=True, _nrt=False)
def support_rule(c, d, nb):
    """updateShape of a lever or door half c whose neighbour in direction d is
    now nb: a lever breaks when its support has no full top face; a door half
    breaks without its partner (and a lower half without a full top below),
    and copies the partner's properties otherwise."""
    k = kind(c)
    if k == LEVER:
        if d == (facing(c) ^ 1) and not sturdy_top(nb):
            return 0
    elif k == DOOR:
        upper = flag(c)
        if d == (DOWN if upper == 1 else UP):
            if kind(nb) == DOOR and (nb >> 8) >> DOOR_ID == (c >> 8) >> DOOR_ID and flag(nb) != upper:
                return (nb & ~128) | (c & 128)
            return 0
        if upper == 0 and d == DOWN and not sturdy_top(nb):
            return 0
    return c


@njit(cache=True, _nrt=False)
def update_shape(g, m, sq, x, y, z, d, nb):
    """The cell at (x,y,z) gets a shape update from its neighbour in direction d,
    which reports its state as nb (the state it was set to, as the game passes
    it, even if a nested update has changed that cell since). Returns the
    cell's new state (the same cell if unchanged)."""
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
    elif k == LEVER or k == DOOR:
        return support_rule(c, d, nb)
    return c


@njit(cache=True, _nrt=False)
def from_neighbour_shapes(g, m, sq, x, y, z, c):
    """Block.updateFromNeighbourShapes for a state about to land at (x,y,z)."""
    k = kind(c)
    if k == OBSERVER:
        if flag(c) == 0:
            start_signal(m, sq, x, y, z)
    elif k == HEAD:
        if not head_survives(g, m, x, y, z, c):
            return 0
    elif k == LEVER or k == DOOR:
        for i in range(6):
            d = SHAPE_UPDATE_ORDER[i]
            c = support_rule(c, d, getc(g, m, x + DX[d], y + DY[d], z + DZ[d]))
            if c == 0:
                return 0
    return c


# --- setBlock and the updates it sends --------------------------------------
# The game's setBlock -> neighbour/shape updates -> setBlock chains recurse
# (a door half breaking its partner, a door opening on power, a lever falling
# off its support). numba's cache cannot hold recursive functions, so
# `world_op` runs them on an explicit stack of frames in the scratch, in
# exactly the order of the recursive calls; the wrappers below keep the
# game's names. Frame columns:
F_OP, F_X, F_Y, F_Z, F_A, F_B, F_STAGE, F_IDX, F_OLD = range(9)
OP_SET, OP_NEIGHBOR, OP_AROUND, OP_FRONT, OP_SHAPES, OP_LEVER = 0, 1, 2, 3, 4, 5


@njit(cache=True, _nrt=False)
def _push(m, sc, sp, op, x, y, z, a, b):
    if sp >= STACK0 + DEPTH:
        m[STATUS] = ERR_OVERFLOW
        return sp
    sc[sp, F_OP], sc[sp, F_X], sc[sp, F_Y], sc[sp, F_Z] = op, x, y, z
    sc[sp, F_A], sc[sp, F_B], sc[sp, F_STAGE], sc[sp, F_IDX] = a, b, 0, 0
    return sp + 1


@njit(cache=True, _nrt=False)
def _door_power(g, m, x, y, z, c):
    """DoorBlock.neighborChanged: the new state of door half c (c if unchanged)."""
    other = y - 1 if flag(c) == 1 else y + 1
    on = has_neighbor_signal(g, m, x, y, z) or has_neighbor_signal(g, m, x, other, z)
    if on == (((c >> 8) & DOOR_POWERED) != 0):
        return c
    bits = (DOOR_POWERED | DOOR_OPEN) << 8
    return (c | bits) if on else (c & ~bits)


@njit(cache=True, inline="always", _nrt=False)
def reacts_to_neighbor(c):
    """Only these kinds do anything on a block update (the rest skip the call:
    every call with the world's arrays costs atomic reference counting)."""
    k = kind(c)
    return k == PISTON or k == STICKY or k == HEAD or k == DOOR


@njit(cache=True, inline="always", _nrt=False)
def reacts_to_shape(c):
    k = kind(c)
    return k == OBSERVER or k == HEAD or k == DESTROY or k == LEVER or k == DOOR


@njit(cache=True, _nrt=False)
def _neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z):
    """Block.neighborChanged at (x,y,z), but a door's change of state is
    returned (to be set with flags 2 by the caller) instead of written;
    -1 when nothing is to be written."""
    c = getc(g, m, x, y, z)
    k = kind(c)
    if k == PISTON or k == STICKY:
        check_if_extend(g, m, sq, eq, mp, lg, sc, x, y, z)
    elif k == HEAD:
        if head_survives(g, m, x, y, z, c):
            fc = facing(c)
            bx, by, bz = x - DX[fc], y - DY[fc], z - DZ[fc]
            kb = kind(getc(g, m, bx, by, bz))
            if kb == PISTON or kb == STICKY:
                check_if_extend(g, m, sq, eq, mp, lg, sc, bx, by, bz)
    elif k == DOOR:
        new = _door_power(g, m, x, y, z, c)
        if new != c:
            return np.int64(new)
    return np.int64(-1)


@njit(cache=True, _nrt=False)
def _visit(g, m, sq, eq, mp, lg, sc, sp, op, x, y, z, a, b, i, framed):
    """The cells of an OP_AROUND, OP_FRONT or OP_SHAPES operation, from index i
    on. When one needs a write, the operation's frame (pushed now unless
    `framed`) keeps where to resume and the write's OP_SET frame goes on top;
    a finished operation pops its frame. Returns the stack pointer."""
    n = 7 if op == OP_FRONT else 6
    while i < n:
        j = i
        i += 1
        if op == OP_SHAPES:
            d = SHAPE_UPDATE_ORDER[j]
            nx, ny, nz = x + DX[d], y + DY[d], z + DZ[d]
            old = getc(g, m, nx, ny, nz)
            if not reacts_to_shape(old):
                continue
            new = np.int64(update_shape(g, m, sq, nx, ny, nz, d ^ 1, a))
            if new == old:
                continue
            flags = 3 if new == 0 else b         # a broken block: destroyBlock
        else:
            if op == OP_AROUND:
                d = BLOCK_UPDATE_ORDER[j]
                nx, ny, nz = x + DX[d], y + DY[d], z + DZ[d]
            else:                                # the cell behind, then its neighbours
                nx, ny, nz = x - DX[a], y - DY[a], z - DZ[a]
                if j > 0:
                    d = BLOCK_UPDATE_ORDER[j - 1]
                    if d == a:
                        continue
                    nx, ny, nz = nx + DX[d], ny + DY[d], nz + DZ[d]
            if not reacts_to_neighbor(getc(g, m, nx, ny, nz)):
                continue
            new = _neighbor_changed(g, m, sq, eq, mp, lg, sc, nx, ny, nz)
            if new < 0:
                continue
            flags = 2
        if not framed:
            sp = _push(m, sc, sp, op, x, y, z, a, b)
        sc[sp - 1, F_IDX] = i
        return _push(m, sc, sp, OP_SET, nx, ny, nz, new, flags)
    return sp - 1 if framed else sp


@njit(cache=True, _nrt=False)
def world_op(g, m, sq, eq, mp, lg, sc, op, x, y, z, a, b):
    """OP_SET: setBlock(a, flags b); returns 1 if the cell changed.
    OP_NEIGHBOR: neighborChanged at (x,y,z). OP_AROUND: updateNeighborsAt.
    OP_FRONT: an observer facing a updates the cell behind it and that cell's
    neighbours but itself. OP_SHAPES: shape updates to the six neighbours from
    a cell set to state a; a changed neighbour is set with flags b (air:
    destroyBlock, flags 3).
    OP_LEVER: a lever (towards a) updates its and its support's neighbours."""
    changed = 1 if op == OP_SET and getc(g, m, x, y, z) != a else 0
    sp = _push(m, sc, STACK0, op, x, y, z, a, b)
    while sp > STACK0:
        f = sp - 1                                  # the frame on top
        op, x, y, z, a, b = sc[f, F_OP], sc[f, F_X], sc[f, F_Y], sc[f, F_Z], sc[f, F_A], sc[f, F_B]
        if op == OP_NEIGHBOR:
            sp -= 1
            new = _neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z)
            if new >= 0:
                sp = _push(m, sc, sp, OP_SET, x, y, z, new, 2)
        elif op == OP_AROUND or op == OP_FRONT or op == OP_SHAPES:
            sp = _visit(g, m, sq, eq, mp, lg, sc, sp, op, x, y, z, a, b, sc[f, F_IDX], True)
        elif op == OP_LEVER:
            i = sc[f, F_IDX]
            sc[f, F_IDX] = i + 1
            if i == 0:
                sp = _push(m, sc, sp, OP_AROUND, x, y, z, 0, 0)
            else:
                sp -= 1
                sp = _push(m, sc, sp, OP_AROUND, x - DX[a], y - DY[a], z - DZ[a], 0, 0)
        else:
            sp = _set_step(g, m, sq, eq, mp, lg, sc, sp, f)
    return changed


@njit(cache=True, _nrt=False)
def _set_step(g, m, sq, eq, mp, lg, sc, sp, f):
    """One step of setBlock's frame (scratch row f, the top of the stack): onRemove, write,
    onPlace, block updates (flag 1), shape updates (unless flag 16). Returns
    the new stack pointer (a child frame pushed, or f popped)."""
    x, y, z, new, flags = sc[f, F_X], sc[f, F_Y], sc[f, F_Z], sc[f, F_A], sc[f, F_B]
    if sc[f, F_STAGE] == 0:
        old = getc(g, m, x, y, z)
        if old == new:
            return sp - 1
        sc[f, F_OLD] = old
        sc[f, F_STAGE] = 1
        putc(g, m, x, y, z, new)
        if kind(old) == MOVING and kind(new) != MOVING:
            i = find_moving(m, mp, x, y, z)
            if i >= 0:
                mp[i, MALIVE] = 0
        if (kind(old) == OBSERVER and kind(new) != OBSERVER and flag(old) == 1
                and has_scheduled(m, sq, x, y, z)):
            return _push(m, sc, sp, OP_FRONT, x, y, z, facing(old), 0)
    old = sc[f, F_OLD]
    ko, kn = kind(old), kind(new)
    if sc[f, F_STAGE] == 1:
        sc[f, F_STAGE] = 2
        if ko == LEVER and kn != LEVER and flag(old) == 1 and not flags & F_MOVE_BY_PISTON:
            return _push(m, sc, sp, OP_LEVER, x, y, z, facing(old), 0)
    if sc[f, F_STAGE] == 2:
        sc[f, F_STAGE] = 3
        if (kn == PISTON or kn == STICKY) and ko != kn and find_moving(m, mp, x, y, z) < 0:
            check_if_extend(g, m, sq, eq, mp, lg, sc, x, y, z)
        if kn == OBSERVER and ko != OBSERVER and flag(new) == 1 and not has_scheduled(m, sq, x, y, z):
            putc(g, m, x, y, z, new & ~128)      # setBlock flags 18: no updates
            return _push(m, sc, sp, OP_FRONT, x, y, z, facing(new), 0)
    if sc[f, F_STAGE] == 3:
        sc[f, F_STAGE] = 4
        if kn == OBSERVER and ko != OBSERVER and m[V112] == 1:   # 1.12 onBlockAdded
            start_signal(m, sq, x, y, z)
        if flags & F_NEIGHBORS:
            top = _visit(g, m, sq, eq, mp, lg, sc, sp, OP_AROUND, x, y, z, 0, 0, 0, False)
            if top != sp:
                return top
    if sc[f, F_STAGE] == 4:
        sc[f, F_STAGE] = 5
        if not flags & F_KNOWN_SHAPE:
            top = _visit(g, m, sq, eq, mp, lg, sc, sp, OP_SHAPES, x, y, z, new,
                         flags & ~(F_NEIGHBORS | 32), 0, False)
            if top != sp:
                return top
    return sp - 1


@njit(cache=True, _nrt=False)
def set_block(g, m, sq, eq, mp, lg, sc, x, y, z, new, flags):
    """Level.setBlock for this block set. False if the cell was unchanged."""
    return world_op(g, m, sq, eq, mp, lg, sc, OP_SET, np.int64(x), np.int64(y), np.int64(z),
                    np.int64(new), np.int64(flags)) == 1


@njit(cache=True, _nrt=False)
def neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z):
    world_op(g, m, sq, eq, mp, lg, sc, OP_NEIGHBOR, np.int64(x), np.int64(y), np.int64(z),
             np.int64(0), np.int64(0))


@njit(cache=True, _nrt=False)
def update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z):
    world_op(g, m, sq, eq, mp, lg, sc, OP_AROUND, np.int64(x), np.int64(y), np.int64(z),
             np.int64(0), np.int64(0))


@njit(cache=True, _nrt=False)
def observer_update_front(g, m, sq, eq, mp, lg, sc, x, y, z, f):
    """updateNeighborsInFront: the cell behind the observer, then its
    neighbours except the observer."""
    world_op(g, m, sq, eq, mp, lg, sc, OP_FRONT, np.int64(x), np.int64(y), np.int64(z),
             np.int64(f), np.int64(0))


@njit(cache=True, _nrt=False)
def shape_updates_around(g, m, sq, eq, mp, lg, sc, x, y, z, state):
    """Shape updates to the six neighbours (W,E,N,S,D,U) from a cell set to
    `state` with flags 2 (changed neighbours are set with flags 2, broken
    ones destroyed)."""
    world_op(g, m, sq, eq, mp, lg, sc, OP_SHAPES, np.int64(x), np.int64(y), np.int64(z),
             np.int64(state), np.int64(2))


@njit(cache=True, _nrt=False)
def lever_updates(g, m, sq, eq, mp, lg, sc, x, y, z, towards):
    world_op(g, m, sq, eq, mp, lg, sc, OP_LEVER, np.int64(x), np.int64(y), np.int64(z),
             np.int64(towards), np.int64(0))


# --- pistons: when to move -------------------------------------------------

@njit(cache=True, _nrt=False)
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


