"""Re-audit items N4, N5, N6, N10: hostile checkpoints, divergence, size bounds."""

import json
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from conftest import write_tiny
from voxgen.errors import VoxgenError
from voxgen.nca.config import NCAConfig
from voxgen.nca.spec import check_config, parse_spec


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny spec trained 3 iterations, with its checkpoint and weights."""
    root = tmp_path_factory.mktemp("reaudit")
    write_tiny(root, "grow")
    from voxgen.train import train
    train(root / "tiny.toml", device="cpu", out=root / "run", iterations=3, progress=False)
    return root


def _load(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())


def _resume(root, tensors, meta, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    save_file(tensors, str(out / "checkpoint.safetensors"), metadata=meta)
    from voxgen.train import train
    with pytest.raises(VoxgenError) as err:
        train(root / "tiny.toml", device="cpu", out=out, resume=True, iterations=5,
              weights_path=tmp_path / "w.safetensors", progress=False)
    assert "\n" not in str(err.value) and "checkpoint.safetensors" in str(err.value)
    assert not (tmp_path / "w.safetensors").exists()
    return str(err.value)


@pytest.mark.parametrize("change, words", [
    (lambda t: t.update({"opt.0.exp_avg": torch.zeros(3, 3)}), "'opt.0.exp_avg' is"),
    (lambda t: t.update({"opt.1.exp_avg_sq": -torch.ones_like(t["opt.1.exp_avg_sq"])}), "negative"),
    (lambda t: t.update({"opt.0.exp_avg": torch.full_like(t["opt.0.exp_avg"], float("nan"))}), "not finite"),
    (lambda t: t.update({"opt.0.step": torch.tensor(float("inf"))}), "finite non-negative count"),
    (lambda t: t.update({"opt.0.step": torch.tensor(-1.0)}), "finite non-negative count"),
    (lambda t: [t.pop(k) for k in [k for k in t if k.startswith("opt.")]], "no optimizer state"),
    (lambda t: t.pop("opt.0.exp_avg_sq"), "incomplete"),
    (lambda t: t.update({"opt.99.step": torch.tensor(1.0)}), "unexpected optimizer tensor"),
    (lambda t: t.update({"pool": torch.full_like(t["pool"], float("nan"))}), "'pool' holds"),
    (lambda t: t.update({"pool_loss": torch.full_like(t["pool_loss"], float("nan"))}), "'pool_loss' holds"),
    (lambda t: t.update({"pool": t["pool"].double()}), "'pool' is torch.float64"),
    (lambda t: t.update({"opt.0.exp_avg": t["opt.0.exp_avg"].to(torch.float8_e4m3fn)}),
     "'opt.0.exp_avg' is torch.float8_e4m3fn, voxgen writes it as torch.float32"),
    (lambda t: t.update({"opt.0.step": t["opt.0.step"].half()}), "'opt.0.step' is torch.float16"),
    (lambda t: t.update({"rng.sampler": t["rng.sampler"].int()}), "'rng.sampler' is torch.int32"),
    (lambda t: t.update({"model.fc_in": t["model.fc_in"].to(torch.float8_e5m2)}), "'model.fc_in' is"),
    (lambda t: t.update({"mean.fc_in": t["model.fc_in"].to(torch.float8_e4m3fn)}),
     "'mean.fc_in' is torch.float8_e4m3fn, voxgen writes it as torch.float64"),
])
def test_bad_checkpoints_are_one_line_errors(run, tmp_path, change, words):
    tensors, meta = _load(run / "run" / "checkpoint.safetensors")
    change(tensors)
    assert words in _resume(run, tensors, meta, tmp_path)


def test_a_checkpoints_started_from_must_be_a_path(run, tmp_path):
    tensors, meta = _load(run / "run" / "checkpoint.safetensors")
    meta["started_from"] = json.dumps("evil\x1b[31mname")
    assert "'started_from' must be a path" in _resume(run, tensors, meta, tmp_path)


def test_weights_file_as_checkpoint_says_so(run, tmp_path):
    tensors, meta = _load(run / "tiny.safetensors")
    assert "a weights file, not a training checkpoint" in _resume(run, tensors, meta, tmp_path)


def test_divergence_stops_with_one_line_and_writes_no_weights(run, tmp_path, monkeypatch):
    import voxgen.train as training
    real = training.growth_loss
    calls = []

    def nan_after_two(*args):
        calls.append(1)
        loss = real(*args)
        return loss * float("nan") if len(calls) > 2 else loss
    monkeypatch.setattr(training, "growth_loss", nan_after_two)
    spec = run / "tiny.toml"
    spec.with_name("ck.toml").write_text(spec.read_text().replace("checkpoint_every = 50", "checkpoint_every = 1"))
    with pytest.raises(VoxgenError) as err:
        training.train(run / "ck.toml", device="cpu", out=tmp_path / "run", iterations=6,
                       weights_path=tmp_path / "w.safetensors", progress=False)
    message = str(err.value)
    assert "training diverged at iteration 2 (loss nan)" in message and "ck.toml" in message
    assert "\n" not in message
    assert not (tmp_path / "w.safetensors").exists()
    from voxgen.nca.weights import read_weights
    _, meta = read_weights(tmp_path / "run" / "checkpoint.safetensors", checkpoint=True)
    assert meta["iteration"] == 2          # the last good checkpoint stays


@pytest.mark.parametrize("key, value", [
    ("mlp_layers", 10 ** 8), ("mlp_width", 10 ** 6), ("hidden_channels", 10 ** 6),
    ("perception_filters", 10 ** 8), ("pool_size", 2 ** 62), ("batch", 10 ** 6), ("margin", 2 ** 62),
    ("verify_seeds", 10 ** 9), ("iterations", 2 ** 62), ("checkpoint_every", 2 ** 62),
    ("stop_streak", 2 ** 63 - 1), ("average_every", 2 ** 63 - 1)])
def test_size_keys_are_bounded_before_anything_is_built(tmp_path, key, value):
    start = time.perf_counter()
    with pytest.raises(VoxgenError, match=f"'{key}' must be an integer in"):
        check_config({key: value}, tmp_path / "w.safetensors", label="config key", unknown=True)
    spec = tmp_path / "s.toml"
    spec.write_text(f'blueprint = "tree"\n{key} = {value}\n')
    with pytest.raises(VoxgenError, match=f"key '{key}' must be an integer in"):
        parse_spec(spec)
    assert time.perf_counter() - start < 1


def test_shipped_defaults_are_within_the_bounds(tmp_path):
    check_config(NCAConfig().to_dict(), tmp_path / "x")


def test_memory_check_counts_the_verification():
    from voxgen.train_memory import memory_needed
    few, many = NCAConfig(verify_seeds=10), NCAConfig(verify_seeds=10_000)
    grid = (40, 40, 40)
    assert memory_needed(many, 5, grid) > 10 * memory_needed(few, 5, grid)


def test_deeply_nested_spec_is_one_line(tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(VoxgenError, match="nested too deeply"):
        parse_spec(spec)


def test_a_spec_that_is_a_pipe_is_refused_without_opening_it(tmp_path):
    import os
    fifo = tmp_path / "ff.toml"
    os.mkfifo(fifo)
    with pytest.raises(VoxgenError, match="ff.toml: not a regular file"):
        parse_spec(fifo)


def test_memory_available_honours_the_address_space_limit(monkeypatch):
    """`ulimit -v` (or a container's cgroup limit) below the machine's RAM is
    what a run may use: the memory checks compare against it."""
    import resource
    from voxgen.nca.device import memory_available
    ram = memory_available(torch.device("cpu"))
    assert ram and ram > 1 << 20
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1 << 20, resource.RLIM_INFINITY))
    assert memory_available(torch.device("cpu")) == 1 << 20


def test_a_checkpoint_iteration_beyond_any_run_is_refused(run, tmp_path):
    tensors, meta = _load(run / "run" / "checkpoint.safetensors")
    meta["iteration"] = str(2 ** 62)
    assert "'iteration' must be an integer in [0, 100000000]" in _resume(run, tensors, meta, tmp_path)


def _copy_run(run, tmp_path):
    """The fixture's finished run folder (checkpoint at iteration 3), to change."""
    import shutil
    shutil.copytree(run / "run", tmp_path / "run")
    return tmp_path / "run"


def test_a_fresh_run_sets_the_previous_runs_checkpoint_aside(run, tmp_path, monkeypatch, capsys):
    """A fresh run interrupted before its first checkpoint: --resume must not
    go on from the run before's checkpoint (two runs mixed) but say there is
    none of this run; the earlier checkpoint and weights are kept."""
    import shutil
    import voxgen.train as training
    out = _copy_run(run, tmp_path)
    first = (out / "checkpoint.safetensors").read_bytes()
    weights = tmp_path / "w.safetensors"
    shutil.copy(run / "tiny.safetensors", weights)          # the finished run's weights

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(training, "growth_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.train(run / "tiny.toml", device="cpu", out=out, iterations=5, weights_path=weights, progress=False)
    monkeypatch.undo()
    assert not (out / "checkpoint.safetensors").exists()
    assert (out / "checkpoint.previous.safetensors").read_bytes() == first
    assert (out / "metrics.previous.jsonl").exists()
    assert weights.read_bytes() == (run / "tiny.safetensors").read_bytes()
    record = training.train(run / "tiny.toml", device="cpu", out=out, iterations=4, weights_path=weights,
                            resume=True)
    told = capsys.readouterr().err
    assert f"no checkpoint at {out / 'checkpoint.safetensors'}: nothing to resume" in told
    assert f"({out / 'checkpoint.previous.safetensors'} is the run before's" in told
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["it"] for r in rows if "loss" in r] == [0, 1, 2, 3] and record["iterations"] == 4   # from 0


def test_resume_with_changed_settings_says_which(run, tmp_path, capsys):
    from voxgen.train import train
    out = _copy_run(run, tmp_path)
    spec = run / "lr.toml"
    spec.write_text((run / "tiny.toml").read_text().replace("lr = 4e-3", "lr = 2e-3"))
    train(spec, device="cpu", out=out, iterations=4, weights_path=tmp_path / "w.safetensors", resume=True)
    assert (f"{out / 'checkpoint.safetensors'}: resuming with the spec's settings, changed from the "
            "checkpoint's: lr 0.004 -> 0.002") in capsys.readouterr().err


def test_weights_at_the_runs_checkpoint_are_refused_before_training(run, tmp_path):
    from voxgen.train import train
    out = tmp_path / "rc"
    out.mkdir()
    for name in ("checkpoint.safetensors", "checkpoint.previous.safetensors"):
        weights = tmp_path / "rc" / ".." / "rc" / name
        with pytest.raises(VoxgenError) as err:
            train(run / "tiny.toml", device="cpu", out=out, iterations=2, weights_path=weights, progress=False)
        assert str(err.value) == f"{weights}: is the run's {'previous ' * ('previous' in name)}checkpoint " \
                                 f"(--out {out}): give --weights another path"
    assert list(out.iterdir()) == []


def test_a_resumed_fine_tuning_run_keeps_where_it_started(run, tmp_path, monkeypatch):
    import shutil
    from voxgen.grow import load_trained
    from voxgen.train import train
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w").mkdir()
    shutil.copy(run / "tiny.safetensors", tmp_path / "w" / "start.safetensors")
    spec, args = run / "tiny.toml", {"device": "cpu", "out": "runJ", "weights_path": "J.safetensors", "progress": False}
    assert train(spec, init="w/start.safetensors", iterations=2, **args)["started_from"] == "w/start.safetensors"
    assert train(spec, resume=True, iterations=4, **args)["started_from"] == "w/start.safetensors"
    assert load_trained("J.safetensors").record["started_from"] == "w/start.safetensors"
    far = train(spec, init=run / "tiny.safetensors", iterations=1, device="cpu", out="runK",
                weights_path="K.safetensors", progress=False)
    assert far["started_from"] == "tiny.safetensors"        # outside the working directory: its name only


def test_a_run_whose_loss_stops_changing_stops_and_says_resume_cannot_help(run, tmp_path, monkeypatch):
    """Growth that dies out within every rollout leaves a loss with no
    gradient (a dead cell is zeros whatever the weights): as if so here."""
    import voxgen.train as training
    from voxgen.cli.train import verdict
    real = training.growth_loss
    monkeypatch.setattr(training, "growth_loss", lambda *args: real(*args) * 0 + 0.25)
    record = training.train(run / "tiny.toml", device="cpu", out=tmp_path / "run", iterations=500,
                            weights_path=tmp_path / "w.safetensors", progress=False)
    assert record["loss_stalled_at"] == 0 and record["iterations"] == training.STALL_ITERATIONS
    told = verdict("tiny.toml", record, None, None, 1)
    assert "the loss has not changed since iteration 0" in told and "--resume cannot help" in told
    assert "--resume --iterations" not in told


def test_halves_are_cut_only_across_axes_more_than_one_block_thick(run, tmp_path):
    """A cut across a one-block-thick axis falls on the box's face: one part is
    everything and the other nothing, which no model regrows."""
    from voxgen.train import train
    spec = run / "cut.toml"            # the tiny blueprint is 2 x 2 x 1: halves across x and y only
    spec.write_text((run / "tiny.toml").read_text().replace("damage_kinds = []", 'damage_kinds = ["halfcut"]'))
    record = train(spec, device="cpu", out=tmp_path / "run", iterations=1, weights_path=tmp_path / "w.safetensors",
                   progress=False)
    assert record["final"]["regrowth"]["n"] == 10 * 2 * 2          # 10 seeds, 2 halves, 1 cut each of x and y
    (run / "one_blueprint.toml").write_text('[palette]\n"." = "minecraft:air"\n"s" = "minecraft:stone"\n'
                                           '[layers]\ny0 = """\ns\n"""\n')
    (run / "one.toml").write_text('blueprint = "one_blueprint.toml"\n')
    record = train(run / "one.toml", device="cpu", out=tmp_path / "one", iterations=1,
                   weights_path=tmp_path / "one.safetensors", progress=False)
    assert record["final"]["regrowth"] == {"n": 0, "exact": 0}
