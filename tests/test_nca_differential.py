"""Differential tests of the NCA's CPU fast paths (`cpu_step`, `depthwise`,
`stencils`, `mlp_rows`, `active`) against a plain torch step written out
here from DESIGN.md: depthwise 3x3x3 perception as a grouped conv, the MLP
per cell, firing, and the life mask as a 3x3x3 max-pool of the alive
channel compared with the threshold, before and after the update.

Each case is drawn from a seed (`make_case`): batch 1..7, grids with
sides of 1, 2, 3 and more, both perceptions and 1..8 learned filters,
channel counts and MLP widths and depths, float32 and float64, fire rates
0..1, thresholds with cells exactly at them, life touching every face and
corner, all dead, one cell, life that fills the grid or dies away, the
live box found every step or every few, and states that a step never
makes (non-zero cells away from life: a damaged or cut state). A long
campaign of the same cases runs from /tmp with `run_case` over many seeds.
Also here: the two discrepancies it found, kept as regressions, the numba
kernels' bits on one thread and two, seeded repeats, `--device auto`, and
widened models (`widen.py`) against the models they widen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from voxgen.nca import model as nca_model
from voxgen.nca.active import live_box, rollout, step_active
from voxgen.nca.config import NCAConfig
from voxgen.nca.model import NCA

torch.set_num_threads(1)

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
"""Largest difference allowed, relative to the largest magnitude of the
tensor compared."""


# --- the plain torch step ----------------------------------------------------

def reference_living(model: NCA, state: torch.Tensor) -> torch.Tensor:
    """bool (B, 1, X, Y, Z): some cell of the 3x3x3 neighbourhood has alive
    above the threshold (compared in the state's dtype, as torch does)."""
    alive = state[:, model.channels.alive:model.channels.alive + 1].detach()
    return F.max_pool3d(alive, 3, 1, 1) > model.config.alive_threshold


def reference_step(model: NCA, state: torch.Tensor, fire: torch.Tensor) -> torch.Tensor:
    """One step written out: perception (B, C, P, X, Y, Z), the MLP at every
    cell, the update where living cells fire, then only cells living before
    and after kept."""
    c, p = model.kernel.shape[:2]
    b, _, *grid = state.shape
    feats = F.conv3d(state, model.kernel.reshape(c * p, 1, 3, 3, 3), padding=1, groups=c).reshape(b, c, p, *grid)
    h = torch.relu(torch.einsum("wcp,bcpxyz->bxyzw", model.fc_in, feats) + model.fc_in_bias)
    for layer in model.hidden_layers:
        h = torch.relu(h @ layer.weight.t() + layer.bias)
    dx = (h @ model.fc_out.weight.t() + model.fc_out.bias).permute(0, 4, 1, 2, 3)
    pre = reference_living(model, state)
    x = state + dx * (fire & pre)
    return x * (pre & reference_living(model, x))


def generators(case: "Case"):
    """The firing generator: one, or one per sample."""
    if case.per_sample:
        return [torch.Generator().manual_seed(case.seed * 10 + i) for i in range(case.batch)]
    return torch.Generator().manual_seed(case.seed)


def fire_masks(case: "Case") -> list[torch.Tensor]:
    """One draw a step, as `model.fire_mask` does (the rollout draws blocks of steps)."""
    gens = generators(case) if case.per_sample else [generators(case)]
    shape = (1 if case.per_sample else case.batch, 1, *case.grid)
    return [torch.cat([torch.rand(shape, generator=g) for g in gens]) < case.fire_rate for _ in range(case.steps)]


# --- cases ---------------------------------------------------------------------

PATTERNS = ("dead", "single", "corners", "faces", "sparse", "full", "at_threshold", "stray")


@dataclass(frozen=True)
class Case:
    seed: int
    dtype: torch.dtype
    perception: str
    filters: int
    classes: int
    hidden: int
    width: int
    layers: int
    threshold: float
    fire_rate: float
    batch: int
    grid: tuple
    pattern: str
    steps: int
    every: int
    per_sample: bool     # a firing generator per sample, as training and evaluation use
    grow: float          # the alive channel's output bias: > 0 life spreads, < 0 it dies away


def make_case(seed: int, **fixed) -> Case:
    rng = np.random.default_rng(seed)
    perception = str(rng.choice(["fixed", "learned"]))
    case = Case(seed=seed, dtype=[torch.float32, torch.float64][rng.integers(2)], perception=perception,
                filters=int(rng.integers(1, 9)) if perception == "learned" else 4,
                classes=int(rng.integers(1, 7)), hidden=int(rng.choice([0, 1, 3, 6, 12, 24])),
                width=int(rng.choice([1, 2, 5, 16, 33])), layers=int(rng.integers(1, 4)),
                threshold=float(rng.choice([0.0, 0.1, 0.3, 0.5])),
                fire_rate=float(rng.choice([0.0, 0.3, 0.5, 1.0])), batch=int(rng.integers(1, 8)),
                grid=tuple(int(n) for n in rng.choice([1, 2, 3, 4, 5, 7, 9, 12], 3)),
                pattern=str(rng.choice(PATTERNS)), steps=int(rng.integers(1, 9)),
                every=int(rng.choice([1, 1, 2, 3, 5])), per_sample=bool(rng.random() < 0.3),
                grow=float(rng.choice([-1.0, -0.3, 0.0, 0.3, 0.6])))
    return replace(case, **fixed)


def make_model(case: Case) -> NCA:
    torch.manual_seed(case.seed)
    model = NCA(case.classes, NCAConfig(hidden_channels=case.hidden, mlp_width=case.width, mlp_layers=case.layers,
                                        perception=case.perception, perception_filters=case.filters,
                                        fire_rate=case.fire_rate, alive_threshold=case.threshold))
    with torch.no_grad():
        model.fc_in_bias.normal_(std=0.1)
        model.fc_out.weight.normal_(std=0.5)
        model.fc_out.bias.normal_(std=0.1)
        model.fc_out.bias[model.channels.alive] = case.grow
    return model.to(case.dtype)


def make_state(case: Case, model: NCA) -> torch.Tensor:
    """A (B, C, X, Y, Z) start state: alive cells placed by `case.pattern`,
    random values in them and in some of their neighbours (a grown state's
    skin), cells exactly at the threshold among them."""
    rng = np.random.default_rng(case.seed + 1)
    b, (nx, ny, nz), alive = case.batch, case.grid, model.channels.alive
    cells = np.zeros((b, nx, ny, nz), bool)
    where = case.pattern
    if where == "single":
        cells[rng.integers(b), rng.integers(nx), rng.integers(ny), rng.integers(nz)] = True
    elif where == "corners":
        cells[:, ::max(nx - 1, 1), ::max(ny - 1, 1), ::max(nz - 1, 1)] = True
    elif where == "faces":
        for axis in range(3):
            for end in (0, -1):
                index = [rng.integers(n) for n in case.grid]
                index[axis] = end
                cells[(rng.integers(b), *index)] = True
    elif where in ("sparse", "at_threshold", "stray"):
        cells = rng.random(cells.shape) < 0.15
    elif where == "full":
        cells[:] = True
    values = rng.standard_normal((b, model.channels.total, nx, ny, nz))
    skin = F.max_pool3d(torch.from_numpy(cells).double()[:, None], 3, 1, 1)[:, 0].numpy() > 0
    keep = skin & (rng.random(cells.shape) < 0.7) | cells
    if where == "stray":                               # non-zero cells with no life near them
        keep |= rng.random(cells.shape) < 0.2
    a = np.where(cells, rng.uniform(case.threshold + 0.05, 1.5, cells.shape),
                 rng.uniform(0, case.threshold, cells.shape))
    state = torch.from_numpy(values * keep[:, None]).to(case.dtype)
    state[:, alive] = torch.from_numpy(a * keep).to(case.dtype)
    if where in ("dead", "at_threshold"):              # some cells exactly at the threshold (not alive)
        at = torch.from_numpy(rng.random(cells.shape) < 0.3)
        state[:, alive][at] = case.threshold
    return state


# --- running both ways ---------------------------------------------------------------

def run(model: NCA, start: torch.Tensor, case: Case, how: str):
    """The final state and the gradients (of the start state, then of every
    parameter) of a weighted sum of it. `how`: "fast" (the CPU's rollout as
    one node), "stepwise" (the same steps one node each), "dense" (the
    model's steps on the whole grid), "torch" (the model's torch ops,
    numba off) or "reference" (the plain step above)."""
    model.zero_grad(set_to_none=True)
    x = start.clone().requires_grad_()
    masks = fire_masks(case)
    numba_was = nca_model.NUMBA_ON_CPU
    nca_model.NUMBA_ON_CPU = how != "torch"
    try:
        if how == "reference":
            y = x
            for fire in masks:
                y = reference_step(model, y, fire)
        elif how == "dense":
            y = x
            for fire in masks:
                y = model.step(y, fire)
        else:
            on_step = (lambda i, s: None) if how == "stepwise" else None
            y = rollout(model, x, case.steps, generators(case), on_step=on_step, find_box_every=case.every)
    finally:
        nca_model.NUMBA_ON_CPU = numba_was
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(case.seed + 2), dtype=case.dtype)
    (y * weight).sum().backward()
    return [y.detach(), x.grad] + [p.grad for p in model.parameters()]


def names(model: NCA) -> list[str]:
    return ["state", "start state gradient"] + [n + " gradient" for n, _ in model.named_parameters()]


def assert_close(got, want, case: Case, labels, what: str = "") -> None:
    """Within TOLERANCE of the largest magnitude (at least 1 for a state);
    a gradient of None equals one of zeros."""
    for a, b, label in zip(got, want, labels, strict=True):
        if a is None or b is None:
            other = a if b is None else b
            assert other is None or not other.any(), what + label
            continue
        scale = max(float(b.abs().max()), 1.0 if label == "state" else 1e-30)
        err = float((a - b).abs().max())
        assert err <= TOLERANCE[case.dtype] * scale, f"{what}{label}: off by {err:.3g} of {scale:.3g} in {case}"


def assert_equal(got, want, labels, what: str = "") -> None:
    """Bit for bit; a gradient of None (no step computed anything: all
    dead) equals one of zeros."""
    for a, b, label in zip(got, want, labels, strict=True):
        if a is None or b is None:
            other = a if b is None else b
            assert other is None or not other.any(), what + label
        else:
            assert torch.equal(a, b), what + label


def run_case(case: Case) -> dict:
    """Every comparison of one case: the fast rollout against the plain
    step and the model's dense and torch steps; bit for bit against its
    steps one by one. Returns what happened (for the campaign's tally)."""
    model = make_model(case)
    start = make_state(case, model)
    labels = names(model)
    fast, reference = run(model, start, case, "fast"), run(model, start, case, "reference")
    assert_close(fast, reference, case, labels, "fast vs plain: ")
    assert_close(run(model, start, case, "torch"), reference, case, labels, "torch vs plain: ")
    assert_equal(run(model, start, case, "stepwise"), fast, labels, "stepwise vs fast: ")
    assert_equal(run(model, start, case, "dense"), fast, labels, "dense vs fast: ")
    boxes = []
    with torch.no_grad():
        y = start
        for fire in fire_masks(case):
            y = reference_step(model, y, fire)
            boxes.append(live_box(model, y))
    return {"alive_at_end": int((fast[0][:, model.channels.alive] > case.threshold).sum()),
            "full_box": any(b == ((0, 0, 0), case.grid) for b in boxes),
            "shrank": any(a is not None and (b is None or b != a and all(
                lo >= l and hi <= h for lo, hi, l, h in zip(*b, *a))) for a, b in zip(boxes, boxes[1:]))}


# --- the cases CI runs ------------------------------------------------------------

LEARNED_A = dict(perception="learned", filters=1, classes=2, hidden=3)                            # P 1, C 6
LEARNED_B = dict(perception="learned", filters=8, classes=4, hidden=24, dtype=torch.float64)     # P 8, C 29
CASES = [   # seeds from the campaign, learned ones pinned to two kernel shapes (each compiles for seconds)
    (2, {}),            # float32, learned: one cell grows over a 9 x 7 x 12 grid, a generator per sample
    (4, {}),            # float64, 8 filters, 29 channels, 3 MLP layers, cells at the threshold, batch 5
    (8, LEARNED_A),     # a grid one cell thick, life on every face, batch 7
    (9, {}),            # fixed, stray non-zero cells, box found every 3rd step, batch 5
    (14, {}),           # fixed, all dead, every cell firing
    (35, {}),           # fixed, a 1 x 5 x 1 grid, life in its corners
    (12, LEARNED_B),    # 4 x 2 x 12, every cell alive, dying away
    (26, LEARNED_A),    # every cell alive and firing, dying away
    (10, LEARNED_B),    # a 2 x 2 x 4 grid, box found every 5th step
    (36, {}),           # float32 fixed, stray cells, threshold 0.5, batch 7
    (0, LEARNED_B),     # no cell fires
]


@pytest.mark.parametrize("seed, fixed", CASES)
def test_seeded_case_equals_the_plain_step(seed, fixed):
    run_case(make_case(seed, **fixed))


def test_a_float32_cell_exactly_at_the_threshold_is_dead_as_in_torch():
    """Regression: the numba life mask and live box compared a float32 alive
    channel with the threshold in float64, so a cell at float32(0.1) (above
    0.1) lived there and was dead in torch's max-pool (and on CUDA), which
    compares in float32: the states parted by whole cells."""
    from voxgen.nca import stencils
    alive = np.zeros((1, 3, 1, 2), np.float32)
    alive[0, 1, 0, 1] = 0.1
    assert not stencils.life_mask(alive, 0.1).any()
    lo, hi = stencils.alive_box(alive, 0.1)
    assert hi[0] <= lo[0]
    alive[0, 1, 0, 1] = np.nextafter(np.float32(0.1), np.float32(1))
    assert stencils.life_mask(alive, 0.1).sum() == 6
    for threshold in (0.1, 0.3):
        run_case(make_case(20, dtype=torch.float32, perception="fixed", threshold=threshold, pattern="at_threshold",
                           fire_rate=0.5, grid=(2, 4, 3)))


def test_the_first_step_perceives_cells_two_beyond_the_alive_box():
    """Regression: a rollout's first step ran on the alive box grown by one,
    but a living cell at its edge perceives a cell further out. A state no
    step made (a damaged pool sample, half a cut creature) may hold non-zero
    cells there, and their own gradient is not zero even where they are:
    the active rollout parted from the dense step in both."""
    case = make_case(3, dtype=torch.float64, perception="fixed", batch=1, grid=(8, 3, 3), steps=2, every=1,
                     fire_rate=1.0, threshold=0.1, per_sample=False, grow=0.6)
    model = make_model(case)
    start = torch.zeros(1, model.channels.total, 8, 3, 3, dtype=torch.float64)
    start[0, model.channels.alive, 5, 1, 1] = 1.0
    start[0, model.channels.hidden_slice, 3, 1, 1] = 3.0      # two cells from the alive one: no life near
    assert live_box(model, start) == ((4, 0, 0), (7, 3, 3))
    fast, reference = run(model, start, case, "fast"), run(model, start, case, "reference")
    assert (reference[0][:, model.channels.alive] > 0.1).any()
    assert reference[1][0, :, 3].abs().sum() > 0               # the start state's gradient two cells out
    assert_close(fast, reference, case, names(model))
    assert_equal(run(model, start, case, "stepwise"), fast, names(model))
    with torch.no_grad():
        fire = torch.ones(1, 1, 8, 3, 3, dtype=torch.bool)
        assert torch.equal(step_active(model, start, fire), model.step(start, fire))
    run_case(replace(case, pattern="stray", grid=(7, 5, 9), batch=2, steps=3))


@pytest.mark.parametrize("perception", ["fixed", "learned"])
def test_a_rollout_of_dead_cells_gives_zero_gradients_as_the_dense_step(perception):
    """Every cell dead: the dense step's backward gives zeros for every
    parameter, and so does the CPU's one-node rollout (it gave None, which
    Adam skips where it moves a zero by its momentum)."""
    case = make_case(5, dtype=torch.float32, perception=perception, batch=2, grid=(4, 3, 5), steps=3, every=1,
                     fire_rate=0.5, threshold=0.1, per_sample=False, grow=0.6)
    model = make_model(case)
    start = torch.zeros(2, model.channels.total, 4, 3, 5)
    start[:, model.channels.hidden_slice] = 0.5                # values, but no cell alive
    state = rollout(model, start.requires_grad_(), 3, torch.Generator().manual_seed(0))
    state.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape and not p.grad.any(), name


@pytest.mark.parametrize("seed, fixed", CASES[1:3])
def test_numba_threads_give_the_same_bits(seed, fixed):
    """One thread or two for the numba kernels (torch's held at one), an
    odd batch among the cases: the same rollout and gradients, bit for bit."""
    import numba
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here")
    case = make_case(seed, **fixed)
    before = numba.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            model = make_model(case)
            results.append(run(model, make_state(case, model), case, "fast"))
    finally:
        numba.set_num_threads(before)
    assert_equal(*results, names(model))


def test_a_seeded_rollout_repeats_and_another_seed_differs():
    case = make_case(5, fire_rate=0.5, pattern="single", grow=0.6, steps=4, **LEARNED_B)
    model = make_model(case)
    start = make_state(case, model)
    first, again = run(model, start, case, "fast"), run(model, start, case, "fast")
    assert_equal(first, again, names(model))
    other = run(model, start, replace(case, seed=case.seed + 100), "fast")
    assert not torch.equal(first[0], other[0])


def test_device_auto_picks_the_cpu_without_cuda(monkeypatch):
    from voxgen.nca.device import pick_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu") and pick_device(None) == torch.device("cpu")


WIDENINGS = [   # (classes, dtype, old config, new config): learned kernels of the shapes above
    (2, torch.float32, dict(perception="learned", perception_filters=1, hidden_channels=3, mlp_width=2, mlp_layers=2),
     dict(perception="learned", perception_filters=1, hidden_channels=3, mlp_width=42, mlp_layers=3)),
    (4, torch.float64, dict(hidden_channels=11, mlp_width=16, mlp_layers=1),
     dict(perception="learned", perception_filters=8, hidden_channels=24, mlp_width=24, mlp_layers=3)),
    (3, torch.float32, dict(hidden_channels=4, mlp_width=16, mlp_layers=2),
     dict(hidden_channels=12, mlp_width=24, mlp_layers=3)),
]


@pytest.mark.parametrize("classes, dtype, small, big", WIDENINGS)
def test_a_widened_model_takes_the_same_steps_up_to_rounding(classes, dtype, small, big):
    """widen.py: the old channels follow the old model's (to rounding: the
    wider MLP's matrix products sum in another order, even where the
    perception stays as it was), the new channels stay zero exactly. A
    seed cell and random cells; and one step where a single cell fires (a
    float32 case here that MKL, multiplying one row, rounds otherwise)."""
    from voxgen.nca.widen import widen_parameters, widen_state
    torch.manual_seed(classes)
    old, new = NCA(classes, NCAConfig(**small)), NCA(classes, NCAConfig(**big))
    torch.nn.init.normal_(old.fc_out.weight, std=0.5)
    new.load_state_dict(widen_parameters(old.state_dict(), old.config, new))
    old, new = old.to(dtype), new.to(dtype)
    c, gen = old.channels.total, torch.Generator().manual_seed(classes)
    start = torch.randn(3, c, 5, 4, 6, generator=gen, dtype=dtype) * (torch.rand(3, 1, 5, 4, 6, generator=gen) < 0.2)
    start[:, old.channels.alive:, 2, 1, 3] = 1.0
    with torch.no_grad():
        a = rollout(old, start, 6, torch.Generator().manual_seed(0))
        b = rollout(new, widen_state(start, new.channels.total), 6, torch.Generator().manual_seed(0))
    assert (a[:, old.channels.alive] > old.config.alive_threshold).sum() > 3
    assert not b[:, c:].any()
    assert_close([b[:, :c]], [a], make_case(0, dtype=dtype), ["state"])
    one = torch.zeros(1, 1, 5, 4, 6, dtype=torch.bool)
    one[0, 0, 2, 1, 3] = True
    with torch.no_grad():
        a, b = old.step(start[:1], one), new.step(widen_state(start[:1], new.channels.total), one)
    assert not b[:, c:].any()
    assert_close([b[:, :c]], [a], make_case(0, dtype=dtype), ["state"])
