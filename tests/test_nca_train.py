"""A tiny structure trained to exact growth inside the test suite (seconds on CPU)."""

import json
from pathlib import Path

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


def test_resume_keeps_the_earlier_checks_and_survives_a_cut_last_line(trained_tiny, tmp_path):
    """A run killed while writing its log: on resume the rows before the
    checkpoint stay, the growth checks among them, and the half-written last
    line goes."""
    import shutil
    from voxgen.nca.weights import read_weights
    from voxgen.train import train
    root, record = trained_tiny
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    start = read_weights(run / "checkpoint.safetensors")[1]["iteration"]
    before = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    checks = [r for r in before if "verify" in r and r["it"] < start]
    assert checks                                  # the tiny run stopped on a check
    with (run / "metrics.jsonl").open("a") as log:
        log.write('{"it": 99999, "loss": 0.1, "accur')
    train(root / "tiny.toml", device="cpu", out=run, resume=True, iterations=start + 2,
          weights_path=tmp_path / "w.safetensors", progress=False)
    after = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r for r in after if r["it"] < start] == [r for r in before if r["it"] < start]
    assert all(r["it"] < start + 2 for r in after)


def test_a_seed_position_outside_the_blueprint_names_the_spec(tmp_path):
    from voxgen.errors import VoxgenError
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "seed_position = [9, 9, 9]\n")
    with pytest.raises(VoxgenError, match=r"tiny.toml: seed_position \[9, 9, 9\] outside the blueprint box"):
        train(spec, device="cpu", out=tmp_path / "run", progress=False)


def test_resume_with_fewer_iterations_than_the_checkpoint_is_an_error(trained_tiny, tmp_path):
    from voxgen.errors import VoxgenError
    from voxgen.train import train
    root, record = trained_tiny
    with pytest.raises(VoxgenError, match=r"checkpoint.safetensors: the checkpoint is at iteration \d+, past "
                                          r"iterations = 1 \(give at least"):
        train(root / "tiny.toml", device="cpu", out=root / "run", resume=True, iterations=1,
              weights_path=tmp_path / "w.safetensors", progress=False)
    assert not (tmp_path / "w.safetensors").exists()


def test_resume_with_no_iterations_left_writes_the_checkpoint_model(trained_tiny, tmp_path):
    """`--resume --iterations N` with N the checkpoint's own iteration trains
    nothing: the weights written are the checkpoint's model, recorded at N."""
    root, _ = trained_tiny
    from voxgen.nca.weights import read_weights
    from voxgen.train import train
    ckpt, meta = read_weights(root / "run" / "checkpoint.safetensors")
    done = train(root / "tiny.toml", device="cpu", out=root / "run", resume=True,
                 iterations=meta["iteration"], weights_path=tmp_path / "w.safetensors", progress=False)
    assert done["iterations"] == meta["iteration"]
    weights, _ = read_weights(tmp_path / "w.safetensors")
    model = {k: v for k, v in ckpt.items() if k.startswith("model.")}
    assert model.keys() == {k for k in weights if k.startswith("model.")}
    assert all(bool((model[k] == weights[k]).all()) for k in model)
    assert read_weights(root / "run" / "checkpoint.safetensors")[1]["iteration"] == meta["iteration"]


@pytest.mark.parametrize("stops, averaging, record, mix", [
    # average_from / average_every: the mean of the weights after iterations 2, 4 and 6
    ((2, 4, 6), "average_from = 2\naverage_every = 2\n", {"from": 2, "every": 2, "weights": 3},
     lambda w: (w[0] + w[1] + w[2]) / 3),
    # average_decay 0.5: the moving average after every iteration, w1 / 4 + w2 / 4 + w3 / 2
    ((1, 2, 3), "average_decay = 0.5\n", {"from": 0, "decay": 0.5, "iterations": 3},
     lambda w: w[0] / 4 + w[1] / 4 + w[2] / 2),
], ids=["mean", "moving"])
def test_weight_averaging_saves_the_average_and_survives_resume(tmp_path, stops, averaging, record, mix):
    """The weights saved are the average of the model's weights, the same as
    averaging runs stopped at `stops` by hand; a run killed at the second
    stop and resumed saves the same, and with averaging turned off in the
    spec, resuming saves the last weights again."""
    import torch
    from voxgen.nca.weights import read_weights
    from voxgen.train import train

    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    plain = spec.read_text().replace("checkpoint_every = 50", f"checkpoint_every = {stops[0]}")
    plain += 'lr_schedule = "constant"\nstop_streak = 1000\n'
    spec.write_text(plain)
    ends = []
    for n in stops:      # constant lr: each run is the start of the longer ones
        train(spec, device="cpu", out=tmp_path / f"run{n}", iterations=n,
              weights_path=tmp_path / f"w{n}.safetensors", progress=False)
        ends.append(read_weights(tmp_path / f"w{n}.safetensors")[0])
    spec.write_text(plain + averaging)
    assert train(spec, device="cpu", out=tmp_path / "avg", iterations=stops[2],
                 weights_path=tmp_path / "avg.safetensors", progress=False)["averaged"] == record
    averaged = read_weights(tmp_path / "avg.safetensors")[0]
    params = [k for k in averaged if k.startswith("model.") and k != "model.kernel"]
    assert params and all(not torch.equal(ends[0][k], ends[2][k]) for k in params)
    for k in params:
        assert torch.allclose(averaged[k], mix([e[k] for e in ends]), atol=1e-6), k

    train(spec, device="cpu", out=tmp_path / "killed", iterations=stops[1],
          weights_path=tmp_path / "k1.safetensors", progress=False)
    again = train(spec, device="cpu", out=tmp_path / "killed", iterations=stops[2], resume=True,
                  weights_path=tmp_path / "k2.safetensors", progress=False)
    assert again["averaged"] == record
    resumed = read_weights(tmp_path / "k2.safetensors")[0]
    assert all(torch.equal(resumed[k], averaged[k]) for k in params)
    spec.write_text(plain)
    last = train(spec, device="cpu", out=tmp_path / "killed", iterations=stops[2], resume=True,
                 weights_path=tmp_path / "last.safetensors", progress=False)
    assert "averaged" not in last
    assert all(torch.equal(read_weights(tmp_path / "last.safetensors")[0][k], ends[2][k]) for k in params)


def test_skin_weight_pulls_air_next_to_blocks_alive():
    """The skin term: air next to a block costs (alive - 1)^2 * skin_weight;
    far air and blocks are scored as without it."""
    import torch.nn.functional as F
    import torch
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.loss import growth_loss

    classes = torch.zeros(5, 5, 5, dtype=torch.long)
    classes[2, 2, 2] = 1                                    # one block, its 26 neighbours are skin
    far_air = (F.max_pool3d((classes > 0).float()[None, None], 3, 1, 1) == 0)[0, 0].float()
    weights = torch.ones_like(classes, dtype=torch.float)
    losses = {}
    for skin in (0.0, 2.0):
        model = NCA(2, NCAConfig(hidden_channels=2, skin_weight=skin))
        state = torch.zeros(1, model.channels.total, *classes.shape)
        state[:, model.channels.alive, 2, 2, 2] = 1.0        # the block lives; its skin is dead
        losses[skin] = float(growth_loss(model, state, classes, weights, far_air))
    skin_cells = int(((classes == 0) & (far_air == 0)).sum())
    assert skin_cells == 26
    assert losses[2.0] - losses[0.0] == pytest.approx(2.0 * skin_cells / classes.numel(), rel=1e-5)


def test_focal_gamma_weighs_cells_by_how_wrong_they_are():
    """With focal_gamma, a cell's cross-entropy is scaled by (1 - p) ** gamma:
    a confidently right cell almost vanishes from the loss, a wrong one keeps
    most of its weight, and gamma 0 is plain cross-entropy."""
    import math
    import torch
    import torch.nn.functional as F
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.loss import growth_loss

    classes = torch.ones(3, 3, 3, dtype=torch.long)          # all blocks: no alive-channel loss when alive = 1
    far_air = torch.zeros(3, 3, 3)
    weights = torch.ones(3, 3, 3)

    def loss(gamma, logit_right):
        model = NCA(2, NCAConfig(hidden_channels=2, focal_gamma=gamma))
        state = torch.zeros(1, model.channels.total, *classes.shape)
        state[:, model.channels.alive] = 1.0
        state[:, 1] = logit_right                            # class 1 is right; class 0's logit stays 0
        return float(growth_loss(model, state, classes, weights, far_air))

    for logit in (4.0, -2.0):                                # right (p = 0.98), wrong (p = 0.12)
        p = 1 / (1 + math.exp(-logit))
        assert loss(0.0, logit) == pytest.approx(-math.log(p), rel=1e-5)
        assert loss(2.0, logit) == pytest.approx(-math.log(p) * (1 - p) ** 2, rel=1e-5)
    assert loss(2.0, 4.0) / loss(0.0, 4.0) < 1e-3
    assert loss(2.0, -2.0) / loss(0.0, -2.0) > 0.75


def test_deterministic_seed_runs_are_grown_once(tmp_path, monkeypatch):
    """With fire_rate 1 the reseeded samples of a batch are one run: growing
    it once and counting it `reseed` times trains the same model as growing
    every copy."""
    import torch
    import voxgen.train as training
    from voxgen.nca.weights import read_weights

    order = torch.tensor([2, 0, 3, 1])
    runs, back = training.distinct_runs(order, 3, True)
    assert runs.tolist() == [2, 1] and back.tolist() == [0, 1, 0, 0]
    assert training.distinct_runs(order, 3, False)[0].tolist() == [0, 1, 2, 3]

    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "fire_rate = 1.0\nreseed = 3\n")

    def trained(name):
        train_kw = dict(device="cpu", out=tmp_path / name, iterations=6, progress=False,
                        weights_path=tmp_path / f"{name}.safetensors")
        training.train(spec, **train_kw)
        rows = [json.loads(r) for r in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        return read_weights(tmp_path / f"{name}.safetensors")[0], [r["loss"] for r in rows if "loss" in r]

    once, once_losses = trained("once")
    monkeypatch.setattr(training, "distinct_runs", lambda order, reseed, deterministic: (torch.arange(len(order)),) * 2)
    every, every_losses = trained("every")
    assert once_losses == pytest.approx(every_losses, rel=1e-4)
    assert once.keys() == every.keys()
    for name in once:
        assert torch.allclose(once[name], every[name], atol=1e-5), name


def test_hard_weight_weighs_only_the_wrong_cells():
    """With hard_weight, a living cell whose most likely class is wrong has
    its cross-entropy times (1 + hard_weight); right cells keep plain
    cross-entropy."""
    import math
    import torch
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.loss import growth_loss

    classes = torch.ones(3, 3, 3, dtype=torch.long)
    far_air, weights = torch.zeros(3, 3, 3), torch.ones(3, 3, 3)

    def loss(hard, logit_right):
        model = NCA(2, NCAConfig(hidden_channels=2, hard_weight=hard))
        state = torch.zeros(1, model.channels.total, *classes.shape)
        state[:, model.channels.alive] = 1.0
        state[:, 1] = logit_right
        return float(growth_loss(model, state, classes, weights, far_air))

    right, wrong = -math.log(1 / (1 + math.exp(-1.0))), -math.log(1 / (1 + math.exp(1.0)))
    assert loss(9.0, 1.0) == pytest.approx(right, rel=1e-5)          # right: unchanged
    assert loss(9.0, -1.0) == pytest.approx(10 * wrong, rel=1e-5)    # wrong: 10x
    assert loss(0.0, -1.0) == pytest.approx(wrong, rel=1e-5)


def test_deterministic_growth_is_checked_once_for_all_seeds(monkeypatch):
    """With fire_rate 1 `check_growth` grows one seed and counts it for all:
    the same result as growing each seed. Its IoU is the overlap of non-air
    cells (1 when both are all air)."""
    import torch
    from torch import nn
    import voxgen.nca.evaluate as evaluate
    from voxgen.nca.active import rollout
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.target import decode_classes, seed_state

    torch.manual_seed(0)
    model = NCA(3, NCAConfig(hidden_channels=4, fire_rate=1.0))
    nn.init.normal_(model.fc_out.weight, std=0.3)
    classes = torch.zeros(5, 5, 5, dtype=torch.long)
    classes[1:4, 1, 1:4] = 1
    classes[2, 2, 2] = 2
    once = evaluate.check_growth(model, classes, (2, 1, 2), 6, range(4))
    assert once["grown"] == 1 and once["n"] == 4
    monkeypatch.setattr(evaluate, "distinct_seeds", lambda model, seeds: seeds)
    every = evaluate.check_growth(model, classes, (2, 1, 2), 6, range(4))
    assert every["grown"] == 4
    assert {k: v for k, v in once.items() if k != "grown"} == {k: v for k, v in every.items() if k != "grown"}
    assert 0 < every["accuracy"] < 1
    grown = decode_classes(model, rollout(model, seed_state(model, (5, 5, 5), (2, 1, 2)), 6)
                           ).numpy()[0] != 0
    solid = classes.numpy() != 0
    assert 0 < every["iou"] < 1 and every["iou"] == pytest.approx((grown & solid).sum() / (grown | solid).sum())
    assert every["extra"] == (grown & ~solid).sum() and every["missing"] == (~grown & solid).sum()
    assert every["extra"] + every["missing"] > 0
    # too few exact at the horizon for `long_if_exact`: the same figures, no long growth
    short = evaluate.check_growth(model, classes, (2, 1, 2), 6, range(4), long_if_exact=every["exact"] + 1)
    assert short == {k: v for k, v in every.items() if not k.startswith("long_")}
    # an untrained NCA keeps the seed as it is (air, its logits all zero):
    # exact for an all-air target, counted once per seed
    still = NCA(3, NCAConfig(hidden_channels=4, fire_rate=1.0))
    monkeypatch.undo()
    air = evaluate.check_growth(still, torch.zeros_like(classes), (2, 1, 2), 6, range(4))
    assert (air["exact"], air["long_exact"], air["grown"], air["iou"]) == (4, 4, 1, 1.0)
    assert air["extra"] == air["missing"] == 0
    assert evaluate.check_growth(still, torch.zeros_like(classes), (2, 1, 2), 6, range(4), long_if_exact=4) == air
    model.config = NCAConfig(hidden_channels=4, fire_rate=0.5)
    assert evaluate.distinct_seeds(model, [0, 1, 2]) == [0, 1, 2]


def test_deterministic_tiny_structure_trains_and_stops_early(tmp_path):
    """fire_rate 1: training stops once the seed grows exactly (checked by
    growing one seed for all), and every seed then grows the structure."""
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "fire_rate = 1.0\nreseed = 2\n")
    from voxgen.train import train
    record = train(spec, device="cpu", out=tmp_path / "run", progress=False)
    assert record["stopped_early"], record
    assert record["final"]["grown"] == 1 and record["final"]["exact"] == 10
    trained = load_trained(tmp_path / "tiny.safetensors")
    assert all(grow(trained, seed=s, device="cpu").metrics["exact"] for s in (0, 5, 9))


def test_a_run_too_big_for_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    """The estimate grows with the grid, pool, batch and steps; a run that
    cannot fit is one VoxgenError naming the spec, and nothing is written."""
    import voxgen.train as training
    import voxgen.train_memory as memory
    from voxgen.errors import VoxgenError
    from voxgen.nca.config import NCAConfig

    cfg = NCAConfig()
    small = memory.memory_needed(cfg, 5, (8, 8, 8))
    parameters = memory.memory_needed(cfg, 5, (0, 0, 0))          # the parameters' share
    assert parameters > 0 and memory.memory_needed(cfg, 5, (16, 8, 8)) == 2 * small - parameters
    assert memory.memory_needed(NCAConfig(batch=2 * cfg.batch), 5, (8, 8, 8)) > small
    assert memory.memory_needed(NCAConfig(perception="learned"), 5, (8, 8, 8)) > small
    # the prior work's caterpillar (7 classes, 8 x 6 x 27): ~0.2 GiB, fits anywhere
    assert memory.memory_needed(cfg, 7, (8, 6, 27)) < 2 ** 30

    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    monkeypatch.setattr(memory, "memory_available", lambda device: 1000)
    with pytest.raises(VoxgenError) as err:
        training.train(spec, device="cpu", out=tmp_path / "run", progress=False)
    assert str(err.value).startswith(f"{spec}: training on a ") and "GiB" in str(err.value)
    assert not (tmp_path / "run").exists() and not (tmp_path / "tiny.safetensors").exists()


def test_init_starts_a_new_run_from_trained_weights(trained_tiny, tmp_path):
    """`train --init W`: the model starts as W's (its first batch is already
    grown right), the run is new (iterations counted from 0, its own folder)
    and the record says where it started."""
    root, record = trained_tiny
    from voxgen.train import train
    fine = train(root / "tiny.toml", device="cpu", out=tmp_path / "run", init=root / "tiny.safetensors",
                 iterations=40, weights_path=tmp_path / "w.safetensors", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    first = next(r for r in rows if "loss" in r)
    assert first["it"] == 0 and first["accuracy"] > 0.99
    assert fine["started_from"] == "tiny.safetensors"
    assert fine["final"]["exact"] >= 9
    fresh = [json.loads(line) for line in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    assert next(r for r in fresh if "loss" in r)["accuracy"] < first["accuracy"]   # a fresh run starts lower


def test_init_refuses_weights_of_another_structure_and_resume(trained_tiny, tmp_path):
    from voxgen.errors import VoxgenError
    from voxgen.train import train
    root, _ = trained_tiny
    other = Path(__file__).parent.parent / "structures" / "flying_machine.safetensors"
    with pytest.raises(VoxgenError, match="another structure") as err:
        train(root / "tiny.toml", device="cpu", out=tmp_path / "run", init=other, progress=False)
    assert "flying_machine.safetensors" in str(err.value)
    with pytest.raises(VoxgenError, match="give one of them"):
        train(root / "tiny.toml", device="cpu", out=tmp_path / "run", init=root / "tiny.safetensors",
              resume=True, progress=False)
    with pytest.raises(VoxgenError, match="no such weights file"):
        train(root / "tiny.toml", device="cpu", out=tmp_path / "run", init=tmp_path / "absent.safetensors",
              progress=False)
