"""`grow` and `regen` options that did their work in vain or lost a file:
--out among the --frames, a --render picture that cannot be written found
after every trial, --ticks for a structure that does not fly, and too many
--trials blamed on --seed."""

import json

import pytest

from conftest import one_line_error, run
from voxgen import formats
from voxgen.errors import ParameterError


def test_grow_refuses_an_out_that_a_frame_would_replace(tmp_path):
    frames = tmp_path / "frames"
    result = run("grow", "flying_machine", "--frames", frames, "--out", frames / "step_0001.toml")
    one_line_error(result, "step_0001.toml", "--frames")
    assert list(tmp_path.iterdir()) == []


def test_grow_writes_an_out_into_the_frames_folder_it_makes(tmp_path):
    frames = tmp_path / "frames"
    result = run("grow", "flying_machine", "--frames", frames, "--out", frames / "final.toml")
    assert result.exit_code == 0, result.output
    grown = formats.load(frames / "final.toml")
    assert int((grown.blocks != 0).sum()) == 6                  # the whole machine, not a frame
    assert len(list(frames.glob("step_*.toml"))) == 21


def test_regen_refuses_a_picture_it_cannot_write_before_the_trials(tmp_path):
    from voxgen.render import offscreen

    if offscreen.opengl_problem():
        pytest.skip(offscreen.opengl_problem())
    (tmp_path / "caterpillar_regen.gif").mkdir()
    result = run("regen", "caterpillar", "--trials", "1", "--steps", "3", "--render", tmp_path, "--json")
    one_line_error(result, "caterpillar_regen.gif", "is a directory")   # no report printed before it


def test_regen_refuses_ticks_for_a_structure_that_does_not_fly():
    result = run("regen", "cottage", "--trials", "1", "--steps", "2", "--ticks", "5")
    one_line_error(result, "--ticks", "not a machine")


def test_regen_flies_with_ticks_for_a_machine():
    result = run("regen", "flying_machine", "--trials", "1", "--steps", "30", "--ticks", "20", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ticks"] == 20


def test_too_many_trials_are_blamed_on_trials_not_on_seed():
    result = run("regen", "caterpillar", "--trials", str(10 ** 26))
    one_line_error(result, "--trials", "must be <= 9223372036854775808")
    assert "--seed" not in result.output


def test_a_seed_too_high_for_its_trials_is_still_blamed_on_seed():
    from voxgen.grow import load_trained
    from voxgen.regen import regenerate

    with pytest.raises(ParameterError, match="seed=.*use at most 9223372036854775798"):
        regenerate(load_trained("caterpillar"), trials=10, seed=2 ** 63 - 5)
