"""Grow from fresh seeds and score against the target, in one batch."""

from __future__ import annotations

import torch

from voxgen.nca.active import rollout
from voxgen.nca.model import NCA
from voxgen.nca.target import decode_classes, seed_state


@torch.no_grad()
def check_growth(model: NCA, classes: torch.Tensor, seed, steps: int, seeds,
                 long_factor: int = 4) -> dict:
    """Grow one sample per seed in `seeds` (sample i's firing masks come from
    torch.Generator seeded seeds[i], exactly as `grow(seed=...)` draws them),
    for `steps` steps and then on to `long_factor * steps`.

    classes: int64 (X, Y, Z) target on the model's device.
    Returns exact (count at `steps`), n, accuracy (mean at `steps`),
    long_accuracy (worst sample at long_factor * steps), long_exact (count).
    """
    device = classes.device
    gens = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
    state = seed_state(model, classes.shape, seed, batch=len(gens), device=device)
    state = rollout(model, state, steps, gens)
    right = decode_classes(model, state) == classes
    result = {"n": len(gens), "exact": int(right.flatten(1).all(1).sum()),
              "accuracy": float(right.float().mean())}
    if long_factor > 1:
        state = rollout(model, state, (long_factor - 1) * steps, gens)
        right = decode_classes(model, state) == classes
        acc = right.flatten(1).float().mean(1)
        result.update(long_accuracy=float(acc.min()), long_exact=int(right.flatten(1).all(1).sum()))
    return result
