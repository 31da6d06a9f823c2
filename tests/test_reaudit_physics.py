"""`simulate` where it told the user less than it knew: the displacement
rounded to 6 digits, a trace's own origin blamed on --origin, a
[meta.machine] start that cannot right-click, and library arguments that
raised Python's own errors or were truncated instead of refused."""

import json

import pytest

from conftest import one_line_error, run
from voxgen.errors import ParameterError


def test_the_displacement_is_printed_in_full():
    result = run("simulate", "flying_machine", "--ticks", "1000000000000")
    assert result.exit_code == 0, result.output
    assert "displacement=(29999983, 0, 0)" in result.output


def test_a_traces_own_origin_outside_the_world_is_the_traces_error(tmp_path):
    trace = tmp_path / "t.json"
    trace.write_text(json.dumps({"origin": [0, 400, 0], "ticks": [{"tick": 1, "events": []}]}))
    result = run("simulate", "flying_machine", "--check-trace", trace)
    one_line_error(result, str(trace), "its origin (0, 400, 0) puts the 2x1x4 blueprint outside the world")
    assert "--origin" not in result.output


LEVER_MACHINE = '''name = "extender"
[meta.machine]
start = [ { pos = [1, 2, 1], state = "use", tick = 5 } ]
[palette]
"." = "minecraft:air"
"#" = "minecraft:stone"
"A" = "minecraft:slime_block"
"C" = "minecraft:sticky_piston[extended=false,facing=east]"
"E" = "minecraft:lever[face=floor,facing=north,powered=false]"
[layers]
y0 = """
###
###
###
"""
y1 = """
...
.CA
...
"""
y2 = """
...
.E.
...
"""
'''


def test_a_machine_start_can_right_click_a_lever(tmp_path):
    from voxgen import formats
    from voxgen.physics import machine_spec

    path = tmp_path / "extender.toml"
    path.write_text(LEVER_MACHINE)
    assert machine_spec(formats.load(path)).start == [(5, (1, 2, 1), "use")]
    result = run("simulate", path, "--ticks", "10", "--json")
    assert result.exit_code == 0, result.output
    assert {"tick": 6, "pos": [1, 1, 1], "kind": "extend"} in json.loads(result.output)["events"]


@pytest.mark.parametrize("placements, origin", [
    ([(0, (0, 0, -1))], (0, 64, 0)),                             # no state
    ([(0, (0, 0), "minecraft:stone")], (0, 64, 0)),              # two coordinates
    ([(0, (0, 0, -1), "minecraft:stone[")], (0, 64, 0)),          # a malformed state
    ([(0, (0, 0, -1), None)], (0, 64, 0)),
    ([], (0.5, 64, 0)),                                          # was run at 0
    ([], "0,64,0"),
    ([], (0, 64)),
])
def test_bad_simulate_arguments_raise_a_parameter_error_naming_them(placements, origin):
    import voxgen

    machine = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    with pytest.raises(ParameterError, match="placements=|origin="):
        voxgen.simulate(machine, 10, placements, origin=origin)


@pytest.mark.parametrize("ticks", [2, 3])
def test_out_mid_move_writes_the_blocks_where_they_are_going(tmp_path, ticks):
    """Not bare moving pistons (their block entities are not written, and
    the game drops them; voxgen refused its own file): the moved blocks at
    their destinations, a file `simulate` runs again."""
    from voxgen import formats

    out = tmp_path / "mid.toml"
    result = run("simulate", "flying_machine", "--ticks", str(ticks), "--out", out, "--json")
    assert result.exit_code == 0, result.output
    moved = formats.load(out)
    states = [moved.palette[i] for i in moved.blocks[moved.blocks != 0]]
    assert not any("moving_piston" in s for s in states)
    assert sum("observer" in s for s in states) == 2 and sum("slime_block" in s for s in states) == 2
    assert json.loads(result.output)["blocks"] == len(states)
    assert run("simulate", out, "--ticks", "20").exit_code == 0
