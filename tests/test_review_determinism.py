"""voxgen's determinism claims, checked: the CPU's numba life mask and live
box against torch's max-pool on diverged (NaN) states, the two step paths on
such a state, learned perception's kernels against the thread count and the
crop, a resumed (and a killed, then resumed) training run against one run
straight through, and `grow --seed` through the CLI against the library."""

import json

import numba
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from conftest import write_tiny
from voxgen.nca import active, depthwise, mlp_rows, stencils
from voxgen.nca import model as nca_model
from voxgen.nca.config import NCAConfig
from voxgen.nca.weights import read_weights

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("shape", [(3, 5, 6, 7), (1, 1, 4, 1), (2, 9, 1, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_life_mask_treats_nan_as_torch_max_pool_does(shape, dtype):
    """A NaN anywhere in a cell's 3x3x3 window makes the max-pool NaN, and
    NaN > threshold is false: the cell is dead, even beside an alive cell."""
    gen = torch.Generator().manual_seed(1)
    state = torch.rand((shape[0], 3, *shape[1:]), generator=gen, dtype=dtype) * 0.2   # about half alive
    alive = state[:, 1]                                       # strided, as the step passes it
    cells = alive.numel()
    picks = torch.randperm(cells, generator=gen)[:max(1, cells // 15)]
    values = torch.tensor([NAN, NAN, INF, -INF], dtype=dtype)
    for n, i in enumerate(picks.tolist()):
        alive[np.unravel_index(i, alive.shape)] = values[n % 4]
    assert torch.isnan(alive).any()
    ref = F.max_pool3d(alive.unsqueeze(1), 3, 1, 1)[:, 0] > 0.1
    got = torch.from_numpy(stencils.life_mask(alive.numpy(), 0.1))
    assert torch.equal(got, ref)


def test_a_nan_kills_the_alive_cell_beside_it():
    alive = np.zeros((1, 5, 5, 5), np.float32)
    alive[0, 2, 2, 2], alive[0, 2, 2, 3] = 1.0, NAN
    mask = stencils.life_mask(alive, 0.1)
    # 27 cells around the alive one, less the 18 that also see the NaN
    assert mask.sum() == 9 and not mask[0, 2, 2, 2] and mask[0, 1, 1, 1]


def test_the_live_box_ignores_nan_on_both_paths(monkeypatch):
    """A NaN cell is not alive; a plane holding one keeps its alive cells
    (torch's plane maxima were NaN there, hiding them: an empty box, the
    state wiped)."""
    net = nca_model.NCA(3, NCAConfig())
    state = torch.zeros(2, net.channels.total, 6, 7, 8)
    state[1, net.channels.alive, 2, 3, 4] = 1.0
    state[0, net.channels.alive, 2, 5, 1] = NAN              # in the alive cell's x plane
    state[0, net.channels.alive, 4, 1, 6] = 0.5
    boxes = []
    for numba_on in (True, False):
        monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba_on)
        boxes.append(active.live_box(net, state, 0))
    assert boxes == [((2, 1, 4), (5, 4, 7))] * 2


@pytest.mark.parametrize("perception", ["fixed", "learned"])
@pytest.mark.parametrize("channel, value", [("alive", NAN), ("hidden", NAN), ("hidden", INF), ("alive", -INF)])
def test_a_state_with_nan_steps_alike_on_the_cpu_and_torch_paths(perception, channel, value, monkeypatch):
    """The numba step and torch's (CUDA's) on a state holding a NaN or an
    infinity: the same cells NaN after a step and a rollout, the rest close.
    Torch's update had spread the NaN over its neighbourhood (NaN * 0 is NaN
    where the CPU computes no row), and the CPU's ReLU had turned NaN into 0
    where torch.relu keeps it."""
    torch.manual_seed(0)
    net = nca_model.NCA(3, NCAConfig(perception=perception))
    with torch.no_grad():
        net.fc_out.weight.normal_(0, 0.1)
        net.fc_out.bias.normal_(0, 0.1)
    state = torch.zeros(2, net.channels.total, 7, 7, 7)
    state[:, :, 1:6, 1:6, 1:6] = torch.randn(2, net.channels.total, 5, 5, 5)
    state[:, net.channels.alive] = state[:, net.channels.alive].abs()
    state[0, net.channels.alive + (channel == "hidden"), 3, 3, 3] = value
    fire = torch.rand(2, 1, 7, 7, 7) < 0.7
    out = []
    for numba_on in (True, False):
        monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba_on)
        with torch.no_grad():
            out.append([net.step(state, fire), active.rollout(net, state, 3, torch.Generator().manual_seed(1))])
    for cpu, dense in zip(*out):
        assert torch.equal(cpu.isnan(), dense.isnan()) and torch.equal(cpu.isinf(), dense.isinf())
        assert torch.allclose(cpu.nan_to_num(7.0), dense.nan_to_num(7.0), atol=1e-5)
    assert out[0][0][0, :, 3, 3, 3].eq(0).all()     # it died: its NaN reached its neighbours' alive channel


def test_the_relu_keeps_nan_as_torch_does():
    h = np.array([[NAN, 1.0, -1.0, 0.0, INF, -INF]], np.float32)
    got = mlp_rows.add_bias(h.copy(), np.zeros(6, np.float32), True)
    assert np.array_equal(got, torch.relu(torch.from_numpy(h)).numpy(), equal_nan=True)
    grad = np.ones((1, 6), np.float32)
    ref = torch.ops.aten.threshold_backward(torch.from_numpy(grad), torch.from_numpy(got), 0.0)
    mlp_rows.relu_backward(grad, got)
    assert np.array_equal(grad, ref.numpy())


@pytest.mark.parametrize("near", [False, True])
@pytest.mark.parametrize("value", [NAN, INF])
def test_a_dead_cell_holding_nan_dies_alike_whatever_the_batch(near, value, monkeypatch):
    """A diverged cell away from life is dead: zero after a step on every
    path (the active crop's, the numba full grid's, torch's), whether or not
    another sample's life brings it inside the live box. Multiplied by a
    zero mask it had stayed NaN inside the box and become 0 outside it."""
    net = nca_model.NCA(3, NCAConfig())
    state = torch.zeros(2, net.channels.total, 9, 4, 4)
    state[0, net.channels.alive:, 1, 1, 1] = 1.0
    state[0, net.channels.alive + 1, 8, 3, 3] = value
    state[1, net.channels.alive:, *((7, 2, 2) if near else (1, 1, 1))] = 1.0
    fire = torch.ones(2, 1, 9, 4, 4, dtype=torch.bool)
    got = []
    for numba_on in (True, False):
        monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba_on)
        with torch.no_grad():
            got += [active.step_active(net, state, fire), net.step(state, fire),
                    active.rollout(net, state, 1, torch.Generator().manual_seed(0))]
    for out in got:
        assert out[0, :, 8, 3, 3].eq(0).all() and torch.isfinite(out).all()
    everything_dead = state.clone()
    everything_dead[:, net.channels.alive] = 0
    for numba_on in (True, False):
        monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba_on)
        assert active.step_active(net, everything_dead, fire).eq(0).all()
        assert active.rollout(net, everything_dead, 2, torch.Generator().manual_seed(0)).eq(0).all()


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_learned_perception_depends_neither_on_threads_nor_on_the_crop():
    """depthwise.py's claim, bit for bit: features and the kernel's gradient
    on 1 and 2 threads, on the whole grid and on a crop holding every cell
    that is not zero (batch 5: its last sample split in two work items)."""
    rng = np.random.default_rng(0)
    state = np.zeros((5, 6, 9, 9, 9), np.float32)
    state[:, :, 2:7, 1:8, 3:8] = rng.standard_normal((5, 6, 5, 7, 5))
    kernel = rng.standard_normal((6, 5, 27)).astype(np.float32)

    def run(x):
        rows = np.flatnonzero(np.abs(x).sum(1) > 0)
        feats, saved = depthwise.learned_rows(x, rows, kernel)
        grad = np.random.default_rng(1).standard_normal(feats.shape).astype(np.float32)
        return feats, depthwise.learned_backward(grad, saved, rows, np.zeros_like(x))

    before = numba.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results += [run(state), run(np.ascontiguousarray(state[:, :, 1:8, :, 2:9]))]
    finally:
        numba.set_num_threads(before)
    for feats, d_kernel in results[1:]:
        assert np.array_equal(feats, results[0][0]) and np.array_equal(d_kernel, results[0][1])


SPEC = """
hidden_channels = 6
mlp_width = 32
perception = "learned"
batch = 4
pool_size = 8
steps = [6, 10]
lr = 4e-3
lr_schedule = "constant"
iterations = 12
damage_kinds = ["sphere", "halfcut", "dropout"]
damage_count = 1
damage_after = 2
checkpoint_every = 4
average_from = 3
average_every = 2
verify_seeds = 2
verify_needed = 2
"""


def _train(root, out, **kw):
    from voxgen.train import train
    return train(root / "tiny.toml", device="cpu", out=root / out, weights_path=root / f"{out}.safetensors",
                 progress=False, threads=1, **kw)


def _rows(root, out):
    rows = [json.loads(line) for line in (root / out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rows]


def _same_weights(a, b):
    (ta, ma), (tb, mb) = read_weights(a), read_weights(b)
    assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)
    ra, rb = ({k: v for k, v in m["record"].items() if k != "wall_time_s"} for m in (ma, mb))
    assert ra == rb and ma["config"] == mb["config"]


def test_a_killed_then_resumed_run_is_the_run_straight_through(tmp_path, monkeypatch):
    """Same weights (the average too), the same metrics rows, whether the
    run went straight through, stopped at 6 and resumed, or was killed at
    iteration 10 (its last checkpoint at 8, rows logged past it) and resumed."""
    import voxgen.train as train_module
    write_tiny(tmp_path, "grow")
    (tmp_path / "tiny.toml").write_text('blueprint = "tiny_blueprint.toml"\n' + SPEC)
    _train(tmp_path, "straight")
    _train(tmp_path, "again")
    _train(tmp_path, "stopped", iterations=6)
    _train(tmp_path, "stopped", resume=True)
    real_lr_at = train_module.lr_at

    def kill_at_10(config, it, anchor=None):
        if it == 10:
            raise KeyboardInterrupt
        return real_lr_at(config, it, anchor)
    monkeypatch.setattr(train_module, "lr_at", kill_at_10)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, "killed")
    monkeypatch.setattr(train_module, "lr_at", real_lr_at)
    assert read_weights(tmp_path / "killed" / "checkpoint.safetensors")[1]["iteration"] == 8
    assert len(_rows(tmp_path, "killed")) == 10
    _train(tmp_path, "killed", resume=True)
    straight = _rows(tmp_path, "straight")
    assert len(straight) >= 12
    for other in ("again", "stopped", "killed"):
        assert _rows(tmp_path, other) == straight
        _same_weights(tmp_path / "straight.safetensors", tmp_path / f"{other}.safetensors")


def test_grow_seed_is_the_same_through_the_cli_and_the_library(tmp_path):
    from voxgen import formats
    from voxgen.cli import main
    from voxgen.grow import grow, load_trained
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(main, ["grow", "caterpillar", "--seed", "3", "--out", str(tmp_path / f"{name}.schem")])
        assert result.exit_code == 0, result.output
    formats.save(grow(load_trained("caterpillar"), seed=3, device="cpu").structure, tmp_path / "api.schem")
    first = (tmp_path / "a.schem").read_bytes()
    assert first == (tmp_path / "b.schem").read_bytes() == (tmp_path / "api.schem").read_bytes()


def test_resuming_on_another_thread_count_says_so(tmp_path, capsys):
    """A seeded run repeats exactly only on the same number of threads (the
    CPU's matrix products round by it): resuming on another count is said,
    with the flag that goes on as before; on the same count nothing is."""
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    (tmp_path / "tiny.toml").write_text('blueprint = "tiny_blueprint.toml"\n' + SPEC)
    run = dict(device="cpu", out=tmp_path / "run", weights_path=tmp_path / "w.safetensors", progress=True)
    train(tmp_path / "tiny.toml", threads=1, iterations=2, **run)
    assert read_weights(tmp_path / "run" / "checkpoint.safetensors")[1]["threads"] == 1
    capsys.readouterr()
    train(tmp_path / "tiny.toml", threads=1, iterations=3, resume=True, **run)
    assert "threads" not in capsys.readouterr().err
    before = torch.get_num_threads(), numba.get_num_threads()
    try:
        train(tmp_path / "tiny.toml", threads=2, iterations=4, resume=True, **run)
    finally:                                        # the thread counts are the process's
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])
    err = capsys.readouterr().err
    assert "trained on 1 threads, resumed on 2" in err and "--threads 1 goes on" in err
