"""A run that ends without passing its checks saves the best weights its
checks saw, when they beat its last (`nca/best.py`): kept in the run
folder's best.safetensors as they come, carried by --resume, set aside by a
fresh run."""

import pytest
import torch

from conftest import write_tiny
from voxgen.nca.best import score
from voxgen.nca.weights import model_state, read_weights


def test_a_check_that_grows_beats_more_regrowth_then_more_seeds_then_accuracy():
    def check(exact, long=1.0, regrown=None, accuracy=0.99):
        c = {"n": 10, "exact": exact, "accuracy": accuracy, "long_accuracy": long}
        if regrown is not None:
            c["regrowth"] = {"n": 120, "exact": regrown}
        return c
    keys = ["regrowth"]
    ranked = [check(3, accuracy=0.2), check(3, accuracy=0.9), check(8), check(9, long=0.98),
              check(10, long=0.5, regrown=100),     # not growing: its regrowth counts for nothing
              check(9, regrown=50), check(10, regrown=50, accuracy=0.999), check(10, regrown=51)]
    scores = [score(c, 9, keys) for c in ranked]
    assert scores == sorted(scores) and len(set(scores)) == len(scores), scores
    assert score(check(10, regrown=80), 9, []) == score(check(10), 9, [])      # not trained to heal
    for bad in (None, [], {"exact": "10", "accuracy": 1.0}, {"exact": True, "accuracy": 1.0}, {"exact": 10},
                {**check(10), "regrowth": 5}, {**check(10), "regrowth": {"exact": 5}}):
        assert score(bad, 9, keys) is None


def _signature(model) -> float:
    return sum(float(p.detach().abs().sum()) for p in model.parameters())


def first_weights_best():
    """A fake's regrowth: 85 of 100 for the first weights it is asked about
    (the run's first check), 5 for any others, as often as they are asked."""
    seen = []

    def regrown(model, call):
        seen.append(seen[0] if seen else _signature(model))
        return 85 if _signature(model) == seen[0] else 5
    return regrown


def _run(root, monkeypatch, regrown, iterations=1200, resume=False):
    """A tiny run that wipes balls; its ball checks faked to regrow
    `regrown(model, call)` of 100 tries (90 would pass): nothing passes, so
    it runs to `iterations`."""
    import voxgen.nca.evaluate as evaluate
    import voxgen.train as training
    if not resume:
        root.mkdir(exist_ok=True)
        write_tiny(root, "grow")
        spec = root / "tiny.toml"
        spec.write_text(spec.read_text().replace("damage_kinds = []", 'damage_kinds = ["sphere"]\ndamage_after = 1000'))
    calls = []

    def fake(model, classes, seed, steps, seeds, radius_range):
        calls.append(_signature(model))
        return {"n": 100, "exact": regrown(model, len(calls))}
    monkeypatch.setattr(evaluate, "check_sphere_regrowth", fake)
    record = training.train(root / "tiny.toml", device="cpu", out=root / "run", iterations=iterations,
                            resume=resume, weights_path=root / "w.safetensors", progress=False)
    return record, calls


def _model(path):
    return model_state(read_weights(path)[0])


def test_the_best_check_is_saved_when_the_last_weights_are_worse(tmp_path, monkeypatch):
    record, calls = _run(tmp_path, monkeypatch, first_weights_best())
    assert not record["stopped_early"] and record["iterations"] == 1200 and len(calls) > 2
    kept = record["best_of_checks"]
    assert kept["last"]["exact"] == 10 and kept["last"]["sphere_regrowth"] == {"n": 100, "exact": 5}
    assert record["final"]["sphere_regrowth"] == {"n": 100, "exact": 85} and record["final"]["exact"] == 10
    best, saved, last = (_model(tmp_path / f) for f in ("run/best.safetensors", "w.safetensors",
                                                         "run/checkpoint.safetensors"))
    assert all(torch.equal(best[k], saved[k]) for k in best)
    assert not all(torch.equal(last[k], saved[k]) for k in last)      # trained on after the best check
    from voxgen.cli.train import verdict
    assert verdict("tiny.toml", record, None, None, None).endswith(
        f"; a wiped ball regrows in 85 of 100 tries (the weights of its check at iteration {kept['iteration']}; "
        f"its last weights grew 10 of 10 seeds exactly, wiped balls regrew in 5 of 100)")
    best_record = read_weights(tmp_path / "run/best.safetensors")[1]["record"]
    assert best_record["iteration"] == kept["iteration"] and best_record["check"]["sphere_regrowth"]["exact"] == 85


def test_the_last_weights_are_saved_when_no_check_was_better(tmp_path, monkeypatch):
    record, calls = _run(tmp_path, monkeypatch, lambda model, call: call)
    assert 2 < len(calls) < 90                 # each check regrew more than the one before
    assert "best_of_checks" not in record and record["final"]["sphere_regrowth"]["exact"] == len(calls)
    saved, last = _model(tmp_path / "w.safetensors"), _model(tmp_path / "run/checkpoint.safetensors")
    assert all(torch.equal(last[k], saved[k]) for k in last)


def test_resume_carries_the_best_and_a_fresh_run_sets_it_aside(tmp_path, monkeypatch):
    regrown = first_weights_best()
    first, _ = _run(tmp_path, monkeypatch, regrown, iterations=1100)
    best_at = first["best_of_checks"]["iteration"]
    resumed, _ = _run(tmp_path, monkeypatch, regrown, iterations=1200, resume=True)
    assert resumed["best_of_checks"]["iteration"] == best_at
    assert resumed["final"]["sphere_regrowth"]["exact"] == 85
    best = (tmp_path / "run/best.safetensors").read_bytes()
    _run(tmp_path, monkeypatch, lambda model, call: 5, iterations=1010)
    assert (tmp_path / "run/best.previous.safetensors").read_bytes() == best


@pytest.mark.parametrize("name", ["best.safetensors", "best.previous.safetensors"])
def test_the_weights_may_not_be_the_runs_best(tmp_path, name):
    from voxgen.errors import VoxgenError
    from voxgen.nca.train_run import check_weights_path
    with pytest.raises(VoxgenError, match="is the run's (previous )?best weights"):
        check_weights_path(tmp_path / "run" / name, tmp_path / "run")


def test_a_best_file_not_judged_as_this_run_judges_is_set_aside(tmp_path, capsys):
    """A best.safetensors with no check in its record (edited), of a
    narrower model (the spec widened it on --resume), judged with another
    check setting or against another blueprint, is set aside as
    best.previous.safetensors: a best is kept anew."""
    from voxgen.nca.best import BestWeights
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.weights import save_weights
    palette = ["minecraft:air", "minecraft:stone"]
    classes = torch.zeros((3, 3, 3), dtype=torch.int64)
    classes[1, 0, 1] = 1
    other = classes.clone()
    other[1, 1, 1] = 1

    def saved(model, record, target=classes):
        save_weights(tmp_path / "best.safetensors", model, target, "t", palette, (1, 0, 1), record)
    narrow = NCA(2, NCAConfig(hidden_channels=4))
    good = {"iteration": 7, "check": {"n": 10, "exact": 10, "accuracy": 1.0, "long_accuracy": 1.0}}
    for model, record, target, why in (
            (narrow, {"iteration": 7, "check": "junk"}, classes, "no check in its record"),
            (narrow, {"iteration": 7}, classes, "no check in its record"),
            (NCA(2, NCAConfig(hidden_channels=6)), good, classes, "hidden_channels, the model's shape"),
            (NCA(2, NCAConfig(hidden_channels=4, steps=[10, 20])), good, classes, "steps"),
            (narrow, good, other, "the blueprint")):
        saved(model, record, target)
        best = BestWeights(tmp_path / "best.safetensors", 9, [], saved)
        best.resume(narrow, palette, classes, (1, 0, 1), progress=True)
        assert best.score is None and f"judged otherwise ({why}): set aside" in capsys.readouterr().err
        assert not (tmp_path / "best.safetensors").exists() and (tmp_path / "best.previous.safetensors").exists()
    saved(NCA(2, NCAConfig(hidden_channels=4, lr=1.0, hard_weight=3.0)), good)      # training settings only
    best.resume(narrow, palette, classes, (1, 0, 1), progress=True)
    assert best.score == (True, 0, 10, 1.0) and best.iteration == 7 and capsys.readouterr().err == ""


def test_a_best_that_does_no_better_judged_again_is_not_saved(tmp_path, monkeypatch):
    """The best is judged again at the end, as the last weights are: a check
    that said 85 of 100 once (here: only at its first asking) but says 5
    now does not replace the last weights."""
    record, calls = _run(tmp_path, monkeypatch, lambda model, call: 85 if call == 1 else 5)
    assert "best_of_checks" not in record and record["final"]["sphere_regrowth"]["exact"] == 5
    assert calls[-1] == calls[0]                  # the best was judged again, last
    saved, last = _model(tmp_path / "w.safetensors"), _model(tmp_path / "run/checkpoint.safetensors")
    assert all(torch.equal(last[k], saved[k]) for k in last)
