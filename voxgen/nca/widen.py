"""Widen a trained NCA without changing what it does (for `train --resume`).

A model that has learnt most of a blueprint but lacks the capacity for the
last few cells can go on training with more hidden channels, a wider MLP,
more MLP layers, or perception it learns (fixed identity + Sobel filters
turned into learned ones, more learned filters), starting from the function
it has learnt instead of from scratch. The old weights are embedded in the
bigger model so that every step computes the same numbers on the old
channels (in exact arithmetic; in floating point up to rounding: the wider
MLP's matrix products, MKL's on the CPU, may sum in another order, as
learned kernels sum the taps in another order than fixed perception's
separable filters), and the new channels stay as the seed set them
(exactly):

- new hidden channels sit after the old ones; the MLP reads them through
  zero weights and writes them through zero weights (as the last layer of
  a fresh model is zero), so they start to matter only as training moves
  those weights (the seed sets them to 1, so they have a gradient at once);
- new units of a hidden layer get fresh random input weights and zero
  output weights;
- new hidden layers, appended before the output layer, start as the
  identity, exact on the ReLU outputs they read (all >= 0);
- fixed perception becomes learned with its four filters as the first
  learned ones; new filters get fresh random taps and are read through zero
  first-layer weights.

The pool of grown states gets zero new channels and Adam's moments new
entries (`widen_moments`), so a resumed run goes on where it stopped, with
room to grow.
"""

from __future__ import annotations

import torch

from voxgen.errors import VoxgenError
from voxgen.nca.config import NCAConfig
from voxgen.nca.model import NCA
from voxgen.nca.weights import model_state

CAPACITY = ("hidden_channels", "mlp_width", "mlp_layers")
RULE = ("only hidden_channels, mlp_width, mlp_layers and learned perception_filters may grow,"
        " and fixed perception may become learned")


def _filters(config: NCAConfig) -> int:
    """Perception filters per channel (fixed perception has four)."""
    return config.perception_filters if config.perception == "learned" else 4


def model_changes(old: NCAConfig, new: NCAConfig) -> list[str]:
    """The model settings that differ between `old` and `new`."""
    changed = [k for k in (*CAPACITY, "perception") if getattr(old, k) != getattr(new, k)]
    return changed + ["perception_filters"] * (_filters(old) != _filters(new))


def _change(key: str, old: NCAConfig, new: NCAConfig) -> str:
    """`key old -> new` as a refusal shows it; filters are counted as the
    model has them, so fixed perception (4 filters) with perception_filters
    1 going to learned with 2 reads as the loss of filters it is."""
    if key != "perception_filters":
        return f"{key} {getattr(old, key)!r} -> {getattr(new, key)!r}"
    def count(config):
        return f"{_filters(config)}{' (fixed perception)' if config.perception == 'fixed' else ''}"
    return f"{key} {count(old)} -> {count(new)}"


def changes_text(old: NCAConfig, new: NCAConfig) -> str:
    """The model settings `new` changes from `old`, as refusals name them."""
    return ", ".join(_change(k, old, new) for k in model_changes(old, new))


def can_widen(old: NCAConfig, new: NCAConfig) -> bool:
    """True when `new` only adds capacity to `old` (and differs from it):
    more hidden channels, MLP width or layers, perception filters, or learned
    perception in place of fixed."""
    grows = [getattr(new, k) >= getattr(old, k) for k in CAPACITY] + [_filters(new) >= _filters(old)]
    perception_ok = (old.perception, new.perception) in {("fixed", "fixed"), ("learned", "learned"),
                                                          ("fixed", "learned")}
    return all(grows) and perception_ok and bool(model_changes(old, new))


def fit_checkpoint(tensors: dict, before: NCAConfig, model: NCA, path) -> dict:
    """A training checkpoint's tensors (`model.*`, `opt.*`, `pool`, ...) saved
    with config `before`, fitted to `model`: unchanged when the model is the
    same, widened when its config only adds capacity, and a VoxgenError
    naming `path` and the changed settings otherwise."""
    if not model_changes(before, model.config):
        return tensors
    params = fit_parameters(model_state(tensors), before, model, path, "cannot resume")
    rest = {k: v for k, v in tensors.items() if not k.startswith(("model.", "opt."))}
    return {**rest, **{f"model.{n}": v for n, v in params.items()},
            **widen_moments(tensors, before, model),
            "pool": widen_state(tensors["pool"], model.channels.total)}


def fit_parameters(params: dict, before: NCAConfig, model: NCA, path,
                   refusal: str = "cannot start from these weights") -> dict:
    """A state dict saved with config `before`, fitted to `model`: unchanged,
    widened, or a VoxgenError naming `path` that starts with `refusal`."""
    changed = model_changes(before, model.config)
    if not changed:
        return params
    if not can_widen(before, model.config):
        raise VoxgenError(f"{refusal}: the spec changes {changes_text(before, model.config)} ({RULE})", path)
    return widen_parameters(params, before, model)


def _embed(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """`new` with its leading corner replaced by `old`."""
    out = new.detach().clone()
    out[tuple(slice(0, n) for n in old.shape)] = old
    return out


def widen_parameters(old: dict, old_cfg: NCAConfig, model: NCA) -> dict:
    """A state dict for `model` (the wider config) holding the parameters of
    `old` (state dict of an NCA with `old_cfg`), as the module docstring says."""
    if not can_widen(old_cfg, model.config):
        raise VoxgenError(f"the spec changes the model in a way a checkpoint cannot be widened to ({RULE})")
    fresh = model.state_dict()
    c_old, w_old = old["fc_out.weight"].shape
    p_old = old["fc_in"].shape[2]
    out = {"kernel": _embed(fresh["kernel"], old["kernel"]) if "kernel" in old else fresh["kernel"]}
    fc_in = _embed(fresh["fc_in"], old["fc_in"])
    fc_in[:w_old, c_old:] = 0                         # old units ignore the new channels
    fc_in[:w_old, :, p_old:] = 0                      # and the new filters
    out["fc_in"] = fc_in
    out["fc_in_bias"] = _embed(torch.zeros_like(fresh["fc_in_bias"]), old["fc_in_bias"])
    layers_old = old_cfg.mlp_layers - 1
    for i in range(model.config.mlp_layers - 1):
        w, b = fresh[f"hidden_layers.{i}.weight"], fresh[f"hidden_layers.{i}.bias"]
        if i < layers_old:
            w = _embed(w, old[f"hidden_layers.{i}.weight"])
            w[:w_old, w_old:] = 0                     # old units ignore the new ones
            b = _embed(torch.zeros_like(b), old[f"hidden_layers.{i}.bias"])
        else:
            w, b = torch.eye(w.shape[0]), torch.zeros_like(b)
        out[f"hidden_layers.{i}.weight"], out[f"hidden_layers.{i}.bias"] = w, b
    out["fc_out.weight"] = _embed(torch.zeros_like(fresh["fc_out.weight"]), old["fc_out.weight"])
    out["fc_out.bias"] = _embed(torch.zeros_like(fresh["fc_out.bias"]), old["fc_out.bias"])
    return out


def widen_state(state: torch.Tensor, channels: int) -> torch.Tensor:
    """States (N, C_old, X, Y, Z) with zero channels appended up to `channels`."""
    extra = state.new_zeros((state.shape[0], channels - state.shape[1], *state.shape[2:]))
    return torch.cat([state, extra], 1)


def widen_moments(tensors: dict, old_cfg: NCAConfig, model: NCA) -> dict:
    """Adam's saved state (`opt.I.NAME` tensors, I in parameter order) for
    the wider model, the old moments kept. New entries start with no
    momentum and the squared-gradient average a steadily trained entry has
    (training normalises each parameter's gradient to norm 1, so its mean
    square is 1 / numel), at the old step count: their first updates are a
    tenth of the learning rate and grow as momentum builds, instead of
    the full-size sign steps of a fresh Adam."""
    old_names = [n for n, _ in NCA(model.channels.classes, old_cfg).named_parameters()]
    steps = [v for k, v in tensors.items() if k.startswith("opt.") and k.endswith(".step")]
    last = max(steps, key=float).clone() if steps else torch.tensor(0.0)
    out = {}
    for i, (name, p) in enumerate(model.named_parameters()):
        j = old_names.index(name) if name in old_names else None
        fresh = {"exp_avg": torch.zeros_like(p.detach()),
                 "exp_avg_sq": torch.full_like(p.detach(), 1.0 / p.numel())}
        for moment, new in fresh.items():
            if j is not None and f"opt.{j}.{moment}" in tensors:
                new = _embed(new, tensors[f"opt.{j}.{moment}"])
            out[f"opt.{i}.{moment}"] = new
        out[f"opt.{i}.step"] = last.clone()
    return out
