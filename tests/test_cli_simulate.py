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
