"""Reading traces, cases and the trace-recipe table: structure and bad input."""

import json

import pytest

from physics_scenarios import FIXTURES
from voxgen.errors import VoxgenError
from voxgen.physics.trace import Action, load_case, load_trace, load_trace_actions, parse_actions


def test_trace_numbering_and_length(samples):
    trace = load_trace(samples / "physics" / "traces" / "door_push.json")
    assert trace.structure == "door_push"
    assert trace.n_ticks == 24                       # len(queues)
    assert sorted(trace.ticks) == [2, 4, 8, 10]
    assert trace.ticks[2][(0, 1, 0)] == ("minecraft:air", "minecraft:redstone_block")
    old = load_trace(samples / "physics" / "traces" / "piston_qc.json")
    assert old.n_ticks == 3                          # no queues: last event tick + 1


def test_case_structure_resolved_by_basename(samples):
    case = load_case(samples / "physics" / "cases" / "flying_machine.test.json")
    assert case.structure_path == samples / "physics" / "structures" / "flying_machine_east.snbt"
    assert case.placement == "quiet"
    assert case.actions[0] == Action(2, (2, 1, 1), "minecraft:redstone_block")
    assert [c["tick"] for c in case.checks] == [61, 61, 71]


def test_recipe_table_reads_uses_and_places():
    recipes = load_trace_actions(FIXTURES / "traces.toml")
    assert recipes["slime_extender"]["actions"] == [Action(5, (1, 2, 1), None)]
    door = recipes["door_push"]["actions"]
    assert len(door) == 10 and {a.tick for a in door} == {2, 8}
    assert all(r["placement"] == "loud" for r in recipes.values())


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "not a JSON object"),
    ('{"ticks": 3}', "no 'ticks' list"),
    ('{"ticks": [{"tick": 0, "events": [{"pos": [1, 2], "from": "stone", "to": "air"}]}]}', "3 integers"),
    ('{"ticks": [{"events": []}]}', r"ticks\[0\].tick must be an integer tick"),
    ("{", "not valid JSON"),
])
def test_bad_trace_is_a_voxgen_error(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(VoxgenError, match=words):
        load_trace(path)


def test_bad_case_and_actions(tmp_path):
    path = tmp_path / "c.test.json"
    path.write_text(json.dumps({"structure": "x.snbt", "settle": "in-world", "checks": []}))
    with pytest.raises(VoxgenError, match="settle mode"):
        load_case(path)
    with pytest.raises(VoxgenError, match="'place' or 'use'"):
        parse_actions([{"tick": 1}])
    with pytest.raises(VoxgenError, match="integer 'tick'"):
        parse_actions([{"tick": "1", "use": [0, 0, 0]}])
    bad = tmp_path / "r.toml"
    bad.write_text('[x]\nplacement = "sideways"\n')
    with pytest.raises(VoxgenError, match="loud or quiet"):
        load_trace_actions(bad)
