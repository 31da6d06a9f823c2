"""TwinWorld: a slow, literal Python model of PHYSICS.md §2 (the engine's twin).

A dict of cells (unbounded), and the game's queues written out plainly:
scheduled ticks (FIFO by trigger time), block events (a queue with set
semantics drained in a while loop), moving-piston block entities in creation
order. `set_block` follows Level.setBlock: onRemove, onPlace, block updates
(W,E,D,U,N,S) when flag 1, shape updates (W,E,N,S,D,U) unless flag 16.
Placement passes follow samples/physics/README.md §2.3. Readability over speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from physics_twin_resolver import resolve
from physics_twin_rules import (
    AIR, ALL_DIRECTIONS, BLOCK_UPDATE_ORDER, OPPOSITE, SHAPE_UPDATE_ORDER, UNMODELLED_COMPONENTS,
    has_sturdy_top, head_state, is_air, is_conductor, is_full_block, is_piston_base, is_pushable,
    kind, lever_connected_direction, moving_piston_state, prop, push_reaction, step, strong_signal,
    weak_signal, with_props,
)
from voxgen.blocks import block_id, canonical
from voxgen.errors import VoxgenError

UPDATE_NEIGHBORS, UPDATE_CLIENTS, UPDATE_INVISIBLE, UPDATE_KNOWN_SHAPE, UPDATE_MOVE_BY_PISTON = 1, 2, 4, 16, 64
NEW_SINCE_1_12 = {"minecraft:honey_block", "minecraft:crying_obsidian", "minecraft:respawn_anchor"}
MODELLED = {"air", "solid", "immovable", "slime", "honey", "glazed", "destroy", "lever", "door",
            "piston", "sticky_piston", "piston_head", "observer", "redstone_block"}


@dataclass
class MovingBlock:
    """A moving-piston block entity. progress in blocks (0, 0.5, 1)."""

    pos: tuple
    moved_state: str
    direction: str          # the piston's facing
    extending: bool
    source: bool            # the head (extending) or the retracting base
    progress: float = 0.0
    progress_old: float = 0.0
    last_ticked: int = -1
    removed: bool = False


class TwinWorld:
    """Positions are the structure's; `origin` is where its (0, 0, 0) lies in
    the game's world, whose border and build height stop pushes."""

    def __init__(self, structure, *, placement: str = "quiet", version: str = "modern",
                 origin=(0, 64, 0)):
        if placement not in ("quiet", "loud"):
            raise VoxgenError(f"placement must be quiet or loud, got {placement!r}")
        if version not in ("modern", "1.12"):
            raise VoxgenError(f"version must be modern or 1.12, got {version!r}")
        self.version = version
        self.origin = tuple(origin)
        self.cells: dict = {}
        self.time = 0
        self.events: list = []
        self.scheduled: list = []        # [trigger_time, seq, pos, block id]
        self.sequence = 0
        self.block_events: list = []     # (pos, block id, type, facing)
        self.moving: list = []           # MovingBlock, creation order
        self.handling_tick = False       # inside the scheduled-tick / block-event phases
        self._place_structure(structure, placement)

    # --- reading -------------------------------------------------------------

    def get(self, pos) -> str:
        return self.cells.get(pos, AIR)

    def snapshot(self) -> dict:
        return dict(self.cells)

    def moving_at(self, pos):
        for m in self.moving:
            if m.pos == pos and not m.removed:
                return m
        return None

    def pushable(self, state: str, pos, move_dir: str, allow_destroy: bool, piston_facing: str) -> bool:
        at = tuple(p + o for p, o in zip(pos, self.origin))
        return is_pushable(state, move_dir, allow_destroy, piston_facing, at, self.version)

    # --- placement (README §2.3) --------------------------------------------

    def _place_structure(self, structure, placement: str) -> None:
        placed = []
        for (x, y, z), state in _structure_cells(structure):
            self._check_modelled(state)
            group = 2 if (x, y, z) in structure.block_entities else (0 if is_full_block(state) else 1)
            placed.append((group, y, x, z, state))
        placed.sort(key=lambda e: e[:4])
        order = [((x, y, z), state) for _, y, x, z, state in placed]
        for pos, state in order:                      # pass 1: setBlock flags 3
            self.set_block(pos, state, UPDATE_NEIGHBORS | UPDATE_CLIENTS)
        if placement == "quiet":
            self._drain_block_events_if_any_between_ticks()
            return
        self._update_shape_at_edge({pos for pos, _ in order})   # pass 2
        for pos, _ in order:                          # pass 3
            state = self.get(pos)
            updated = self.update_from_neighbour_shapes(pos, state)
            if updated != state:
                self.set_block(pos, updated, UPDATE_CLIENTS | UPDATE_KNOWN_SHAPE)
            self.update_neighbors_at(pos)

    def _drain_block_events_if_any_between_ticks(self) -> None:
        """Placement queues block events; they run in tick 1 (nothing to do now)."""

    def _update_shape_at_edge(self, placed: set) -> None:
        if not placed:
            return
        lo = [min(p[i] for p in placed) for i in range(3)]
        hi = [max(p[i] for p in placed) for i in range(3)]
        # (outer axis, middle axis, scanned axis, negative face, positive face)
        sweeps = ((0, 1, 2, "north", "south"), (2, 0, 1, "down", "up"), (1, 2, 0, "west", "east"))
        for outer, middle, scan, negative, positive in sweeps:
            for a in range(lo[outer], hi[outer] + 1):
                for b in range(lo[middle], hi[middle] + 1):
                    inside_before = False
                    for c in range(lo[scan], hi[scan] + 2):
                        cell = [0, 0, 0]
                        cell[outer], cell[middle], cell[scan] = a, b, c
                        inside = c <= hi[scan] and tuple(cell) in placed
                        if inside and not inside_before:
                            self._edge_face(tuple(cell), negative)
                        if inside_before and not inside:
                            cell[scan] = c - 1
                            self._edge_face(tuple(cell), positive)
                        inside_before = inside

    def _edge_face(self, pos, direction: str) -> None:
        other = step(pos, direction)
        state = self.get(pos)
        updated = self.update_shape(pos, state, direction, self.get(other))
        if updated != state:
            self.set_block(pos, updated, UPDATE_CLIENTS)
        state2 = self.get(other)
        updated2 = self.update_shape(other, state2, OPPOSITE[direction], updated)
        if updated2 != state2:
            self.set_block(other, updated2, UPDATE_CLIENTS)

    def _check_modelled(self, state: str) -> None:
        k = kind(state)
        name = block_id(state)
        if k not in MODELLED or any(c in name for c in UNMODELLED_COMPONENTS):
            raise VoxgenError(f"the physics twin cannot model {state}")
        if self.version == "1.12" and name in NEW_SINCE_1_12:
            raise VoxgenError(f"{name} does not exist in 1.12")

    # --- player actions (between ticks) --------------------------------------

    def place(self, pos, state: str) -> None:
        pos = tuple(int(v) for v in pos)
        state = canonical(state)
        self._check_modelled(state)
        for s in (state, self.get(pos)):
            if kind(s) in ("moving_piston", "piston_head"):
                raise VoxgenError(f"the twin does not edit moving pistons or piston heads ({s} at {pos})")
        self.set_block(pos, state, UPDATE_NEIGHBORS | UPDATE_CLIENTS)

    def use(self, pos) -> None:
        pos = tuple(int(v) for v in pos)
        state = self.get(pos)
        if kind(state) != "lever":
            raise VoxgenError(f"the twin can only use levers, not {state} at {pos}")
        flipped = with_props(state, powered="false" if prop(state, "powered") == "true" else "true")
        self.set_block(pos, flipped, UPDATE_NEIGHBORS | UPDATE_CLIENTS)
        self._lever_update_neighbours(pos, flipped)

    # --- one game tick (PHYSICS.md §2.1) --------------------------------------

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.time += 1
            self.handling_tick = True
            self._run_scheduled_ticks()
            self._run_block_events()
            self.handling_tick = False
            for m in list(self.moving):  # created earlier this tick are ticked too
                if not m.removed:
                    self._tick_moving_block(m)
            self.moving = [m for m in self.moving if not m.removed]

    def _run_scheduled_ticks(self) -> None:
        due = sorted((t for t in self.scheduled if t[0] <= self.time), key=lambda t: (t[0], t[1]))
        self.scheduled = [t for t in self.scheduled if t[0] > self.time]
        for _, _, pos, block in due:
            state = self.get(pos)
            if block_id(state) == block:  # the block moved away: the tick is lost
                self._observer_tick(pos, state)

    def schedule(self, pos, block: str, delay: int) -> None:
        if not self.has_scheduled(pos, block):
            self.scheduled.append([self.time + delay, self.sequence, pos, block])
            self.sequence += 1

    def has_scheduled(self, pos, block: str) -> bool:
        return any(t[2] == pos and t[3] == block for t in self.scheduled)

    def queue_block_event(self, pos, block: str, event_type: int, facing: str) -> None:
        event = (pos, block, event_type, facing)
        if event not in self.block_events:  # set semantics (1.12: only within the add buffer)
            self.block_events.append(event)

    def _run_block_events(self) -> None:
        if self.version == "1.12":  # double-buffered: events queued now go to the next batch
            while self.block_events:
                batch, self.block_events = self.block_events, []
                for event in batch:
                    self._dispatch_block_event(*event)
        else:
            while self.block_events:
                self._dispatch_block_event(*self.block_events.pop(0))

    def _dispatch_block_event(self, pos, block, event_type, facing) -> None:
        state = self.get(pos)
        if block_id(state) == block:  # dropped if the block changed
            self._piston_trigger_event(pos, state, event_type)

    # --- setBlock and the two kinds of update (PHYSICS.md §2.4) --------------

    def set_block(self, pos, state: str, flags: int) -> bool:
        old = self.get(pos)
        if old == state:
            return False
        if is_air(state):
            self.cells.pop(pos, None)
        else:
            self.cells[pos] = state
        if block_id(old) != block_id(state):
            self._on_remove(pos, old, flags)
            self._on_place(pos, state)
        if flags & UPDATE_NEIGHBORS:
            self.update_neighbors_at(pos)
        if not flags & UPDATE_KNOWN_SHAPE:
            self.update_neighbour_shapes(pos, state, flags & ~(UPDATE_NEIGHBORS | 32))
        return True

    def destroy_block(self, pos) -> None:
        self.set_block(pos, AIR, UPDATE_NEIGHBORS | UPDATE_CLIENTS)

    def _on_remove(self, pos, old: str, flags: int) -> None:
        k = kind(old)
        if k == "observer" and prop(old, "powered") == "true" and self.has_scheduled(pos, block_id(old)):
            self._observer_update_front(pos, prop(old, "facing"))
        elif k == "lever" and prop(old, "powered") == "true" and not flags & UPDATE_MOVE_BY_PISTON:
            self._lever_update_neighbours(pos, old)

    def _on_place(self, pos, state: str) -> None:
        k = kind(state)
        if is_piston_base(state) and self.moving_at(pos) is None:
            self._check_if_extend(pos, state)
        elif k == "observer":
            if self.version == "1.12":  # onBlockAdded: turn off if powered, then fire
                if prop(state, "powered") == "true":  # updateTick, outside the tick phase: not logged
                    self._observer_tick(pos, state, log=False)
                self._observer_start_signal(pos)
            elif prop(state, "powered") == "true" and not self.has_scheduled(pos, block_id(state)):
                self.set_block(pos, with_props(state, powered="false"), UPDATE_CLIENTS | UPDATE_KNOWN_SHAPE)
                self._observer_update_front(pos, prop(state, "facing"))

    def update_neighbors_at(self, pos) -> None:
        for direction in BLOCK_UPDATE_ORDER:
            self.neighbor_changed(step(pos, direction))

    def neighbor_changed(self, pos) -> None:
        state = self.get(pos)
        k = kind(state)
        if is_piston_base(state):
            self._check_if_extend(pos, state)
        elif k == "piston_head":
            if self._head_can_survive(pos, state):
                self.neighbor_changed(step(pos, OPPOSITE[prop(state, "facing")]))
        elif k == "door":
            self._door_neighbor_changed(pos, state)

    def update_neighbour_shapes(self, pos, state: str, flags: int) -> None:
        for direction in SHAPE_UPDATE_ORDER:
            neighbour = step(pos, direction)
            current = self.get(neighbour)
            updated = self.update_shape(neighbour, current, OPPOSITE[direction], state)
            if updated != current:
                if is_air(updated):
                    self.destroy_block(neighbour)
                else:
                    self.set_block(neighbour, updated, flags & ~32)

    def update_shape(self, pos, state: str, direction: str, neighbour_state: str) -> str:
        """The block at `pos` hears that its neighbour in `direction` is now `neighbour_state`."""
        k = kind(state)
        if k == "observer":
            if prop(state, "facing") == direction and prop(state, "powered") == "false":
                self._observer_start_signal(pos)
        elif k == "piston_head":
            if direction == OPPOSITE[prop(state, "facing")] and not self._head_can_survive(pos, state):
                return AIR
        elif k == "lever":
            if direction == OPPOSITE[lever_connected_direction(state)] and not has_sturdy_top(neighbour_state):
                return AIR
        elif k == "door":
            return self._door_update_shape(state, direction, neighbour_state)
        return state

    def update_from_neighbour_shapes(self, pos, state: str) -> str:
        for direction in SHAPE_UPDATE_ORDER:
            state = self.update_shape(pos, state, direction, self.get(step(pos, direction)))
        return state

    # --- power (PHYSICS.md §2.3) ---------------------------------------------

    def signal(self, pos, direction: str) -> int:
        """What the block at `pos` sends to the receiver that looks at it in `direction`."""
        state = self.get(pos)
        value = weak_signal(state, direction)
        if is_conductor(state):
            value = max(value, self.direct_signal_to(pos))
        return value

    def direct_signal_to(self, pos) -> int:
        return max(strong_signal(self.get(step(pos, d)), d) for d in ALL_DIRECTIONS)

    def has_signal(self, pos, direction: str) -> bool:
        return self.signal(pos, direction) > 0

    def piston_powered(self, pos, facing: str) -> bool:
        for direction in ALL_DIRECTIONS:
            if direction != facing and self.has_signal(step(pos, direction), direction):
                return True
        above = step(pos, "up")  # quasi-connectivity: as if the piston also filled the cell above
        for direction in ALL_DIRECTIONS:
            if direction != "down" and self.has_signal(step(above, direction), direction):
                return True
        return False

    def has_neighbor_signal(self, pos) -> bool:
        return any(self.has_signal(step(pos, d), d) for d in ALL_DIRECTIONS)

    # --- observers (PHYSICS.md §2.5) ------------------------------------------

    def _observer_start_signal(self, pos) -> None:
        self.schedule(pos, "minecraft:observer", 2)

    def _observer_tick(self, pos, state: str, log: bool = True) -> None:
        if prop(state, "powered") == "true":
            self.set_block(pos, with_props(state, powered="false"), UPDATE_CLIENTS)
            if log:
                self.events.append((self.time, pos, "observer_off"))
        else:
            self.set_block(pos, with_props(state, powered="true"), UPDATE_CLIENTS)
            self.schedule(pos, "minecraft:observer", 2)
            if log:
                self.events.append((self.time, pos, "observer_on"))
        self._observer_update_front(pos, prop(state, "facing"))

    def _observer_update_front(self, pos, facing: str) -> None:
        back = step(pos, OPPOSITE[facing])
        self.neighbor_changed(back)
        for direction in BLOCK_UPDATE_ORDER:
            if direction != facing:
                self.neighbor_changed(step(back, direction))

    # --- pistons (PHYSICS.md §2.6) --------------------------------------------

    def _check_if_extend(self, pos, state: str) -> None:
        facing = prop(state, "facing")
        powered = self.piston_powered(pos, facing)
        extended = prop(state, "extended") == "true"
        if powered and not extended:
            if resolve(self.get, self.pushable, pos, facing, True) is not None:
                self.queue_block_event(pos, block_id(state), 0, facing)
        elif not powered and extended:
            event_type = 1
            two_ahead = step(pos, facing, 2)
            ahead_state = self.get(two_ahead)
            if (self.version == "modern" and kind(ahead_state) == "moving_piston"
                    and prop(ahead_state, "facing") == facing):
                m = self.moving_at(two_ahead)
                if m is not None and m.extending and (
                        m.progress_old < 0.5 or self.time == m.last_ticked or self.handling_tick):
                    event_type = 2
            self.queue_block_event(pos, block_id(state), event_type, facing)

    def _piston_trigger_event(self, pos, state: str, event_type: int) -> None:
        facing = prop(state, "facing")
        sticky = kind(state) == "sticky_piston"
        powered = self.piston_powered(pos, facing)
        if powered and event_type in (1, 2):
            self.set_block(pos, with_props(state, extended="true"), UPDATE_CLIENTS)
            return
        if not powered and event_type == 0:
            return
        if event_type == 0:
            if not self._move_blocks(pos, facing, sticky, extending=True):
                return
            self.events.append((self.time, pos, "extend"))
            self.set_block(pos, with_props(state, extended="true"), UPDATE_NEIGHBORS | UPDATE_CLIENTS | 64)
            return
        self.events.append((self.time, pos, "retract" if event_type == 1 else "retract_drop"))
        head_pos = step(pos, facing)
        m = self.moving_at(head_pos)
        if m is not None:
            self._final_tick(m)
        base = moving_piston_state(facing, sticky)
        self.set_block(pos, base, UPDATE_INVISIBLE | UPDATE_KNOWN_SHAPE)
        self._add_moving(pos, with_props(state, extended="false"), facing, extending=False, source=True)
        self.update_neighbors_at(pos)
        self.update_neighbour_shapes(pos, base, UPDATE_CLIENTS)
        if not sticky:
            self.destroy_block(head_pos)
            return
        two_ahead = step(pos, facing, 2)
        pulled = self.get(two_ahead)
        if kind(pulled) == "moving_piston":
            m = self.moving_at(two_ahead)
            if m is not None and m.direction == facing and m.extending:
                self._final_tick(m)  # the spit: the pushed block lands now, nothing is pulled
                return
        if (event_type != 1 or is_air(pulled)
                or not self.pushable(pulled, two_ahead, OPPOSITE[facing], False, facing)
                or (push_reaction(pulled) != "normal" and not is_piston_base(pulled))):
            self.destroy_block(head_pos)
        else:
            self._move_blocks(pos, facing, sticky, extending=False)

    def _move_blocks(self, pos, facing: str, sticky: bool, extending: bool) -> bool:
        head_pos = step(pos, facing)
        if not extending and kind(self.get(head_pos)) == "piston_head":
            self.set_block(head_pos, AIR, UPDATE_INVISIBLE | UPDATE_KNOWN_SHAPE)
        resolved = resolve(self.get, self.pushable, pos, facing, extending)
        if resolved is None:
            return False
        to_push, to_destroy = resolved
        moved_states = [self.get(p) for p in to_push]
        vacated = dict(zip(to_push, moved_states))  # insertion order (the game: HashMap order)
        move_direction = facing if extending else OPPOSITE[facing]
        for p in reversed(to_destroy):
            self.set_block(p, AIR, UPDATE_CLIENTS | UPDATE_KNOWN_SHAPE)
        for j in range(len(to_push) - 1, -1, -1):
            destination = step(to_push[j], move_direction)
            vacated.pop(destination, None)
            self.set_block(destination, moving_piston_state(facing), UPDATE_INVISIBLE | UPDATE_MOVE_BY_PISTON)
            self._add_moving(destination, moved_states[j], facing, extending, source=False)
        if extending:
            vacated.pop(head_pos, None)
            self.set_block(head_pos, moving_piston_state(facing, sticky), UPDATE_INVISIBLE | UPDATE_MOVE_BY_PISTON)
            self._add_moving(head_pos, head_state(facing, sticky), facing, True, source=True)
        for p in vacated:
            self.set_block(p, AIR, UPDATE_CLIENTS | UPDATE_KNOWN_SHAPE | UPDATE_MOVE_BY_PISTON)
        for p in vacated:
            self.update_neighbour_shapes(p, AIR, UPDATE_CLIENTS)
        for p in reversed(to_destroy):
            self.update_neighbors_at(p)
        for p in reversed(to_push):
            self.update_neighbors_at(p)
        if extending:
            self.update_neighbors_at(head_pos)
        return True

    def _head_can_survive(self, pos, state: str) -> bool:
        facing = prop(state, "facing")
        base = self.get(step(pos, OPPOSITE[facing]))
        want = "sticky_piston" if prop(state, "type") == "sticky" else "piston"
        if kind(base) == want and prop(base, "extended") == "true" and prop(base, "facing") == facing:
            return True
        return kind(base) == "moving_piston" and prop(base, "facing") == facing

    # --- moving-piston block entities -----------------------------------------

    def _add_moving(self, pos, moved_state, direction, extending, source) -> None:
        old = self.moving_at(pos)
        if old is not None:
            old.removed = True
        self.moving.append(MovingBlock(pos, moved_state, direction, extending, source))

    def _tick_moving_block(self, m: MovingBlock) -> None:
        m.last_ticked = self.time
        m.progress_old = m.progress
        if m.progress_old >= 1.0:
            m.removed = True
            if kind(self.get(m.pos)) == "moving_piston":
                landed = self.update_from_neighbour_shapes(m.pos, m.moved_state)
                if is_air(landed):
                    self.set_block(m.pos, m.moved_state, UPDATE_INVISIBLE | UPDATE_KNOWN_SHAPE | 64)
                    self.destroy_block(m.pos)
                else:
                    self.set_block(m.pos, landed, UPDATE_NEIGHBORS | UPDATE_CLIENTS | 64)
                    self.neighbor_changed(m.pos)
            return
        m.progress = min(1.0, m.progress + 0.5)

    def _final_tick(self, m: MovingBlock) -> None:
        """Force-finish: a head lands as air, anything else as its block, now."""
        if m.progress_old >= 1.0:
            return
        m.progress = m.progress_old = 1.0
        m.removed = True
        if kind(self.get(m.pos)) == "moving_piston":
            landed = AIR if m.source else self.update_from_neighbour_shapes(m.pos, m.moved_state)
            self.set_block(m.pos, landed, UPDATE_NEIGHBORS | UPDATE_CLIENTS)
            self.neighbor_changed(m.pos)

    # --- levers and doors (only what the real-game traces need) ---------------

    def _lever_update_neighbours(self, pos, state: str) -> None:
        self.update_neighbors_at(pos)
        self.update_neighbors_at(step(pos, OPPOSITE[lever_connected_direction(state)]))

    def _door_update_shape(self, state: str, direction: str, neighbour_state: str) -> str:
        lower = prop(state, "half") == "lower"
        if direction == ("up" if lower else "down"):
            if block_id(neighbour_state) == block_id(state) and prop(neighbour_state, "half") != prop(state, "half"):
                return with_props(neighbour_state, half=prop(state, "half"))
            return AIR
        if lower and direction == "down" and not has_sturdy_top(neighbour_state):
            return AIR
        return state

    def _door_neighbor_changed(self, pos, state: str) -> None:
        other = step(pos, "up" if prop(state, "half") == "lower" else "down")
        powered = self.has_neighbor_signal(pos) or self.has_neighbor_signal(other)
        if powered != (prop(state, "powered") == "true"):
            self.set_block(pos, with_props(state, powered=powered, open=powered), UPDATE_CLIENTS)


def _structure_cells(structure):
    """Non-air cells of a Structure as ((x, y, z), state), void skipped."""
    import numpy as np

    air = structure.air_mask()
    for x, y, z in zip(*np.nonzero(~air)):
        pos = (int(x), int(y), int(z))
        yield pos, structure.palette[structure.blocks[pos]]
