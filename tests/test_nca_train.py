"""A tiny structure trained to exact growth inside the test suite (seconds on CPU)."""

import json

import pytest

from conftest import write_tiny
from voxgen import formats
from voxgen.grow import grow, load_trained
from voxgen.structure import Structure




@pytest.fixture(scope="module")
def trained_tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    write_tiny(root, "grow")
    from voxgen.train import train
    record = train(root / "tiny.toml", device="cpu", out=root / "run", progress=False)
    return root, record


def test_tiny_structure_trains_to_exact_growth(trained_tiny):
    root, record = trained_tiny
    assert record["stopped_early"], record
    assert record["final"]["exact"] >= 9 and record["final"]["long_accuracy"] >= 0.99
    trained = load_trained(root / "tiny.safetensors")
    blueprint = formats.load(root / "tiny_blueprint.toml")
    assert trained.grid_shape == tuple(n + 2 for n in blueprint.shape)
    exact = sum(grow(trained, seed=s, device="cpu").metrics["exact"] for s in range(10))
    assert exact >= 9
    # the grown structure, cropped back to the blueprint box, is the blueprint
    grown = grow(trained, seed=0, device="cpu").structure.crop((1, 1, 1), (3, 3, 2))
    assert isinstance(grown, Structure)
    assert (grown.state_array() == blueprint.state_array()).all()


def test_training_writes_metrics_curve_and_checkpoint(trained_tiny):
    root, record = trained_tiny
    run = root / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in rows if "loss" in r]
    assert len(losses) == record["iterations"]
    assert {"it", "loss", "accuracy", "exact", "steps", "lr"} <= set(losses[0])
    assert (run / "curve.png").stat().st_size > 1000
    assert (run / "checkpoint.safetensors").exists()
    assert record["device"] == "cpu" and record["torch"]


def test_resume_continues_from_the_checkpoint(trained_tiny, tmp_path):
    root, record = trained_tiny
    from voxgen.train import train
    more = train(root / "tiny.toml", device="cpu", out=root / "run", resume=True,
                 iterations=record["iterations"] + 3, weights_path=tmp_path / "w.safetensors",
                 progress=False)
    assert more["iterations"] >= record["iterations"]
    rows = [json.loads(line) for line in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    its = [r["it"] for r in rows if "loss" in r]
    assert its == sorted(its) and its[0] == 0
