"""The numba engine on whole machines: speed of the bundled machines,
stopping at obsidian, invariants (mirror, translation, conservation),
refusals, and batch == one-by-one. Kernel-vs-twin agreement lives in
test_physics_differential.py."""

import numpy as np
import pytest

from conftest import BLUEPRINTS
from voxgen.errors import VoxgenError
from voxgen.formats import load
from voxgen.physics import World, machine_spec, simulate, simulate_batch
from voxgen.structure import Structure


@pytest.fixture(scope="module")
def flying():
    return load(BLUEPRINTS / "flying_machine.toml")


@pytest.fixture(scope="module")
def caterpillar():
    return load(BLUEPRINTS / "caterpillar.toml")


def _started(structure, ticks, **kw):
    return simulate(structure, ticks, machine_spec(structure).start, **kw)


def test_flying_machine_flies_one_block_per_ten_ticks_for_500_ticks(flying):
    result = _started(flying, 500)
    assert result.displacement == [50.0, 0.0, 0.0]
    assert result.final.count_non_air() == 6
    assert result.origin == (50, 0, 0)
    shifted = flying.trimmed()
    assert result.final.same_blocks(shifted)


def test_flying_machine_period_is_exactly_ten_ticks(flying):
    world = started_world(flying)
    world.tick(300)
    extends = [t for t, _, kind in world.events if kind == "extend"]
    first_half = extends[0::2]
    assert np.all(np.diff(first_half) == 10)


def test_flying_machine_without_a_kick_stays_still(flying):
    result = simulate(flying, 200)
    assert not result.moved and result.displacement == [0.0, 0.0, 0.0]


def test_flying_machine_stops_at_obsidian(flying):
    padded = flying.pad([(0, 12), (0, 0), (0, 0)])
    states = padded.state_array()
    states[9, 0, :] = "minecraft:obsidian"      # a wall 8 cells ahead of the front half
    wall = Structure.from_states(states, metadata=flying.metadata)
    result = _started(wall, 400)
    later = _started(wall, 800)
    assert 0 < result.displacement[0] < 9
    assert later.displacement == result.displacement
    assert later.final.counts().get("minecraft:obsidian") == 4


def _mirror_x(structure):
    """East/west mirror: flip x and swap east/west facings."""
    swap = {"east": "west", "west": "east"}
    states = structure.state_array()[::-1]
    out = np.empty(states.shape, dtype=object)
    for idx, s in np.ndenumerate(states):
        for a, b in (("facing=east", "facing=@"), ("facing=west", "facing=east"),
                     ("facing=@", "facing=west")):
            s = s.replace(a, b)
        out[idx] = s
    return Structure.from_states(out)


def test_east_west_mirror_flies_west_at_the_same_speed(flying):
    mirrored = _mirror_x(flying)
    x = flying.shape[0] - 1
    start = [(t, (x - p[0], p[1], p[2]), s) for t, p, s in machine_spec(flying).start]
    east = _started(flying, 300)
    west = simulate(mirrored, 300, start)
    assert west.displacement == [-east.displacement[0], 0.0, 0.0]
    assert [(t, k) for t, _, k in west.events] == [(t, k) for t, _, k in east.events]


def test_translation_invariance(caterpillar):
    spec = machine_spec(caterpillar)
    offset = (3, 2, 5)
    moved = caterpillar.pad([(o, 0) for o in offset])
    start = [(t, tuple(p + o for p, o in zip(pos, offset)), s) for t, pos, s in spec.start]
    a = simulate(caterpillar, 137, spec.start)
    b = simulate(moved, 137, start)
    assert a.displacement == pytest.approx(b.displacement, abs=1e-9)
    assert b.origin == tuple(o + d for o, d in zip(a.origin, offset))
    assert a.final.same_blocks(b.final)
    assert [(t, tuple(p + o for p, o in zip(pos, offset)), k) for t, pos, k in a.events] == b.events


def test_blocks_are_conserved_while_the_caterpillar_crawls(caterpillar):
    world = started_world(caterpillar)
    for _ in range(60):
        world.tick(1)
        assert len(world.snapshot()) in (24, 25)   # 25 while a piston head is out
    assert len(world.snapshot()) == 24


def test_caterpillar_crawls_and_its_halves_do_not(caterpillar):
    assert caterpillar.count_non_air() >= 20
    assert all(n <= m for n, m in zip(caterpillar.shape, (12, 6, 8)))
    spec = machine_spec(caterpillar)
    assert spec.direction == (1, 0, 0) and spec.blocks_per_tick == pytest.approx(0.1)
    whole = simulate(caterpillar, 400, spec.start)
    assert whole.displacement == [40.0, 0.0, 0.0]
    assert whole.final.same_blocks(caterpillar)
    long_axis = int(np.argmax(caterpillar.shape))
    halves = caterpillar.cut_along(long_axis, caterpillar.shape[long_axis] // 2)
    for half in halves:
        for placement in ("quiet", "loud"):
            result = simulate(half, 400, spec.start, placement=placement)
            assert np.abs(result.displacement).max() < 0.5


def test_caterpillar_pushes_stay_within_the_push_limit(caterpillar):
    """Every stroke moves at most 12 blocks: count moving pistons per tick."""
    result = simulate(caterpillar, 60, machine_spec(caterpillar).start, record_changes=True)
    started = {}
    for tick, _, before, after in result.changes:
        if after.startswith("minecraft:moving_piston") and "type=normal" in after:
            started[tick] = started.get(tick, 0) + 1
    assert started and max(started.values()) <= 12


@pytest.mark.parametrize("state", ["minecraft:water", "minecraft:redstone_wire[power=0]",
                                   "minecraft:moving_piston[facing=east,type=normal]",
                                   "minecraft:comparator[facing=north,mode=compare,powered=false]"])
def test_unknown_or_unmodelled_blocks_are_refused_by_name(state):
    block = state.partition("[")[0]
    structure = Structure.from_states(np.array([[["minecraft:stone", state]]], dtype=object))
    with pytest.raises(VoxgenError, match=block):
        World(structure)


def test_a_used_lever_powers_a_piston_and_only_levers_can_be_used():
    lever = "minecraft:lever[face=floor,facing=north,powered=false]"
    piston = "minecraft:piston[extended=false,facing=east]"
    states = np.array([[["minecraft:stone", piston], ["minecraft:air", lever]]], dtype=object)
    world = World(Structure.from_states(states))          # piston (0,0,1), lever on it
    with pytest.raises(VoxgenError, match="only levers"):
        world.use((0, 0, 0))
    world.use((0, 1, 1))
    assert world.snapshot()[(0, 1, 1)] == lever.replace("powered=false", "powered=true")
    world.tick(3)
    # the extended piston has no full top face: the lever breaks, the piston retracts
    assert (0, 1, 1) not in world.snapshot()
    assert [k for _, _, k in world.events] == ["extend", "retract"]


def test_honey_is_refused_in_1_12():
    structure = Structure.from_states(np.array([[["minecraft:honey_block"]]], dtype=object))
    World(structure)
    with pytest.raises(VoxgenError, match="honey"):
        World(structure, version="1.12")


def test_batch_equals_one_by_one(flying, caterpillar):
    structures = [flying, caterpillar, flying, caterpillar.cut_along("x", 4)[1]]
    starts = [machine_spec(flying).start, machine_spec(caterpillar).start, [],
              machine_spec(caterpillar).start]
    batch = simulate_batch(structures, 123, starts)
    for s, start, got in zip(structures, starts, batch):
        alone = simulate(s, 123, start)
        assert got.displacement == alone.displacement
        assert got.events == alone.events
        assert got.origin == alone.origin and got.final.same_blocks(alone.final)


def test_world_grows_beyond_its_box(flying):
    result = _started(flying, 2000)
    assert result.displacement == [200.0, 0.0, 0.0]


@pytest.mark.parametrize("ticks", [7, 333, 1234])
def test_periodic_fast_forward_equals_ticking_every_tick(flying, caterpillar, ticks):
    from voxgen.physics import Machines
    structures = [flying, caterpillar, caterpillar.cut_along("x", 4)[0]]
    starts = [machine_spec(s).start if s is not structures[2] else machine_spec(caterpillar).start
              for s in structures]
    fast = Machines(structures, starts)
    slow = Machines(structures, starts, fast_forward=False)
    for target in (ticks, ticks + 3, ticks + 40):
        fast.run(target)
        slow.run(target)
        for b in range(len(structures)):
            assert fast.snapshot(b) == slow.snapshot(b)
            assert fast.machine_events(b) == slow.machine_events(b)


@pytest.mark.parametrize("limit", [0, 1, 5, 333, 10**6])
def test_event_summary_is_the_head_and_count_of_the_full_log(flying, caterpillar, limit):
    """Read before the log is expanded (periodic repeats still compressed),
    the summary lists the first `limit` events of the full list and counts
    all of them; read again after, it agrees with itself."""
    from voxgen.physics import Machines
    structures = [flying, caterpillar]
    starts = [machine_spec(s).start for s in structures]
    fast = Machines(structures, starts)
    slow = Machines(structures, starts, fast_forward=False)
    fast.run(1500)
    slow.run(1500)
    for b in range(len(structures)):
        head, count, kinds = fast.machine_event_summary(b, limit)
        full = slow.machine_events(b)
        assert head == full[:limit] and count == len(full) > 1000
        assert kinds == {kind for _, _, kind in full} >= {"extend", "retract"}
        fast.machine_events(b)
        assert fast.machine_event_summary(b, limit) == (head, count, kinds)


def test_a_long_flight_is_counted_not_listed(flying):
    result = _started(flying, 10**7)                 # 8 million events, kept compressed
    assert result.displacement == [10**6, 0.0, 0.0] and result.moved
    assert result.event_count == 8 * 10**6 and len(result.events) == 100_000


def _obsidian_wall(flying, distance):
    """The flying machine with a wall of obsidian `distance` cells ahead."""
    padded = flying.pad([(0, distance + 4), (0, 0), (0, 0)])
    states = padded.state_array()
    states[distance + 1, 0, :] = "minecraft:obsidian"
    return Structure.from_states(states, metadata=flying.metadata)


def test_sharing_identical_machines_equals_simulating_each(flying, caterpillar):
    """A mixed batch: copies of one started machine, the same machine unstarted or
    started later, machines that stop at obsidian at two distances, caterpillars
    and a half. Sharing work between identical machines (and fast-forward) gives
    the same worlds and logs as every machine ticked alone, before and after one
    copy is changed by a player placement."""
    from voxgen.physics import Machines
    from voxgen.physics import dedup
    near, far = _obsidian_wall(flying, 5), _obsidian_wall(flying, 9)
    fly, cat = machine_spec(flying).start, machine_spec(caterpillar).start
    late = [(t + 7, p, s) for t, p, s in fly]
    half = caterpillar.cut_along("x", 4)[0]
    batch = [(flying, fly), (flying, fly), (near, fly), (flying, []), (far, fly), (near, fly),
             (caterpillar, cat), (flying, late), (caterpillar, cat), (half, cat), (flying, fly),
             (far, fly)]
    structures, starts = [s for s, _ in batch], [p for _, p in batch]
    shared = Machines(structures, starts)
    alone = Machines(structures, starts, fast_forward=False, share_identical=False)
    arrays = (shared.grid, shared.meta, shared.sched, shared.events_q, shared.moving, shared.logs,
              shared.places)
    assert list(dedup.classes(*arrays)) == [0, 0, 2, 3, 4, 2, 6, 7, 6, 9, 0, 4]
    for target in (3, 61, 250, 251, 600):
        if target == 251:           # one copy diverges: a block in front of its observer
            x = min(p[0] for p in shared.snapshot(10))
            for m in (shared, alone):
                m.player_place(10, (x, 0, -1), "minecraft:stone")
        shared.run(target)
        alone.run(target)
        for b in range(len(batch)):
            assert shared.snapshot(b) == alone.snapshot(b), (target, b)
            assert shared.machine_events(b) == alone.machine_events(b), (target, b)
    stopped = [alone.snapshot(b) for b in (2, 4)]
    assert all(sum("obsidian" in s for s in w.values()) == 4 for w in stopped)
    reps = dedup.classes(shared.grid, shared.meta, shared.sched, shared.events_q, shared.moving,
                         shared.logs, shared.places)
    assert reps[1] == 0 and reps[10] == 10 and reps[5] == 2


def started_world(machine):
    """A World with the machine's [meta.machine] start placements applied at their ticks."""
    world = World(machine)
    for tick, pos, state in machine_spec(machine).start:
        while world.time < tick:
            world.tick(1)
        world.place(pos, state)
    return world
