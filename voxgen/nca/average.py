"""Weight averaging for training (config `average_from`, `average_every`,
`average_decay`).

Late in training with damage the weights swing from checkpoint to
checkpoint; the mean of the weights taken every `average_every` iterations
from `average_from` on regrew cut halves of the tree and the cottage more
often than any single checkpoint. With `average_decay` the average is an
exponential moving one, updated every iteration, that follows the weights
instead of weighing the old ones as much as the new. `WeightMean` keeps
either as a float64 tensor per parameter, so a checkpoint can carry it and
`--resume` continues it.
"""

from __future__ import annotations

import copy

import torch

from voxgen.nca.model import NCA


class WeightMean:
    """The running average of a model's weights on the config's schedule;
    off (never adds, `model` returns the model itself) when `average_from`
    and `average_decay` are both 0."""

    def __init__(self, model: NCA):
        config = model.config
        self.start, self.every, self.decay = config.average_from, config.average_every, config.average_decay
        self.sums = {name: torch.zeros_like(p, dtype=torch.float64) for name, p in model.named_parameters()}
        self.n = 0

    @property
    def on(self) -> bool:
        return bool(self.start or self.decay)

    def after_iteration(self, model: NCA, done: int) -> None:
        """Take in the weights if `done` iterations (counted from 1) are due."""
        if self.decay:
            if done >= self.start:
                for name, p in model.named_parameters():
                    w = p.detach().double()
                    if self.n:
                        self.sums[name].mul_(self.decay).add_(w, alpha=1 - self.decay)
                    else:
                        self.sums[name].copy_(w)
                self.n += 1
        elif self.start and done >= self.start and (done - self.start) % self.every == 0:
            for name, p in model.named_parameters():
                self.sums[name] += p.detach().double()
            self.n += 1

    def model(self, model: NCA) -> NCA:
        """`model` itself while nothing is averaged, else a copy holding the average."""
        if not self.n:
            return model
        mean = copy.deepcopy(model)
        scale = 1 if self.decay else self.n          # the moving average is kept as it is, the mean as a sum
        mean.load_state_dict({name: s.div(scale).float() for name, s in self.sums.items()}, strict=False)
        return mean

    def tensors(self) -> dict:
        """The sums (or the moving average), for a checkpoint."""
        return {f"mean.{name}": s for name, s in self.sums.items()} if self.n else {}

    def load(self, tensors: dict, n: int, decay: float) -> None:
        """Take a checkpoint's `n` and sums, unless averaging is off now (the
        last weights are saved then), the checkpoint averaged the other way
        (`decay`, its config's average_decay) or the model was widened (other
        shapes): averaging starts anew then."""
        sums = {name: tensors.get(f"mean.{name}") for name in self.sums}
        if self.on and n and decay == self.decay and all(s is not None and s.shape == self.sums[name].shape
                                                         for name, s in sums.items()):
            self.sums = {name: s.to(self.sums[name].device) for name, s in sums.items()}
            self.n = n
