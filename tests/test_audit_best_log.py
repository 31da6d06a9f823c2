"""Audit of the best-check weights (nca/best.py), the streamed metrics log
and the run folder's set-aside (nca/train_run.py): each test here shows a
suspected bug, and fails while it is there."""

import os

import pytest
import torch

from conftest import write_tiny
from test_train_best import first_weights_best
from voxgen.errors import VoxgenError
from voxgen.nca.weights import model_state, read_weights


def _train(root, monkeypatch, regrown, iterations, resume=False, edit=None, weights="w.safetensors"):
    """A tiny run that wipes balls (from iteration 1000), its ball checks
    faked to regrow `regrown(call)` of 100 tries, so nothing passes (90
    would) and it runs to `iterations`. `edit(spec_text, blueprint_text)`:
    the spec and blueprint texts to write before this run."""
    import voxgen.nca.evaluate as evaluate
    import voxgen.train as training
    spec, blueprint = root / "tiny.toml", root / "tiny_blueprint.toml"
    if not resume:
        root.mkdir(exist_ok=True)
        write_tiny(root, "grow")
        spec.write_text(spec.read_text().replace("damage_kinds = []",
                                                 'damage_kinds = ["sphere"]\ndamage_after = 1000'))
    if edit is not None:
        new_spec, new_blueprint = edit(spec.read_text(), blueprint.read_text())
        spec.write_text(new_spec)
        blueprint.write_text(new_blueprint)
    calls = []

    def fake(model, classes, seed, steps, seeds, radius_range):
        calls.append(1)
        return {"n": 100, "exact": regrown(model, len(calls))}
    monkeypatch.setattr(evaluate, "check_sphere_regrowth", fake)
    return training.train(spec, device="cpu", out=root / "run", iterations=iterations, resume=resume,
                          weights_path=root / weights, progress=False)


def _model(path):
    return model_state(read_weights(path)[0])




# --- 1. a best of another target is taken up ----------------------------------------

def test_a_best_judged_against_the_blueprint_before_an_edit_does_not_replace_the_last_weights(tmp_path,
                                                                                          monkeypatch):
    """--resume after editing the blueprint (same palette and box) trains
    on toward the blueprint as it is now, as the run says; but the best of
    the checks before the edit, scored against the old blueprint, is taken
    up and beats the last weights: the run saves weights that grow the new
    blueprint from 0 of 10 seeds where its last weights grew 10 of 10, and
    its record says a wiped ball regrows in 85 of 100 tries (the old
    blueprint's figure, copied from the old check)."""
    first = _train(tmp_path, monkeypatch, first_weights_best(), 1100)
    assert first["best_of_checks"]["iteration"] < 1000

    def moved_block(spec, blueprint):
        edited = blueprint.replace('y1 = """\nl.\n"""', 'y1 = """\n.l\n"""')
        assert edited != blueprint
        return spec, edited
    record = _train(tmp_path, monkeypatch, lambda model, call: 5, 1600, resume=True, edit=moved_block)
    kept = record.get("best_of_checks")
    assert kept is None or record["final"]["exact"] >= kept["last"]["exact"], (
        f"saved weights grow the edited blueprint from {record['final']['exact']} of 10 seeds, the last "
        f"weights from {kept['last']['exact']}; the record claims {record['final']['sphere_regrowth']}")


# --- 2. --resume --iterations at the checkpoint's count ------------------------------

def test_resume_at_the_checkpoints_own_count_writes_the_checkpoints_weights(tmp_path, monkeypatch):
    """`train --help` (--iterations), train.py's docstring and the
    "past iterations" error say: with --resume, the checkpoint's own count
    trains nothing and writes the checkpoint's model as the weights. With
    a best.safetensors in the run folder it writes the best's instead."""
    _train(tmp_path, monkeypatch, first_weights_best(), 1100)
    _train(tmp_path, monkeypatch, lambda model, call: 5, 1100, resume=True, weights="again.safetensors")
    written, checkpoint = _model(tmp_path / "again.safetensors"), _model(tmp_path / "run/checkpoint.safetensors")
    assert all(torch.equal(written[k], checkpoint[k]) for k in checkpoint)


# --- 3. a widened --resume destroys the earlier best ---------------------------------

def test_a_widened_resume_keeps_the_earlier_best_somewhere(tmp_path, monkeypatch):
    """--resume with a wider spec widens the checkpoint "without changing
    what it does", but the run folder's best.safetensors (narrower) is not
    taken up, nor set aside: the first check of the resumed run, however
    poor (here: growth not even passing), overwrites it, and the weights
    whose balls regrew 85 of 100 are gone for good."""
    _train(tmp_path, monkeypatch, first_weights_best(), 1100)

    def wider(spec, blueprint):
        return spec.replace("hidden_channels = 6", "hidden_channels = 8"), blueprint
    _train(tmp_path, monkeypatch, lambda model, call: 5, 1200, resume=True, edit=wider)
    checks = [read_weights(path)[1]["record"]["check"] for path in sorted((tmp_path / "run").glob("best*.safetensors"))]
    assert any(c.get("sphere_regrowth", {}).get("exact") == 85 for c in checks), checks


# --- 4. a fresh run's set-aside half done --------------------------------------------

def test_a_set_aside_that_fails_on_the_best_moves_nothing_and_names_the_file(tmp_path):
    """A folder named best.previous.safetensors in the run folder: a fresh
    run moves metrics.jsonl aside, then fails on the best's rename, leaving
    the checkpoint in place without its log (a --resume now goes on without
    the rows, and the next fresh run replaces metrics.previous.jsonl); the
    error names checkpoint.safetensors, not the folder in the way."""
    import voxgen.train as training
    write_tiny(tmp_path, "grow")
    args = dict(device="cpu", out=tmp_path / "run", iterations=60, weights_path=tmp_path / "w.safetensors",
                progress=False)
    training.train(tmp_path / "tiny.toml", **args)
    (tmp_path / "run" / "best.previous.safetensors").mkdir()
    with pytest.raises(VoxgenError) as err:
        training.train(tmp_path / "tiny.toml", **args)
    assert (tmp_path / "run" / "metrics.jsonl").is_file(), sorted(os.listdir(tmp_path / "run"))
    assert "best.previous.safetensors" in str(err.value), str(err.value)


# --- 5. a best.safetensors that is a pipe --------------------------------------------

def test_a_best_that_is_a_pipe_is_not_called_missing(tmp_path):
    """A FIFO best.safetensors passed check_run_files, then --resume stopped
    with "best.safetensors: no such weights file": the file is there."""
    import voxgen.train as training
    write_tiny(tmp_path, "grow")
    args = dict(device="cpu", out=tmp_path / "run", weights_path=tmp_path / "w.safetensors", progress=False)
    training.train(tmp_path / "tiny.toml", iterations=60, **args)
    os.mkfifo(tmp_path / "run" / "best.safetensors")
    with pytest.raises(VoxgenError, match="best.safetensors: not a regular file.*move it aside"):
        training.train(tmp_path / "tiny.toml", iterations=70, resume=True, **args)


# --- 6. the order of checks ----------------------------------------------------------

def test_growth_that_passes_ranks_before_more_seeds():
    """With verify_needed 9, 9 seeds and 60 halves beat 10 seeds and 50 (the
    README once said seeds came first)."""
    from voxgen.nca.best import score

    def check(exact, regrown):
        return {"n": 10, "exact": exact, "accuracy": 1.0, "long_accuracy": 1.0,
                "regrowth": {"n": 120, "exact": regrown}}
    assert score(check(9, 60), 9, ["regrowth"]) > score(check(10, 50), 9, ["regrowth"])
