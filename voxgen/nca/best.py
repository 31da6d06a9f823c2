"""The best weights a run's growth checks saw (`train`).

Late in training with damage the weights can swing, and even collapse: the
big village house's regrowth stage grew exactly from 10 of 10 seeds with 102
of 120 cut halves regrowing at one check, and 400 iterations later its
batches were 80% right. A run that ends without passing its checks (its
iteration budget spent, or its loss stalled) so saves the best of what its
checks saw, not what it ends with, when that does better judged again at
the end as the last weights are (the blueprint or the settings may have
changed since its check); the record says which it kept. A run that trains
nothing (`--resume` at the checkpoint's own count) writes the checkpoint's
weights. Each check that beats the ones before is written at once to the
run folder's best.safetensors, a weights file of its own (`voxgen grow`
takes it), so that `--resume` goes on with it and a killed run keeps it.

Checks compare by `score`: first whether the growth passes (verify_needed
seeds exact, and 99% right at 4x the horizon), then the regrowth tries that
regrew (counted only for growth that passes: the checks run them only then),
then the seeds grown exactly, then the share of cells right.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import torch

from voxgen.errors import VoxgenError
from voxgen.nca.model import NCA
from voxgen.nca.train_run import PREVIOUS_BEST
from voxgen.nca.weights import model_state, read_weights
from voxgen.safe_read import NOT_REGULAR

MOVE_BEST_ASIDE = "move it aside and --resume goes on without it"


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


TRAINING_ONLY = {"pool_size", "batch", "lr", "lr_schedule", "lr_final", "iterations", "reseed", "damage_count",
                 "damage_after", "dropout_rate", "class_weight_power", "focal_gamma", "hard_weight", "alive_weight",
                 "skin_weight", "skip_spikes", "checkpoint_every", "average_from", "average_every", "average_decay",
                 "stop_streak", "verify_gap", "torch_seed"}
"""Settings that change how a run trains, not what its checks measure of
given weights: a best judged under others is set aside on --resume."""


class BestWeights:
    """The run's best-checked weights, kept in memory and in `path`."""

    def __init__(self, path: Path, needed: int, heal_keys, save):
        self.path, self.needed, self.heal_keys = path, needed, list(heal_keys)
        self.save = save            # save(path, model, record): the run's save_weights
        self.state, self.iteration, self.score = None, None, None

    def rank(self, check) -> tuple | None:
        return score(check, self.needed, self.heal_keys)

    def resume(self, model: NCA, palette, classes: torch.Tensor, seed, progress: bool) -> None:
        """Take up the best weights an earlier part of this run wrote, if
        they were judged as this run judges: the same target (blueprint,
        palette, seed cell), model shape and check settings. Others (the
        blueprint edited, the model widened, a check setting changed) are
        set aside as PREVIOUS_BEST, and a best is kept anew. A best file
        that cannot be read is a VoxgenError naming it."""
        if not os.path.lexists(self.path):
            return
        if not self.path.is_file():
            raise VoxgenError(f"{NOT_REGULAR}; {MOVE_BEST_ASIDE}", self.path)
        try:
            tensors, meta = read_weights(self.path)
        except VoxgenError as err:
            raise VoxgenError(f"{err.message}; {MOVE_BEST_ASIDE}", self.path) from None
        state, mine, record = model_state(tensors), model.state_dict(), meta.get("record", {})
        now = model.config.to_dict()
        judged = meta.get("config", {})
        differs = [k for k in now if k not in TRAINING_ONLY and judged.get(k) != now[k]]
        if set(state) != set(mine) or any(state[k].shape != mine[k].shape for k in mine):
            differs.append("the model's shape")
        if list(meta.get("palette", [])) != list(palette) or list(meta.get("seed_pos", [])) != list(seed) \
                or not torch.equal(tensors["target.classes"].long(), classes.cpu().long()):
            differs.append("the blueprint")
        standing = self.rank(record.get("check"))
        if standing is None:
            differs.append("no check in its record")
        if differs:
            os.replace(self.path, self.path.with_name(PREVIOUS_BEST))
            if progress:
                print(f"{self.path}: judged otherwise ({', '.join(differs)}): set aside as {PREVIOUS_BEST}; "
                      f"a best is kept anew", file=sys.stderr)
            return
        self.state, self.iteration, self.score = state, record.get("iteration"), standing

    def offer(self, iteration: int, check: dict, judged: NCA) -> None:
        """Keep `judged` (the weights a check at `iteration` judged) if its
        check beats the best so far."""
        standing = self.rank(check)
        if standing is None or (self.score is not None and standing <= self.score):
            return
        self.state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        self.iteration, self.score = iteration, standing
        self.save(self.path, judged, {"iteration": iteration, "check": check})

    def choose(self, model: NCA, final: dict, judge) -> tuple:
        """(weights, their check, what `best_of_checks` records or None): the
        best's weights if, judged again now by `judge(weights) -> check` as
        the last weights were (their `final` check), they beat them; else
        the last weights and their check."""
        last = self.rank(final)
        if self.score is None or (last is not None and self.score <= last):
            return model, final, None
        best = copy.deepcopy(model)
        try:
            best.load_state_dict(self.state)
        except RuntimeError as err:
            raise VoxgenError(f"does not fit the run's model ({str(err).splitlines()[0]})", self.path) from None
        again = judge(best)
        if last is not None and not self.rank(again) > last:
            return model, final, None
        return best, again, {"iteration": self.iteration, "last": final}
