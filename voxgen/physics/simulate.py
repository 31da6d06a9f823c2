"""Run whole machines: `simulate`, `simulate_batch`, and the `[meta.machine]`
start recipe (`machine_spec`).

A placement is (tick, (x, y, z), state): a player-style setBlock applied
after game tick `tick` and before tick `tick + 1` (tick 0: before the first);
with the state USE, a right-click there instead (a lever flips), made before
the setBlocks of the same tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxgen.blocks import canonical
from voxgen.errors import ParameterError, VoxgenError, whole_number
from voxgen.physics.engine import Machines, check_tick
from voxgen.physics.world import DEFAULT_ORIGIN
from voxgen.physics.state import decode
from voxgen.structure import Structure

USE = "use"                  # the "state" of a placement that right-clicks
EVENTS_LISTED = 100_000      # events a SimResult lists; it counts them all
MAX_RECORDED_TICKS = 100_000  # ticks `record_changes` may run: it snapshots every tick


@dataclass
class MachineSpec:
    """How a machine blueprint is started and how it should move.

    start: [(tick, (x, y, z), state)]; direction: (dx, dy, dz) unit step;
    blocks_per_tick: expected speed (blocks per game tick)."""

    start: list
    direction: tuple = (0, 0, 0)
    blocks_per_tick: float = 0.0


@dataclass
class SimResult:
    """ticks: game ticks run. displacement: [dx, dy, dz] shift of the centroid
    of the original blocks (blocks left by placements are not counted).
    moved: any piston moved anything. events: [(tick, (x, y, z), kind)], the
    first EVENTS_LISTED of `event_count` (a periodic machine's log is kept
    compressed; a long flight would list hundreds of bytes a tick).
    final: the world after the last tick, cropped to its blocks.
    origin: where `final`'s box starts, in the blueprint's coordinates."""

    ticks: int
    displacement: list
    moved: bool
    events: list = field(default_factory=list)
    event_count: int = 0
    final: Structure | None = None
    origin: tuple = (0, 0, 0)
    changes: list | None = None     # [(tick, (x, y, z), from, to)] when asked for


def machine_spec(structure: Structure) -> MachineSpec | None:
    """The `[meta.machine]` table of a blueprint, checked, or None."""
    table = (structure.metadata or {}).get("machine")
    if table is None:
        return None
    name = structure.name or "blueprint"
    if not isinstance(table, dict):
        raise VoxgenError("[meta.machine] is not a table", name)
    unknown = set(table) - {"start", "direction", "blocks_per_tick"}
    if unknown:                  # a misspelt key would otherwise be ignored without a word
        raise VoxgenError(f"[meta.machine] has unknown key(s) {', '.join(sorted(unknown))} "
                          "(it takes start, direction, blocks_per_tick)", name)
    try:                         # 2.5 or "2" is refused, not run as 2
        start = [(whole_number("tick", p["tick"]), tuple(whole_number("pos", v) for v in p["pos"]),
                  _state(str(p["state"]))) for p in table.get("start", [])]
        direction = tuple(whole_number("direction", v) for v in table.get("direction", (0, 0, 0)))
        speed = float(table.get("blocks_per_tick", 0.0))
    except (KeyError, TypeError, ValueError, ParameterError) as err:
        raise VoxgenError(f"bad [meta.machine] table ({err})", name) from None
    if len(direction) != 3 or any(len(p[1]) != 3 for p in start):
        raise VoxgenError("[meta.machine] positions and direction need 3 coordinates", name)
    if not 0 <= speed < float("inf"):         # NaN too
        raise VoxgenError(f"[meta.machine] blocks_per_tick must be a finite number >= 0, got {speed}", name)
    return MachineSpec(start, direction, speed)


def _state(state: str) -> str:
    """A placement's block state in canonical form, or USE (a right-click)."""
    return state if state == USE else canonical(state)


def _placements(items):
    """(tick, (x, y, z), state) with Python ints; a fraction of a tick or
    cell (2.5) is refused, not run as 2, and so is anything else that is
    not (tick, (x, y, z), a block state or USE)."""
    out = []
    try:
        items = list(items)
    except TypeError:
        raise ParameterError("placements", items, "must be a list of (tick, (x, y, z), state)") from None
    for item in items:
        try:
            tick, pos, state = item
            pos = tuple(whole_number("pos", v) for v in pos)
            if len(pos) != 3 or not isinstance(state, str):
                raise ValueError
            out.append((whole_number("tick", tick), pos, _state(state)))
        except (ParameterError, TypeError, ValueError):
            raise ParameterError("placements", item, "each must be (tick, (x, y, z), state): whole numbers "
                                 f"and a block state or {USE!r}") from None
    return out


def _origin(origin) -> tuple[int, int, int]:
    """`origin` as 3 Python ints; a fraction (0.5) is refused, not run as 0."""
    try:
        whole = tuple(whole_number("origin", v) for v in origin)
    except (ParameterError, TypeError):
        whole = ()
    if len(whole) != 3:
        raise ParameterError("origin", origin, "must be 3 whole numbers (x, y, z)")
    return whole


def _centroid(points: np.ndarray) -> np.ndarray:
    return points.mean(axis=0) if len(points) else np.zeros(3)


def cropped(pos: np.ndarray, states: list) -> tuple[tuple, np.ndarray, list]:
    """(origin, blocks, palette) of the box around (N, 3) positions `pos`
    holding `states` (air elsewhere); origin (0, 0, 0) and one air cell
    when there are none."""
    if not len(pos):
        return (0, 0, 0), np.zeros((1, 1, 1), dtype=np.int32), ["minecraft:air"]
    lo = pos.min(axis=0)
    palette = ["minecraft:air"] + sorted(set(states))
    index = {s: i for i, s in enumerate(palette)}
    blocks = np.zeros(tuple(int(v) for v in pos.max(axis=0) - lo + 1), dtype=np.int32)
    rel = pos - lo
    blocks[rel[:, 0], rel[:, 1], rel[:, 2]] = [index[s] for s in states]
    return tuple(int(v) for v in lo), blocks, palette


def _result(machines: Machines, b: int, structure: Structure, ticks: int) -> SimResult:
    pos, cells = machines.settled(b)       # blocks in motion where they are going
    states = [decode(int(c), machines.materials) for c in cells]
    left_by_player = {}
    for _, p, state in machines.placed(b):
        left_by_player[p] = state            # the last placement at a cell wins
    own = np.array([left_by_player.get(tuple(int(v) for v in p)) != s
                    for p, s in zip(pos, states)], dtype=bool)
    start = np.argwhere(~structure.air_mask())
    displacement = _centroid(pos[own]) - _centroid(start) if len(pos) else np.zeros(3)
    events, count, kinds = machines.machine_event_summary(b, EVENTS_LISTED)
    moved = bool(kinds & {"extend", "retract", "retract_drop"})
    origin, blocks, palette = cropped(pos, states)
    final = Structure.from_indices(blocks, palette, name=structure.name, origin=origin,
                                   data_version=structure.data_version)
    return SimResult(ticks=ticks, displacement=[float(v) for v in displacement], moved=moved,
                     events=events, event_count=count, final=final, origin=origin)


def simulate(structure: Structure, ticks: int, placements=(), placement: str = "quiet",
             version: str = "modern", record_changes: bool = False,
             origin=DEFAULT_ORIGIN) -> SimResult:
    """Place `structure` (quietly or loudly) with its (0, 0, 0) at `origin` in
    the game's world, apply `placements` (right-clicks too), run game ticks
    1..ticks. With `record_changes`, also list every block change per tick
    (slower: one kernel call per tick). Raises VoxgenError for blocks the
    engine cannot model. Positions in and out are the blueprint's."""
    ticks = check_tick(ticks, "ticks")
    placements, origin = _placements(placements), _origin(origin)
    uses = sorted((t, pos) for t, pos, state in placements if state == USE and t < ticks)
    blocks = [p for p in placements if p[2] != USE]     # a right-click at or past the end never happens
    if not record_changes and not uses:
        return simulate_batch([structure], ticks, [blocks], placement=placement,
                              version=version, origin=origin)[0]
    if record_changes and ticks > MAX_RECORDED_TICKS:
        raise ParameterError("ticks", ticks, f"must be <= {MAX_RECORDED_TICKS} with record_changes "
                             "(every change of every tick is kept)")
    machines = Machines([structure], [blocks], placement=placement, version=version,
                        origin=origin)
    changes, before = [], machines.snapshot(0) if record_changes else None
    for t in range(1, int(ticks) + 1) if record_changes else [int(ticks)]:
        while uses and uses[0][0] < t:          # a right-click after tick uses[0][0]
            tick, pos = uses.pop(0)
            machines.run(tick)
            machines.use(0, pos)
        machines.run(t)
        if not record_changes:
            continue
        after = machines.snapshot(0)
        for pos in sorted(set(before) | set(after), key=lambda p: (p[1], p[2], p[0])):
            a, b = before.get(pos, "minecraft:air"), after.get(pos, "minecraft:air")
            if a != b:
                changes.append((t, pos, a, b))
        before = after
    result = _result(machines, 0, structure, int(ticks))
    result.changes = changes if record_changes else None
    return result


def simulate_batch(structures, ticks: int, placements_per_structure=None,
                   placement: str = "quiet", version: str = "modern",
                   origin=DEFAULT_ORIGIN) -> list[SimResult]:
    """Run many machines together in one batched kernel call per step of
    the run loop, each with its (0, 0, 0) at `origin`; results in input
    order."""
    structures = list(structures)
    ticks = check_tick(ticks, "ticks")
    if placements_per_structure is None:
        placements_per_structure = [()] * len(structures)
    plans, origin = [_placements(p) for p in placements_per_structure], _origin(origin)
    if len(plans) != len(structures):
        raise VoxgenError("simulate_batch needs one placement list per structure")
    if not structures:
        return []
    machines = Machines(structures, plans, placement=placement, version=version, origin=origin)
    machines.run(int(ticks))
    return [_result(machines, b, s, int(ticks)) for b, s in enumerate(structures)]
