"""Hostile input to the physics and `voxgen simulate`: placements far away or
late, huge ticks, malformed trace files. Each is a one-line error (exit 2)
or, where the world allows it, simply works; nothing runs unbounded."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import BLUEPRINTS
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.physics import World, simulate
from voxgen.physics.engine import MAX_TICKS
from voxgen.physics.world import MAX_COORD
from voxgen.physics.trace import MAX_TICKS as MAX_TRACE_TICKS
from voxgen.physics.trace import load_case, load_trace
from voxgen.structure import Structure

FLYING = str(BLUEPRINTS / "flying_machine.toml")
STONE = "minecraft:stone"


def _run(*args):
    return CliRunner().invoke(main, ["simulate", *args])


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in result.output, result.output


@pytest.fixture
def stone():
    return Structure.from_states(np.array([STONE], dtype=object).reshape(1, 1, 1))


def test_a_placement_outside_the_box_grows_it_along_one_axis(stone):
    far = simulate(stone, 3, [(0, (3000, 0, 0), STONE)])
    assert far.final.shape == (3001, 1, 1)
    world = World(stone)
    world.place((0, 0, -2000), STONE)
    assert world.snapshot() == {(0, 0, 0): STONE, (0, 0, -2000): STONE}


def test_a_placement_too_far_for_the_dense_box_says_so(stone):
    with pytest.raises(VoxgenError, match=r"placement at \(29000000, 0, 0\) .* too far"):
        simulate(stone, 3, [(1, (29_000_000, 0, 0), STONE)])
    with pytest.raises(VoxgenError, match=r"placement at \(0, 29000000, 0\) is outside the world"):
        simulate(stone, 3, [(1, (0, 29_000_000, 0), STONE)])
    with pytest.raises(VoxgenError, match="outside the world"):
        World(stone).place((MAX_COORD + 1, 0, 0), STONE)
    with pytest.raises(VoxgenError, match="placement tick"):
        simulate(stone, 3, [(10 ** 20, (0, 0, 0), STONE)])
    with pytest.raises(VoxgenError, match="^ticks=1000000000001: must be at most"):
        simulate(stone, MAX_TICKS + 1)


@pytest.mark.parametrize("args, words", [
    (["--place", "99999999999999999999,0,0=minecraft:stone@0"], ["--place", "outside the world"]),
    (["--place", "0,0,0=minecraft:stone@99999999999999999999"], ["--place", "never be applied"]),
    (["--place", "0,0,0=minecraft:stone@5"], ["--place", "not below 5"]),
    (["--place", "0,0,0=minecraft:bogus_block@0"], ["--place '0,0,0=minecraft:bogus_block@0'",
                                                    "does not model"]),
    (["--place", "0,5,0=minecraft:observer@0"], ["--place", "needs a facing"]),
    (["--ticks", "99999999999999999999"], ["--ticks 99999999999999999999: must be at most"]),
    (["--trace", "--ticks", "100000000"], ["--trace records at most"]),
])
def test_bad_simulate_options_are_one_line(args, words):
    result = _run(FLYING, "--ticks", "5", *args) if "--ticks" not in args else _run(FLYING, *args)
    _one_line_error(result, *words)
    assert "flying_machine.toml" not in result.output      # the file is not to blame


def test_a_far_placement_names_the_placement():
    result = _run(FLYING, "--ticks", "5", "--place", "5000000,0,0=minecraft:stone@0")
    _one_line_error(result, "placement at (5000000, 0, 0)", "too far")


@pytest.mark.parametrize("text, words", [
    ('{"ticks": [{"tick": 1, "events": ["x"]}]}', "ticks[0].events[0] is not an object"),
    ('{"ticks": [{"tick": 1, "events": [{"pos": [0,0,0], "from": 5, "to": "minecraft:air"}]}]}',
     "ticks[0].events[0].from must be a block state"),
    ('{"ticks": [{"tick": 1, "events": [{"pos": [0,0,0], "from": "minecraft:air", "to": "x[[["}]}]}',
     "ticks[0].events[0].to"),
    ('{"ticks": [], "queues": 5}', "'queues' is not a list"),
    ('{"ticks": [{"tick": Infinity, "events": []}]}', "Infinity is not JSON"),
    ('{"ticks": [{"tick": 1e300, "events": []}]}', "integer tick"),
    ('{"ticks": [{"tick": true, "events": []}]}', "integer tick"),
    ('{"ticks": [{"tick": 1, "events": [{"pos": [true,0,0], "from": "minecraft:air", "to": "minecraft:stone"}]}]}',
     "ticks[0].events[0]"),
    ('{"ticks": [{"tick": 1000000000, "events": []}]}', f"0..{MAX_TRACE_TICKS - 1}"),
    ('{"ticks": [{"tick": 1, "events": 3}]}', "events is not a list"),
    ('{"ticks": [7]}', "ticks[0] is not an object"),
    ('{"ticks": [], "structure": 5}', "'structure' must be a string"),
    ('{"ticks": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
])
def test_malformed_trace_is_one_line(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(VoxgenError, match="bad.json: ") as err:
        load_trace(path)
    assert words in str(err.value)
    _one_line_error(_run(FLYING, "--check-trace", str(path)), words)


def test_long_queues_are_refused_before_replay(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(json.dumps({"ticks": [], "queues": [0] * (MAX_TRACE_TICKS + 1)}))
    _one_line_error(_run(FLYING, "--check-trace", str(path)), f"at most {MAX_TRACE_TICKS}")


def test_a_placement_after_the_trace_ends_is_refused(tmp_path):
    path = tmp_path / "short.json"
    path.write_text(json.dumps({"ticks": [{"tick": 2, "events": []}]}))
    result = _run(FLYING, "--check-trace", str(path), "--place", "0,3,0=minecraft:stone@3")
    _one_line_error(result, "--place", "not below 3")


def test_a_case_with_a_huge_check_tick_is_refused(tmp_path):
    path = tmp_path / "c.test.json"
    path.write_text(json.dumps({"structure": "x.snbt", "checks": [{"tick": 10 ** 9}]}))
    with pytest.raises(VoxgenError, match=r"checks\[0\].tick must be an integer tick"):
        load_case(path)


def test_an_unknown_key_in_the_machine_table_is_refused():
    from voxgen import formats
    from voxgen.bundled import bundled_blueprint
    from voxgen.physics.simulate import machine_spec
    structure = formats.load(bundled_blueprint("flying_machine"))
    structure.metadata["machine"]["blocks_per_tik"] = 0.1
    with pytest.raises(VoxgenError, match=r"unknown key\(s\) blocks_per_tik"):
        machine_spec(structure)
