"""`skip_spikes`: a batch whose loss is far above the recent median neither
steps the weights nor goes back into the pool."""

import json

import torch

from conftest import write_tiny
from voxgen.nca.train_run import History
from voxgen.nca.weights import model_state, read_weights


def test_a_spike_is_a_loss_over_factor_times_the_median_of_a_full_window():
    history = History(5)
    for it, loss in enumerate([1.0, 2.0, 3.0, 100.0]):
        history.add({"it": it, "loss": loss, "accuracy": 0.5})
        assert not history.spike(1e9, 10)                  # the window is not full yet
    history.add({"it": 4, "loss": 0.5, "accuracy": 0.5})   # median of 0.5, 1, 2, 3, 100: 2
    assert history.spike(20.1, 10) and not history.spike(20.0, 10)
    assert not history.spike(1e9, 0)                      # off


def _train(root, iterations, skip, spike_at=None):
    """A tiny run; at iteration `spike_at` its batch loss is made 10^7 times larger."""
    import voxgen.train as training
    root.mkdir()
    write_tiny(root, "grow")
    spec = root / "tiny.toml"
    spec.write_text(spec.read_text() + f"skip_spikes = {skip}\nlr_schedule = \"constant\"\n")   # the same lr whatever the count
    real, calls = training.growth_loss, []

    def growth_loss(*args, **kw):
        calls.append(1)
        loss = real(*args, **kw)
        return loss * 1e7 if spike_at is not None and len(calls) == spike_at + 1 else loss
    training.growth_loss = growth_loss
    try:
        training.train(spec, device="cpu", out=root / "run", iterations=iterations,
                       weights_path=root / "w.safetensors", progress=False)
    finally:
        training.growth_loss = real
    rows = [json.loads(line) for line in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    return model_state(read_weights(root / "run" / "checkpoint.safetensors")[0]), rows


def test_a_skipped_batch_leaves_the_weights_as_they_were(tmp_path):
    before, _ = _train(tmp_path / "a", 60, 1e4)
    skipped, rows = _train(tmp_path / "b", 61, 1e4, spike_at=60)
    assert rows[60].get("skipped") is True and not any("skipped" in r for r in rows[:60])
    assert all(torch.equal(before[k], skipped[k]) for k in before)
    stepped, rows = _train(tmp_path / "c", 61, 0.0, spike_at=60)        # off: the spike steps the weights
    assert "skipped" not in rows[60] and not all(torch.equal(before[k], stepped[k]) for k in before)
