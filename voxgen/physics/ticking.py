"""Game ticks, placement passes and the batched run loop (numba, private).

One game tick (PHYSICS.md §2.1): time += 1; scheduled ticks due (observers);
block events drained in a loop; moving-piston block entities in creation
order. Player placements run between ticks ("boundary time").
Batch: `run_batch` advances B machines with `prange`; a quiet machine (no
scheduled tick, block event or moving piston) jumps straight to its next
placement or the target tick.
"""

import numpy as np

from voxgen.kernel_cache import njit, prange
from voxgen.physics.cells import (
    DX, DY, DZ, EH, ET, EV_CAP, FAST, HANDLING, HIX, LOG_CAP, LOG_OBS_OFF, LOG_OBS_ON, LOGN,
    LEVER, LOX, MALIVE, MARGIN, MOVING, MPN, MPO, MPR, MLAST, MMOVED, MX, MY, MZ, NEED_GROW, NEED_ROOM,
    OBSERVER,
    OX, OY, OZ, PH, PLACING, PN, SCHED_CAP, SH, ST, STATUS, TIME,
)
from voxgen.physics.kernels import (
    SCRATCH, SCRATCH_WIDTH, from_neighbour_shapes, lever_updates, neighbor_changed, observer_update_front,
    set_block, update_neighbors_at, update_shape,
)
from voxgen.physics.pistons import trigger_event
from voxgen.physics.periodic import HIST, HIST_COLS, fast_forward
from voxgen.physics.queues import log_event, start_signal
from voxgen.physics.resolver import facing, flag, getc, kind

LOG_HEADROOM = 128


@njit(cache=True, _nrt=False)
def observer_tick(g, m, sq, eq, mp, lg, sc, x, y, z):
    c = getc(g, m, x, y, z)
    if kind(c) != OBSERVER:
        return
    if flag(c) == 1:
        log_event(m, lg, x, y, z, LOG_OBS_OFF)
        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, c & ~128, 2)
    else:
        log_event(m, lg, x, y, z, LOG_OBS_ON)
        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, c | 128, 2)
        start_signal(m, sq, x, y, z)
    observer_update_front(g, m, sq, eq, mp, lg, sc, x, y, z, facing(c))


@njit(cache=True, _nrt=False)
def run_scheduled(g, m, sq, eq, mp, lg, sc):
    due = sc[144:144 + SCHED_CAP]
    n = 0
    while m[SH] < m[ST] and sq[m[SH] % SCHED_CAP, 0] <= m[TIME]:
        s = m[SH] % SCHED_CAP
        due[n, 0], due[n, 1], due[n, 2] = sq[s, 1], sq[s, 2], sq[s, 3]
        n += 1
        m[SH] += 1
    for i in range(n):
        observer_tick(g, m, sq, eq, mp, lg, sc, due[i, 0], due[i, 1], due[i, 2])


@njit(cache=True, _nrt=False)
def run_block_events(g, m, sq, eq, mp, lg, sc):
    while m[EH] < m[ET]:
        e = m[EH] % EV_CAP
        x, y, z, k, typ, param = eq[e, 0], eq[e, 1], eq[e, 2], eq[e, 3], eq[e, 4], eq[e, 5]
        m[EH] += 1
        if kind(getc(g, m, x, y, z)) == k:
            trigger_event(g, m, sq, eq, mp, lg, sc, x, y, z, typ, param)


@njit(cache=True, _nrt=False)
def tick_moving_pistons(g, m, sq, eq, mp, lg, sc):
    i = 0
    while i < m[MPN]:
        if mp[i, MALIVE] == 1:
            mp[i, MLAST] = m[TIME]
            mp[i, MPO] = mp[i, MPR]
            if mp[i, MPO] >= 2:
                mp[i, MALIVE] = 0
                x, y, z = mp[i, MX], mp[i, MY], mp[i, MZ]
                if kind(getc(g, m, x, y, z)) == MOVING:
                    moved = mp[i, MMOVED]
                    st = from_neighbour_shapes(g, m, sq, x, y, z, moved)
                    if st == 0:
                        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, moved, 84)
                        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, 0, 3)
                    else:
                        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, st, 67)
                        neighbor_changed(g, m, sq, eq, mp, lg, sc, x, y, z)
            else:
                mp[i, MPR] = min(mp[i, MPR] + 1, 2)
        i += 1
    w = 0
    for i in range(m[MPN]):
        if mp[i, MALIVE] == 1:
            if w != i:
                for c in range(mp.shape[1]):
                    mp[w, c] = mp[i, c]
            w += 1
    m[MPN] = w


@njit(cache=True, _nrt=False)
def game_tick(g, m, sq, eq, mp, lg, sc):
    m[TIME] += 1
    m[HANDLING] = 1
    run_scheduled(g, m, sq, eq, mp, lg, sc)
    run_block_events(g, m, sq, eq, mp, lg, sc)
    m[HANDLING] = 0
    tick_moving_pistons(g, m, sq, eq, mp, lg, sc)


@njit(cache=True)
def keep_in_box(g, m):
    """Re-centre the box on the blocks when they come within MARGIN of its
    edge; ask for a bigger box (NEED_GROW) when they no longer fit."""
    near = False
    for a in range(3):
        if m[HIX + a] < m[LOX + a]:
            return
        if m[LOX + a] - m[OX + a] < MARGIN or m[OX + a] + g.shape[a] - 1 - m[HIX + a] < MARGIN:
            near = True
    if not near:
        return
    lo = np.full(3, 1 << 40, dtype=np.int64)
    hi = np.full(3, -(1 << 40), dtype=np.int64)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            for k in range(g.shape[2]):
                if g[i, j, k] != 0:
                    lo[0], hi[0] = min(lo[0], i), max(hi[0], i)
                    lo[1], hi[1] = min(lo[1], j), max(hi[1], j)
                    lo[2], hi[2] = min(lo[2], k), max(hi[2], k)
    if hi[0] < lo[0]:
        return
    shift = np.zeros(3, dtype=np.int64)
    for a in range(3):
        ext = hi[a] - lo[a] + 1
        if ext + 2 * MARGIN + 2 > g.shape[a]:
            m[STATUS] = NEED_GROW
            return
        shift[a] = (g.shape[a] - ext) // 2 - lo[a]
    old = g.copy()
    g[:] = 0
    for i in range(lo[0], hi[0] + 1):
        for j in range(lo[1], hi[1] + 1):
            for k in range(lo[2], hi[2] + 1):
                g[i + shift[0], j + shift[1], k + shift[2]] = old[i, j, k]
    for a in range(3):
        m[OX + a] -= shift[a]
        m[LOX + a] = lo[a] + m[OX + a] + shift[a]
        m[HIX + a] = hi[a] + m[OX + a] + shift[a]


@njit(cache=True)
def place_structure(g, m, sq, eq, mp, lg, init, n, loud):
    """Place a structure into an empty world (samples/physics/README §2.3).
    init: (N, 4) x, y, z, cell in the game's placement order."""
    sc = np.zeros((SCRATCH, SCRATCH_WIDTH), dtype=np.int64)
    m[PLACING] = 1
    for i in range(n):
        set_block(g, m, sq, eq, mp, lg, sc, init[i, 0], init[i, 1], init[i, 2], init[i, 3], 3)
    if loud:
        _edge_pass(g, m, sq, eq, mp, lg, sc, init, n)
        for i in range(n):
            x, y, z = init[i, 0], init[i, 1], init[i, 2]
            c = getc(g, m, x, y, z)
            new = from_neighbour_shapes(g, m, sq, x, y, z, c)
            if new != c:
                set_block(g, m, sq, eq, mp, lg, sc, x, y, z, new, 18)
            update_neighbors_at(g, m, sq, eq, mp, lg, sc, x, y, z)
    m[PLACING] = 0


@njit(cache=True)
def _edge_face(g, m, sq, eq, mp, lg, sc, x, y, z, d):
    c = getc(g, m, x, y, z)
    new = update_shape(g, m, sq, x, y, z, d, getc(g, m, x + DX[d], y + DY[d], z + DZ[d]))
    if new != c:
        set_block(g, m, sq, eq, mp, lg, sc, x, y, z, new, 2)


@njit(cache=True)
def _edge_pass(g, m, sq, eq, mp, lg, sc, init, n):
    """updateShapeAtEdge: every face between a placed and an empty cell, in
    three sweeps (x,y scan z), (z,x scan y), (y,z scan x)."""
    lo = np.full(3, 1 << 40, dtype=np.int64)
    hi = np.full(3, -(1 << 40), dtype=np.int64)
    for i in range(n):
        for a in range(3):
            lo[a], hi[a] = min(lo[a], init[i, a]), max(hi[a], init[i, a])
    # (outer axis, middle axis, scan axis, negative face, positive face)
    plan = ((0, 1, 2, 2, 3), (2, 0, 1, 0, 1), (1, 2, 0, 4, 5))
    p = np.zeros(3, dtype=np.int64)
    for sweep in plan:
        oa, ma, sa, neg, pos = sweep
        for u in range(lo[oa], hi[oa] + 1):
            for v in range(lo[ma], hi[ma] + 1):
                inside = False
                for w in range(lo[sa], hi[sa] + 2):
                    p[oa], p[ma], p[sa] = u, v, w
                    here = w <= hi[sa] and getc(g, m, p[0], p[1], p[2]) != 0
                    if not inside and here:
                        _edge_face(g, m, sq, eq, mp, lg, sc, p[0], p[1], p[2], neg)
                    if inside and not here:
                        p[sa] = w - 1
                        _edge_face(g, m, sq, eq, mp, lg, sc, p[0], p[1], p[2], pos)
                    inside = here


@njit(cache=True, _nrt=False)
def has_room(g, m, x, y, z):
    """Whether (x, y, z) lies MARGIN cells inside the box, so a block placed
    there and its neighbour updates stay in it."""
    i, j, k = x - m[OX], y - m[OY], z - m[OZ]
    return (MARGIN <= i < g.shape[0] - MARGIN and MARGIN <= j < g.shape[1] - MARGIN
            and MARGIN <= k < g.shape[2] - MARGIN)


@njit(cache=True)
def run_machine(g, m, sq, eq, mp, lg, pl, target):
    """Advance one machine to game tick `target` (or until its log needs
    draining, its box must grow, or an error); placements between ticks."""
    sc = np.zeros((SCRATCH, SCRATCH_WIDTH), dtype=np.int64)
    hist = np.zeros((HIST, HIST_COLS), dtype=np.int64)
    nhist = 0
    while m[TIME] < target and m[STATUS] == 0:
        while m[PH] < m[PN] and pl[m[PH], 0] <= m[TIME]:
            r = m[PH]
            if not has_room(g, m, pl[r, 1], pl[r, 2], pl[r, 3]):
                m[STATUS] = NEED_ROOM     # the engine grows the boxes, then runs on
                break
            set_block(g, m, sq, eq, mp, lg, sc, pl[r, 1], pl[r, 2], pl[r, 3], pl[r, 4], 3)
            m[PH] += 1
            nhist = 0
        if m[STATUS] != 0:
            break
        if nhist == 0 and m[FAST] == 1:
            # A fresh history (entry, placement, jump) starts from this boundary
            # state rather than from the next tick's: a period shows one sooner.
            nhist = fast_forward(g, m, sq, eq, lg, pl, hist, nhist, target)
        if m[SH] == m[ST] and m[EH] == m[ET] and m[MPN] == 0:
            nxt = target
            if m[PH] < m[PN]:
                nxt = min(target, pl[m[PH], 0])
            if nxt > m[TIME]:
                m[TIME] = nxt
                continue
        game_tick(g, m, sq, eq, mp, lg, sc)
        keep_in_box(g, m)
        if m[FAST] == 1 and m[STATUS] == 0:
            nhist = fast_forward(g, m, sq, eq, lg, pl, hist, nhist, target)
        if m[LOGN] > LOG_CAP - LOG_HEADROOM:
            break


@njit(cache=True, parallel=True)
def run_batch(grid, meta, ticks_q, events_q, pistons, logs, places, active, target):
    """Advance the machines listed in `active` (int64 indices) to `target`."""
    for n in prange(active.shape[0]):
        b = active[n]
        run_machine(grid[b], meta[b], ticks_q[b], events_q[b], pistons[b], logs[b], places[b],
                    target)


@njit(cache=True, parallel=True)
def place_batch(grid, meta, ticks_q, events_q, pistons, logs, init, counts, loud):
    for b in prange(grid.shape[0]):
        place_structure(grid[b], meta[b], ticks_q[b], events_q[b], pistons[b], logs[b], init[b],
                        counts[b], loud)


@njit(cache=True)
def player_place(g, m, sq, eq, mp, lg, x, y, z, cell):
    """A player-style setBlock (flags 3) between ticks."""
    sc = np.zeros((SCRATCH, SCRATCH_WIDTH), dtype=np.int64)
    set_block(g, m, sq, eq, mp, lg, sc, x, y, z, cell, 3)


@njit(cache=True)
def player_use(g, m, sq, eq, mp, lg, x, y, z):
    """A player right-clicks (x,y,z) between ticks. Only levers react: flip
    (setBlock flags 3), then update the lever's and its support's neighbours.
    False when there is no lever."""
    c = getc(g, m, x, y, z)
    if kind(c) != LEVER:
        return False
    sc = np.zeros((SCRATCH, SCRATCH_WIDTH), dtype=np.int64)
    flipped = c ^ 128
    set_block(g, m, sq, eq, mp, lg, sc, x, y, z, flipped, 3)
    lever_updates(g, m, sq, eq, mp, lg, sc, x, y, z, facing(flipped))
    return True
