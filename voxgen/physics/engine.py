"""The validating public face of the kernels: a batch of machines (`Machines`),
one machine (`World`), `simulate` and `simulate_batch`.

Arrays (B machines): grid int32 (B, X, Y, Z); meta int64 (B, NMETA);
sched int64 (B, SCHED_CAP, 4); events int64 (B, EV_CAP, NEV); moving int64
(B, MP_CAP, NMP); logs int64 (B, LOG_CAP, 5); places int64 (B, P, NPL).
Each machine's box re-centres on its blocks, and all boxes grow when a
machine no longer fits. Positions are the blueprint's coordinates; `origin`
says where its (0, 0, 0) lies in the game's world, whose border and build
height stop pushes (`world.py`; PHYSICS.md §2.2).
"""

from __future__ import annotations

import math
import mmap

import numpy as np

from voxgen.errors import ParameterError, VoxgenError, whole_number
from voxgen.physics import cells as C
from voxgen.physics.state import Materials, decode, encode, is_full_block
from voxgen.physics.world import DEFAULT_ORIGIN, check_in_world, check_origin

PLACEMENTS = ("quiet", "loud")
VERSIONS = ("modern", "1.12")
PAD = C.MARGIN + 4
MAX_BOX_CELLS = 1 << 22
MAX_TOTAL_CELLS = 1 << 28
MAX_TICKS = 10 ** 12        # game ticks a run may reach: 1.6 million years of game time


def _zeros(shape, dtype) -> np.ndarray:
    """A zeroed array; big ones get their own anonymous mapping. numpy asks the
    kernel for transparent huge pages on big arrays, and zeroing whole 2 MiB
    pages of per-machine tables that are mostly never touched cost more than
    simulating a batch of 10,000 machines. Plain pages cost nothing until used."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if size < (1 << 22):
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype).reshape(shape)


def _check_options(placement, version):
    if placement not in PLACEMENTS:
        raise ParameterError("placement", placement, f"must be one of {', '.join(PLACEMENTS)}")
    if version not in VERSIONS:
        raise ParameterError("version", version, f"must be one of {', '.join(VERSIONS)}")


def check_box(shape, path=None) -> int:
    """The cells of the engine's dense box around a blueprint of `shape`
    (its extent plus PAD on every side); a VoxgenError naming `path` if that
    passes MAX_BOX_CELLS, which the engine could never run. Call it before
    converting a blueprint: the conversion alone costs tens of bytes a cell."""
    box = 1
    for e in shape:
        box *= max(1, int(e)) + 2 * PAD
    if box > MAX_BOX_CELLS:
        size = "x".join(str(int(e)) for e in shape)
        raise VoxgenError(f"too large to simulate: a {size} blueprint needs an engine box of "
                          f"{box:,} cells (limit {MAX_BOX_CELLS:,})", path)
    return box


def check_tick(tick, what: str = "tick") -> int:
    """`tick` as a Python int in 0..MAX_TICKS, or a ParameterError naming
    `what` (1.5 is refused, not run as 1)."""
    tick = whole_number(what, tick, 0)
    if tick > MAX_TICKS:
        raise ParameterError(what, tick, f"must be at most {MAX_TICKS:,}")
    return tick


def placement_order(structure, cells: np.ndarray) -> np.ndarray:
    """(N, 4) x, y, z, cell of the non-air cells in the game's placement order:
    full blocks, then the others, then blocks with block-entity data; each
    group by y, then x, then z."""
    xs, ys, zs = np.nonzero(cells)
    rows = []
    for x, y, z in zip(xs.tolist(), ys.tolist(), zs.tolist()):
        c = int(cells[x, y, z])
        group = 2 if (x, y, z) in structure.block_entities else (0 if is_full_block(c) else 1)
        rows.append((group, y, x, z, c))
    rows.sort()
    return np.array([(x, y, z, c) for _, y, x, z, c in rows], dtype=np.int64).reshape(-1, 4)


class Machines:
    """B independent machines advanced together by the batched kernel."""

    def __init__(self, structures, placements=None, *, placement="quiet", version="modern",
                 origin=DEFAULT_ORIGIN, fast_forward=True, share_identical=True):
        _check_options(placement, version)
        from voxgen.physics import ticking
        self._k = ticking
        self.materials = Materials()
        self.version = version
        structures = list(structures)
        B = len(structures)
        for s in structures:              # before converting any of them
            check_box(s.shape, s.name or None)
        self.origin = check_origin(origin, [s.shape for s in structures], version)
        encoded, seen = [], {}
        for s in structures:
            if id(s) not in seen:      # a batch often repeats one Structure object
                lut = np.array([encode(p, self.materials, version) for p in s.palette],
                               dtype=np.int32)
                cells = lut[s.blocks]
                if s.void is not None:
                    cells[s.void] = 0
                seen[id(s)] = placement_order(s, cells)
            encoded.append(seen[id(s)])
        self.initial = encoded
        extent = np.ones(3, dtype=np.int64)
        for s in structures:
            extent = np.maximum(extent, s.shape)
        shape = tuple(int(e) + 2 * PAD for e in extent)
        self.grid = _zeros((B,) + shape, dtype=np.int32)
        self.meta = np.zeros((B, C.NMETA), dtype=np.int64)
        self.meta[:, C.OX:C.OZ + 1] = -PAD
        self.meta[:, C.LOX:C.LOZ + 1] = 1 << 40
        self.meta[:, C.HIX:C.HIZ + 1] = -(1 << 40)
        self.meta[:, C.RLX:C.RLZ + 1] = 1 << 40
        self.meta[:, C.RHX:C.RHZ + 1] = -(1 << 40)
        self.meta[:, C.V112] = 1 if version == "1.12" else 0
        self.meta[:, C.WOX:C.WOZ + 1] = self.origin
        self.meta[:, C.FAST] = 1 if fast_forward else 0   # see periodic.py
        self.share_identical = share_identical             # see dedup.py
        self.sched = _zeros((B, C.SCHED_CAP, 4), dtype=np.int64)
        self.events_q = _zeros((B, C.EV_CAP, C.NEV), dtype=np.int64)
        self.moving = _zeros((B, C.MP_CAP, C.NMP), dtype=np.int64)
        self.logs = _zeros((B, C.LOG_CAP, 5), dtype=np.int64)
        self._raw_events = [[] for _ in range(B)]     # chunks of (n, 5) log rows
        self._events = [[] for _ in range(B)]
        self._placed = [[] for _ in range(B)]    # (tick, 0 now | 1 planned, pos, state): see placed
        self._set_placements(placements or [[] for _ in range(B)])
        n = max(1, max(len(o) for o in encoded) if encoded else 1)
        init = np.zeros((B, n, 4), dtype=np.int64)
        counts = np.zeros(B, dtype=np.int64)
        for b, o in enumerate(encoded):
            init[b, :len(o)] = o
            counts[b] = len(o)
        self._k.place_batch(self.grid, self.meta, self.sched, self.events_q, self.moving,
                            self.logs, init, counts, placement == "loud")
        self._after_run()

    def _set_placements(self, placements):
        rows = []
        for b, plist in enumerate(placements):
            mine = []
            for tick, pos, state in plist:
                tick = check_tick(int(tick), "placement tick")
                pos = check_in_world(pos, self.origin, self.version, "placement at")
                cell = encode(state, self.materials, self.version)
                mine.append((tick, *pos, cell))
            mine.sort(key=lambda r: r[0])
            self._placed[b] += [(r[0], 1, tuple(r[1:4]), decode(r[4], self.materials)) for r in mine]
            rows.append(mine)
        p = max([1] + [len(r) for r in rows])
        self.places = np.zeros((len(rows), p, C.NPL), dtype=np.int64)
        for b, r in enumerate(rows):
            if r:
                self.places[b, :len(r)] = r
            self.meta[b, C.PN] = len(r)
            self.meta[b, C.PH] = 0

    def run(self, target: int) -> None:
        """Advance every machine to game tick `target`."""
        target = check_tick(target, "target tick")
        while True:
            if len(self.grid) == 1:   # no thread pool for a single machine
                self._k.run_machine(self.grid[0], self.meta[0], self.sched[0], self.events_q[0],
                                    self.moving[0], self.logs[0], self.places[0], int(target))
            else:
                self._run_batch(int(target))
            self._after_run()
            if np.all(self.meta[:, C.TIME] >= target):
                return

    def _run_batch(self, target: int) -> None:
        arrays = (self.grid, self.meta, self.sched, self.events_q, self.moving, self.logs)
        if not self.share_identical:
            active = np.arange(len(self.grid), dtype=np.int64)
            self._k.run_batch(*arrays, self.places, active, target)
            return
        from voxgen.physics import dedup
        rep = dedup.classes(*arrays, self.places)
        active = np.nonzero(rep == np.arange(len(rep)))[0].astype(np.int64)
        self._k.run_batch(*arrays, self.places, active, target)
        if len(active) < len(rep):
            dedup.copy_from(*arrays, rep)

    def _after_run(self):
        for b in np.nonzero(self.meta[:, C.LOGN])[0]:
            n = int(self.meta[b, C.LOGN])
            self._raw_events[b].append(self.logs[b, :n].copy())
            self.meta[b, C.LOGN] = 0
        status = self.meta[:, C.STATUS]
        if np.any((status == C.NEED_GROW) | (status == C.NEED_ROOM)):
            self._grow()
        bad = np.nonzero((status != C.OK) & (status != C.NEED_GROW) & (status != C.NEED_ROOM))[0]
        if len(bad):
            b = int(bad[0])
            code = int(status[b])
            if code == C.ERR_UNMODELLED:
                pos = tuple(int(v) for v in self.meta[b, C.SX:C.SZ + 1])
                cell = self.cell(b, pos)
                raise VoxgenError(f"cannot simulate {decode(cell, self.materials)} at {pos} "
                                  "losing or changing its support (not modelled)")
            if code == C.ERR_BOX:
                raise VoxgenError(f"machine {b}: a block was set outside the engine's box "
                                  "(status 4, an engine bug)")
            raise VoxgenError(f"physics table overflow in machine {b} (status {code})")

    def _grow(self, edit=None):
        """Grow every box: by half on each side along the axes where the
        blocks of a machine no longer fit (NEED_GROW: a machine flying off
        along x from a block left behind grows its box along x alone); along
        just the needed axes for placements due outside a box (NEED_ROOM, or
        `edit`: (b, tick, pos), a player edit between ticks)."""
        B, X, Y, Z = self.grid.shape
        shape = (X, Y, Z)
        status = self.meta[:, C.STATUS]
        crowded = np.nonzero(status == C.NEED_GROW)[0]
        requests = [edit] if edit else [(int(b), *self._due_placement(int(b)))
                                        for b in np.nonzero(status == C.NEED_ROOM)[0]]
        add = [0, 0, 0]
        for b in crowded:                 # as ticking.keep_in_box judged it: the blocks' extent, margins and all
            filled = np.nonzero(self.grid[b])
            for a in range(3):
                extent = int(filled[a].max() - filled[a].min() + 1) if len(filled[a]) else 0
                if extent + 2 * C.MARGIN + 2 > shape[a]:
                    add[a] = shape[a] // 2 + 2
        if len(crowded) and not any(add):     # (not seen: keep_in_box asks only where one does not fit)
            add = [n // 2 + 2 for n in shape]
        for b, _, pos in requests:
            for a in range(3):
                i = pos[a] - int(self.meta[b, C.OX + a])
                need = max(C.MARGIN - i, i - (shape[a] - 1 - C.MARGIN))
                if need > 0:
                    add[a] = max(add[a], need, shape[a] // 2 + 2)
        cells = (X + 2 * add[0]) * (Y + 2 * add[1]) * (Z + 2 * add[2])
        if cells > MAX_BOX_CELLS or B * cells > MAX_TOTAL_CELLS:
            if requests:
                b, tick, pos = requests[0]
                raise VoxgenError(f"machine {b}: the placement at {pos} after tick {tick} is too "
                                  f"far from its blocks (the engine's dense box around them "
                                  f"would pass {MAX_BOX_CELLS} cells)")
            raise VoxgenError(f"machine {int(crowded[0])}: its blocks spread over more than "
                              f"{MAX_BOX_CELLS} cells (e.g. a machine flying away from a block "
                              "left behind); the engine's dense box cannot follow them")
        grid = _zeros((B, X + 2 * add[0], Y + 2 * add[1], Z + 2 * add[2]), dtype=np.int32)
        grid[:, add[0]:add[0] + X, add[1]:add[1] + Y, add[2]:add[2] + Z] = self.grid
        self.grid = grid
        self.meta[:, C.OX:C.OZ + 1] -= np.array(add, dtype=np.int64)
        self.meta[(status == C.NEED_GROW) | (status == C.NEED_ROOM), C.STATUS] = C.OK

    def _has_room(self, b: int, pos) -> bool:
        """Python twin of ticking.has_room."""
        idx = [int(p) - int(o) for p, o in zip(pos, self.meta[b, C.OX:C.OZ + 1])]
        return all(C.MARGIN <= i < n - C.MARGIN for i, n in zip(idx, self.grid.shape[1:]))

    def _due_placement(self, b: int) -> tuple:
        """(tick, pos) of machine b's next placement (the one that asked for room)."""
        row = self.places[b, int(self.meta[b, C.PH])]
        return int(row[0]), tuple(int(v) for v in row[1:4])

    def _make_room(self, b: int, pos) -> None:
        """Grow the boxes until `pos` fits machine b's (a player edit between ticks)."""
        while not self._has_room(b, pos):
            self._grow((b, int(self.meta[b, C.TIME]), pos))

    # --- reading the worlds ------------------------------------------------

    def placed(self, b: int) -> list:
        """[(tick, (x, y, z), state)]: the player's placements machine b has
        seen so far, in the order they happened, each state as the engine
        holds it. A placement planned after tick t happens once the run
        passes t; one made between runs at once (so before any planned
        for that same tick)."""
        done = int(self.meta[b, C.PH])        # the planned ones applied, in order
        planned = [p for p in self._placed[b] if p[1] == 1][:done]
        now = [p for p in self._placed[b] if p[1] == 0]
        return [(t, pos, state) for t, _, pos, state in sorted(now + planned, key=lambda p: p[:2])]

    def machine_events(self, b: int) -> list:
        """[(tick, (x, y, z), kind)] of machine b so far, in order."""
        self._events[b], _, _ = self._expand_events(b, None)
        self._raw_events[b].clear()
        return self._events[b]

    def machine_event_summary(self, b: int, limit: int) -> tuple[list, int, set]:
        """(the first `limit` events of machine b, how many there are, the
        kinds among them all): a periodic machine's log stays compressed, so
        a billion ticks of flight cost no more memory than one period."""
        return self._expand_events(b, int(limit))

    def _expand_events(self, b: int, limit):
        """(events, total, kinds): the cached events and the raw log chunks
        expanded, up to `limit` events (None: all, extending the cache in
        place); `total` counts them all and, with a limit, `kinds` holds
        every kind (a repeat only copies earlier events)."""
        out = self._events[b] if limit is None else self._events[b][:limit]
        total = len(self._events[b])
        kinds = set() if limit is None else {kind for _, _, kind in self._events[b]}
        cap = math.inf if limit is None else limit
        for chunk in self._raw_events[b]:
            rows = chunk.tolist()
            i = 0
            while i < len(rows):
                t, x, y, z, k = rows[i]
                if k == C.LOG_REPEAT:      # (n, K, P) then (0, dx, dy, dz): see periodic.py
                    n, count, period = t, x, y
                    _, dx, dy, dz, _ = rows[i + 1]
                    base = out[len(out) - count:] if count else []   # out is whole while under the cap
                    for rep in range(1, n + 1):
                        if len(out) >= cap:
                            break
                        out.extend((bt + rep * period, (bx + rep * dx, by + rep * dy,
                                                        bz + rep * dz), kind)
                                   for bt, (bx, by, bz), kind in base)
                    total += n * count
                    i += 2
                    continue
                if len(out) < cap:
                    out.append((t, (x, y, z), C.LOG_KINDS[k]))
                kinds.add(C.LOG_KINDS[k])
                total += 1
                i += 1
        if limit is not None:
            del out[limit:]
        return out, total, kinds

    def cell(self, b: int, pos) -> int:
        idx = [int(p) - int(o) for p, o in zip(pos, self.meta[b, C.OX:C.OZ + 1])]
        if any(i < 0 or i >= n for i, n in zip(idx, self.grid.shape[1:])):
            return 0
        return int(self.grid[b][tuple(idx)])

    def cells(self, b: int):
        """(N, 3) positions (the blueprint's coordinates) and (N,) cells of
        machine b's non-air cells."""
        g = self.grid[b]
        idx = np.argwhere(g != 0)
        return idx + self.meta[b, C.OX:C.OZ + 1], g[tuple(idx.T)]

    def settled(self, b: int):
        """`cells(b)` with each block in motion where its move ends: a
        moving piston's cell holding the block it moves, as the game's
        PistonMovingBlockEntity.tick leaves it when the move is done (less
        the shape updates of its neighbours). A file written mid-move
        otherwise holds bare moving pistons, which the game keeps only with
        their block entities."""
        pos, cells = self.cells(b)
        moving = self.moving[b, :int(self.meta[b, C.MPN])]
        moving = moving[moving[:, C.MALIVE] == 1]
        if not len(moving):
            return pos, cells
        at = {tuple(int(v) for v in p): k for k, p in enumerate(pos)}
        cells = cells.copy()
        for row in moving:
            k = at.get((int(row[C.MX]), int(row[C.MY]), int(row[C.MZ])))
            if k is not None and C.kind_of(cells[k]) == C.MOVING:
                cells[k] = row[C.MMOVED]
        keep = cells != 0
        return pos[keep], cells[keep]

    def snapshot(self, b: int) -> dict:
        pos, cells = self.cells(b)
        return {tuple(int(v) for v in p): decode(int(c), self.materials)
                for p, c in zip(pos, cells)}

    def player_place(self, b: int, pos, state: str) -> None:
        cell = encode(state, self.materials, self.version)
        pos = check_in_world(pos, self.origin, self.version, "placement at")
        self._make_room(b, pos)
        m = self.meta[b]
        self._k.player_place(self.grid[b], m, self.sched[b], self.events_q[b], self.moving[b],
                             self.logs[b], int(pos[0]), int(pos[1]), int(pos[2]), cell)
        self._placed[b].append((int(m[C.TIME]), 0, tuple(int(v) for v in pos),
                                decode(cell, self.materials)))
        self._after_run()
        self._k.keep_in_box(self.grid[b], m)
        self._after_run()


    def use(self, b: int, pos) -> None:
        """A player right-clicks `pos` of machine b between ticks (a lever flips)."""
        pos = check_in_world(pos, self.origin, self.version, "use at")
        m = self.meta[b]
        if not self._k.player_use(self.grid[b], m, self.sched[b], self.events_q[b],
                                  self.moving[b], self.logs[b], int(pos[0]), int(pos[1]),
                                  int(pos[2])):
            raise VoxgenError(f"nothing to use at {tuple(int(v) for v in pos)}: "
                              f"{decode(self.cell(b, pos), self.materials)} (only levers are)")
        self._after_run()
        self._k.keep_in_box(self.grid[b], m)
        self._after_run()


class World:
    """One machine with the shared physics interface (notes/physics_api.md)."""

    def __init__(self, structure, *, placement: str = "quiet", version: str = "modern",
                 origin=DEFAULT_ORIGIN):
        self._m = Machines([structure], placement=placement, version=version, origin=origin)

    @property
    def time(self) -> int:
        return int(self._m.meta[0, C.TIME])

    @property
    def events(self) -> list:
        return self._m.machine_events(0)

    def place(self, pos, state: str) -> None:
        """Player-style setBlock (flags 3) between ticks; air breaks."""
        self._m.player_place(0, pos, state)

    def use(self, pos) -> None:
        """Right-click between ticks: flips a lever; anything else is refused."""
        self._m.use(0, pos)

    def tick(self, n: int = 1) -> None:
        if n < 0:
            raise VoxgenError(f"cannot run a negative number of ticks ({n})")
        self._m.run(self.time + int(n))

    def snapshot(self) -> dict:
        return self._m.snapshot(0)
