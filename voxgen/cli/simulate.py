"""`voxgen simulate FILE`: run a machine in the tick-exact physics, or check
a recorded real-game trace (`--check-trace`)."""

from __future__ import annotations

import json
import re
import sys

import click

from voxgen.cli import BLUEPRINT, GivenPath

_PLACE = re.compile(r"^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*=\s*([^@]+?)\s*(?:@\s*(.*?)\s*)?$")
_ORIGIN = re.compile(r"^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*$")


def parse_place(text: str, version: str = "modern", ticks: int | None = None,
                origin=None):
    """'X,Y,Z=STATE@TICK' -> (tick, (x, y, z), state); @TICK defaults to 0,
    and STATE `use` is a right-click. The position must lie in the world
    (the blueprint's (0, 0, 0) at `origin`), the state be one the engine
    models, and TICK come before the last of `ticks` (a later one would
    never apply)."""
    from voxgen.blocks import canonical
    from voxgen.errors import VoxgenError
    from voxgen.physics.world import DEFAULT_ORIGIN, check_in_world
    from voxgen.physics.simulate import USE
    from voxgen.physics.state import Materials, encode

    match = _PLACE.match(text)
    if not match:
        raise VoxgenError(f"--place wants X,Y,Z=STATE@TICK, got {text!r}")
    x, y, z, state, tick = match.groups()
    if tick is not None and not re.fullmatch(r"[0-9]+", tick):     # not isdigit(): '²' is a digit
        raise VoxgenError(f"--place {text!r}: the tick after @ must be a whole number of game "
                          f"ticks, 0 or more, got {tick!r}")
    try:
        pos = check_in_world((int(x), int(y), int(z)), origin or DEFAULT_ORIGIN, version,
                             "position")
        if state != USE:
            state = canonical(state)
            encode(state, Materials(), version)
    except ValueError as err:
        raise VoxgenError(f"--place {text!r}: {err}") from None
    except VoxgenError as err:
        raise VoxgenError(f"--place {text!r}: {err.message}") from None
    tick = int(tick or 0)
    if ticks is not None and tick >= ticks:
        raise VoxgenError(f"--place {text!r}: tick {tick} is not below {ticks}, the number of "
                          "ticks run, so it would never be applied")
    return tick, pos, state


def parse_origin(text: str) -> tuple[int, int, int]:
    """'X,Y,Z' -> (x, y, z)."""
    from voxgen.errors import VoxgenError

    match = _ORIGIN.match(text)
    if not match:
        raise VoxgenError(f"--origin wants X,Y,Z (three whole numbers), got {text!r}")
    return tuple(int(v) for v in match.groups())


_NOT_WITH_TRACE = {"ticks": "--ticks", "version": "--version", "out": "--out",
                   "show_trace": "--trace", "no_start": "--no-start", "origin": "--origin"}


@click.command()
@click.argument("file", metavar="FILE|NAME", type=BLUEPRINT)
@click.option("--ticks", type=click.IntRange(0), default=100, show_default=True,
              help="Game ticks to run.")
@click.option("--place", "places", multiple=True, metavar="X,Y,Z=STATE@TICK",
              help="Player placement after tick TICK (@0: before the first tick); repeatable.")
@click.option("--placement", type=click.Choice(["quiet", "loud"]), default=None,
              help="How the blueprint is placed (default quiet; loud for --check-trace).")
@click.option("--version", "version", type=click.Choice(["modern", "1.12"]), default="modern",
              show_default=True, help="Game behaviour to reproduce.")
@click.option("--out", "out", type=GivenPath("the file to write", "moved.schem", dir_okay=False),
              default=None,
              help="Write the final structure here (format by extension).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report.")
@click.option("--trace", "show_trace", is_flag=True, help="Print every block change per tick.")
@click.option("--check-trace", "check_trace", type=GivenPath("a trace file", "trace.json", dir_okay=False),
              default=None,
              help="Replay a real-game trace (samples/physics format) and report the first "
                   "difference; exit 0 only if every tick agrees.")
@click.option("--no-start", is_flag=True, help="Ignore the blueprint's [meta.machine] start.")
@click.option("--origin", default="0,64,0", show_default=True, metavar="X,Y,Z",
              help="Where the blueprint's corner (its 0,0,0) lies in the world, whose border "
                   "and build height stop pushes; positions in and out stay the blueprint's.")
@click.pass_context
def simulate(ctx, file, ticks, places, placement, version, out, as_json, show_trace, check_trace,
             no_start, origin):
    """Run the machine of FILE (or bundled blueprint NAME) for --ticks game
    ticks and report how it moved.

    Without --place or --no-start, a blueprint with a [meta.machine] table is
    started the way that table says. `--place X,Y,Z=use@TICK` right-clicks
    (flips a lever)."""
    from voxgen import formats
    from voxgen.errors import ParameterError, VoxgenError
    from voxgen.physics import machine_spec
    from voxgen.physics import simulate as run
    from voxgen.physics.engine import check_box, check_tick
    from voxgen.physics.world import check_origin
    from voxgen.physics.simulate import MAX_RECORDED_TICKS

    from voxgen.bundled import resolve_blueprint

    file = resolve_blueprint(file)
    origin = parse_origin(origin)
    if check_trace:
        given = [option for name, option in _NOT_WITH_TRACE.items()
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
        if given:           # the trace sets the ticks and the game; nothing is written
            raise VoxgenError("--check-trace replays a trace of the modern game as it was "
                              f"captured, so it takes no {', '.join(given)}")
    try:
        check_tick(ticks, "ticks")
    except ParameterError as err:           # the library names `ticks`; the user typed --ticks
        raise err.as_option() from None
    if show_trace and ticks > MAX_RECORDED_TICKS:
        raise VoxgenError(f"--trace records at most {MAX_RECORDED_TICKS} ticks, got --ticks {ticks}")
    structure = formats.load(file)
    check_box(structure.shape, file)          # before converting it for the engine
    if check_trace:
        sys.exit(_check(structure, check_trace, places, placement or "loud", as_json))
    try:                                      # before the placements, which it places
        check_origin(origin, [structure.shape], version)
    except VoxgenError as err:
        raise VoxgenError(f"--origin: {err.message}", file) from None
    placements = [parse_place(p, version, ticks, origin) for p in places]
    if out:
        formats.format_for_output(out)
    spec = machine_spec(structure)
    if not placements and not no_start and spec is not None:
        placements = spec.start
    try:
        result = run(structure, ticks, placements, placement=placement or "quiet",
                     version=version, record_changes=show_trace, origin=origin)
    except VoxgenError as err:
        raise VoxgenError(err.message, err.path or file) from None
    if out:
        formats.save(result.final, out)
    report = {
        "ticks": result.ticks,
        "displacement": result.displacement,
        "moved": result.moved,
        "origin": list(result.origin),
        "blocks": result.final.count_non_air(),
        "event_count": result.event_count,
        "events": [{"tick": t, "pos": list(p), "kind": k} for t, p, k in result.events],
    }
    if result.event_count > len(result.events):
        report["events_listed"] = len(result.events)      # the first ones; the rest are counted
    if show_trace:
        report["changes"] = [{"tick": t, "pos": list(p), "from": a, "to": b}
                             for t, p, a, b in result.changes]
    if as_json:
        click.echo(json.dumps(report))
        return
    if show_trace:
        for t, p, a, b in result.changes:
            click.echo(f"tick {t:5d} {p}: {a} -> {b}")
    dx, dy, dz = result.displacement
    click.echo(f"{file}: {ticks} ticks, moved={result.moved}, "
               f"displacement=({dx:.12g}, {dy:.12g}, {dz:.12g}), {result.event_count} piston/observer "
               f"events, final box corner {result.origin} (the blueprint's coordinates)")


def _check(structure, trace_path, places, placement, as_json) -> int:
    from voxgen.physics import World
    from voxgen.physics.simulate import USE
    from voxgen.errors import VoxgenError
    from voxgen.physics.trace import Action, load_trace, replay_trace
    from voxgen.physics.world import check_origin, describe_world

    trace = load_trace(trace_path)
    if trace.origin is not None:              # recorded in the file: its own mistake, not an option's
        try:
            check_origin(trace.origin, [structure.shape], "modern")
        except VoxgenError:
            size = "x".join(str(int(v)) for v in structure.shape)
            raise VoxgenError(f"its origin {trace.origin} puts the {size} blueprint outside the world: "
                              f"{describe_world('modern')}", trace_path) from None
    actions = [Action(t, p, None if s == USE else s)
               for t, p, s in (parse_place(p, ticks=trace.n_ticks, origin=trace.origin) for p in places)]
    report = replay_trace(World, structure, trace, actions, placement)
    if as_json:
        click.echo(json.dumps({
            "agree": report.agree, "ticks_checked": report.ticks_checked,
            "first_tick": report.first_tick,
            "first_pos": None if report.first_pos is None else list(report.first_pos),
            "expected": report.expected, "got": report.got}))
    else:
        click.echo(str(report))
    return 0 if report.agree else 1
