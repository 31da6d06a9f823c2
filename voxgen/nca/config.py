"""NCAConfig: every hyperparameter of the model and its training, one field each.

A structure spec (`structures/NAME.toml`, see `spec.py`) overrides any field;
the resolved config is stored in the weights' metadata, so a trained model
carries the exact settings it was trained with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

PERCEPTIONS = ("fixed", "learned")
DAMAGE_KINDS = ("sphere", "halfcut", "dropout")
LR_SCHEDULES = ("constant", "cosine", "step")
MAX_STEPS = 10_000
"""The longest rollout a config may ask for (`steps`' hi, the growth horizon):
the shipped structures grow in 20 to 64 steps, and a horizon read from a
file is what `grow` runs by default."""
MAX_GROWTH_STEPS = 4 * MAX_STEPS
"""The longest growth `grow` and `regen` run: 4x the longest horizon, where
a grown structure is judged to stay grown."""


@dataclass
class NCAConfig:
    # --- model ---------------------------------------------------------------
    hidden_channels: int = 12
    """H: hidden state channels per cell (besides K class logits and 1 alive)."""
    mlp_width: int = 64
    """Width of each hidden layer of the per-cell update MLP."""
    mlp_layers: int = 1
    """Hidden layers in the update MLP (2 gives the prior work's 64-64)."""
    perception: str = "fixed"
    """"fixed": identity + Sobel x/y/z per channel (on the CPU computed
    separably, about 1.5x cheaper per step, hence the default); "learned":
    depthwise 3x3x3 filters per channel, initialised to identity + Sobel and
    trained. On the CPU either is computed by numba kernels at the firing
    cells only; on CUDA either is one dense conv fused with the first MLP
    layer."""
    perception_filters: int = 4
    """Depthwise filters per channel for "learned" perception ("fixed" has 4)."""
    fire_rate: float = 0.5
    """Probability that a cell applies its update at a step (stochastic firing)."""
    alive_threshold: float = 0.1
    """A cell is alive where its alive channel exceeds this; a cell lives on
    only next to an alive cell (3x3x3 max-pool), before and after the update."""
    seed_position: str | list = "bottom-centre"
    """Where the single seed cell sits: "bottom-centre" (the bottom layer's
    block nearest the centre of that layer's footprint), "centre" (the block
    nearest the box centre), or [x, y, z] in blueprint coordinates (a
    block's cell, not air)."""
    margin: int = 1
    """Air cells added around the blueprint box on every side of the grid."""

    # --- training --------------------------------------------------------------
    steps: list = field(default_factory=lambda: [32, 48])
    """[lo, hi]: rollout length drawn uniformly per iteration; hi is the
    training horizon (the default number of growth steps)."""
    pool_size: int = 64
    """Grown states kept between iterations (persistence)."""
    batch: int = 8
    """Samples per iteration (at most `pool_size`)."""
    lr: float = 2e-3
    """Adam learning rate at the start."""
    lr_schedule: str = "cosine"
    """"constant", "cosine" (to lr * lr_final over `iterations`), or "step"
    (x0.3 at 50% and 80% of `iterations`)."""
    lr_final: float = 0.05
    """Final learning rate as a fraction of `lr` (cosine schedule)."""
    iterations: int = 2000
    """Maximum training iterations (early stop usually ends sooner)."""
    reseed: int = 1
    """Worst-loss samples of each batch replaced by fresh seeds (at most `batch`)."""
    damage_kinds: list = field(default_factory=lambda: ["sphere", "halfcut", "dropout"])
    """Damage applied to grown samples: any of sphere, halfcut, dropout.
    With halfcut, an early stop also needs 90% of cut halves to regrow the
    whole; with sphere and no halfcut, 90% of grown samples with a ball
    wiped out (3 balls a verify seed). The final check reports both."""
    damage_count: int = 1
    """Best-loss samples of each batch that get damaged (after a warm-up; at
    most `batch`)."""
    damage_after: int = 200
    """Iterations before damage starts (let growth form first)."""
    halfcut_axes: list = field(default_factory=lambda: ["x", "y", "z"])
    """Axes a half-cut may cut across."""
    halfcut_range: list = field(default_factory=lambda: [0.3, 0.7])
    """Cut position as a fraction of the blocks' extent along the axis (the box
    of the blueprint's non-air cells)."""
    sphere_radius: list = field(default_factory=lambda: [0.15, 0.35])
    """Sphere damage radius as a fraction of the blocks' largest extent (centred
    on a cell of their box)."""
    dropout_rate: float = 0.2
    """Fraction of cells zeroed by dropout damage."""
    class_weight_power: float = 0.5
    """Per-class loss weight ~ (1 / frequency) ** power, mean 1 over cells."""
    focal_gamma: float = 0.0
    """Focal loss: each cell's cross-entropy times (1 - p) ** gamma, p the
    probability of its right class, so cells already right weigh little and
    the last few wrong ones (a window in a wall, locally alike to the wall)
    dominate the gradient. 0: plain cross-entropy."""
    hard_weight: float = 0.0
    """Hard cells: the cross-entropy of each living cell whose most likely
    class is wrong at the end of the rollout is times (1 + hard_weight), so
    that the last few wrong cells of a nearly right structure are not lost
    among thousands of right ones. Unlike focal_gamma it leaves the weight of
    right cells alone. A tool for the end of training (it got the temple's
    last window right); from the start it did not help on the toy room of
    bench/openings.py. 0: plain cross-entropy."""
    alive_weight: float = 1.0
    """Weight of the alive-channel loss (blocks alive, far air dead)."""
    skin_weight: float = 0.0
    """Weight of pulling the alive channel to 1 on air next to a block (the
    1-cell skin). Life spreads only to neighbours of living cells and the step
    from alive to dead has no gradient, so a blueprint whose blocks are
    separated by air gaps never learns to grow across them without it."""
    skip_spikes: float = 0.0
    """A batch whose loss is more than this many times the median of the
    last 50 neither steps the weights nor goes back into the pool (its row
    in metrics.jsonl says "skipped"). Late in training with damage a run can
    collapse within 20 iterations of such spikes: the big village house's
    regrowth stage fell from 0.9995 to 0.80 batch accuracy. Resumed from the
    same checkpoint with 10, it skipped 38 of 2125 batches and did not
    collapse. 0: off."""
    checkpoint_every: int = 100
    """Iterations between atomic checkpoints."""
    average_from: int = 0
    """Weight averaging: from this many iterations done on, the model's
    weights are added to a running mean every `average_every` iterations, and
    that mean is what is checked before stopping early and what is saved. Late
    in training with damage the weights swing from checkpoint to checkpoint
    (a half of the tree regrew in 0 to 10 of 10 trials from one to the next);
    their mean regrew halves of the tree and the cottage more often than any
    checkpoint. 0: off, the last weights are saved."""
    average_every: int = 250
    """Iterations between the weights that `average_from` averages."""
    average_decay: float = 0.0
    """Exponential moving average instead of the plain mean: when > 0, after
    every iteration from `average_from` on (0: from the first) the average
    becomes decay * average + (1 - decay) * weights, and that average is what
    is checked before stopping early and what is saved (`average_every` is
    unused). It follows the weights, about 1 / (1 - decay) iterations behind.
    0: off."""
    verify_seeds: int = 10
    """Fresh seeds grown to confirm exact growth before stopping early."""
    verify_needed: int = 10
    """How many of `verify_seeds` must grow exactly to stop early (at most
    `verify_seeds`)."""
    stop_streak: int = 3
    """Consecutive all-exact batches before the fresh-seed verification runs."""
    verify_gap: int = 25
    """Minimum iterations between two fresh-seed verifications."""
    torch_seed: int = 0
    """Seed of the training run (initial weights, sampling, damage)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "NCAConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def deterministic(self) -> bool:
        """fire_rate 1: every cell fires at every step, so growth from the
        seed is the same whatever the random seed."""
        return self.fire_rate >= 1

    @property
    def horizon(self) -> int:
        """Training horizon in steps: the default growth length."""
        return int(self.steps[1])


def lr_at(config, it: int, anchor=None) -> float:
    """Learning rate at iteration `it` under the config's schedule. `anchor`
    (it0, t0): the budget changed at iteration it0 of a resumed run, whose
    schedule was then a fraction t0 of the way through; the rest of it is
    spread over the iterations left, so the lr goes on from where it was
    (`schedule_anchor`) instead of jumping to where the new budget's own
    schedule would be."""
    t = _progress(config.iterations, it, anchor)
    if config.lr_schedule == "cosine":
        t = min(t, 1.0)
        return config.lr * (config.lr_final + (1 - config.lr_final) * 0.5 * (1 + math.cos(math.pi * t)))
    if config.lr_schedule == "step":
        if anchor is None:
            return config.lr * 0.3 ** ((it >= 0.5 * config.iterations) + (it >= 0.8 * config.iterations))
        return config.lr * 0.3 ** ((t >= 0.5) + (t >= 0.8))
    return config.lr


def schedule_anchor(saved, config, it: int, anchor=None):
    """The `anchor` of `lr_at` for a run resumed at iteration `it` with
    `config`, from a checkpoint of config `saved` and anchor `anchor`: the
    same where the budget is unchanged (or the lr constant), else where the
    checkpoint's schedule had got to at `it`."""
    if saved.iterations == config.iterations or config.lr_schedule == "constant":
        return anchor
    return it, min(_progress(saved.iterations, it, anchor), 1.0)


def _progress(iterations: int, it: int, anchor=None) -> float:
    """How far through a schedule of `iterations` iteration `it` is (1 at
    its end), from `anchor` (it0, t0) on where one is given."""
    if anchor is None:
        return it / max(iterations, 1)
    it0, t0 = anchor
    return t0 + (1 - t0) * (it - it0) / max(iterations - it0, 1)


def describe_keys() -> list[tuple[str, object, str]]:
    """(key, default, what it does) for every field, in order: the docstrings
    under the fields above, read from this module's source."""
    import ast
    import inspect
    import sys

    body = next(n for n in ast.parse(inspect.getsource(sys.modules[__name__])).body
                if isinstance(n, ast.ClassDef) and n.name == "NCAConfig").body
    docs = {a.target.id: " ".join(b.value.value.split()) for a, b in zip(body, body[1:])
            if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant)}
    defaults = NCAConfig().to_dict()
    return [(key, defaults[key], docs[key]) for key in defaults]
