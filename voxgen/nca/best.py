"""The best weights a run's growth checks saw (`train`).

Late in training with damage the weights can swing, and even collapse: the
big village house's regrowth stage grew exactly from 10 of 10 seeds with 102
of 120 cut halves regrowing at one check, and 400 iterations later its
batches were 80% right. A run that ends without passing its checks (its
iteration budget spent, or its loss stalled) so saves the best of what its
checks saw, not what it ends with, when that was better; the record says
which it kept. Each check that beats the ones before is written at once to
the run folder's best.safetensors, a weights file of its own (`voxgen grow`
takes it), so that `--resume` goes on with it and a killed run keeps it.

Checks compare by `score`: first whether the growth passes (verify_needed
seeds exact, and 99% right at 4x the horizon), then the regrowth tries that
regrew (counted only for growth that passes: the checks run them only then),
then the seeds grown exactly, then the share of cells right.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from voxgen.errors import VoxgenError
from voxgen.nca.model import NCA
from voxgen.nca.weights import model_state, read_weights


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def score(check, needed: int, heal_keys) -> tuple | None:
    """A growth check's standing (greater is better), or None for a check
    that is not one (a best.safetensors whose record was edited)."""
    if not isinstance(check, dict) or not _number(check.get("exact")) or not _number(check.get("accuracy")):
        return None
    tries = [check[key] for key in heal_keys if key in check]
    if not all(isinstance(t, dict) and _number(t.get("n")) and _number(t.get("exact")) for t in tries):
        return None
    long_accuracy = check.get("long_accuracy", 0)
    grows = check["exact"] >= needed and _number(long_accuracy) and long_accuracy >= 0.99
    return (bool(grows), sum(t["exact"] for t in tries) if grows else 0, check["exact"], check["accuracy"])


class BestWeights:
    """The run's best-checked weights, kept in memory and in `path`."""

    def __init__(self, path: Path, needed: int, heal_keys, save):
        self.path, self.needed, self.heal_keys = path, needed, list(heal_keys)
        self.save = save            # save(path, model, record): the run's save_weights
        self.state, self.check, self.iteration, self.score = None, None, None, None

    def resume(self, model: NCA, progress: bool) -> None:
        """Take up the best weights an earlier part of this run wrote, if any
        that fit `model` (a widened model starts anew)."""
        if not self.path.exists():
            return
        tensors, meta = read_weights(self.path)
        state = model_state(tensors)
        record = meta.get("record", {})
        mine = model.state_dict()
        standing = score(record.get("check"), self.needed, self.heal_keys)
        if standing is None or set(state) != set(mine) or any(state[k].shape != mine[k].shape for k in mine):
            if progress:
                print(f"{self.path}: not of this run's model, or no check in its record: a best is kept anew",
                      file=sys.stderr)
            return
        self.state, self.check, self.score = state, record["check"], standing
        self.iteration = record.get("iteration")

    def offer(self, iteration: int, check: dict, judged: NCA) -> None:
        """Keep `judged` (the weights a check at `iteration` judged) if its
        check beats the best so far."""
        standing = score(check, self.needed, self.heal_keys)
        if standing is None or (self.score is not None and standing <= self.score):
            return
        self.state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        self.check, self.iteration, self.score = copy.deepcopy(check), iteration, standing
        self.save(self.path, judged, {"iteration": iteration, "check": self.check})

    def beats(self, final: dict) -> bool:
        """Whether the best check beats the run's `final` one."""
        mine = score(final, self.needed, self.heal_keys)
        return self.score is not None and (mine is None or self.score > mine)

    def model(self, like: NCA) -> NCA:
        """A copy of `like` holding the best weights."""
        best = copy.deepcopy(like)
        try:
            best.load_state_dict(self.state)
        except RuntimeError as err:
            raise VoxgenError(f"does not fit the run's model ({str(err).splitlines()[0]})", self.path) from None
        return best
