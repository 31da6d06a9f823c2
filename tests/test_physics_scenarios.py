"""PHYSICS.md §4 scenarios, exact, on the slow twin and on the numba engine.

Each scenario is a fixture file in physics_fixtures/scenarios/; the test id is
its `test` name (e.g. sticky_piston_spits_on_a_short_pulse).
"""

import pytest

from physics_scenarios import backend, SCENARIOS, engine_world, load_scenario, run_scenario, twin_world

CASES = [load_scenario(p) for p in SCENARIOS]




def test_every_page_scenario_has_a_fixture():
    names = {c.name for c in CASES}
    assert {"S1", "S2", "S2b", "S2c", "S3a", "S3b", "S3c", "S4", "S4b", "S4c", "S5", "S7"} <= names


@pytest.mark.parametrize("scn", CASES, ids=[c.test for c in CASES])
def test_scenario(backend, scn):
    worlds, events = run_scenario(backend, scn)
    for after, want in sorted(scn.expect.items()):
        got = worlds[after]
        diff = {p: (want.get(p), got.get(p)) for p in set(want) | set(got) if want.get(p) != got.get(p)}
        assert not diff, f"{scn.name} after tick {after}: (expected, got) per cell {diff}"
    if scn.events is not None:
        assert events == scn.events
