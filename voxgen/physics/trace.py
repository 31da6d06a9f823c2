"""Replay real-game traces and check end-state cases (pure Python, no numba).

Works with any object that has the physics World interface (`place`, `use`,
`tick`, `snapshot`, `time`): the numba engine or the slow twin in tests/.

Numbering (samples/physics/README.md §2.2): trace tick T is the World's game
tick T+1; an action "at tick T" is applied when `world.time == T`, before the
world runs its tick T+1; a case check "at tick T" sees the world with
`world.time == T`, before that tick's actions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from voxgen.blocks import canonical, split_state
from voxgen.errors import VoxgenError
from voxgen.physics.world import MAX_COORD
from voxgen.safe_read import open_regular, read_toml

AIR = "minecraft:air"
WINDOW_MARGIN = 4  # the capture window is [-4, size + 4] on each axis (README §2.4)
MAX_TICKS = 10_000             # ticks a trace or case may cover (real captures: tens); ~1 ms each
MAX_FILE_BYTES = 64 * 1024 * 1024
FORMAT_VERSIONS = (1,)         # the trace schema versions this reader knows (README §2.1)


@dataclass(frozen=True)
class Action:
    """A player action applied before trace tick `tick`: `place` a block (state) or `use` (right-click)."""

    tick: int
    pos: tuple[int, int, int]
    state: str | None = None  # None means "use"


@dataclass
class Trace:
    """Per-tick net block changes: ticks[T] = {pos: (from, to)} for trace ticks 0..n_ticks-1."""

    structure: str
    ticks: dict[int, dict[tuple, tuple[str, str]]]
    n_ticks: int
    origin: tuple[int, int, int] | None = None    # where local (0, 0, 0) lay in the world, if recorded


@dataclass
class TraceReport:
    agree: bool
    first_tick: int | None = None
    first_pos: tuple | None = None
    expected: str | None = None
    got: str | None = None
    ticks_checked: int = 0
    detail: list = field(default_factory=list)

    def __str__(self) -> str:
        if self.agree:
            return f"agree on all {self.ticks_checked} ticks"
        return (f"first difference at trace tick {self.first_tick}, cell {self.first_pos}: "
                f"game {self.expected}, simulator {self.got}")


def _pos(value, where, path) -> tuple[int, int, int]:
    """3 integers, each inside the world border (±MAX_COORD)."""
    if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):      # true is an int to Python
        raise VoxgenError(f"{where}: position must be 3 integers, got {value!r:.80}", path)
    if any(abs(v) > MAX_COORD for v in value):
        raise VoxgenError(f"{where}: position {list(value)!r:.80} is outside the world "
                          f"(each coordinate within ±{MAX_COORD:,})", path)
    return tuple(value)


def _tick(value, where, path) -> int:
    """An integer tick in 0..MAX_TICKS-1 (not a bool, float or string)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_TICKS:
        raise VoxgenError(f"{where} must be an integer tick in 0..{MAX_TICKS - 1}, "
                          f"got {value!r:.40}", path)
    return value


def _state(value, where, path) -> str:
    if not isinstance(value, str):
        raise VoxgenError(f"{where} must be a block state string, got {value!r:.40}", path)
    try:
        return canonical(value)
    except ValueError as err:
        raise VoxgenError(f"{where}: {err}", path) from None


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


def _read_json(path) -> dict:
    try:
        with open_regular(path) as f:       # a FIFO is refused, never read (it would block)
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise VoxgenError(f"cannot read ({err.strerror})", path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise VoxgenError(f"larger than {MAX_FILE_BYTES >> 20} MiB; not a trace or case file", path)
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except ValueError as err:       # JSONDecodeError, UnicodeDecodeError, NaN / Infinity
        raise VoxgenError(f"not valid JSON ({err})", path) from None
    except RecursionError:
        raise VoxgenError("not valid JSON (nested too deeply)", path) from None
    if not isinstance(doc, dict):
        raise VoxgenError("top level is not a JSON object", path)
    return doc


def _format_version(doc, path) -> None:
    """A missing version is taken as 1 (hand-written traces); another one is
    a schema this reader does not know, so its ticks could mean anything."""
    version = doc.get("format_version", 1)
    if type(version) is not int or version not in FORMAT_VERSIONS:       # not 1.0, not true
        known = ", ".join(map(str, FORMAT_VERSIONS))
        raise VoxgenError(f"format_version {version!r:.40} is not supported (known: {known})", path)


def _tick_changes(entry, where, path) -> dict:
    """{pos: (from, to)} of one `ticks[]` entry; a cell listed twice is refused
    (each event is the cell's net change over the tick, README §2.2)."""
    if not isinstance(entry.get("events"), list):
        raise VoxgenError(f"{where}.events is not a list", path)
    changes = {}
    for i, ev in enumerate(entry["events"]):
        if not isinstance(ev, dict):
            raise VoxgenError(f"{where}.events[{i}] is not an object", path)
        if ev.get("kind", "block_changed") != "block_changed":
            continue
        pos = _pos(ev.get("pos"), f"{where}.events[{i}]", path)
        if pos in changes:
            raise VoxgenError(f"{where}.events[{i}]: cell {list(pos)} changes twice in one tick",
                              path)
        changes[pos] = (_state(ev.get("from"), f"{where}.events[{i}].from", path),
                        _state(ev.get("to"), f"{where}.events[{i}].to", path))
    return changes


def load_trace(path) -> Trace:
    """Read a trace JSON (README §2.1), checking every field it uses; it may
    cover at most MAX_TICKS ticks. Raises VoxgenError on malformed files,
    including ticks out of order or repeated, and a trace with nothing to
    check (no ticks and no `queues` to say how many were captured)."""
    doc = _read_json(path)
    if "ticks" not in doc or not isinstance(doc["ticks"], list):
        raise VoxgenError("trace has no 'ticks' list", path)
    _format_version(doc, path)
    ticks = {}
    for n, entry in enumerate(doc["ticks"]):
        where = f"ticks[{n}]"
        if not isinstance(entry, dict):
            raise VoxgenError(f"{where} is not an object", path)
        t = _tick(entry.get("tick"), f"{where}.tick", path)
        if t in ticks:                      # else the last copy would silently win
            raise VoxgenError(f"{where}: tick {t} is listed twice (each tick once, ascending)",
                              path)
        if ticks and t < max(ticks):
            raise VoxgenError(f"{where}: tick {t} comes after tick {max(ticks)} (ticks must "
                              "ascend)", path)
        ticks[t] = _tick_changes(entry, where, path)
    queues = doc.get("queues")
    if queues is not None and not isinstance(queues, list):
        raise VoxgenError("'queues' is not a list", path)
    if queues is not None and ticks and max(ticks) >= len(queues):
        raise VoxgenError(f"tick {max(ticks)} has changes, but 'queues' records only "
                          f"{len(queues)} captured ticks", path)
    n_ticks = max(max(ticks, default=-1) + 1, len(queues or []))
    if n_ticks > MAX_TICKS:
        raise VoxgenError(f"'queues' covers {n_ticks} ticks; at most {MAX_TICKS} are replayed", path)
    name = doc.get("structure", "")
    if not isinstance(name, str):
        raise VoxgenError(f"'structure' must be a string, got {name!r:.40}", path)
    if n_ticks == 0:    # only ticks with changes are listed; without 'queues' the length is unknown
        raise VoxgenError("nothing to check: no ticks listed and no 'queues' to say how many "
                          "ticks were captured", path)
    origin = doc.get("origin")                  # only in newer captures (README §2.1)
    if origin is not None:
        origin = _pos(origin, "origin", path)
    return Trace(structure=name.rpartition(":")[2], ticks=ticks, n_ticks=n_ticks, origin=origin)


def parse_actions(entries, path=None) -> list[Action]:
    """Actions from a list of dicts `{tick, place: [x,y,z], state}` or `{tick, use: [x,y,z]}`."""
    actions = []
    for n, a in enumerate(entries or []):
        where = f"action {n}"
        if not isinstance(a, dict) or not isinstance(a.get("tick"), int) or isinstance(a.get("tick"), bool):
            raise VoxgenError(f"{where}: needs an integer 'tick'", path)
        if "place" in a:
            if not isinstance(a.get("state"), str):
                raise VoxgenError(f"{where}: 'place' needs a 'state'", path)
            actions.append(Action(a["tick"], _pos(a["place"], where, path), canonical(a["state"])))
        elif "use" in a:
            actions.append(Action(a["tick"], _pos(a["use"], where, path)))
        else:
            raise VoxgenError(f"{where}: needs 'place' or 'use'", path)
    return sorted(actions, key=lambda a: a.tick)  # stable: file order within a tick


def load_trace_actions(path) -> dict[str, dict]:
    """The per-trace replay recipe (README §4) from a TOML table:
    `[name] placement = "loud" | "quiet"`, `actions = [{tick, place, state} | {tick, use}]`.
    Returns {name: {"placement": str, "actions": [Action]}}."""
    doc = read_toml(path, MAX_FILE_BYTES, "trace recipe file")   # regular files only, nesting checked
    recipes = {}
    for name, table in doc.items():
        placement = table.get("placement", "loud")
        if placement not in ("loud", "quiet"):
            raise VoxgenError(f"[{name}] placement must be loud or quiet", path)
        recipes[name] = {"placement": placement, "actions": parse_actions(table.get("actions"), path),
                         "note": table.get("note", "")}
    return recipes


def apply_actions(world, actions, tick: int) -> None:
    """Apply the actions labelled `tick`: uses first, then placements (README §2.2)."""
    for a in actions:
        if a.tick == tick and a.state is None:
            world.use(a.pos)
    for a in actions:
        if a.tick == tick and a.state is not None:
            world.place(a.pos, a.state)


def _window(size):
    lo = (-WINDOW_MARGIN,) * 3
    hi = tuple(s + WINDOW_MARGIN for s in size)
    return lo, hi


def _inside(pos, lo, hi) -> bool:
    return all(a <= p <= b for p, a, b in zip(pos, lo, hi))


def _changes(before: dict, after: dict, lo, hi) -> dict:
    out = {}
    for pos in set(before) | set(after):
        a, b = before.get(pos, AIR), after.get(pos, AIR)
        if a != b and _inside(pos, lo, hi):
            out[pos] = (a, b)
    return out


def _sort_key(pos):
    x, y, z = pos
    return (y, z, x)


def replay_trace(world_factory, structure, trace: Trace, actions=(), placement: str = "loud") -> TraceReport:
    """Run `world_factory(structure, placement=placement)` (at the trace's
    `origin` in the world when it records one) tick by tick and compare each
    tick's net changes inside the capture window with the trace.

    Returns the first differing (tick, cell) in (y, z, x) order, or agreement."""
    where = {} if trace.origin is None else {"origin": trace.origin}     # the world's limits as captured
    world = world_factory(structure, placement=placement, **where)
    lo, hi = _window(structure.shape)
    before = world.snapshot()
    for t in range(trace.n_ticks):
        apply_actions(world, actions, t)
        world.tick(1)
        after = world.snapshot()
        got = _changes(before, after, lo, hi)
        want = trace.ticks.get(t, {})
        if got != want:
            for pos in sorted(set(got) | set(want), key=_sort_key):
                g, w = got.get(pos), want.get(pos)
                if g != w:
                    return TraceReport(False, t, pos, _show(w), _show(g), t + 1,
                                       detail=[(p, want.get(p), got.get(p)) for p in sorted(
                                           set(got) | set(want), key=_sort_key) if got.get(p) != want.get(p)])
        before = after
    return TraceReport(True, ticks_checked=trace.n_ticks)


def _show(change) -> str:
    return "no change" if change is None else f"{change[0]} -> {change[1]}"


# --- end-state cases (cases/*.test.json) -------------------------------------

@dataclass
class Case:
    name: str
    structure_path: Path
    placement: str
    actions: list[Action]
    checks: list[dict]


def load_case(path, structures_dir=None) -> Case:
    """Read a case file (README §3); `structure` is resolved by basename into
    `structures_dir` (default: ../structures beside the cases folder)."""
    path = Path(path)
    doc = _read_json(path)
    for key in ("structure", "checks"):
        if key not in doc:
            raise VoxgenError(f"case has no '{key}'", path)
    if not isinstance(doc["structure"], str):
        raise VoxgenError("'structure' must be a file name", path)
    settle = doc.get("settle", "placement")
    placement = {"placement": "loud", "quiet": "quiet"}.get(settle)
    if placement is None:
        raise VoxgenError(f"settle mode {settle!r} is not supported (placement or quiet)", path)
    structures_dir = Path(structures_dir) if structures_dir else path.parent.parent / "structures"
    checks = doc["checks"]
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise VoxgenError("'checks' must be a list of objects with an integer 'tick'", path)
    for n, check in enumerate(checks):
        _tick(check.get("tick"), f"checks[{n}].tick", path)
    return Case(str(doc.get("name", path.stem)), structures_dir / Path(doc["structure"]).name,
                placement, parse_actions(doc.get("actions"), path), checks)


def _matches(expected: str, got: str) -> bool:
    """Listed properties must match; unlisted ones are free."""
    want_id, want_props = split_state(expected)
    got_id, got_props = split_state(got)
    return want_id == got_id and all(got_props.get(k) == v for k, v in want_props.items())


def _parse_key(key) -> tuple[int, int, int]:
    return tuple(int(v) for v in str(key).split(","))


def check_case(world_factory, structure, case: Case) -> list[str]:
    """Run the case and return the failed checks as readable lines ([] = pass).
    Supports `blocks` and `air` + `region`; other kinds are reported as unsupported."""
    world = world_factory(structure, placement=case.placement)
    failures = []
    last = max(c["tick"] for c in case.checks)
    for t in range(last + 1):
        cells = world.snapshot()
        for check in (c for c in case.checks if c["tick"] == t):
            kind = check.get("expect")
            if kind == "blocks":
                for key, want in check["blocks"].items():
                    pos = _parse_key(key)
                    got = cells.get(pos, AIR)
                    if not _matches(want, got):
                        failures.append(f"tick {t} {pos}: want {want}, got {got}")
            elif kind == "air":
                (x0, y0, z0), (x1, y1, z1) = check["region"]
                for pos, state in sorted(cells.items()):
                    if x0 <= pos[0] <= x1 and y0 <= pos[1] <= y1 and z0 <= pos[2] <= z1:
                        failures.append(f"tick {t} {pos}: want air, got {state}")
            else:
                failures.append(f"tick {t}: unsupported check kind {kind!r}")
        if t < last:
            apply_actions(world, case.actions, t)
            world.tick(1)
    return failures
