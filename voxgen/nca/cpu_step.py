"""An NCA step on the CPU, and a whole rollout, each as one autograd node
(numba kernels and torch matrix products; private to `model` and `active`).

    CpuStep.apply(model, state, fire, *NCA._cpu_weights())     one step
    CpuRollout.apply(model, state, masks, every, grad_enabled, *NCA._cpu_weights())
                    steps on the live box of each, as `active.rollout` takes them

A step: the life mask, perception at the living cells that fire
(`stencils.py` for fixed, `depthwise.py` for learned), the MLP on those rows
only (torch gemms, biases and ReLUs one pass each, `mlp_rows.py`) and the
masked update; its backward is written out. A rollout runs the same steps in
a plain loop and keeps what each step's backward needs, so that a step costs
its kernels and nothing else: taken step by step, each step was an autograd
node of its own, its weights rearranged anew, its crop of the live box and
the padding back two more nodes, and each of its nine weight gradients
added into the parameter by the autograd engine: about 0.1 ms a step on
top of the kernels (a 55-step training iteration on a one-cell grid, one
thread: 13.9 ms step by step, 8.8 as one node). The rollout's backward
adds the steps' weight gradients in the order the engine did (the last
step's first), so both ways give the same bits; `tests/test_nca_model.py`
checks it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from voxgen.nca import depthwise, mlp_rows, stencils


class Weights:
    """The weights as the CPU's step reads them, laid out once for all the
    steps of a rollout: the perception kernel (C, P, 27) (and its taps for
    learned perception), the first layer (W, P*C) and its bias, then the
    further layers' weights and biases, the output layer last."""

    def __init__(self, perception: str, kernel, w_in, b_in, layers):
        self.perception = perception
        self.kernel = kernel.detach().numpy()
        self.taps = depthwise.kernel_taps(self.kernel) if perception == "learned" else None
        self.w_in = w_in.detach().permute(0, 2, 1).reshape(w_in.shape[0], -1)
        self.in_shape = w_in.shape                                       # (W, C, P)
        self.b_in = b_in.detach().numpy()
        self.weights = [w.detach() for w in layers[0::2]]
        self.biases = [b.detach().numpy() for b in layers[1::2]]
        self.w_in_t, self.weights_t = self.w_in.t(), [w.t() for w in self.weights]    # the forward's views
        # the parameters' own shapes (None: fixed perception's kernel, no parameter)
        self.shapes = [kernel.shape if perception == "learned" else None, w_in.shape, b_in.shape,
                       *(t.shape for t in layers)]


class Saved(NamedTuple):
    """What one step's backward needs."""
    rows: np.ndarray            # (n,) flat indices of the cells that fired
    mask: np.ndarray            # bool (B, X, Y, Z): the cells kept after the update
    perceived: object           # perception's saved arrays (learned), or None
    feats: torch.Tensor         # (n, P*C) perception features
    hs: list                    # the hidden layers' activations, (n, W) each


class Gradients:
    """The weights' gradients summed over steps in the order they come
    (the first one taken as it is, each later one added), in `Weights`'
    layout, and handed back in the parameters' own."""

    def __init__(self, w: Weights):
        self.w = w
        self.sums: list[torch.Tensor | None] = [None] * (3 + 2 * len(w.weights))

    def add(self, slot: int, grad: torch.Tensor | None) -> None:
        if grad is None:
            return
        if self.sums[slot] is None:
            self.sums[slot] = grad
        else:
            self.sums[slot] += grad

    def result(self) -> list[torch.Tensor | None]:
        """The gradients; zeros for weights no step added to (every cell
        dead), as the dense step's backward gives, so that Adam treats them
        alike (it skips a None, and moves a zero by its momentum). None for
        fixed perception's kernel, which is no parameter."""
        d_kernel, d_w_in, d_b_in, *layers = self.sums
        wc, c, p = self.w.in_shape
        if d_w_in is not None:
            d_w_in = d_w_in.reshape(wc, p, c).permute(0, 2, 1)
        return [torch.zeros(shape, dtype=self.w.w_in.dtype) if g is None and shape is not None else g
                for g, shape in zip([d_kernel, d_w_in, d_b_in, *layers], self.w.shapes)]


def perceive(perception: str, state: np.ndarray, rows: np.ndarray, kernel: np.ndarray, taps=None):
    """Perception features (n, P*C), filter-major, at flat cells `rows` of the
    (B, C, X, Y, Z) array `state`, and what their backward needs: for learned
    perception (by `kernel` (C, P, 27), its `taps` if made already) the padded
    copy of the state its kernels read (a copy, so the state may change after
    the step) and the taps, for fixed nothing."""
    if perception == "learned":
        return depthwise.learned_rows(state, rows, kernel, taps)
    return stencils.sobel_rows(state, rows), None


def perceive_backward(perception: str, grad: np.ndarray, rows: np.ndarray, saved, d_state: np.ndarray):
    """Add the gradient of the (B, C, X, Y, Z) state from the features'
    gradient `grad` (n, P*C) to `d_state` (same shape) and return that of
    the kernel (C, P, 27), or None for fixed perception."""
    if perception == "learned":
        return torch.from_numpy(depthwise.learned_backward(grad, saved, rows, d_state))
    stencils.sobel_rows_backward(grad, rows, d_state)
    return None


def forward(model, w: Weights, state: np.ndarray, fire: np.ndarray):
    """One step of the (B, C, X, Y, Z) array `state` with the bool (B, X, Y, Z)
    firing mask: the next state (a new array) and what its backward needs."""
    ch, threshold = model.channels, model.config.alive_threshold
    pre = stencils.life_mask(state[:, ch.alive], threshold)
    rows = np.flatnonzero(fire & pre)
    feats_np, perceived = perceive(w.perception, state, rows, w.kernel, w.taps)
    feats = torch.from_numpy(feats_np)
    hs = [torch.from_numpy(mlp_rows.add_bias((feats @ w.w_in_t).numpy(), w.b_in, True))]
    for weight_t, bias in zip(w.weights_t[:-1], w.biases[:-1]):
        hs.append(torch.from_numpy(mlp_rows.add_bias((hs[-1] @ weight_t).numpy(), bias, True)))
    out = mlp_rows.add_bias((hs[-1] @ w.weights_t[-1]).numpy(), w.biases[-1], False)
    x, mask = stencils.apply_update(state, out, rows, pre, ch.alive, threshold)
    return x, Saved(rows, mask, perceived, feats, hs)


def backward(w: Weights, saved: Saved, grad: np.ndarray, sums: Gradients) -> np.ndarray:
    """The gradient of a step's input state, given that of its output `grad`
    (both (B, C, X, Y, Z) arrays); adds the weights' gradients to `sums`."""
    d_state, d_out = stencils.apply_update_backward(grad, saved.mask, saved.rows)
    d = torch.from_numpy(d_out)
    hs, d_bias = saved.hs, d.sum(0)
    for i in range(len(hs) - 1, -1, -1):       # layer i+1 (w.weights[i]) maps hs[i] on
        sums.add(3 + 2 * i, d.t() @ hs[i])
        sums.add(4 + 2 * i, d_bias)
        t = (d @ w.weights[i]).numpy()         # through layer i+1, then hs[i]'s ReLU (and layer i's bias)
        d_bias = torch.from_numpy(mlp_rows.relu_backward(t, hs[i].numpy()))
        d = torch.from_numpy(t)
    sums.add(1, d.t() @ saved.feats)           # (W, P*C)
    sums.add(2, d_bias)
    d_feats = (d @ w.w_in).numpy()
    sums.add(0, perceive_backward(w.perception, d_feats, saved.rows, saved.perceived, d_state))
    return d_state


class CpuStep(torch.autograd.Function):
    """`NCA.step` on the CPU as one autograd node. Inputs: the model, state
    (B, C, X, Y, Z), fire (B, 1, X, Y, Z) bool, then `NCA._cpu_weights()`."""

    @staticmethod
    def forward(ctx, model, state, fire, kernel, w_in, b_in, *layers):
        ctx.w = Weights(model.config.perception, kernel, w_in, b_in, layers)
        x, ctx.saved = forward(model, ctx.w, state.detach().contiguous().numpy(), fire.detach()[:, 0].numpy())
        return torch.from_numpy(x)

    @staticmethod
    def backward(ctx, grad):
        sums = Gradients(ctx.w)
        d_state = backward(ctx.w, ctx.saved, grad.contiguous().numpy(), sums)
        return (None, torch.from_numpy(d_state), None, *sums.result())


class CpuRollout(torch.autograd.Function):
    """`active.rollout` on the CPU as one autograd node: each step on the
    live box (found every `every` steps, grown by a cell a step between; the
    first step's grown by two, as `active` says why), the rest of the grid
    zero, as `active.step_active` computes it. Inputs: the
    model, state (B, C, X, Y, Z), the firing masks (an iterable of
    (B, 1, X, Y, Z) bool tensors, one a step), `every`, then
    `grad_enabled` (`torch.is_grad_enabled()` where the rollout was asked
    for: inside `forward` torch has turned it off), then `NCA._cpu_weights()`.
    Without gradients to take it keeps nothing."""

    @staticmethod
    def forward(ctx, model, state, masks, every, grad_enabled, kernel, w_in, b_in, *layers):
        from voxgen.nca.active import grown_box, live_box_np
        w = Weights(model.config.perception, kernel, w_in, b_in, layers)
        keep = grad_enabled and any(ctx.needs_input_grad)
        x = start = state.detach().contiguous().numpy()
        grid, box, steps = x.shape[2:], None, []
        for i, fire in enumerate(masks):
            box = live_box_np(model, x, 2 if i == 0 else 1) if i % every == 0 else grown_box(box, grid)
            if box is None:                     # all dead: zero, as the dense step gives
                x, saved = np.zeros_like(x), None
            elif box == ((0, 0, 0), grid):
                x, saved = forward(model, w, x, fire.detach()[:, 0].numpy())
            else:
                crop, fire_crop = _crop(box), fire.detach()[:, 0].numpy()[_crop(box, 1)]
                y, saved = forward(model, w, np.ascontiguousarray(x[crop]), fire_crop)
                x = np.zeros_like(x)
                x[crop] = y
            if keep:
                steps.append((box, saved))
        ctx.w, ctx.steps = w, steps
        return torch.from_numpy(x if x is not start else x.copy())   # never the input's own memory

    @staticmethod
    def backward(ctx, grad):
        w, sums = ctx.w, Gradients(ctx.w)
        g = grad.contiguous().numpy()
        grid = g.shape[2:]
        steps, ctx.steps = ctx.steps, None
        if steps is None:
            raise RuntimeError("a CPU rollout's backward runs once (it lets each step's arrays go as it "
                               "goes); for retain_graph, roll out step by step: rollout(..., on_step=...)")
        while steps:                            # last step first, each one's arrays let go once used
            box, saved = steps.pop()
            if saved is None:
                g = g * 0
            elif box == ((0, 0, 0), grid):
                g = backward(w, saved, g, sums)
            else:
                crop = _crop(box)
                d = backward(w, saved, np.ascontiguousarray(g[crop]), sums)
                g = np.zeros_like(g)
                g[crop] = d
        return (None, torch.from_numpy(g), None, None, None, *sums.result())


def _crop(box, lead: int = 2):
    """The index of `box` ((x0, y0, z0), (x1, y1, z1)) in an array whose
    grid axes follow `lead` others."""
    (x0, y0, z0), (x1, y1, z1) = box
    return (slice(None),) * lead + (slice(x0, x1), slice(y0, y1), slice(z0, z1))
