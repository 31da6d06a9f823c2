"""The NCA model: shapes, masking rules, dense vs active-region equality,
determinism, weights round trip, spec validation."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from voxgen.errors import VoxgenError
from voxgen.nca.active import live_box, rollout, step_active
from voxgen.nca.config import NCAConfig
from voxgen.nca.model import NCA, fire_mask, perception_kernels
from voxgen.nca.spec import parse_spec
from voxgen.nca.target import decode_classes, encode, seed_state
from voxgen.nca.weights import build_model, read_weights, save_weights
from voxgen.structure import Structure

ROOT = Path(__file__).resolve().parent.parent

torch.set_num_threads(1)


def small_structure() -> Structure:
    states = np.full((3, 2, 4), "minecraft:air", dtype=object)
    states[1, 0, 0:3] = "minecraft:stone"
    states[1, 1, 1] = "minecraft:oak_log[axis=y]"
    states[2, 0, 2] = "minecraft:observer[facing=north,powered=false]"
    return Structure.from_states(states, name="small")


def busy_model(perception="learned", k=4, seed=0, layers=2) -> NCA:
    """An NCA whose output layer is random, so steps do something."""
    torch.manual_seed(seed)
    model = NCA(k, NCAConfig(perception=perception, hidden_channels=5, mlp_width=16, mlp_layers=layers))
    torch.nn.init.normal_(model.fc_out.weight, std=0.5)
    torch.nn.init.normal_(model.fc_out.bias, std=0.1)
    with torch.no_grad():
        model.fc_out.bias[model.channels.alive] = 0.3    # keep life spreading
    return model


def reference_step(model: NCA, state, fire):
    """Slow twin of NCA.step: explicit depthwise perception, then the MLP
    per cell, then the masking rules written out with loops over offsets."""
    c = model.channels.total
    kernel = model.kernel.reshape(-1, 1, 3, 3, 3)                     # (C*P, 1, 3, 3, 3)
    p = torch.nn.functional.conv3d(state, kernel, padding=1, groups=c)  # (B, C*P, ...)
    h = torch.einsum("wq,bqxyz->bwxyz", model.fc_in.reshape(model.fc_in.shape[0], -1), p)
    h = torch.relu(h + model.fc_in_bias[None, :, None, None, None])
    h = h.permute(0, 2, 3, 4, 1)
    for layer in model.hidden_layers:
        h = torch.relu(layer(h))
    dx = model.fc_out(h).permute(0, 4, 1, 2, 3)

    def living(s):
        alive = s[:, model.channels.alive]
        padded = torch.nn.functional.pad(alive, (1, 1, 1, 1, 1, 1), value=-1e9)
        best = torch.full_like(alive, -1e9)
        X, Y, Z = alive.shape[1:]
        for i in range(3):
            for j in range(3):
                for k in range(3):
                    best = torch.maximum(best, padded[:, i:i + X, j:j + Y, k:k + Z])
        return (best > model.config.alive_threshold)[:, None]

    pre = living(state)
    x = state + dx * (fire & pre)
    return x * (pre & living(x))


def test_perception_kernels_are_identity_and_sobel():
    k = perception_kernels().reshape(4, 3, 3, 3)
    assert k[0, 1, 1, 1] == 1 and k[0].sum() == 1
    assert k[1, 2, 1, 1] == 4 / 16 and k[1, 0, 1, 1] == -4 / 16 and k[1, 1].abs().sum() == 0
    assert torch.allclose(k[2], k[1].permute(1, 0, 2)) and torch.allclose(k[3], k[1].permute(2, 1, 0))


def test_channels_and_shapes():
    model = busy_model()
    assert model.channels.total == 4 + 1 + 5
    state = seed_state(model, (5, 4, 6), (2, 0, 3), batch=3)
    assert state.shape == (3, 10, 5, 4, 6)
    assert state[0, model.channels.alive, 2, 0, 3] == 1 and state.abs().sum() == 3 * 6
    out = model.step(state, torch.ones(3, 1, 5, 4, 6, dtype=torch.bool))
    assert out.shape == state.shape


def test_untrained_model_changes_nothing():
    model = NCA(3, NCAConfig(hidden_channels=4))
    state = seed_state(model, (4, 4, 4), (1, 1, 1))
    assert torch.equal(rollout(model, state, 5, torch.Generator().manual_seed(0)), state)


@pytest.mark.parametrize("perception", ["learned", "fixed"])
def test_step_matches_slow_reference(perception):
    model = busy_model(perception)
    state = seed_state(model, (6, 5, 7), (3, 0, 3), batch=2)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(4):
            fire = fire_mask(state.shape, 0.5, gen, "cpu")
            fast, slow = model.step(state, fire), reference_step(model, state, fire)
            assert torch.allclose(fast, slow, atol=1e-5)
            state = fast


def test_masking_rules():
    model = busy_model()
    state = seed_state(model, (7, 7, 7), (3, 3, 3))
    with torch.no_grad():
        out = model.step(state, torch.ones(1, 1, 7, 7, 7, dtype=torch.bool))
    nonzero = out.abs().sum(1)[0] > 0
    idx = torch.nonzero(nonzero)
    # life spreads at most one cell per step
    assert idx.numel() and (idx - 3).abs().max() <= 1
    # a cell that does not fire keeps its state
    fire = torch.zeros(1, 1, 7, 7, 7, dtype=torch.bool)
    with torch.no_grad():
        assert torch.equal(model.step(state, fire), state)
    # a state with nothing alive dies entirely
    dead = state.clone()
    dead[:, model.channels.alive] = 0.05
    with torch.no_grad():
        assert model.step(dead, torch.ones_like(fire)).abs().sum() == 0


@pytest.mark.parametrize("find_box_every", [1, 5])
def test_active_region_equals_dense(find_box_every):
    """Also when the box is found only every 5th step and grown by a cell in
    between (a GPU's way), so that it is larger than the live box."""
    model = busy_model()
    state = seed_state(model, (9, 8, 11), (4, 0, 2), batch=2)
    with torch.no_grad():
        active = rollout(model, state, 12, torch.Generator().manual_seed(3), active=True,
                         find_box_every=find_box_every)
        dense = rollout(model, state, 12, torch.Generator().manual_seed(3), active=False)
    assert torch.equal(active, dense)
    assert (active[:, model.channels.alive] > 0.1).sum() > 20      # life really spread


@pytest.mark.parametrize("perception, every, grid, dies", [
    ("learned", None, (13, 7, 15), False), ("fixed", None, (13, 7, 15), False), ("learned", 3, (13, 7, 15), False),
    ("learned", None, (5, 4, 6), False), ("learned", None, (13, 7, 15), True)])
def test_rollout_as_one_node_equals_its_steps_bit_for_bit(perception, every, grid, dies):
    """The CPU's rollout as one autograd node (`cpu_step.CpuRollout`) against
    the same steps taken one by one (an `on_step` asks for them): the final
    state, and the gradients of the start state and of every parameter,
    bit for bit: with the live box a crop of the grid to the end, found
    every 3rd step, filling a small grid, and a batch that dies out (its
    state multiplied by zero, as the dense step does)."""
    model = busy_model(perception, seed=6)
    centre = tuple(n // 2 for n in grid)
    start = seed_state(model, grid, (centre[0], 0, centre[2]), batch=3)
    start = start + 0.05 * torch.randn(start.shape, generator=torch.Generator().manual_seed(1)) * (start != 0)
    if dies:
        start = start * 0.01          # below the alive threshold: dead from the first step
    results = []
    for on_step in (lambda i, s: None, None):
        model.zero_grad()
        x = start.clone().requires_grad_()
        y = rollout(model, x, 5, torch.Generator().manual_seed(2), on_step=on_step, find_box_every=every)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        results.append([y.detach(), x.grad] + [p.grad for p in model.parameters()])
    (stepwise, *step_grads), (fused, *fused_grads) = results
    alive = stepwise[:, model.channels.alive] > 0.1
    assert alive.sum() > (start[:, model.channels.alive] > 0.1).sum() or dies            # it grew
    box = live_box(model, stepwise)
    assert box is None if dies else (box == ((0, 0, 0), grid)) == (grid[0] < 6)     # a crop, or all the grid
    assert torch.equal(stepwise, fused)
    assert len(step_grads) == len(fused_grads) and all(
        (a is None and b is None) or torch.equal(a, b) for a, b in zip(step_grads, fused_grads))
    assert (fused_grads[0] != 0).any() != dies


def test_rollout_as_one_node_keeps_nothing_without_gradients_and_never_returns_its_input():
    from voxgen.nca.cpu_step import CpuRollout
    model = busy_model("learned", seed=6)
    start = seed_state(model, (7, 6, 9), (3, 0, 4), batch=1)
    kept = []
    original = CpuRollout.forward

    def spy(ctx, *args):
        out = original(ctx, *args)
        kept.append(len(ctx.steps))
        return out

    CpuRollout.forward = staticmethod(spy)
    try:
        with torch.no_grad():
            rollout(model, start, 5, torch.Generator().manual_seed(2))
        rollout(model, start, 5, torch.Generator().manual_seed(2))
        none = rollout(model, start, 0, torch.Generator().manual_seed(2))
    finally:
        CpuRollout.forward = original
    assert kept == [0, 5, 0]
    assert torch.equal(none, start) and none.data_ptr() != start.data_ptr()
    y = rollout(model, start.clone().requires_grad_(), 3, torch.Generator().manual_seed(2))
    y.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="backward runs once"):      # its steps' arrays are gone
        y.sum().backward()


def test_active_step_on_a_partial_box_equals_dense():
    model = busy_model(seed=4)
    state = seed_state(model, (10, 6, 10), (2, 1, 2))
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(3):
            fire = fire_mask(state.shape, 0.5, gen, "cpu")
            assert live_box(model, state)[1][0] < 10          # the box really is partial
            a, d = step_active(model, state, fire), model.step(state, fire)
            assert torch.equal(a, d)
            state = a



@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_live_box_numba_equals_torch(monkeypatch, dtype):
    """The numba box of alive cells against the torch ops CUDA runs: random
    sparse life (boxes touching the grid's faces or not), and none alive."""
    from voxgen.nca import model as nca_model
    model = busy_model()
    gen = torch.Generator().manual_seed(9)
    for trial in range(30):
        state = torch.zeros(3, model.channels.total, 7, 5, 9, dtype=dtype)
        alive = torch.rand(3, 7, 5, 9, generator=gen, dtype=dtype)
        state[:, model.channels.alive] = torch.where(alive < 0.02 * (trial % 5), 0.5, 0.05)
        boxes = []
        for numba in (True, False):
            monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba)
            boxes.append(live_box(model, state))
        assert boxes[0] == boxes[1]
    assert live_box(model, state) is not None


def test_alive_box_scans_in_from_the_faces_and_finds_the_box():
    """The numba box (planes scanned in from each face until an alive cell)
    against numpy's argwhere, on random grids from empty to full, one cell
    thick along some axes too."""
    from voxgen.nca import stencils
    rng = np.random.default_rng(4)
    for _ in range(400):
        shape = tuple(rng.integers(1, 7, 4))
        alive = np.where(rng.random(shape) < rng.choice([0, 0.01, 0.05, 0.3, 1.0]), 0.5, 0.05)
        alive = alive.astype(np.float32)
        lo, hi = stencils.alive_box(alive, 0.1)
        cells = np.argwhere((alive > 0.1).any(0))
        if cells.size == 0:
            assert hi[0] <= lo[0]
        else:
            assert (lo.tolist(), hi.tolist()) == (cells.min(0).tolist(), (cells.max(0) + 1).tolist())


@pytest.mark.parametrize("per_sample, numbers", [(False, 1 << 22), (True, 1 << 22), (False, 200)])
def test_fire_masks_drawn_in_blocks_equal_one_draw_a_step(monkeypatch, per_sample, numbers):
    """The CPU draws a rollout's firing masks FIRE_BLOCK steps at a time (or
    fewer, where a grid is large); they are the masks of one draw a step (37
    steps: two blocks and a part; with a cap of 200 numbers, 2 steps at a
    time)."""
    from voxgen.nca import active
    from voxgen.nca.active import FIRE_BLOCK, fire_masks
    monkeypatch.setattr(active, "FIRE_BLOCK_NUMBERS", numbers)

    def gens():
        if per_sample:
            return [torch.Generator().manual_seed(s) for s in (5, 6, 7)]
        return torch.Generator().manual_seed(5)
    shape, steps = (3, 4, 2, 3, 5), 2 * FIRE_BLOCK + 5
    blocks = list(fire_masks(shape, 0.5, gens(), "cpu", steps))
    one, step_by_step = gens(), []
    for _ in range(steps):
        step_by_step.append(fire_mask(shape, 0.5, one, "cpu"))
    assert len(blocks) == steps and all(a.shape == (3, 1, 2, 3, 5) for a in blocks)
    assert all(torch.equal(a, b) for a, b in zip(blocks, step_by_step))
    assert not torch.equal(blocks[0], blocks[1])


def test_active_step_of_a_dead_batch_keeps_the_graph():
    """A batch whose every cell died still backpropagates (a zero gradient, as
    the dense step gives), so training does not crash when growth dies out."""
    model = busy_model()
    state = seed_state(model, (5, 5, 5), (2, 2, 2))
    state[:, model.channels.alive] = 0.05                      # nothing alive
    x = model.step(state, torch.ones(1, 1, 5, 5, 5, dtype=torch.bool))
    out = step_active(model, x, torch.ones(1, 1, 5, 5, 5, dtype=torch.bool))
    assert out.abs().sum() == 0 and out.requires_grad
    out.sum().backward()
    assert model.fc_out.weight.grad is not None and model.fc_out.weight.grad.abs().sum() == 0
def test_rollout_is_deterministic_with_a_seed():
    model = busy_model()
    state = seed_state(model, (6, 6, 6), (3, 0, 3))
    with torch.no_grad():
        a = rollout(model, state, 8, torch.Generator().manual_seed(7))
        b = rollout(model, state, 8, torch.Generator().manual_seed(7))
        c = rollout(model, state, 8, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_encode_folds_void_and_picks_the_bottom_centre_seed():
    s = small_structure()
    void = np.zeros(s.shape, bool)
    void[0, 1, 3] = True
    s.void = void
    t = encode(s, margin=1, seed_position="bottom-centre")
    assert t.classes.shape == (5, 4, 6)
    assert t.palette[0] == "minecraft:air" and len(t.palette) == 4
    assert t.seed == (2, 1, 2)   # the middle of the bottom row of stone, plus the margin
    assert t.classes[t.seed] > 0


def test_weights_round_trip(tmp_path):
    model = busy_model()
    classes = torch.randint(0, 4, (3, 4, 5))
    path = save_weights(tmp_path / "m.safetensors", model, classes, "m",
                        ("minecraft:air", "minecraft:a", "minecraft:b", "minecraft:c"), (1, 0, 2), {"iterations": 3})
    tensors, meta = read_weights(path)
    loaded = build_model(tensors, meta)
    assert meta["record"] == {"iterations": 3} and meta["seed_pos"] == [1, 0, 2]
    assert meta["grid_shape"] == [3, 4, 5] and torch.equal(tensors["target.classes"], classes.int())
    for (n, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), n
    state = seed_state(model, (3, 4, 5), (1, 0, 2))
    fire = torch.ones(1, 1, 3, 4, 5, dtype=torch.bool)
    with torch.no_grad():
        assert torch.equal(model.step(state, fire), loaded.step(state, fire))


def test_weights_file_that_is_not_safetensors_is_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(VoxgenError, match="bad.safetensors"):
        read_weights(bad)


def test_decode_is_air_where_dead():
    model = busy_model()
    state = torch.zeros(1, model.channels.total, 3, 3, 3)
    state[0, 2, 1, 1, 1] = 5.0           # a strong class-2 logit, but nothing alive
    assert decode_classes(model, state).sum() == 0
    state[0, model.channels.alive, 1, 1, 1] = 1.0
    assert decode_classes(model, state)[0, 1, 1, 1] == 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_argmax_class_is_argmax_with_ties_and_nans(dtype):
    from voxgen.nca.target import argmax_class
    gen = torch.Generator().manual_seed(0)
    for trial in range(50):
        state = torch.randint(-2, 2, (3, 9, 5, 4, 6), generator=gen).to(dtype)    # ties everywhere
        if trial % 2:
            state[trial % 3, trial % 7, 1, trial % 4, 2] = float("nan")
        assert torch.equal(argmax_class(state[:, :7]), state[:, :7].argmax(1))


@pytest.mark.parametrize("body, message", [
    ('blueprint = "b.toml"\nhiden_channels = 3\n', "unknown key 'hiden_channels' (did you mean 'hidden_channels'?)"),
    ('blueprint = "b.toml"\nzzz = 3\n', "unknown key 'zzz' (`voxgen train --keys` lists them)"),
    ('blueprint = "b.toml"\nhidden_channels = "many"\n', "key 'hidden_channels' must be an integer"),
    ('blueprint = "b.toml"\nsteps = [10]\n', "key 'steps' must be a list of 2"),
    ('blueprint = "b.toml"\nsteps = [20, 10]\n', "key 'steps'"),
    ('blueprint = "b.toml"\nperception = "magic"\n', "key 'perception' must be one of"),
    ('blueprint = "b.toml"\ndamage_kinds = ["fire"]\n', "key 'damage_kinds'"),
    ('blueprint = "b.toml"\nlr = true\n', "key 'lr' must be a finite number"),
    ('blueprint = "b.toml"\nhard_weight = -1\n', "key 'hard_weight' must be a number in"),
    ('blueprint = "b.toml"\nfire_rate = 0\n', "key 'fire_rate' must be in"),
    ('blueprint = "b.toml"\nmlp_width = 0\n', "key 'mlp_width' must be a positive integer"),
    ('blueprint = "b.toml"\nperception_filters = 0\n', "key 'perception_filters' must be a positive"),
    ('blueprint = "b.toml"\ncheckpoint_every = 0\n', "key 'checkpoint_every' must be a positive"),
    ('blueprint = "b.toml"\nlr = 0\n', "key 'lr' must be > 0"),
    ('blueprint = "b.toml"\naverage_from = -5\n', "key 'average_from' must be a non-negative integer"),
    ('blueprint = "b.toml"\naverage_every = 0\n', "key 'average_every' must be a positive"),
    ('blueprint = "b.toml"\naverage_decay = 1.0\n', "key 'average_decay' must be a number in"),
    ('blueprint = "b.toml"\nverify_needed = 11\n', "could never stop early"),
    ('hidden_channels = 3\n', "missing key 'blueprint'"),
    ('blueprint = \n', "not valid TOML"),
])
def test_spec_errors_name_file_and_key(tmp_path, body, message):
    path = tmp_path / "thing.toml"
    path.write_text(body)
    with pytest.raises(VoxgenError, match=re.escape(message)) as err:
        parse_spec(path)
    assert "thing.toml" in str(err.value)


def test_a_spec_may_be_a_blueprint_file_or_a_shipped_name(tmp_path):
    from voxgen import formats

    house = tmp_path / "house.litematic"
    formats.save(formats.load(ROOT / "blueprints" / "cottage.toml"), house)
    spec = parse_spec(house)
    assert (spec.name, spec.blueprint, spec.config) == ("house", house.resolve(), NCAConfig())
    spec = parse_spec(ROOT / "blueprints" / "tree.toml")                       # voxgen's text blueprint
    assert spec.name == "tree" and spec.config == NCAConfig()
    spec = parse_spec("tree")                                                  # the shipped structure's spec
    assert spec.path == ROOT / "structures" / "tree.toml" and spec.config != NCAConfig()
    assert spec.blueprint == (ROOT / "blueprints" / "tree.toml").resolve()
    with pytest.raises(VoxgenError, match="no such spec file, blueprint file or shipped structure"):
        parse_spec(tmp_path / "nothing.toml")
    big = tmp_path / "big.bin"
    big.write_bytes(b"." * (2 << 20))
    with pytest.raises(VoxgenError, match="neither a spec"):
        parse_spec(big)


def test_spec_overrides_defaults(tmp_path):
    path = tmp_path / "thing.toml"
    (tmp_path.parent / "b.toml").write_text("")          # resolved, not read
    path.write_text('blueprint = "../b.toml"\nhidden_channels = 7\nlr = 1\nsteps = [5, 9]\n'
                    'seed_position = [1, 2, 3]\n')
    spec = parse_spec(path)
    assert spec.config.hidden_channels == 7 and spec.config.lr == 1.0
    assert spec.config.horizon == 9 and spec.config.seed_position == [1, 2, 3]
    assert spec.blueprint == (tmp_path.parent / "b.toml").resolve() and spec.name == "thing"


def test_spec_blueprint_may_name_a_bundled_blueprint(tmp_path):
    """A bare name is a bundled blueprint unless a file of that name sits beside the spec."""
    from voxgen.bundled import BLUEPRINTS
    path = tmp_path / "thing.toml"
    path.write_text('blueprint = "tree"\n')
    assert parse_spec(path).blueprint == (BLUEPRINTS / "tree.toml").resolve()
    (tmp_path / "tree").write_text("")
    assert parse_spec(path).blueprint == (tmp_path / "tree").resolve()
    path.write_text('blueprint = "no_such_blueprint"\n')
    with pytest.raises(VoxgenError, match=r"thing.toml: key 'blueprint': no file .*no_such_blueprint and no "
                                          r"bundled blueprint 'no_such_blueprint'"):
        parse_spec(path)


@pytest.mark.parametrize("shape", [(2, 4, 5, 6), (1, 1, 1, 1), (3, 1, 7, 2)])
def test_numba_life_mask_equals_the_max_pool(shape):
    """stencils.life_mask against max_pool3d of the alive channel, on a
    strided (non-contiguous) alive channel as the model passes it."""
    from voxgen.nca import stencils
    torch.manual_seed(0)
    state = torch.rand(shape[0], 3, *shape[1:], dtype=torch.float64) * 0.1     # all below
    state[0, 1, 0, 0, 0] = 0.1                                                 # at: not alive
    state[-1, 1, -1, -1, -1] = 0.1001
    if shape[0] > 1:
        state[0, 1, -1, 0, -1] = 0.5
    alive = state[:, 1]
    ref = torch.nn.functional.max_pool3d(alive.unsqueeze(1), 3, 1, 1)[:, 0] > 0.1
    got = torch.from_numpy(stencils.life_mask(alive.numpy(), 0.1))
    assert ref.any() and (not ref.all() or shape == (1, 1, 1, 1))
    assert torch.equal(got, ref)


def depthwise_features(state, kernel):
    """(B, X, Y, Z, P*C) filter-major features of `state` (B, C, X, Y, Z) by
    the depthwise kernel (C, P, 27), zero padded: the plain conv."""
    b, c, *grid = state.shape
    p = kernel.shape[1]
    out = torch.nn.functional.conv3d(state, kernel.reshape(c * p, 1, 3, 3, 3), padding=1, groups=c)
    return out.reshape(b, c, p, *grid).transpose(1, 2).reshape(b, p * c, *grid).permute(0, 2, 3, 4, 1)


class Perceive(torch.autograd.Function):
    """The numba perception rows (as the CPU's step computes them) as an autograd
    node of their own: (n, P*C) features of the cells at flat indices `rows`."""

    @staticmethod
    def forward(ctx, perception, state, kernel, rows):
        from voxgen.nca.cpu_step import perceive
        ctx.perception, ctx.rows, ctx.state = perception, rows.numpy(), state.detach().contiguous().numpy()
        kernel = None if kernel is None else kernel.detach().numpy()
        feats, ctx.saved = perceive(perception, ctx.state, ctx.rows, kernel)
        return torch.from_numpy(feats)

    @staticmethod
    def backward(ctx, grad):
        from voxgen.nca.cpu_step import perceive_backward
        d_state = np.zeros_like(ctx.state)
        d_kernel = perceive_backward(ctx.perception, grad.contiguous().numpy(), ctx.rows, ctx.saved, d_state)
        return None, torch.from_numpy(d_state), d_kernel, None


def update_rows(model, state, where):
    """The update computed the CPU's way: numba perception and the MLP at the
    firing rows only, scattered back into a zero change."""
    b, c, *grid = state.shape
    idx = where.reshape(-1).nonzero().squeeze(1)
    w = model.fc_in.permute(0, 2, 1).reshape(model.fc_in.shape[0], -1)
    h = torch.relu(torch.nn.functional.linear(Perceive.apply(model.config.perception, state, model.kernel, idx),
                                              w, model.fc_in_bias))
    for layer in model.hidden_layers:
        h = torch.relu(layer(h))
    dx = state.new_zeros(where.numel(), c).index_copy(0, idx, model.fc_out(h))
    return dx.reshape(b, *grid, c).permute(0, 4, 1, 2, 3)


def _update_both_ways(dtype, perception="learned"):
    """The update and its gradients with the numba perception rows, then
    with the dense torch ops CUDA runs (the fused conv for learned perception)."""
    torch.manual_seed(3)
    model = NCA(3, NCAConfig(hidden_channels=4, mlp_width=16, mlp_layers=2, perception=perception)).to(dtype)
    torch.nn.init.normal_(model.fc_out.weight, std=0.1)
    state = torch.randn(2, model.channels.total, 4, 5, 6, dtype=dtype)
    where = torch.rand(2, 1, 4, 5, 6) < 0.5
    weight = torch.randn(2, model.channels.total, 4, 5, 6, dtype=dtype)
    results = []
    for update in (update_rows, NCA.update):
        model.zero_grad()
        x = state.clone().requires_grad_()
        dx = update(model, x, where)
        (dx * weight).sum().backward()
        grads = [x.grad] + [p.grad.clone() for p in model.parameters() if p.grad is not None]
        results.append((dx.detach(), grads))
    return results


def test_numba_learned_perception_equals_the_fused_conv():
    """The numba path (perception at the firing rows) against the fused dense
    conv that CUDA runs: equal to rounding in float32; the update and the
    gradients of the state, MLP and kernel agree in float64."""
    (fast, _), (slow, _) = _update_both_ways(torch.float32)
    assert not torch.equal(fast, torch.zeros_like(fast))
    assert torch.allclose(fast, slow, atol=1e-5)
    (fast, fast_grads), (slow, slow_grads) = _update_both_ways(torch.float64)
    assert len(fast_grads) == len(slow_grads) == 8          # state, kernel, MLP (6)
    assert torch.allclose(fast, slow, atol=1e-12)
    for a, b in zip(fast_grads, slow_grads):
        assert torch.allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("grid, rows", [((3, 4, 3), [0, 5, 17, 30, 71]), ((1, 2, 1), [0, 1, 3]),
                                        ((2, 1, 3), list(range(12)))])
def test_numba_learned_perception_gradcheck(grid, rows):
    """Learned perception's rows against the plain depthwise conv, and a
    numerical gradcheck, on grids of one or two cells along some axes too
    (where the kernels skip the taps beyond the grid)."""
    state = torch.randn(2, 3, *grid, dtype=torch.float64, requires_grad=True)
    kernel = torch.randn(3, 2, 27, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor(rows)
    feats = Perceive.apply("learned", state, kernel, rows)
    assert torch.allclose(feats, depthwise_features(state, kernel).reshape(-1, 6)[rows], atol=1e-12)
    assert torch.autograd.gradcheck(lambda s, k: Perceive.apply("learned", s, k, rows), (state, kernel))


def test_numba_fixed_perception_equals_the_fused_conv():
    """The numba identity + Sobel rows against the fused dense conv that CUDA
    runs (the fixed filter bank folded into the first layer): the update and
    the gradients of the state and the MLP."""
    (fast, _), (slow, _) = _update_both_ways(torch.float32, "fixed")
    assert not torch.equal(fast, torch.zeros_like(fast))
    assert torch.allclose(fast, slow, atol=1e-6)
    (fast, fast_grads), (slow, slow_grads) = _update_both_ways(torch.float64, "fixed")
    assert len(fast_grads) == len(slow_grads) == 7          # state, MLP (6)
    assert torch.allclose(fast, slow, atol=1e-12)
    for a, b in zip(fast_grads, slow_grads):
        assert torch.allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("rows", [[0, 5, 17, 30, 71], [], list(range(72))])
def test_numba_fixed_perception_rows_and_gradcheck(rows):
    """Rows of the identity + Sobel filter bank, none or all of them, against
    the plain depthwise conv, and a numerical gradcheck."""
    state = torch.randn(2, 3, 3, 4, 3, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor(rows, dtype=torch.int64)
    fixed_rows = lambda s: Perceive.apply("fixed", s, None, rows)   # noqa: E731
    feats = fixed_rows(state)
    assert feats.shape == (len(rows), 12)
    kernel = perception_kernels().to(torch.float64).expand(3, 4, 27)
    assert torch.allclose(feats, depthwise_features(state, kernel).reshape(-1, 12)[rows], atol=1e-14)
    assert torch.autograd.gradcheck(fixed_rows, (state,))


@pytest.mark.parametrize("perception, layers", [("fixed", 2), ("learned", 2), ("fixed", 1), ("learned", 3)])
def test_numba_step_equals_the_torch_step(monkeypatch, perception, layers):
    """A whole step with the numba kernels (life mask, perception rows, the
    masked update) against the torch ops CUDA runs, over a few steps of real
    growth and death: states and the gradients of the start state and every
    parameter, float64."""
    from voxgen.nca import model as nca_model
    results = []
    for numba in (True, False):
        monkeypatch.setattr(nca_model, "NUMBA_ON_CPU", numba)
        model = busy_model(perception, seed=6, layers=layers).to(torch.float64)
        start = seed_state(model, (6, 5, 7), (2, 1, 3), batch=2).to(torch.float64)
        start = start + 0.05 * torch.randn(start.shape, generator=torch.Generator().manual_seed(1),
                                           dtype=torch.float64) * (start != 0)
        start.requires_grad_()
        gen = torch.Generator().manual_seed(2)
        x, states = start, []
        for _ in range(4):
            x = model.step(x, fire_mask(x.shape, 0.7, gen, "cpu"))
            states.append(x.detach())
        (x * torch.linspace(-1, 1, x.numel(), dtype=torch.float64).reshape(x.shape)).sum().backward()
        results.append((states, [start.grad] + [p.grad for p in model.parameters()]))
    (fast, fast_grads), (slow, slow_grads) = results
    alive = model.channels.alive
    assert (fast[-1][:, alive] > 0.1).sum() > (start[:, alive] > 0.1).sum()   # it grew
    for a, b in zip(fast, slow):
        assert torch.allclose(a, b, atol=1e-12)
    assert all(g is not None for g in fast_grads) and len(fast_grads) == len(slow_grads)
    for a, b in zip(fast_grads, slow_grads):
        assert torch.allclose(a, b, atol=1e-10)


def test_numba_learned_step_keeps_its_own_copy_of_the_state():
    """The CPU step's learned-perception backward reads the padded copy of
    the state its forward made, not the state itself: changing that state in
    place after the step leaves the gradients as they were."""
    model = busy_model("learned", seed=6, layers=2)
    start = seed_state(model, (6, 5, 7), (2, 1, 3), batch=1)
    start = start + 0.05 * torch.randn(start.shape, generator=torch.Generator().manual_seed(1)) * (start != 0)
    grads = []
    for change in (False, True):
        model.zero_grad()
        x = start.clone().requires_grad_()
        y = model.step(x * 1.0, fire_mask(x.shape, 1.0, torch.Generator().manual_seed(0), "cpu"))
        if change:
            with torch.no_grad():
                x.add_(1.0)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        grads.append([x.grad.clone(), model.kernel.grad.clone(), model.fc_in.grad.clone()])
    assert grads[0][1].abs().sum() > 0
    for a, b in zip(*grads):
        assert torch.equal(a, b)


@pytest.mark.parametrize("n", [0, 1, 300, 1000])
def test_mlp_row_kernels_equal_the_torch_ops(n):
    """The one-pass bias + ReLU, bias and ReLU backward + bias gradient of
    `mlp_rows` against the torch ops they replace (row counts that fill
    none, one, and several chunks of the column sums)."""
    from voxgen.nca import mlp_rows
    torch.manual_seed(n)
    x, w, bias = torch.randn(n, 7, dtype=torch.float64), torch.randn(5, 7, dtype=torch.float64), torch.randn(5)
    bias = bias.to(torch.float64)
    want = torch.addmm(bias, x, w.t()).clamp_min_(0)
    got = mlp_rows.add_bias((x @ w.t()).numpy(), bias.numpy(), True)
    assert np.allclose(got, want.numpy(), atol=1e-12) and (n == 0 or 0 < (got == 0).sum() < got.size)
    assert np.allclose(mlp_rows.add_bias((x @ w.t()).numpy(), bias.numpy(), False), torch.addmm(bias, x, w.t()).numpy(),
                       atol=1e-12)
    t = torch.randn(n, 5, dtype=torch.float64)
    want_t = torch.ops.aten.threshold_backward(t, want, 0)
    t_np = t.numpy().copy()
    sums = mlp_rows.relu_backward(t_np, got)
    assert np.array_equal(t_np, want_t.numpy())
    assert np.allclose(sums, want_t.sum(0).numpy(), atol=1e-10)


@pytest.mark.parametrize("batch", [1, 3, 5])
def test_numba_learned_backward_splits_an_odd_batch_evenly(batch):
    """The backward's work items: an odd batch's last sample in two halves of
    its rows, each half of the item list holding as many rows' worth of
    samples as the other, every row in exactly one item; and a gradcheck
    through that split."""
    from voxgen.nca.depthwise import _work_items
    starts = np.cumsum([0] + [10 + 3 * b for b in range(batch)])
    sample, lo, hi = _work_items(starts)
    assert len(sample) == batch + 1 and sorted(zip(lo, hi)) == sorted(
        [(starts[b], starts[b + 1]) for b in range(batch - 1)]
        + [(starts[-2], (starts[-2] + starts[-1]) // 2), ((starts[-2] + starts[-1]) // 2, starts[-1])])
    assert all(starts[b] <= a < z <= starts[b + 1] for b, a, z in zip(sample, lo, hi))
    first, second = sample[:len(sample) // 2], sample[len(sample) // 2:]
    assert len(first) == len(second) and sum(first == batch - 1) == sum(second == batch - 1) == 1
    state = torch.randn(batch, 3, 3, 2, 4, dtype=torch.float64, requires_grad=True)
    kernel = torch.randn(3, 2, 27, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor(np.flatnonzero(np.random.default_rng(batch).random(batch * 24) < 0.6))
    assert torch.autograd.gradcheck(lambda s, k: Perceive.apply("learned", s, k, rows), (state, kernel))


def test_numba_kernels_do_not_depend_on_the_thread_count():
    """The parallel numba kernels (rows in parallel, or samples or chunks of
    rows in parallel with their sums taken in a fixed order) give the same
    bits on 1 thread as on 2. (torch's matrix products do not: a seeded
    training run repeats bit for bit at the same `--threads`, and drifts
    apart at another.)"""
    import numba
    from voxgen.nca import depthwise, mlp_rows, stencils
    rng = np.random.default_rng(3)
    state = rng.standard_normal((3, 5, 4, 6, 7)).astype(np.float32)     # (B, C, X, Y, Z)
    rows = np.sort(rng.choice(3 * 4 * 6 * 7, 200, replace=False)).astype(np.int64)
    kernel = rng.standard_normal((5, 2, 27)).astype(np.float32)         # (C, P, 27)
    grad = rng.standard_normal((200, 2 * 5)).astype(np.float32)

    def run():
        relu_grad = np.tile(grad, (30, 1))                                # 6000 rows: many chunks
        column_sums = mlp_rows.relu_backward(relu_grad, np.tile(grad, (30, 1)) + 0.5)
        g4 = np.ascontiguousarray(np.tile(grad, 2))
        d_learned, d_fixed = np.ones_like(state), np.ones_like(state)     # the backwards add to these
        feats, saved = depthwise.learned_rows(state, rows, kernel)
        d_kernel = depthwise.learned_backward(grad, saved, rows, d_learned)
        return [column_sums, relu_grad, feats, d_kernel, d_learned,
                stencils.sobel_rows(state, rows), stencils.sobel_rows_backward(g4, rows, d_fixed)]

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(2)
        two = run()
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))


def test_set_threads_holds_for_torch_in_a_fresh_process():
    """`--threads 1` must hold for torch too: starting numba's OpenMP pool
    after torch.set_num_threads had put torch's count back to the cores'."""
    import subprocess
    import sys
    code = ("import numba, torch\nfrom voxgen.nca.model import set_threads\nset_threads(1)\n"
            "print(torch.get_num_threads(), numba.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["1", "1"]


def test_each_learned_perception_kernel_has_a_disk_cache_index_of_its_own():
    # numba numbers a new cache entry from the index it read: two processes
    # adding kernels for different shapes to one index at once could give both
    # the same file, one shape's key then loading the other's code
    from voxgen.nca import depthwise

    made = [depthwise._kernels(nf, nc, "float32") for nf, nc in [(4, 9), (4, 11), (6, 9)]]
    made.append(depthwise._kernels(4, 9, "float64"))
    paths = {kernel._cache._cache_file._index_path for pair in made for kernel in pair}
    assert len(paths) == 8
