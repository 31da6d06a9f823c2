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


def _sample_trace(samples, name="piston_qc"):
    return json.loads((samples / "physics" / "traces" / f"{name}.json").read_text())


def _write(tmp_path, doc):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_tick_listed_twice_is_refused_not_overwritten(tmp_path, samples):
    doc = _sample_trace(samples)
    doc["ticks"].insert(0, {"tick": 0, "events": [
        {"phase": "tick_end", "kind": "block_changed", "pos": [5, 5, 5],
         "from": "minecraft:air", "to": "minecraft:gold_block"}]})
    with pytest.raises(VoxgenError, match=r"ticks\[1\]: tick 0 is listed twice"):
        load_trace(_write(tmp_path, doc))


def test_ticks_out_of_order_are_refused(tmp_path, samples):
    doc = _sample_trace(samples)
    doc["ticks"].reverse()                                    # 2, then 0
    with pytest.raises(VoxgenError, match=r"ticks\[1\]: tick 0 comes after tick 2"):
        load_trace(_write(tmp_path, doc))


def test_a_cell_changing_twice_in_one_tick_is_refused(tmp_path, samples):
    doc = _sample_trace(samples)
    events = doc["ticks"][1]["events"]
    events.append(dict(events[0], to="minecraft:gold_block"))
    with pytest.raises(VoxgenError, match=r"ticks\[1\].events\[\d+\]: cell \[\d+, \d+, \d+\] "
                                          "changes twice"):
        load_trace(_write(tmp_path, doc))


def test_no_ticks_without_queues_is_nothing_to_check(tmp_path, samples):
    doc = _sample_trace(samples)
    doc["ticks"] = []
    with pytest.raises(VoxgenError, match="nothing to check"):
        load_trace(_write(tmp_path, doc))
    # With 'queues' the capture's length is known: "no change in 24 ticks" is a real check.
    quiet = _sample_trace(samples, "door_push")
    quiet["ticks"] = []
    trace = load_trace(_write(tmp_path, quiet))
    assert trace.n_ticks == 24 and trace.ticks == {}


def test_changes_past_the_captured_ticks_are_refused(tmp_path, samples):
    doc = _sample_trace(samples, "door_push")
    doc["queues"] = doc["queues"][:10]                         # events at 10 stay
    with pytest.raises(VoxgenError, match="tick 10 has changes, but 'queues' records only 10"):
        load_trace(_write(tmp_path, doc))


@pytest.mark.parametrize("version", [2, 0, "1", 1.0, True, None])
def test_an_unknown_format_version_is_refused(tmp_path, samples, version):
    doc = _sample_trace(samples)
    doc["format_version"] = version
    with pytest.raises(VoxgenError, match="format_version .* is not supported"):
        load_trace(_write(tmp_path, doc))


def test_a_missing_format_version_is_read_as_1(tmp_path, samples):
    doc = _sample_trace(samples)
    del doc["format_version"]
    assert sorted(load_trace(_write(tmp_path, doc)).ticks) == [0, 2]


@pytest.mark.parametrize("x, ok", [(30_000_000, True), (-30_000_000, True),
                                   (30_000_001, False), (10 ** 20, False)])
def test_positions_must_be_inside_the_world(tmp_path, samples, x, ok):
    doc = _sample_trace(samples)
    doc["ticks"][0]["events"][0]["pos"] = [x, 0, 0]
    path = _write(tmp_path, doc)
    if ok:
        assert (x, 0, 0) in load_trace(path).ticks[0]
    else:
        with pytest.raises(VoxgenError, match=r"ticks\[0\].events\[0\]: position .* outside the world"):
            load_trace(path)


def test_check_trace_cli_refuses_a_duplicated_tick_in_one_line(tmp_path, samples):
    from click.testing import CliRunner

    from voxgen.cli import main

    doc = _sample_trace(samples)
    doc["ticks"].insert(0, dict(doc["ticks"][0]))
    path = _write(tmp_path, doc)
    structure = samples / "physics" / "structures" / "piston_qc.snbt"
    result = CliRunner().invoke(main, ["simulate", str(structure), "--check-trace", str(path)])
    assert result.exit_code == 2, result.output
    assert "agree" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "t.json: ticks[1]: tick 0 is listed twice" in lines[0]
