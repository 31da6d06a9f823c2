"""Training that heals wiped balls: the check of a ball wiped out of a grown
structure (`evaluate.check_sphere_regrowth`), the early stop that waits for
it when a run wipes balls and cuts no halves, and the verdict that says it."""

import pytest
import torch

from conftest import write_tiny
from voxgen.grow import load_trained
from voxgen.nca.evaluate import check_sphere_regrowth


@pytest.fixture(scope="module")
def cottage():
    trained = load_trained("cottage", device="cpu")
    return trained, torch.as_tensor(trained.target.blocks, dtype=torch.int64)


def test_a_ball_of_nothing_is_no_damage_and_a_ball_over_everything_never_regrows(cottage):
    trained, classes = cottage
    none = check_sphere_regrowth(trained.model, classes, trained.seed_pos, trained.steps, range(4), [0.0, 0.0])
    assert none == {"n": 12, "exact": 12}           # the shipped cottage stays exact for twice its horizon
    every = check_sphere_regrowth(trained.model, classes, trained.seed_pos, trained.steps, range(4), [4.0, 4.0])
    assert every == {"n": 12, "exact": 0}          # no living cell is left to regrow from


def test_the_check_wipes_balls_where_training_does(cottage, monkeypatch):
    """The balls come from training's own `damage.sphere`, one per sample and
    try, each from its own generator: the same seeds give the same balls."""
    import voxgen.nca.evaluate as evaluate
    trained, classes = cottage
    drawn = []
    real = evaluate.sphere

    def spy(state, box, radius_range, generator):
        drawn.append((tuple(state.shape), box, list(radius_range), generator.initial_seed()))
        return real(state, box, radius_range, generator)
    monkeypatch.setattr(evaluate, "sphere", spy)
    first = check_sphere_regrowth(trained.model, classes, trained.seed_pos, trained.steps, range(3), [0.1, 0.2])
    assert len(drawn) == 9 and all(shape[0] == 1 for shape, *_ in drawn)
    assert len({seed for *_, seed in drawn}) == 9
    assert drawn[0][1] == evaluate.blocks_box(classes.numpy())
    again = check_sphere_regrowth(trained.model, classes, trained.seed_pos, trained.steps, range(3), [0.1, 0.2])
    assert again == first and drawn[:9] == drawn[9:]


def _sphere_run(tmp_path, monkeypatch, regrows: bool):
    """A tiny run that wipes balls (and cuts nothing), its ball check faked
    to pass or fail."""
    import voxgen.train as training
    tmp_path.mkdir()
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text().replace("damage_kinds = []", 'damage_kinds = ["sphere"]\ndamage_after = 1000')
                    .replace("iterations = 2000", "iterations = 1200"))
    asked = []

    def fake(model, classes, seed, steps, seeds, radius_range):
        asked.append(list(radius_range))
        n = 3 * len(seeds)
        return {"n": n, "exact": n if regrows else 0}
    import voxgen.nca.evaluate as evaluate
    monkeypatch.setattr(evaluate, "check_sphere_regrowth", fake)
    record = training.train(spec, device="cpu", out=tmp_path / "run", progress=False)
    return record, asked


def test_a_run_that_wipes_balls_stops_only_once_they_regrow(tmp_path, monkeypatch):
    healed, asked = _sphere_run(tmp_path / "a", monkeypatch, regrows=True)
    assert healed["stopped_early"], healed["final"]
    assert healed["final"]["sphere_regrowth"] == {"n": 30, "exact": 30}
    assert asked and all(r == [0.15, 0.35] for r in asked)       # the config's sphere_radius
    assert "regrowth" not in healed["final"]                       # no halves cut, none checked
    unhealed, asked = _sphere_run(tmp_path / "b", monkeypatch, regrows=False)
    assert not unhealed["stopped_early"] and unhealed["iterations"] == 1200
    assert unhealed["final"]["exact"] == 10 and unhealed["final"]["sphere_regrowth"]["exact"] == 0
    assert len(asked) > 1                                           # asked at each verify, then at the end


def test_the_verdict_says_what_regrows():
    from voxgen.cli.train import verdict
    record = {"weights": "w.safetensors", "blueprint": "b.toml", "iterations": 500, "stopped_early": True,
              "final": {"exact": 10, "n": 10, "accuracy": 1.0, "regrowth": {"n": 180, "exact": 171},
                        "sphere_regrowth": {"n": 30, "exact": 12}}}
    assert verdict("b.toml", record, None, None, None) == (
        "voxgen: wrote w.safetensors: 10 of 10 seeds grow b.toml exactly (100.00% of cells right) after 500 "
        "iterations; cut halves regrow in 171 of 180 tries; a wiped ball regrows in 12 of 30 tries")
    record["stages"] = [{"iterations": 300, "wall_time_s": 30.0}, {"iterations": 500, "wall_time_s": 50.0}]
    assert "after 500 iterations of stage 2 (800 in all, 1 min); cut halves regrow in 171" in verdict(
        "b.toml", record, None, None, None)
    del record["stages"]
    record["stopped_early"] = False
    record["final"].update(exact=0, accuracy=0.5)          # nothing grows: nothing said of regrowth
    assert "regrow" not in verdict("b.toml", record, None, None, None)
