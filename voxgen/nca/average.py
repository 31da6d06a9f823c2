"""Weight averaging for training (config `average_from`, `average_every`).

Late in training with damage the weights swing from checkpoint to
checkpoint; the mean of the weights taken every `average_every` iterations
from `average_from` on regrew cut halves of the tree and the cottage more
often than any single checkpoint. `WeightMean` keeps that mean as a float64
sum per parameter, so a checkpoint can carry it and `--resume` continues it.
"""

from __future__ import annotations

import copy

import torch

from voxgen.nca.model import NCA


class WeightMean:
    """The running mean of a model's weights on the config's schedule; off
    (never adds, `model` returns the model itself) when `average_from` is 0."""

    def __init__(self, model: NCA):
        self.start, self.every = model.config.average_from, model.config.average_every
        self.sums = {name: torch.zeros_like(p, dtype=torch.float64) for name, p in model.named_parameters()}
        self.n = 0

    def after_iteration(self, model: NCA, done: int) -> None:
        """Add the weights if `done` iterations (counted from 1) are due."""
        if self.start and done >= self.start and (done - self.start) % self.every == 0:
            for name, p in model.named_parameters():
                self.sums[name] += p.detach().double()
            self.n += 1

    def model(self, model: NCA) -> NCA:
        """`model` itself while nothing is averaged, else a copy holding the mean."""
        if not self.n:
            return model
        mean = copy.deepcopy(model)
        mean.load_state_dict({name: s.div(self.n).float() for name, s in self.sums.items()}, strict=False)
        return mean

    def tensors(self) -> dict:
        """The sums, for a checkpoint."""
        return {f"mean.{name}": s for name, s in self.sums.items()} if self.n else {}

    def load(self, tensors: dict, n: int) -> None:
        """Take a checkpoint's `n` and sums, unless averaging is off now (the
        last weights are saved then) or the model was widened (other shapes:
        averaging starts anew)."""
        sums = {name: tensors.get(f"mean.{name}") for name in self.sums}
        if self.start and n and all(s is not None and s.shape == self.sums[name].shape
                                    for name, s in sums.items()):
            self.sums = {name: s.to(self.sums[name].device) for name, s in sums.items()}
            self.n = n
