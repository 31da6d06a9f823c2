"""The world's border and build height (PHYSICS.md §2.2): a block outside them
cannot be pushed, nothing is pushed up off the top or down off the bottom,
and a flying machine stops at the border, also when the engine jumps whole
periods of its flight (periodic.py). Both backends, engine against twin.
"""

import numpy as np
import pytest

from physics_random_worlds import may_edit, random_world
from physics_scenarios import FIXTURES, Run, engine_world, load_scenario, twin_world

from voxgen.errors import VoxgenError
from voxgen.physics import Machines, simulate
from voxgen.physics.world import world_limits

BORDER = 29_999_983          # the last x (and z) inside the world border
TOP = {"modern": 319, "1.12": 255}
BOTTOM = {"modern": -64, "1.12": 0}
TICKS = 30


@pytest.fixture(params=["twin", "engine"])
def backend(request):
    return twin_world() if request.param == "twin" else engine_world()


def _page_at(edge: str, version: str, cells: dict) -> tuple:
    """Where page (0, 0, 0) of a random world lies so that its outermost
    blocks lie against the `edge` of the world."""
    lo = [min(p[a] for p in cells) for a in range(3)]
    hi = [max(p[a] for p in cells) for a in range(3)]
    return {"top": (0, TOP[version] - hi[1], 0), "bottom": (0, BOTTOM[version] - lo[1], 0),
            "east": (BORDER - hi[0], 70, 0), "west": (-BORDER - 1 - lo[0], 70, 0),
            "south": (0, 70, BORDER - hi[2]), "north": (0, 70, -BORDER - 1 - lo[2])}[edge]


def _inside(pos, at, version: str) -> bool:
    return all(lo <= p + a <= hi for p, a, (lo, hi) in zip(pos, at, world_limits(version)))


def _drive(run, triggers, check=None):
    for t in range(TICKS):
        for tick, pos, state in triggers:
            if tick == t and may_edit(run.snapshot().get(pos, "minecraft:air")):
                run.place(pos, state)
        run.tick(1)
        if check:
            check(t + 1)


@pytest.mark.parametrize("edge", ["top", "bottom", "east", "west", "south", "north"])
def test_engine_matches_twin_at_the_edges_of_the_world(edge):
    """Random worlds against each edge agree tick by tick, and the edge
    changes what happens in some of them (against the same world far from
    every edge)."""
    changed = 0
    for seed in range(40_000, 40_200):
        cells, triggers, placement, version = random_world(np.random.default_rng(seed))
        at = _page_at(edge, version, cells)
        triggers = [t for t in triggers if t[2] != "use" and _inside(t[1], at, version)]
        twin = Run(twin_world(), cells, placement, version, world=at)
        engine = Run(engine_world(), cells, placement, version, world=at)

        def check(t):
            assert engine.snapshot() == twin.snapshot(), f"{edge}, seed {seed}: differ after tick {t}"
            assert engine.events() == twin.events(), f"{edge}, seed {seed}: logs differ after tick {t}"

        for t in range(TICKS):
            for tick, pos, state in triggers:
                if tick == t and may_edit(twin.snapshot().get(pos, "minecraft:air")):
                    twin.place(pos, state)
                    engine.place(pos, state)
            twin.tick(1)
            engine.tick(1)
            check(t + 1)
        far = Run(twin_world(), cells, placement, version, world=(0, 100, 0))
        _drive(far, triggers)
        changed += far.snapshot() != twin.snapshot()
    assert changed >= 2, f"the {edge} edge changed nothing in 200 worlds"


def _powered(backend, cells, version, at, ticks=3):
    """`cells` (a piston at page (0, 0, 0)) with a redstone block placed
    beside the piston, after `ticks` ticks, page (0, 0, 0) at world `at`."""
    run = Run(backend, cells, "quiet", version, world=at)
    run.place((1, 0, 0), "minecraft:redstone_block")
    run.tick(ticks)
    return run.snapshot()


@pytest.mark.parametrize("version", ["modern", "1.12"])
def test_nothing_is_pushed_up_off_the_top_of_the_world(backend, version):
    cells = {(0, 0, 0): "minecraft:sticky_piston[extended=false,facing=up]",
             (0, 1, 0): "minecraft:stone"}
    at_top = _powered(backend, cells, version, (0, TOP[version] - 1, 0))   # the stone at the top
    assert at_top[(0, 1, 0)] == "minecraft:stone" and "extended=false" in at_top[(0, 0, 0)]
    below = _powered(backend, cells, version, (0, TOP[version] - 2, 0))
    assert below[(0, 2, 0)] == "minecraft:stone" and "extended=true" in below[(0, 0, 0)]


@pytest.mark.parametrize("version", ["modern", "1.12"])
def test_nothing_is_pushed_down_off_the_bottom_of_the_world(backend, version):
    cells = {(0, 1, 0): "minecraft:sticky_piston[extended=false,facing=down]",
             (0, 0, 0): "minecraft:stone"}
    run = Run(backend, cells, "quiet", version, world=(0, BOTTOM[version], 0))
    run.place((1, 1, 0), "minecraft:redstone_block")
    run.tick(3)
    assert run.snapshot()[(0, 0, 0)] == "minecraft:stone"
    assert "extended=false" in run.snapshot()[(0, 1, 0)]


def test_a_head_reaches_the_top_in_modern_but_not_in_1_12(backend):
    """isPushable looks at air before the edges in modern, canPush after."""
    cells = {(0, 0, 0): "minecraft:piston[extended=false,facing=up]"}
    modern = _powered(backend, cells, "modern", (0, TOP["modern"] - 1, 0))
    old = _powered(backend, cells, "1.12", (0, TOP["1.12"] - 1, 0))
    assert modern[(0, 1, 0)].startswith("minecraft:piston_head")
    assert (0, 1, 0) not in old and "extended=false" in old[(0, 0, 0)]


def _flying_machine(mirrored: bool) -> dict:
    layout = load_scenario(FIXTURES / "scenarios" / "S7_flying_machine_east.toml").layout
    if not mirrored:
        return dict(layout)
    swap = {"facing=east": "facing=west", "facing=west": "facing=east"}
    out = {}
    for (x, y, z), state in layout.items():
        for old, new in swap.items():
            if old in state:
                state = state.replace(old, new)
                break
        out[(-x, y, z)] = state
    return out


@pytest.mark.parametrize("east", [True, False], ids=["east", "west"])
def test_a_flying_machine_stops_at_the_world_border(backend, east):
    """A block inside the border may be pushed out across it, one outside it
    cannot be pushed: the machine's front ends one block past the border."""
    layout = _flying_machine(mirrored=not east)
    start = BORDER - 30 if east else -BORDER + 30
    run = Run(backend, layout, world=(start, 70, 0))
    run.place((0, 0, -2), "minecraft:stone")
    run.tick(400)
    first = run.snapshot()
    run.tick(60)
    assert run.snapshot() == first                                   # stopped for good
    xs = [x + start for (x, _, _), s in first.items() if s != "minecraft:stone"]
    assert (max(xs) == BORDER + 1) if east else (min(xs) == -BORDER - 2)


def _bundled_machine(mirrored: bool):
    """The bundled flying machine (it flies east once kicked, leaving nothing
    behind), or its mirror image, and its kick."""
    from voxgen.bundled import resolve_blueprint
    from voxgen.formats import load
    from voxgen.physics import machine_spec
    from voxgen.structure import Structure

    machine = load(resolve_blueprint("flying_machine"))
    start = machine_spec(machine).start
    if not mirrored:
        return machine, start
    states = np.array(machine.palette, dtype=object)[machine.blocks][::-1].copy()
    swap = {"facing=east": "facing=west", "facing=west": "facing=east"}
    for index, state in np.ndenumerate(states):
        for old, new in swap.items():
            if old in state:
                states[index] = state.replace(old, new)
                break
    width = machine.shape[0]
    return Structure.from_states(states), [(t, (width - 1 - x, y, z), s) for t, (x, y, z), s in start]


def _fast_as_slow(machine, start, origin, version, targets) -> Machines:
    """The machine run with the fast-forward and without, checked equal at
    each tick of `targets` (blocks) and at the end (events); the fast run."""
    fast = Machines([machine], [start], origin=origin, version=version)
    slow = Machines([machine], [start], origin=origin, version=version, fast_forward=False)
    for target in targets:
        fast.run(target)
        slow.run(target)
        assert fast.snapshot(0) == slow.snapshot(0), f"differ at tick {target}"
    assert fast.machine_events(0) == slow.machine_events(0)
    return fast


@pytest.mark.parametrize("east", [True, False], ids=["east", "west"])
def test_fast_forward_stops_at_the_border_as_ticking_every_tick_does(east):
    """The engine jumps whole periods of a flight (periodic.py), but not into
    the border: jumped or ticked, the same blocks and events, tick for tick."""
    machine, start = _bundled_machine(mirrored=not east)
    origin = (BORDER - 2000 if east else -BORDER + 2000, 70, 0)
    fast = _fast_as_slow(machine, start, origin, "modern", (500, 19_000, 20_300, 21_000))
    xs = [x + origin[0] for x, _, _ in fast.snapshot(0)]
    assert (max(xs) == BORDER + 1) if east else (min(xs) == -BORDER - 2)
    assert len(fast.snapshot(0)) == 6


def test_a_long_flight_ends_at_the_border():
    """10^12 ticks east from x = 0: the bundled machine flies to the border
    and stays there (it had flown on to x = 10^11)."""
    from voxgen.bundled import resolve_blueprint
    from voxgen.formats import load
    from voxgen.physics import machine_spec

    machine = load(resolve_blueprint("flying_machine"))
    result = simulate(machine, 10 ** 12, machine_spec(machine).start)
    assert result.origin[0] + machine.shape[0] - 1 == BORDER + 1


def test_blueprints_and_placements_must_lie_in_the_world():
    from voxgen.bundled import resolve_blueprint
    from voxgen.formats import load
    from voxgen.structure import Structure

    column = Structure.from_states(np.full((1, 384, 1), "minecraft:stone", dtype=object))
    assert simulate(column, 1, origin=(0, -64, 0)).ticks == 1        # the whole build height
    for origin, version in (((0, -63, 0), "modern"), ((0, 0, 0), "1.12"), ((0, -65, 0), "modern")):
        with pytest.raises(VoxgenError, match="does not fit in the world"):
            simulate(column, 1, origin=origin, version=version)
    machine = load(resolve_blueprint("flying_machine"))
    for pos in ((0, 256, 0), (0, -129, 0), (BORDER + 1, 0, 0), (0, 0, -BORDER - 2)):
        with pytest.raises(VoxgenError, match="outside the world"):
            simulate(machine, 10, [(0, pos, "minecraft:stone")])            # y 64 + pos
    with pytest.raises(VoxgenError, match="outside the world"):
        engine_world()(machine).place((0, 300, 0), "minecraft:stone")


def _machine_flying_down():
    """The bundled machine turned so that east points down: (x, y, z) ->
    (z, -x, y), so east -> down, west -> up, north -> west, south -> east
    (its observers then face sideways, clear of quasi-connectivity)."""
    from voxgen.structure import Structure

    machine, start = _bundled_machine(mirrored=False)
    states = np.array(machine.palette, dtype=object)[machine.blocks]
    sx, sy, sz = machine.shape
    turn = {"east": "down", "west": "up", "north": "west", "south": "east"}
    turned = np.full((sz, sx, sy), "minecraft:air", dtype=object)
    for (x, y, z), state in np.ndenumerate(states):
        for old, new in turn.items():
            if f"facing={old}" in state:
                state = state.replace(f"facing={old}", f"facing={new}")
                break
        turned[z, sx - 1 - x, y] = state
    # the kick at z = -1 turns to x = -1: shift everything one cell east
    padded = np.full((sz + 1, sx, sy), "minecraft:air", dtype=object)
    padded[1:] = turned
    return Structure.from_states(padded), [(t, (z + 1, sx - 1 - x, y), s) for t, (x, y, z), s in start]


def test_fast_forward_flies_down_to_the_bottom_as_ticking_every_tick_does():
    """Along y too (modern only: in 1.12 this turned machine does not start
    from its kick, which was not looked into)."""
    version = "modern"
    machine, start = _machine_flying_down()
    origin = (0, BOTTOM[version] + 150, 0)
    fast = _fast_as_slow(machine, start, origin, version, (300, 1400, 1600, 2500))
    ys = [y + origin[1] for _, y, _ in fast.snapshot(0)]
    assert min(ys) <= BOTTOM[version] + 1 and max(ys) < origin[1] - 100    # it flew down to the bottom


def test_a_machine_flying_off_from_a_block_it_left_grows_its_box_along_its_flight_alone():
    """The box grew by half along every axis when one was crowded: the
    4.2 M cells ran out after 73 blocks of flight (84x77x92 cells for blocks
    spanning 74x1x5). Along x alone, 300 blocks are nothing."""
    import json

    from conftest import run

    result = run("simulate", "flying_machine", "--no-start", "--place", "0,0,-1=minecraft:stone@0",
                 "--ticks", "3000", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["displacement"][0] == 300
