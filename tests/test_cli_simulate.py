"""`voxgen simulate`: JSON report, machine start from [meta.machine],
placements, --out, --trace, --check-trace, bad input."""

import json

import pytest
from click.testing import CliRunner

from conftest import BLUEPRINTS
from voxgen.cli import main
from voxgen.formats import load

FLYING = str(BLUEPRINTS / "flying_machine.toml")


def _run(*args):
    return CliRunner().invoke(main, ["simulate", *args])


def test_json_report_uses_the_machine_start():
    result = _run(FLYING, "--ticks", "100", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ticks"] == 100
    assert report["displacement"] == [10.0, 0.0, 0.0]
    assert report["moved"] is True
    assert report["origin"] == [10, 0, 0]
    assert report["events"][0] == {"tick": 2, "pos": [0, 0, 0], "kind": "observer_on"}


def test_no_start_keeps_it_still():
    report = json.loads(_run(FLYING, "--ticks", "50", "--json", "--no-start").output)
    assert report["moved"] is False and report["displacement"] == [0.0, 0.0, 0.0]


def test_explicit_place_starts_the_other_way():
    result = _run(FLYING, "--ticks", "100", "--json", "--place", "1,0,4=minecraft:stone@0",
                  "--place", "1,0,4=minecraft:air@1")
    report = json.loads(result.output)
    assert report["displacement"] == [-10.0, 0.0, 0.0]


def test_out_writes_the_final_structure_with_its_origin(tmp_path):
    out = tmp_path / "after.toml"
    report = json.loads(_run(FLYING, "--ticks", "30", "--json", "--out", str(out)).output)
    final = load(out)
    assert final.count_non_air() == 6
    assert report["origin"] == [3, 0, 0]


def test_trace_prints_block_changes():
    result = _run(FLYING, "--ticks", "3", "--trace")
    assert result.exit_code == 0
    assert "tick     2 (0, 0, 0): minecraft:observer[facing=north,powered=false] -> " \
           "minecraft:observer[facing=north,powered=true]" in result.output


@pytest.mark.parametrize("args, message", [
    (["--place", "1,2=stone"], "X,Y,Z=STATE@TICK"),
    (["--place", "0,0,0=minecraft:water@0"], "water"),
    (["--out", "x.unknownext"], "cannot write"),
])
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    result = _run(FLYING, "--ticks", "5", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_check_trace_agrees_and_reports_a_difference(samples, tmp_path):
    physics = samples / "physics"
    structure = str(physics / "structures" / "piston_pull.snbt")
    trace = str(physics / "traces" / "piston_pull.json")
    places = [f"--place=1,1,{z}=minecraft:air@6" for z in (1, 3, 5, 7)]
    assert _run(structure, "--check-trace", trace, *places).exit_code == 0
    wrong = _run(structure, "--check-trace", trace, "--json")
    assert wrong.exit_code == 1
    report = json.loads(wrong.output)
    assert report["agree"] is False and report["first_tick"] == 6


def test_displacement_counts_the_machine_not_the_players_blocks():
    """After tick 1 the kick stone is still there (the start breaks it after
    tick 1); a placed observer counts as the player's in any spelling."""
    assert json.loads(_run(FLYING, "--ticks", "1", "--json").output)["displacement"] == [0.0, 0.0, 0.0]
    for state in ("minecraft:observer[facing=up]", "minecraft:observer[facing=up,powered=false]"):
        report = json.loads(_run(FLYING, "--ticks", "100", "--json",
                                 "--place", f"0,0,-1={state}@0").output)
        assert report["displacement"] == [10.0, 0.0, 0.0], state


@pytest.mark.parametrize("place, message", [
    ("0,0,-1=minecraft:stone@-1", "the tick after @ must be a whole number"),
    ("0,0,-1=minecraft:stone@1.5", "got '1.5'"),
    ("0,400,0=minecraft:stone@0", "outside the world"),
    ("0,0,30000000=minecraft:stone@0", "outside the world"),
])
def test_bad_placements_say_what_is_wrong(place, message):
    result = _run(FLYING, "--place", place)
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_placements_may_have_spaces_around_their_parts():
    report = json.loads(_run(FLYING, "--json", "--place", " 0 , 0 , -1 = minecraft:stone @ 0 ",
                             "--place", "0,0,-1=minecraft:air@1").output)
    assert report["displacement"] == [10.0, 0.0, 0.0]


def test_origin_places_the_machine_against_the_world_border():
    """From 100 blocks before the border the machine flies 100 blocks and
    stops there for good; the report stays in the blueprint's coordinates."""
    report = json.loads(_run(FLYING, "--ticks", "100000", "--json",
                             "--origin", "29999883,64,0").output)
    assert report["displacement"] == [100.0, 0.0, 0.0]
    assert report["origin"] == [100, 0, 0]      # its east column at x = 29,999,984
    for origin, message in (("1,2", "three whole numbers"), ("0,320,0", "does not fit"),
                            ("29999983,64,0", "does not fit")):
        result = _run(FLYING, "--origin", origin)
        assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize("extra", [["--ticks", "5"], ["--version", "1.12"], ["--out", "x.schem"],
                                   ["--trace"], ["--origin", "0,0,0"], ["--no-start"]])
def test_check_trace_refuses_options_it_would_ignore(extra, tmp_path):
    trace = tmp_path / "t.json"
    trace.write_text(json.dumps({"format_version": 1, "ticks": [], "queues": [[], []]}))
    result = _run(FLYING, "--check-trace", str(trace), *extra)
    assert result.exit_code == 2 and "--check-trace" in result.output and extra[0] in result.output
    assert not (tmp_path / "x.schem").exists()


def test_use_flips_a_lever(samples):
    """slime_extender: a lever on a sticky piston, flipped by the player
    after tick 5 (its real-game trace, replayed with the same use, agrees)."""
    physics = samples / "physics"
    structure = str(physics / "structures" / "slime_extender.snbt")
    used = json.loads(_run(structure, "--ticks", "8", "--placement", "loud", "--json",
                           "--place", "1,2,1=use@5").output)
    still = json.loads(_run(structure, "--ticks", "8", "--placement", "loud", "--json",
                            "--no-start").output)
    assert used["moved"] and not still["moved"]
    assert {"tick": 6, "pos": [1, 1, 1], "kind": "extend"} in used["events"]
    checked = _run(structure, "--check-trace", str(physics / "traces" / "slime_extender.json"),
                   "--place", "1,2,1=use@5")
    assert checked.exit_code == 0 and "agree" in checked.output, checked.output
    wrong = _run(structure, "--placement", "loud", "--place", "0,0,0=use@1")
    assert wrong.exit_code == 2 and "nothing to use" in wrong.output


def test_odd_digits_and_a_bad_origin_get_one_line():
    result = _run(FLYING, "--no-start", "--place", "0,0,-1=minecraft:stone@²")
    assert result.exit_code == 2 and "whole number" in result.output and "Traceback" not in result.output
    result = _run(FLYING, "--origin", "40000000,64,0", "--place", "0,0,-1=minecraft:stone@0")
    assert result.exit_code == 2 and "--origin" in result.output and "--place" not in result.output


def test_a_right_click_after_the_last_tick_never_happens():
    from voxgen.physics import simulate
    machine = load(FLYING)
    for record in (False, True):
        assert simulate(machine, 5, [(10, (0, 0, 0), "use")], record_changes=record).ticks == 5


def test_check_trace_places_relative_to_the_traces_origin(samples):
    """door_push.json was captured with the structure's corner at y 100: a
    placement 250 above it lies past the top of the world."""
    physics = samples / "physics"
    result = _run(str(physics / "structures" / "door_push.snbt"), "--check-trace",
                  str(physics / "traces" / "door_push.json"), "--place", "0,250,0=minecraft:stone@1")
    assert result.exit_code == 2 and "outside the world" in result.output, result.output
