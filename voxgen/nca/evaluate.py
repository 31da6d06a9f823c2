"""Grow from fresh seeds and score against the target, in one batch; and
which samples need growing at all when growth is deterministic (fire_rate
1): `distinct_seeds` for the checks, `distinct_runs` for a training batch."""

from __future__ import annotations

import torch

from voxgen.nca.active import rollout
from voxgen.nca.damage import blocks_box, sphere
from voxgen.nca.model import NCA
from voxgen.nca.target import decode_classes, seed_state


@torch.no_grad()
def check_growth(model: NCA, classes: torch.Tensor, seed, steps: int, seeds,
                 long_factor: int = 4, long_if_exact: int = 0) -> dict:
    """Grow one sample per seed in `seeds` (sample i's firing masks come from
    torch.Generator seeded seeds[i], exactly as `grow(seed=...)` draws them),
    for `steps` steps and then on to `long_factor * steps`.

    classes: int64 (X, Y, Z) target on the model's device.
    Returns exact (count at `steps`), n, accuracy (mean at `steps`), iou
    (the mean overlap of non-air cells at `steps`), extra and missing (the
    mean count of blocks grown where the target has air, and of the target's
    blocks grown as air: overgrowth and undergrowth), long_accuracy (worst
    sample at long_factor * steps), long_exact (count), grown (samples
    actually grown: 1 with fire_rate 1, see `distinct_seeds`). With
    `long_if_exact`, the long growth (3 of the 4 parts of the work) runs only
    if at least that many grew exactly at `steps`; the long keys are absent
    otherwise.
    """
    device = classes.device
    seeds = list(seeds)
    grown = distinct_seeds(model, seeds)
    copies = len(seeds) // max(len(grown), 1)
    gens = [torch.Generator(device=device).manual_seed(int(s)) for s in grown]
    state = seed_state(model, classes.shape, seed, batch=len(gens), device=device)
    state = rollout(model, state, steps, gens)
    grown_classes = decode_classes(model, state)
    right = grown_classes == classes
    solid, want = (grown_classes != 0).flatten(1), (classes != 0).flatten().unsqueeze(0)
    union = (solid | want).sum(1)
    iou = torch.where(union > 0, (solid & want).sum(1) / union.clamp_min(1), 1.0)   # both empty: 1
    result = {"n": len(seeds), "exact": copies * int(right.flatten(1).all(1).sum()),
              "accuracy": float(right.float().mean()), "iou": float(iou.mean()), "grown": len(gens),
              "extra": float((solid & ~want).sum(1).float().mean()),
              "missing": float((~solid & want).sum(1).float().mean())}
    if long_factor > 1 and result["exact"] >= long_if_exact:
        state = rollout(model, state, (long_factor - 1) * steps, gens)
        right = decode_classes(model, state) == classes
        acc = right.flatten(1).float().mean(1)
        result.update(long_accuracy=float(acc.min()),
                      long_exact=copies * int(right.flatten(1).all(1).sum()))
    return result


def distinct_seeds(model: NCA, seeds: list) -> list:
    """The seeds whose growth differs: with fire_rate 1 every cell fires at
    every step and the seed changes nothing, so one grows what all grow."""
    return seeds[:1] if model.config.deterministic else seeds


def distinct_runs(order: torch.Tensor, reseed: int, deterministic: bool):
    """(runs (R,), back (B,)): the batch samples to grow, and for each sample
    of the batch the run whose end state it gets. `order[:reseed]` are fresh
    seeds; when growth is deterministic (fire_rate 1) their runs are one and
    the same: grow it once and count it `reseed` times (the same loss and
    gradient as growing each copy)."""
    b = len(order)
    if not deterministic or reseed < 2:
        return torch.arange(b), torch.arange(b)
    runs = torch.cat([order[:1], order[reseed:]])
    back = torch.empty(b, dtype=torch.long)
    back[runs] = torch.arange(len(runs))
    back[order[1:reseed]] = 0
    return runs, back


@torch.no_grad()
def check_regrowth(model: NCA, classes: torch.Tensor, seed, steps: int, seeds, axes,
                   at_range, positions: int = 3) -> dict:
    """Grow one sample per seed for `steps`, cut it by planes `axis = at`
    (`positions` cut positions spread over `at_range`, a fraction of the
    blocks' extent, as training's half-cuts take it), keep either side alone
    (the other side's cells zeroed, as the regeneration harness does) and
    run `steps` more steps in place. Returns n (parts tried) and exact
    (parts that regrew the whole target).

    Every cut leaves blocks of the target on both sides, as `voxgen regen`'s
    do: a position at the outermost blocks is moved in by a layer (a part
    with no block dies at once and can never regrow, so at_range [0, 1]
    could never reach the 90% that stops training early), and an axis along
    which the blocks fill one layer is not cut."""
    device = classes.device
    gens = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
    grown = rollout(model, seed_state(model, classes.shape, seed, len(gens), device), steps, gens)
    box_lo, box_hi = blocks_box(classes.cpu().numpy())
    n = exact = 0
    for axis in axes:
        a = "xyz".index(axis)
        lo, hi = box_lo[a], box_hi[a]                       # grid coordinates of the blocks
        fractions = torch.linspace(float(at_range[0]), float(at_range[1]), positions).tolist()
        for at in sorted({min(max(lo + round(f * (hi - lo)), lo + 1), hi - 1) for f in fractions}
                         if hi - lo > 1 else ()):
            coord = torch.arange(classes.shape[a], device=device)
            shape = [1, 1, 1, 1, 1]
            shape[2 + a] = -1
            first = (coord < at).reshape(shape)
            for keep in (first, ~first):
                n, exact = n + len(gens), exact + _regrown(model, grown * keep, classes, steps, seeds, 10_000)
    return {"n": n, "exact": exact}


def _regrown(model: NCA, damaged: torch.Tensor, classes: torch.Tensor, steps: int, seeds, offset: int) -> int:
    """How many of the damaged samples (one per seed) regrow the whole target
    in `steps` steps, sample i firing from seed offset + seeds[i]."""
    regen = [torch.Generator(device=classes.device).manual_seed(offset + int(s)) for s in seeds]
    state = rollout(model, damaged, steps, regen)
    return int((decode_classes(model, state) == classes).flatten(1).all(1).sum())


@torch.no_grad()
def check_sphere_regrowth(model: NCA, classes: torch.Tensor, seed, steps: int, seeds,
                          radius_range, tries: int = 3) -> dict:
    """Grow one sample per seed for `steps`; then `tries` times wipe a ball
    out of each grown sample, placed and sized as training's sphere damage
    does (`damage.sphere`: a centre in the blocks' box, a radius drawn from
    `radius_range` times its largest extent, from a generator seeded by the
    seed and the try), and run `steps` more steps. Returns n (balls tried)
    and exact (samples that regrew the whole target)."""
    device = classes.device
    seeds = list(seeds)
    gens = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
    grown = rollout(model, seed_state(model, classes.shape, seed, len(gens), device), steps, gens)
    box = blocks_box(classes.cpu().numpy())
    n = exact = 0
    for t in range(tries):
        wiped = torch.cat([sphere(grown[i:i + 1], box, radius_range,
                                  torch.Generator().manual_seed(20_000 + 1_000 * t + int(s)))
                           for i, s in enumerate(seeds)])
        n, exact = n + len(seeds), exact + _regrown(model, wiped, classes, steps, seeds, 30_000 + 1_000 * t)
    return {"n": n, "exact": exact}


# The regrowth checks a run reports, by the damage each stands for.
HEALS = {"regrowth": "halfcut", "sphere_regrowth": "sphere"}
HEALED_SHARE = 0.9
"""The share of a regrowth check's tries that must regrow the whole target
for a run trained to heal to stop early."""


def healed(check) -> bool:
    """Whether a regrowth check's result ({"n": tries, "exact": regrown})
    reaches HEALED_SHARE; anything else (a summary of an older run) does not."""
    return (isinstance(check, dict) and all(isinstance(check.get(k), int) for k in ("n", "exact"))
            and check["exact"] >= HEALED_SHARE * check["n"])


def healing_checks(config) -> list[str]:
    """The regrowth checks an early stop needs besides exact growth: the cut
    halves' when training cuts halves, else the wiped balls' when it wipes
    balls (a run trained to heal balls would otherwise stop as soon as it
    grows, before it heals)."""
    if "halfcut" in config.damage_kinds:
        return ["regrowth"]
    return ["sphere_regrowth"] if "sphere" in config.damage_kinds else []


def heal(key: str, model: NCA, classes: torch.Tensor, seed, config, cut_axes) -> dict:
    """The regrowth check `key` (of HEALS) of `model`, from config.verify_seeds seeds."""
    seeds = range(config.verify_seeds)
    if key == "regrowth":
        return check_regrowth(model, classes, seed, config.horizon, seeds, cut_axes, config.halfcut_range)
    return check_sphere_regrowth(model, classes, seed, config.horizon, seeds, config.sphere_radius)
