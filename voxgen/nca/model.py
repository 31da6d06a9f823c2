"""The NCA module: perceive -> per-cell MLP -> stochastic firing -> alive masking.

State: one tensor (B, C, X, Y, Z), C = K + 1 + H channels, laid out by
`Channels`: K block-class logits (class 0 is air), one alive channel, H hidden.

Perception is depthwise (each channel filtered by its own 3x3x3 kernels:
identity + Sobel for "fixed", trained for "learned") and is followed by the
first MLP layer. Both are linear, so on a GPU (and wherever numba is off)
they are one dense 3x3x3 convolution whose kernel is their product, every
cell of the live box computed and then masked: a few large kernels. On the
CPU a whole step is one autograd node (`cpu_step.CpuStep`, and a whole
rollout one more, `cpu_step.CpuRollout`): numba kernels compute the life
masks, perception at the living cells that fire only (`stencils.py` for
fixed, separably; `depthwise.py` for learned) and the masked update, and
three torch matrix products each way run the MLP on those rows, its biases
and ReLUs one pass each (`mlp_rows.py`); its backward is written out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import torch
import torch.nn.functional as F
from torch import nn

from voxgen.nca import cpu_step, stencils
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
        beat gathering the firing rows (the CPU's `cpu_step` computes those
        rows only)."""
        h = F.relu(F.conv3d(state, self.fused_kernel(), self.fc_in_bias, padding=1)).permute(0, 2, 3, 4, 1)
        for layer in self.hidden_layers:
            h = F.relu(layer(h))
        # where, not `* where`: a cell beside a NaN computes NaN, and NaN * 0 is NaN (the CPU's
        # step computes no row there and leaves the cell as it was)
        return torch.where(where, self.fc_out(h).permute(0, 4, 1, 2, 3), 0.0)

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
            return cpu_step.CpuStep.apply(self, state, fire, *self._cpu_weights())
        pre = self.life(state)
        x = state + self.update(state, fire & pre)
        return torch.where(pre & self.life(x), x, 0.0)     # not x * mask: NaN * 0 is NaN

    def _cpu_weights(self) -> list[torch.Tensor]:
        """The parameters in `cpu_step`'s order: the perception kernel (C, P,
        27), the first layer (W, C, P) and its bias, then weight and bias of
        each further layer, the output layer last."""
        out = [self.kernel, self.fc_in, self.fc_in_bias]
        for layer in [*self.hidden_layers, self.fc_out]:
            out += [layer.weight, layer.bias]
        return out


def fire_mask(shape, rate: float, generator, device, steps: int | None = None) -> torch.Tensor:
    """bool (B, 1, X, Y, Z) firing mask. `generator` is one torch.Generator or
    a list of B (one per sample, so a sample's firing does not depend on the
    other samples in its batch; its numbers may, by rounding: the CPU's
    matrix products of the MLP's rows sum in an order that depends on how
    many rows the batch has). With `steps`, (steps, B, 1, X, Y, Z): the
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
