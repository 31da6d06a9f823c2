"""The NCA module: perceive -> per-cell MLP -> stochastic firing -> alive masking.

State: one tensor (B, C, X, Y, Z), C = K + 1 + H channels, laid out by
`Channels`: K block-class logits (class 0 is air), one alive channel, H hidden.

Perception is depthwise (each channel filtered by its own 3x3x3 kernels:
identity + Sobel for "fixed", trained for "learned") and is followed by the
first MLP layer. Both are linear, so on a GPU (and wherever numba is off)
they are one dense 3x3x3 convolution whose kernel is their product, every
cell of the live box computed and then masked: a few large kernels. On the
CPU a whole step is one autograd node (`_CpuStep`): numba kernels compute
the life masks, perception at the living cells that fire only (`stencils.py`
for fixed, separably; `depthwise.py` for learned) and the masked update, and
three torch matrix products each way run the MLP on those rows, its biases
and ReLUs one pass each (`mlp_rows.py`); its backward is written out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voxgen.nca import depthwise, mlp_rows, stencils
from voxgen.nca.config import NCAConfig


NUMBA_ON_CPU = True
"""On the CPU, compute the life mask and fixed perception with the numba
kernels of `stencils.py`, and learned perception with those of
`depthwise.py` (CUDA runs torch ops and the fused conv; tests switch this
off to compare the two)."""


DEFAULT_THREADS = torch.get_num_threads()
"""torch's own thread count when voxgen was imported (its pick of the cores
this process may run on, or OMP_NUM_THREADS), what training uses unless
told otherwise."""


def set_threads(n: int) -> None:
    """Use `n` threads in torch's ops and in the numba kernels alike. numba's
    first: starting its OpenMP pool put torch's OpenMP count back to the
    cores' (torch's matrix products kept `n`, its other parallel ops did not)."""
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    torch.set_num_threads(n)


def uses_numba(state: torch.Tensor) -> bool:
    return NUMBA_ON_CPU and state.device.type == "cpu" and state.dtype in (torch.float32, torch.float64)


@dataclass(frozen=True)
class Channels:
    """Where each kind of channel sits in the state tensor."""
    classes: int   # K: block classes, air = 0
    hidden: int    # H

    @property
    def logits(self) -> slice:
        return slice(0, self.classes)

    @property
    def alive(self) -> int:
        return self.classes

    @property
    def hidden_slice(self) -> slice:
        return slice(self.classes + 1, self.total)

    @property
    def total(self) -> int:
        return self.classes + 1 + self.hidden


def perception_kernels() -> torch.Tensor:
    """(4, 27) float: identity, Sobel x, Sobel y, Sobel z over a 3x3x3
    neighbourhood flattened in (x, y, z) order; Sobel scaled to unit L1 / 2."""
    d = torch.tensor([-1.0, 0.0, 1.0])
    s = torch.tensor([1.0, 2.0, 1.0])
    ident = torch.zeros(3, 3, 3)
    ident[1, 1, 1] = 1.0
    sx = torch.einsum("i,j,k->ijk", d, s, s) / 16
    sy = torch.einsum("i,j,k->ijk", s, d, s) / 16
    sz = torch.einsum("i,j,k->ijk", s, s, d) / 16
    return torch.stack([ident, sx, sy, sz]).reshape(4, 27)


class NCA(nn.Module):
    """A 3D neural cellular automaton over K block classes.

    `step(state, fire)` maps (B, C, X, Y, Z) -> (B, C, X, Y, Z); `fire` is a
    bool (B, 1, X, Y, Z) mask of cells allowed to update this step.
    """

    def __init__(self, classes: int, config: NCAConfig):
        super().__init__()
        self.config = config
        self.channels = Channels(classes, config.hidden_channels)
        c = self.channels.total
        base = perception_kernels()
        if config.perception == "fixed":
            self.register_buffer("kernel", base.expand(c, 4, 27).clone())   # (C, P, 27)
        else:
            p = config.perception_filters
            kernel = 0.1 * torch.randn(c, p, 27)
            kernel[:, :min(p, 4)] = base[:min(p, 4)]
            self.kernel = nn.Parameter(kernel)
        p = self.kernel.shape[1]
        w = config.mlp_width
        self.fc_in = nn.Parameter(torch.randn(w, c, p) / (c * p) ** 0.5)   # (W, C, P)
        self.fc_in_bias = nn.Parameter(torch.zeros(w))
        self.hidden_layers = nn.ModuleList(nn.Linear(w, w) for _ in range(config.mlp_layers - 1))
        self.fc_out = nn.Linear(w, c)
        nn.init.zeros_(self.fc_out.weight)   # an untrained NCA changes nothing
        nn.init.zeros_(self.fc_out.bias)

    def fused_kernel(self) -> torch.Tensor:
        """(W, C, 3, 3, 3): depthwise perception followed by the first layer."""
        w, c, _ = self.fc_in.shape
        return torch.einsum("wcp,cpo->wco", self.fc_in, self.kernel).reshape(w, c, 3, 3, 3)

    def update(self, state: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Change dx (B, C, X, Y, Z): the MLP's output at cells where the bool
        mask `where` (B, 1, X, Y, Z) is set, exactly zero elsewhere. Every
        cell is computed, then masked, and perception (learned or fixed: a
        depthwise filter bank either way) and the first layer are one conv:
        on a GPU a handful of large kernels with no host synchronisation
        beat gathering the firing rows (the CPU's `_CpuStep` computes those
        rows only)."""
        h = F.relu(F.conv3d(state, self.fused_kernel(), self.fc_in_bias, padding=1)).permute(0, 2, 3, 4, 1)
        for layer in self.hidden_layers:
            h = F.relu(layer(h))
        return self.fc_out(h).permute(0, 4, 1, 2, 3) * where

    def life(self, state: torch.Tensor) -> torch.Tensor:
        """bool (B, 1, X, Y, Z): cells next to (or being) an alive cell."""
        alive = state[:, self.channels.alive:self.channels.alive + 1].detach()
        if uses_numba(state):
            mask = stencils.life_mask(alive[:, 0].numpy(), self.config.alive_threshold)
            return torch.from_numpy(mask).unsqueeze(1)
        return F.max_pool3d(alive, 3, 1, 1) > self.config.alive_threshold

    def step(self, state: torch.Tensor, fire: torch.Tensor) -> torch.Tensor:
        """One NCA step. Only living, firing cells change; cells that are not
        living before and after the update become all-zero (dead)."""
        if uses_numba(state):       # the same, as one autograd node of numba kernels and gemms
            return _CpuStep.apply(self, state, fire, *self._cpu_weights())
        pre = self.life(state)
        x = state + self.update(state, fire & pre)
        return x * (pre & self.life(x))

    def _cpu_weights(self) -> list[torch.Tensor]:
        """The parameters in `_CpuStep`'s order: the perception kernel (C, P,
        27), the first layer (W, C, P) and its bias, then weight and bias of
        each further layer, the output layer last."""
        out = [self.kernel, self.fc_in, self.fc_in_bias]
        for layer in [*self.hidden_layers, self.fc_out]:
            out += [layer.weight, layer.bias]
        return out


def _perceive_np(perception: str, state: np.ndarray, rows: np.ndarray, kernel: torch.Tensor):
    """Perception features (n, P*C), filter-major, at flat cells `rows` of the
    (B, C, X, Y, Z) array `state`, and what their backward needs: for learned
    perception the padded copy of the state its kernels read (a copy, so the
    state may change after the step) and the kernel's taps, for fixed nothing."""
    if perception == "learned":
        return depthwise.learned_rows(state, rows, kernel.detach().numpy())
    return stencils.sobel_rows(state, rows), None


def _perceive_np_backward(perception: str, grad: np.ndarray, rows: np.ndarray, saved, d_state: np.ndarray):
    """Add the gradient of the (B, C, X, Y, Z) state from the features'
    gradient `grad` (n, P*C) to `d_state` (same shape) and return that of
    the kernel (C, P, 27), or None for fixed perception."""
    if perception == "learned":
        return torch.from_numpy(depthwise.learned_backward(grad, saved, rows, d_state))
    stencils.sobel_rows_backward(grad, rows, d_state)
    return None


class _CpuStep(torch.autograd.Function):
    """`NCA.step` on the CPU as one autograd node: the life mask, perception at
    the living cells that fire, the MLP on those rows only (torch gemms) and
    the masked update (numba), and the backward of all of it written out, so
    a step costs a few kernel calls instead of dozens of small torch ops and
    autograd nodes. `tests/test_nca_model.py` checks it against the torch
    step. Inputs: the model, state (B, C, X, Y, Z), fire (B, 1, X, Y, Z) bool,
    then `NCA._cpu_weights()`."""

    @staticmethod
    def forward(ctx, model, state, fire, kernel, w_in, b_in, *layers):
        ch = model.channels
        s = state.detach().contiguous()
        sn = s.numpy()
        threshold = model.config.alive_threshold
        pre = stencils.life_mask(sn[:, ch.alive], threshold)
        rows = np.flatnonzero(fire.detach()[:, 0].numpy() & pre)
        feats_np, saved = _perceive_np(model.config.perception, sn, rows, kernel)
        feats = torch.from_numpy(feats_np)
        w_in = w_in.detach().permute(0, 2, 1).reshape(w_in.shape[0], -1)    # (W, P*C)
        hs = [torch.from_numpy(mlp_rows.add_bias((feats @ w_in.t()).numpy(), b_in.detach().numpy(), True))]
        weights = [w.detach() for w in layers]
        for w, b in zip(weights[0:-2:2], weights[1:-2:2]):
            hs.append(torch.from_numpy(mlp_rows.add_bias((hs[-1] @ w.t()).numpy(), b.numpy(), True)))
        out = mlp_rows.add_bias((hs[-1] @ weights[-2].t()).numpy(), weights[-1].numpy(), False)
        x, mask = stencils.apply_update(sn, out, rows, pre, ch.alive, threshold)
        ctx.model, ctx.rows, ctx.mask, ctx.saved = model, rows, mask, saved
        ctx.feats, ctx.hs, ctx.w_in, ctx.weights = feats, hs, w_in, weights
        return torch.from_numpy(x)

    @staticmethod
    def backward(ctx, grad):
        d_state, d_out = stencils.apply_update_backward(grad.contiguous().numpy(), ctx.mask, ctx.rows)
        d = torch.from_numpy(d_out)
        weights, hs = ctx.weights, ctx.hs
        d_layers, d_bias = [], d.sum(0)
        for i in range(len(hs) - 1, -1, -1):       # layer i+1 (weights[2i], weights[2i+1]) maps hs[i] on
            d_layers[:0] = [d.t() @ hs[i], d_bias]
            t = (d @ weights[2 * i]).numpy()       # through layer i+1, then hs[i]'s ReLU (and layer i's bias)
            d_bias = torch.from_numpy(mlp_rows.relu_backward(t, hs[i].numpy()))
            d = torch.from_numpy(t)
        d_w_in = (d.t() @ ctx.feats).reshape(ctx.w_in.shape[0], -1, ctx.model.channels.total)
        d_feats = (d @ ctx.w_in).numpy()
        d_kernel = _perceive_np_backward(ctx.model.config.perception, d_feats, ctx.rows, ctx.saved, d_state)
        return (None, torch.from_numpy(d_state), None, d_kernel, d_w_in.permute(0, 2, 1), d_bias, *d_layers)


def fire_mask(shape, rate: float, generator, device, steps: int | None = None) -> torch.Tensor:
    """bool (B, 1, X, Y, Z) firing mask. `generator` is one torch.Generator or
    a list of B (one per sample, so a sample's run does not depend on the
    other samples in its batch). With `steps`, (steps, B, 1, X, Y, Z): the
    masks of that many steps in one draw (on the CPU the numbers of `steps`
    draws one after the other: see `active.fire_masks`)."""
    b, _, x, y, z = shape
    lead = () if steps is None else (steps,)
    if isinstance(generator, (list, tuple)):
        r = torch.cat([torch.rand(lead + (1, 1, x, y, z), generator=g, device=device) for g in generator],
                      dim=len(lead))
    else:
        r = torch.rand(lead + (b, 1, x, y, z), generator=generator, device=device)
    return r < rate
