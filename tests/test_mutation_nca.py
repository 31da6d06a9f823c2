"""Tests that a hand mutation audit found missing: each fails on a small
plausible bug in the NCA's loss or kernels (named in its docstring) that
the rest of the suite let through."""

import math

import numpy as np

import pytest
import torch

from voxgen.nca.config import NCAConfig
from voxgen.nca.loss import class_weights, growth_loss
from voxgen.nca.model import NCA

torch.set_num_threads(1)


def test_class_weights_favour_rare_classes_by_the_power_and_average_one():
    """loss.class_weights: weight ~ frequency ** -power, mean 1 (inverted
    frequencies, `counts / counts.sum()`, weighed the common class up)."""
    classes = torch.tensor([0] * 6 + [1] * 2).reshape(2, 2, 2)     # air 6 cells, stone 2
    for power in (0.0, 0.5, 1.0, 2.0):
        w = class_weights(classes, 3, power)                     # class 2 absent: changes nothing
        assert float(w.mean()) == pytest.approx(1.0, rel=1e-6)
        air, stone = float(w[classes == 0][0]), float(w[classes == 1][0])
        assert stone / air == pytest.approx(3.0 ** power, rel=1e-6)
        assert torch.equal(w[classes == 0], torch.full((6,), air))


def one_block(model_config=None):
    """(model, classes, weights, far_air): a 5^3 grid, one block in the middle."""
    import torch.nn.functional as F
    classes = torch.zeros(5, 5, 5, dtype=torch.long)
    classes[2, 2, 2] = 1
    far_air = (F.max_pool3d((classes > 0).float()[None, None], 3, 1, 1) == 0)[0, 0].float()
    model = NCA(2, model_config or NCAConfig(hidden_channels=2))
    return model, classes, torch.ones(5, 5, 5), far_air


def test_a_dead_cell_costs_log_k_on_a_block_and_nothing_on_air():
    """loss.growth_loss: a dead cell counts as air, so an all-dead state
    costs log K at the target's blocks only (`target >= 0` charged dead air
    too) and, its alive channel 0, nothing more."""
    model, classes, weights, far_air = one_block()
    state = torch.zeros(1, model.channels.total, *classes.shape)   # all dead
    loss = float(growth_loss(model, state, classes, weights, far_air))
    blocks = int((classes > 0).sum())
    alive_term = model.config.alive_weight * blocks / classes.numel()   # (0 - 1)^2 at the block
    assert loss == pytest.approx(blocks * math.log(2) / classes.numel() + alive_term, rel=1e-6)


def test_a_negative_alive_value_on_far_air_costs_nothing():
    """loss.growth_loss: far air is pulled to <= 0, not to 0: without the
    clamp an alive value of -1 there was charged as much as +1."""
    model, classes, weights, far_air = one_block()
    losses = {}
    for far_alive in (0.0, -1.0, 1.0):
        state = torch.zeros(1, model.channels.total, *classes.shape)
        state[:, model.channels.alive] = torch.where(far_air > 0, far_alive, 0.0)
        losses[far_alive] = float(growth_loss(model, state, classes, weights, far_air))
    assert losses[-1.0] == pytest.approx(losses[0.0], rel=1e-6)
    assert losses[1.0] > losses[0.0]


@pytest.mark.parametrize("grid", [(1, 3, 4), (3, 1, 2), (2, 3, 1), (1, 1, 1)])
def test_sobel_rows_on_a_grid_one_cell_thick_equal_the_conv(grid):
    """stencils._smooth/_diff on an axis of one cell: the [1, 2, 1]
    smoothing of a lone cell is twice it and its difference zero. The
    kernel tests' grids are all at least 2 cells along every axis, so
    `o = a` in place of `a + a` there was caught only by one random case
    of the differential test, minutes in; this twin checks it directly.
    Features and the state's gradient, against the zero-padded depthwise conv."""
    from voxgen.nca import stencils
    from voxgen.nca.model import perception_kernels

    gen = torch.Generator().manual_seed(5)
    state = torch.randn(2, 3, *grid, generator=gen, dtype=torch.float64, requires_grad=True)
    kernel = perception_kernels().to(torch.float64)                        # (P, 27)
    c, p = state.shape[1], kernel.shape[0]
    conv = torch.nn.functional.conv3d(state, kernel.repeat(c, 1).reshape(c * p, 1, 3, 3, 3),
                                      padding=1, groups=c)                 # (B, C*P, X, Y, Z), channel-major
    want = conv.reshape(2, c, p, -1).transpose(1, 2).reshape(2, p * c, -1).permute(0, 2, 1).reshape(-1, p * c)
    rows = np.arange(want.shape[0], dtype=np.int64)
    got = stencils.sobel_rows(state.detach().numpy(), rows)
    assert np.allclose(got, want.detach().numpy(), atol=1e-12)
    grad = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    (want_d,) = torch.autograd.grad(want, state, grad)
    got_d = np.zeros(state.shape)
    stencils.sobel_rows_backward(grad.numpy(), rows, got_d)
    assert np.allclose(got_d, want_d.numpy(), atol=1e-12)
