"""What training minimises: the loss of a batch's end states against the
blueprint's classes, and the per-cell class weights that make rare blocks
count (private to `train`, and tested on its own)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from voxgen.nca.model import NCA
from voxgen.nca.target import argmax_class


def class_weights(classes: torch.Tensor, k: int, power: float) -> torch.Tensor:
    """(X, Y, Z) per-cell loss weight ~ frequency(class) ** -power, mean 1."""
    counts = torch.bincount(classes.flatten(), minlength=k).clamp(min=1).float()
    per_cell = (counts.sum() / counts)[classes] ** power
    return per_cell / per_cell.mean()


def growth_loss(model: NCA, state, classes, weights, far_air) -> torch.Tensor:
    """(B,) loss of end states (B, C, X, Y, Z) against `classes` (X, Y, Z).

    Cross-entropy over block classes where cells live (a dead cell counts as
    air: zero if the target is air, log K if it is a block; with
    `focal_gamma`, a living cell's cross-entropy is times (1 - p) ** gamma,
    p its right class's probability; with `hard_weight`, a living cell whose
    most likely class is wrong counts 1 + hard_weight times), plus the alive
    channel pulled to 1 on blocks and to <= 0 on air more than a cell away
    from any block (air next to blocks may stay alive, to bridge gaps; with
    `skin_weight` it is pulled to 1 there too)."""
    ch = model.channels
    b = state.shape[0]
    target = classes.expand(b, *classes.shape)
    ce = F.cross_entropy(state[:, ch.logits], target, reduction="none")       # (B, X, Y, Z)
    if model.config.focal_gamma:
        ce = ce * (1 - torch.exp(-ce)).pow(model.config.focal_gamma)
    if model.config.hard_weight:
        wrong = argmax_class(state[:, ch.logits].detach()) != target
        ce = ce * (1 + model.config.hard_weight * wrong)
    dead_ce = (target > 0).float() * math.log(ch.classes)
    ce = torch.where(model.life(state)[:, 0], ce, dead_ce)
    alive = state[:, ch.alive]
    alive_err = (alive - 1).square() * (target > 0) + alive.clamp(min=0).square() * far_air
    if model.config.skin_weight:
        skin = (target == 0) & (far_air == 0)
        alive_err = alive_err + model.config.skin_weight * (alive - 1).square() * skin
    return (ce * weights).mean((1, 2, 3)) + model.config.alive_weight * alive_err.mean((1, 2, 3))
