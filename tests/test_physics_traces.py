"""Real-game traces (../shared/samples/physics/) replay tick-exact on the twin
and on the numba engine; the two end-state cases pass their checks."""

import pytest

from physics_scenarios import backend, FIXTURES, engine_world, twin_world
from voxgen.errors import VoxgenError
from voxgen.formats import snbt
from voxgen.physics.trace import check_case, load_case, load_trace, load_trace_actions, replay_trace

RECIPES = load_trace_actions(FIXTURES / "traces.toml")




def _load_or_skip(backend, structure, placement):
    """The engine may refuse blocks outside its set (levers, doors): that is a
    skip with the engine's own reason, never a silent pass."""
    try:
        backend(structure, placement=placement)
    except VoxgenError as err:
        pytest.skip(f"backend refuses this structure: {err}")


def test_every_sample_trace_has_a_recipe(samples):
    names = {p.stem for p in (samples / "physics" / "traces").glob("*.json")}
    assert names == set(RECIPES)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_trace_replays_tick_exact(samples, backend, name):
    recipe = RECIPES[name]
    trace = load_trace(samples / "physics" / "traces" / f"{name}.json")
    structure = snbt.load(samples / "physics" / "structures" / f"{name}.snbt")
    _load_or_skip(backend, structure, recipe["placement"])
    try:
        report = replay_trace(backend, structure, trace, recipe["actions"], recipe["placement"])
    except VoxgenError as err:  # e.g. `use` of a lever on an engine without levers
        pytest.skip(f"backend refuses an action of this trace: {err}")
    assert report.agree, f"{name}: {report}; all differences that tick: {report.detail}"
    assert report.ticks_checked == trace.n_ticks


@pytest.mark.parametrize("name", ["door_push", "flying_machine"])
def test_case_end_states(samples, backend, name):
    case = load_case(samples / "physics" / "cases" / f"{name}.test.json")
    structure = snbt.load(case.structure_path)
    _load_or_skip(backend, structure, case.placement)
    assert check_case(backend, structure, case) == []


def test_a_wrong_trace_is_reported_at_its_first_difference(samples):
    """The replay can fail: shift one recorded change by a tick."""
    trace = load_trace(samples / "physics" / "traces" / "piston_qc.json")
    trace.ticks[1] = trace.ticks.pop(2)
    structure = snbt.load(samples / "physics" / "structures" / "piston_qc.snbt")
    report = replay_trace(twin_world(), structure, trace, (), "loud")
    assert not report.agree and report.first_tick == 1
    assert report.first_pos == (1, 1, 0)
    assert report.got == "no change"


def test_quiet_placement_changes_the_placement_pulse(samples):
    """flying_machine.json needs the loud paste: quiet placement never pulses."""
    trace = load_trace(samples / "physics" / "traces" / "flying_machine.json")
    structure = snbt.load(samples / "physics" / "structures" / "flying_machine.snbt")
    report = replay_trace(twin_world(), structure, trace, (), "quiet")
    assert not report.agree and report.first_tick == 1
