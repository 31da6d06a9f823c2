"""The bundled blueprints (blueprints/*.toml) load, use canonical states the
registry knows, round-trip through the text format loss-free, match their
generator, and hold the block states the game itself would compute."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from voxgen import blocks, formats
from voxgen.blocks import AIR, block_id, block_info, canonical, is_known, properties
from voxgen.formats.text import format_text, parse

BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
PATHS = sorted(BLUEPRINTS.glob("*.toml"))
SIDES = {"north": (0, -1), "south": (0, 1), "west": (-1, 0), "east": (1, 0)}


def load(name):
    return formats.load(BLUEPRINTS / f"{name}.toml")


def test_the_bundled_blueprints_are_there():
    names = {p.stem for p in PATHS}
    assert {"flying_machine", "tree", "cottage", "temple"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_blueprint_loads_with_known_canonical_states(path):
    s = formats.load(path)
    assert s.count_non_air() > 0
    assert s.palette[0] == AIR
    for state in s.palette:
        assert canonical(state) == state
        assert is_known(state) or block_info(state).colour != blocks._UNKNOWN_COLOUR, state


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_blueprint_text_round_trip_is_loss_free(path):
    s = formats.load(path)
    text = format_text(s)
    back = parse(text, path)
    assert back.same_blocks(s)
    assert back.palette == s.palette
    assert back.name == s.name and back.data_version == s.data_version
    assert {k: v for k, v in back.metadata.items() if k != "format"} == \
           {k: v for k, v in s.metadata.items() if k != "format"}
    assert format_text(back) == text


def test_generated_blueprints_match_their_generator():
    spec = importlib.util.spec_from_file_location("blueprint_generator", BLUEPRINTS / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for name, build in generator.BLUEPRINTS.items():
        on_disk = (BLUEPRINTS / f"{name}.toml").read_text(encoding="utf-8")
        assert format_text(build()) == on_disk, f"{name}.toml is stale: run blueprints/generate.py"


@pytest.mark.parametrize("name, lo, hi, min_blocks, max_states", [
    ("tree", (7, 9, 7), (9, 11, 9), 100, 10),
    ("cottage", (8, 7, 8), (10, 9, 10), 150, 20),
    ("temple", (19, 18, 19), (21, 20, 21), 1000, 20),
])
def test_blueprint_size_and_variety(name, lo, hi, min_blocks, max_states):
    s = load(name)
    assert all(a <= n <= b for a, n, b in zip(lo, s.shape, hi)), s.shape
    assert min_blocks <= s.count_non_air() <= 2500
    assert len(s.palette) <= max_states


def test_tree_has_logs_along_every_axis_under_a_canopy():
    s = load("tree")
    counts = s.counts()
    for axis in "xyz":
        assert counts.get(f"minecraft:oak_log[axis={axis}]", 0) > 0
    leaves = np.isin(s.blocks, [s.palette.index(p) for p in s.palette if "leaves" in p])
    assert leaves.sum() > counts["minecraft:oak_log[axis=y]"]


def test_cottage_door_halves_are_stacked():
    s = load("cottage")
    states = s.state_array()
    lowers = [tuple(p) for p in np.argwhere(np.vectorize(lambda v: "half=lower" in v and "door" in v)(states))]
    assert len(lowers) == 1
    x, y, z = lowers[0]
    upper = properties(states[x, y + 1, z])
    lower = properties(states[x, y, z])
    assert block_id(states[x, y + 1, z]) == "minecraft:oak_door" and upper.pop("half") == "upper"
    lower.pop("half")
    assert upper == lower


def test_temple_roof_stairs_face_all_four_ways():
    facings = {properties(p)["facing"] for p in load("temple").palette if "sandstone_stairs" in p}
    assert facings == {"north", "south", "east", "west"}


def _neighbour(states, x, y, z, side):
    dx, dz = SIDES[side]
    if 0 <= x + dx < states.shape[0] and 0 <= z + dz < states.shape[2]:
        return states[x + dx, y, z + dz]
    return AIR


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_glass_panes_connect_as_the_game_would(path):
    """A pane side is connected iff that neighbour is a pane or a full solid block."""
    states = formats.load(path).state_array()
    for x, y, z in np.argwhere(np.vectorize(lambda v: block_id(v) == "minecraft:glass_pane")(states)):
        props = properties(states[x, y, z])
        for side in SIDES:
            other = _neighbour(states, x, y, z, side)
            expect = block_id(other) == "minecraft:glass_pane" or block_info(other).physics == "solid"
            assert props[side] == str(expect).lower(), (path.stem, (x, y, z), side)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_stair_shapes_are_what_the_game_would_compute(path):
    """The game makes a stair straight unless the stair in front of or
    behind it (same half) faces across it; every bundled stair claims
    straight, so no such neighbour may exist."""
    states = formats.load(path).state_array()
    opposite = {"north": "south", "south": "north", "east": "west", "west": "east"}
    axis = {"north": "z", "south": "z", "east": "x", "west": "x"}
    for x, y, z in np.argwhere(np.vectorize(lambda v: block_id(v).endswith("_stairs"))(states)):
        props = properties(states[x, y, z])
        assert props["shape"] == "straight", (path.stem, (x, y, z))
        for side in (props["facing"], opposite[props["facing"]]):
            other = _neighbour(states, x, y, z, side)
            if block_id(other).endswith("_stairs") and properties(other)["half"] == props["half"]:
                assert axis[properties(other)["facing"]] == axis[props["facing"]], (path.stem, (x, y, z))
