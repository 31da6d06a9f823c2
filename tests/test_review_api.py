"""voxgen used as a Python library: what `import voxgen` offers, and
arguments refused by name (the parameter, not a CLI flag), before any work."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import voxgen
from voxgen.blocks import canonical
from voxgen.errors import ParameterError, VoxgenError
from voxgen.metrics import compare
from voxgen.cut_plane import cut_position
from voxgen.regen import damage_masks

ROOT = Path(__file__).resolve().parent.parent
FLYING = ROOT / "structures" / "flying_machine.safetensors"
needs_flying = pytest.mark.skipif(not FLYING.exists(), reason="flying_machine weights not trained")


@pytest.fixture(scope="module")
def flying():
    from voxgen.grow import load_trained
    return load_trained(FLYING)


# --- the package --------------------------------------------------------------------

def test_import_voxgen_is_light_and_its_names_resolve_on_first_use():
    code = ("import sys, voxgen\n"
            "heavy = [m for m in ('torch', 'numba', 'numpy', 'click') if m in sys.modules]\n"
            "from voxgen.structure import Structure\n"
            "assert voxgen.Structure is Structure\n"
            "assert callable(voxgen.grow.grow) and callable(voxgen.load) and callable(voxgen.regenerate)\n"
            "assert all(hasattr(voxgen, n) for n in voxgen.__all__)\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        voxgen.nope


def test_the_package_docstring_example_flies_the_bundled_machine():
    fm = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    assert voxgen.simulate(fm, 100, voxgen.machine_spec(fm).start).displacement == [10.0, 0.0, 0.0]
    assert "voxgen.simulate(fm, 100, start)" in voxgen.__doc__


# --- regen names its parameters -----------------------------------------------------------

def test_cut_errors_name_the_parameter_not_a_flag():
    solid = np.zeros((8, 3, 4), bool)
    solid[2:6, 0, 1:3] = True
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError) as err:
        damage_masks("cut", solid.shape, 1, rng, axis="x", at=9, solid=solid)
    assert str(err.value) == "at=9: a cut along x must leave blocks on both sides: use 3..5"
    assert err.value.param == "at"
    assert str(err.value.as_option()) == "--at 9: a cut along x must leave blocks on both sides: use 3..5"
    with pytest.raises(ParameterError, match=r"^at=2.5: must be an integer"):
        cut_position(2.5, 8, rng)                # was truncated to 2
    with pytest.raises(ParameterError, match=r"^axis=True: "):
        damage_masks("cut", solid.shape, 1, rng, axis=True, solid=solid)     # was taken as y


def test_a_default_axis_that_cannot_cut_blames_the_damage_not_an_axis_never_given():
    solid = np.zeros((3, 3, 3), bool)
    solid[1, 1, 1] = True
    with pytest.raises(ParameterError, match=r"^damage='cut': no cut .* at most one cell") as err:
        damage_masks("cut", solid.shape, 1, np.random.default_rng(0), solid=solid)
    assert err.value.param == "damage"


def test_parameter_error_as_option_uses_dashes():
    err = ParameterError("check_every", 0, "must be >= 1")
    assert isinstance(err, VoxgenError) and str(err) == "check_every=0: must be >= 1"
    assert str(err.as_option()) == "--check-every 0: must be >= 1"


@needs_flying
@pytest.mark.parametrize("kwargs, param", [
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": 2 ** 63 - 1, "trials": 2}, "seed"),
    ({"trials": 1.5}, "trials"), ({"trials": 0}, "trials"), ({"steps": 2.5}, "steps"),
    ({"ticks": 0}, "ticks"), ({"check_every": 0}, "check_every"), ({"window": -1}, "window"),
    ({"damage": "random", "rate": 2.0}, "rate"), ({"damage": "sphere", "radius": -1}, "radius"),
    ({"at": "random", "jitter": -1}, "jitter"), ({"damage": "burn"}, "damage"),
    ({"axis": "w"}, "axis"), ({"at": "abc"}, "at"),
])
def test_regenerate_refuses_bad_arguments_by_name(flying, kwargs, param):
    with pytest.raises(ParameterError) as err:
        voxgen.regenerate(flying, trials=kwargs.pop("trials", 1), steps=kwargs.pop("steps", 1), **kwargs)
    assert err.value.param == param and str(err.value).startswith(f"{param}=")
    assert "--" not in str(err.value)


@needs_flying
def test_regenerate_takes_numpy_integers_and_its_report_is_json(flying):
    report = voxgen.regenerate(flying, trials=np.int64(1), seed=np.int64(3), steps=np.int64(2),
                               axis=np.int64(2), at=np.int64(2), ticks=np.int64(10))
    text = json.dumps(report)                    # a numpy seed in the report broke this
    assert json.loads(text)["trials"][0]["seed"] == 3
    assert type(report["trials"][0]["seed"]) is int and report["trials"][0]["axis"] == "z"


# --- metrics and blocks ---------------------------------------------------------------

def test_compare_refuses_a_negative_window():
    s = voxgen.load(ROOT / "blueprints" / "caterpillar.toml")
    moved = s.translate((1, 0, 0))
    assert compare(moved, s, translate=True, window=1)["offset"] == [-1, 0, 0]
    with pytest.raises(ValueError, match="window must be >= 0"):
        compare(moved, s, translate=True, window=-1)     # tried no shift, yet reported one


def test_canonical_refuses_what_is_not_a_string():
    assert canonical("Stone") == "minecraft:stone"
    with pytest.raises(TypeError, match="a block state is a str, not int"):
        canonical(5)


def test_compare_of_boxes_with_no_cells_is_exact_not_a_crash():
    from voxgen.structure import Structure

    empty = Structure(np.zeros((0, 3, 3), np.int32), ("minecraft:air",))
    m = compare(empty, empty)                    # was ZeroDivisionError
    assert m["exact"] and m["accuracy"] == 1.0 and m["iou"] == 1.0 and m["wrong_cells"] == 0


@needs_flying
def test_numpy_floats_for_damage_sizes_are_taken_and_reported_as_json(flying):
    report = voxgen.regenerate(flying, damage="random", rate=np.float32(0.25), trials=1, steps=1, ticks=10)
    assert json.loads(json.dumps(report))["trials"][0]["rate"] == 0.25


@needs_flying
def test_regen_render_folder_is_not_left_behind_by_a_refused_cut(tmp_path):
    from click.testing import CliRunner

    from voxgen.cli import main as cli

    out = tmp_path / "made" / "here"
    result = CliRunner().invoke(cli, ["regen", "flying_machine", "--axis", "z", "--at", "9",
                                      "--trials", "1", "--render", str(out)])
    assert result.exit_code == 2 and "--at 9: a cut along z" in result.output, result.output
    assert not (tmp_path / "made").exists()


# --- grow and simulate take whole numbers, by name -------------------------------------

@needs_flying
@pytest.mark.parametrize("kwargs, name", [({"seed": -1}, "seed"), ({"seed": 2 ** 64}, "seed"),
                                          ({"seed": "a"}, "seed"), ({"seed": 1.0}, "seed"),
                                          ({"steps": 2.5}, "steps"), ({"steps": -1}, "steps"),
                                          ({"steps": 40_001}, "steps")])
def test_grow_refuses_a_bad_seed_or_steps_by_name(flying, kwargs, name):
    from voxgen.grow import grow
    with pytest.raises(ParameterError, match=f"^{name}="):
        grow(flying, **kwargs)
    assert grow(flying, steps=np.int64(2), seed=np.uint8(3)).seed == 3       # numpy integers are integers


def test_simulate_refuses_a_fraction_of_a_tick():
    fm = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    for ticks, problem in ((1.5, "must be an integer"), (-5, "must be >= 0"), (10 ** 13, "must be at most")):
        with pytest.raises(ParameterError, match=f"^ticks={ticks}: {problem}"):
            voxgen.simulate(fm, ticks)
    assert voxgen.simulate(fm, np.int64(0)).ticks == 0


@needs_flying
def test_regen_refuses_a_bad_at_naming_the_weights_as_cut_names_its_blueprint():
    from click.testing import CliRunner

    from voxgen.cli import main as cli

    result = CliRunner().invoke(cli, ["regen", "flying_machine", "--at", "3.5", "--trials", "1"])
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "flying_machine.safetensors: --at 3.5: must be an integer, half or random"), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_simulate_refuses_a_fraction_of_a_placement_tick_or_cell():
    from dataclasses import replace
    fm = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    for item in ((2.5, (0, 0, -1), "minecraft:stone"), (2, (0, 0.5, -1), "minecraft:stone")):
        with pytest.raises(ParameterError, match="^placements=.*whole numbers"):
            voxgen.simulate(fm, 10, [item])              # was run at tick 2, cell (0, 0, -1)
    table = {"start": [{"tick": 0.5, "pos": [0, 0, -1], "state": "minecraft:stone"}]}
    with pytest.raises(VoxgenError, match=r"bad \[meta.machine\] table"):
        voxgen.machine_spec(replace(fm, metadata={**fm.metadata, "machine": table}))
