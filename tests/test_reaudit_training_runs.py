"""Training runs that went on otherwise than the user was told: the lr of a
resume that changes the budget, the resume of an --init run on a blueprint
file that is trained in stages, the weights a staged run writes before its
last stage, and a run folder's hand-edited stages list."""

import json

import pytest

from conftest import one_line_error, run, write_tiny


def _lrs(path):
    return {row["it"]: row["lr"] for row in map(json.loads, path.read_text().splitlines()) if "lr" in row}


def test_a_resume_with_a_larger_budget_goes_on_from_the_lr_it_was_at(tmp_path):
    """The lr never jumps back up at a resume: the rest of the cosine
    schedule is spread over the iterations left (once, then again)."""
    write_tiny(tmp_path, "grow")
    spec, out = tmp_path / "tiny.toml", tmp_path / "run"
    spec.write_text(spec.read_text().replace("checkpoint_every = 50", "checkpoint_every = 4"))
    common = ["--threads", "1", "--out", out, "--weights", tmp_path / "w.safetensors"]
    assert run("train", spec, "--iterations", "8", *common).exit_code == 0
    result = run("train", spec, "--iterations", "16", "--resume", *common)
    assert result.exit_code == 0, result.output
    assert "iterations 8 -> 16: the cosine lr schedule goes on from where it was" in result.output
    assert run("train", spec, "--iterations", "24", "--resume", *common).exit_code == 0
    lrs = _lrs(out / "metrics.jsonl")
    assert sorted(lrs) == list(range(24))
    assert all(lrs[i + 1] <= lrs[i] for i in range(23))               # never up (it jumped to 2.1e-3 at 8)
    assert lrs[7] > lrs[8] == lrs[16] == lrs[23] == pytest.approx(4e-3 * 0.05)   # a finished schedule stays so
    # the same budget again: the run goes on with the schedule it had (as an uninterrupted one would)
    assert run("train", spec, "--iterations", "24", "--resume", *common).exit_code == 0


def test_the_schedule_left_is_spread_over_the_iterations_left():
    from voxgen.nca.config import NCAConfig, lr_at, schedule_anchor

    old, new = NCAConfig(iterations=100), NCAConfig(iterations=300)
    assert schedule_anchor(old, old, 50) is None
    anchor = schedule_anchor(old, new, 50)
    assert anchor == (50, 0.5) and lr_at(new, 50, anchor) == lr_at(old, 50)    # where it was
    assert lr_at(new, 175, anchor) == pytest.approx(lr_at(old, 75))             # the rest spread over 250
    assert lr_at(new, 300, anchor) == pytest.approx(new.lr * new.lr_final)
    assert schedule_anchor(old, NCAConfig(iterations=300, lr_schedule="constant"), 50) is None
    step = NCAConfig(iterations=100, lr_schedule="step")
    assert lr_at(step, 60) == lr_at(NCAConfig(iterations=400, lr_schedule="step"), 60,
                                    schedule_anchor(step, NCAConfig(iterations=400), 60))


def _large_blueprint(path):
    """A 7x7x7 text blueprint of 343 blocks: more than the defaults suit."""
    rows = "\n".join("".join("AB"[(x + y) % 2] for x in range(7)) for y in range(7))
    layers = "\n".join(f'y{y} = """\n{rows}\n"""' for y in range(7))
    path.write_text(f'name = "big"\n[palette]\n"A" = "minecraft:stone"\n"B" = "minecraft:oak_planks"\n'
                    f'[layers]\n{layers}\n')
    return path


def test_the_resume_of_an_init_run_on_a_large_blueprint_file_goes_on_with_it(tmp_path):
    """Not the two stages from scratch (the fine-tuning lost, and the weights
    overwritten by them)."""
    blueprint = _large_blueprint(tmp_path / "big.toml")
    first = ["--threads", "1", "--iterations", "1"]
    assert run("train", blueprint, *first, "--out", tmp_path / "r0", "--weights", tmp_path / "w0.safetensors"
               ).exit_code == 0
    common = ["--threads", "1", "--out", tmp_path / "r1", "--weights", tmp_path / "w1.safetensors"]
    assert run("train", blueprint, "--iterations", "2", "--init", tmp_path / "w0.safetensors", *common
               ).exit_code == 0
    result = run("train", blueprint, "--iterations", "3", "--resume", *common)
    assert result.exit_code == 0, result.output
    assert "its --init run resumed" in result.output and "stage 1 of 2" not in result.output
    record = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    assert record["iterations"] == 3 and "stages" not in record
    assert record["started_from"].endswith("w0.safetensors")
    assert not (tmp_path / "r1" / "stage1").exists()


def test_a_staged_run_that_fails_in_a_later_stage_writes_no_weights(tmp_path):
    """Stage 1's weights stay in its folder; the weights path is the last
    stage's alone, so a failed run leaves no weights there, as it says."""
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text().replace("iterations = 2000", "iterations = 3")
                    + '\n[[stages]]\nlr = 1.0\nlr_schedule = "constant"\nalive_weight = 1e6\n'
                      'hard_weight = 1e6\niterations = 200\ncheckpoint_every = 1000\n')
    weights = tmp_path / "w.safetensors"
    result = run("train", spec, "--threads", "1", "--out", tmp_path / "run", "--weights", weights)
    assert result.exit_code == 2 and "diverged" in result.output and "no weights written" in result.output
    assert not weights.exists()
    assert (tmp_path / "run" / "stage1" / "weights.safetensors").is_file()


def test_a_staged_run_that_ends_early_writes_its_weights_where_asked(tmp_path, monkeypatch):
    from voxgen.nca.stages import run_stages

    def stage(number, folder, going_on, start, done, starting):
        folder.mkdir(parents=True, exist_ok=True)
        starting()
        (folder / "weights.safetensors").write_bytes(b"stage %d" % number)
        summary = {"stopped_early": True, "iterations": 1, "wall_time_s": 0.0}
        return {"weights": str(folder / "weights.safetensors"), "stages": [*done, summary]}

    record = run_stages("x", 3, tmp_path / "run", False, None, stage, False, weights=tmp_path / "w.safetensors")
    assert (tmp_path / "w.safetensors").read_bytes() == b"stage 1"
    assert record["weights"] == str(tmp_path / "w.safetensors") and len(record["stages"]) == 1


@pytest.mark.parametrize("summary", [{"stopped_early": False}, {"stopped_early": False, "iterations": "x",
                                                                  "wall_time_s": 1.0},
                                     {"stopped_early": False, "iterations": 5, "wall_time_s": float("nan")},
                                     {"stopped_early": False, "iterations": 5, "wall_time_s": 1, "exact": 1.5}])
def test_a_stages_list_missing_what_its_readers_use_is_refused_in_one_line(tmp_path, summary):
    from voxgen.errors import VoxgenError
    from voxgen.nca.stages import _stages_done

    (tmp_path / "stages.json").write_text(json.dumps([summary]))
    with pytest.raises(VoxgenError, match="cannot read the stages done"):
        _stages_done(tmp_path)


def test_a_spec_iterations_below_one_is_asked_to_be_positive(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('blueprint = "caterpillar"\niterations = -5\n')
    one_line_error(run("train", spec), "'iterations' must be a positive integer")
    spec.write_text('blueprint = "caterpillar"\n[[stages]]\niterations = -5\n')
    one_line_error(run("train", spec), "stage 2 key 'iterations' must be a positive integer")


def test_a_spec_beginning_with_x_is_a_spec_not_damaged_zlib(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text("x = 1\n")
    one_line_error(run("train", spec), "missing key 'blueprint'")
