"""Widening a checkpoint (more hidden channels, a wider or deeper MLP, more
or learned perception filters) keeps what the model computes, and
`train --resume` with a wider spec goes on from it."""

import pytest
import torch

from conftest import write_tiny
from voxgen.errors import VoxgenError
from voxgen.nca.config import NCAConfig
from voxgen.nca.model import NCA
from voxgen.nca.widen import can_widen, widen_moments, widen_parameters, widen_state


def widened_steps(small, big, atol=0.0):
    """Widen a random NCA of config `small` to `big` and run both 4 steps
    from the same state: the old channels agree (exactly, or within `atol`)
    and the new ones stay zero. Returns the wider model and its state."""
    old, new = NCA(3, small), NCA(3, big)
    torch.nn.init.normal_(old.fc_out.weight, std=0.1)      # a model that does something
    new.load_state_dict(widen_parameters(old.state_dict(), small, new))
    x_old = torch.randn(2, old.channels.total, 5, 6, 7)
    x_old[:, old.channels.alive] = 1.0
    x_new = widen_state(x_old, new.channels.total)
    c = old.channels.total
    with torch.no_grad():
        for _ in range(4):
            fire = torch.rand(2, 1, 5, 6, 7) < 0.6
            x_old, x_new = old.step(x_old, fire), new.step(x_new, fire)
            if atol:
                assert torch.allclose(x_old, x_new[:, :c], atol=atol)
            else:
                assert torch.equal(x_old, x_new[:, :c])
            assert not x_new[:, c:].any()                  # new channels stay as they were
    return new, x_new


def backward_two_steps(model, x):
    """Two all-firing steps from `x` with its hidden channels set to 1 (as
    the seed sets them), and the gradient of a loss on the class logits."""
    x = x.clone()
    x[:, model.channels.hidden_slice] = 1.0
    x[:, model.channels.alive] = 1.0
    fire = torch.ones(x.shape[0], 1, *x.shape[2:], dtype=torch.bool)
    model.step(model.step(x, fire), fire)[:, :3].square().sum().backward()


@pytest.mark.parametrize("perception", ["fixed", "learned"])
def test_the_widened_model_takes_the_same_steps(perception):
    torch.manual_seed(0)
    small = NCAConfig(hidden_channels=4, mlp_width=16, mlp_layers=1, perception=perception)
    big = NCAConfig(hidden_channels=7, mlp_width=24, mlp_layers=3, perception=perception)
    new, _ = widened_steps(small, big)
    # and the new weights are trainable: the loss has a gradient on them
    c = NCA(3, small).channels.total
    backward_two_steps(new, widen_state(torch.randn(1, c, 5, 6, 7), new.channels.total))
    assert new.fc_in.grad[:16, c:].abs().sum() > 0


@pytest.mark.parametrize("filters", [4, 6])
def test_fixed_perception_becomes_learned_with_the_same_steps(filters):
    """Fixed perception turned into learned perception (its four filters the
    first learned ones, any new ones read through zero weights) computes the
    same steps, up to rounding (other kernels sum the taps in another order)."""
    torch.manual_seed(1)
    fixed = NCAConfig(hidden_channels=4, mlp_width=16, mlp_layers=1)
    learned = NCAConfig(hidden_channels=5, mlp_width=16, mlp_layers=1, perception="learned",
                        perception_filters=filters)
    new, x = widened_steps(fixed, learned, atol=1e-5)
    backward_two_steps(new, x)
    assert new.kernel.grad.abs().sum() > 0            # the filters now learn
    if filters > 4:
        assert new.fc_in.grad[:, :, 4:].abs().sum() > 0


def test_only_capacity_may_grow():
    base = NCAConfig(hidden_channels=4, mlp_width=16)
    assert can_widen(base, NCAConfig(hidden_channels=6, mlp_width=16))
    assert not can_widen(base, NCAConfig(hidden_channels=4, mlp_width=16))          # nothing grows
    assert not can_widen(base, NCAConfig(hidden_channels=3, mlp_width=32))          # one shrinks
    assert can_widen(base, NCAConfig(hidden_channels=4, mlp_width=16, perception="learned"))
    learned = NCAConfig(hidden_channels=4, mlp_width=16, perception="learned", perception_filters=6)
    assert can_widen(base, learned)
    assert not can_widen(learned, base)                                             # learned -> fixed
    assert not can_widen(learned, NCAConfig(hidden_channels=5, mlp_width=16, perception="learned",
                                            perception_filters=5))                  # fewer filters
    with pytest.raises(VoxgenError):
        widen_parameters(NCA(3, base).state_dict(), base, NCA(3, NCAConfig(hidden_channels=3)))


def test_adam_moments_follow_their_parameters_by_name():
    """A new hidden layer shifts the parameter order: moments go by name."""
    small = NCAConfig(hidden_channels=2, mlp_width=8, mlp_layers=1)
    big = NCAConfig(hidden_channels=2, mlp_width=8, mlp_layers=2)
    old, new = NCA(3, small), NCA(3, big)
    saved = {}
    for i, (name, p) in enumerate(old.named_parameters()):
        saved[f"opt.{i}.exp_avg"] = torch.full_like(p, float(i + 1))
        saved[f"opt.{i}.exp_avg_sq"] = torch.full_like(p, float(i + 1))
        saved[f"opt.{i}.step"] = torch.tensor(7.0)
    moments = widen_moments(saved, small, new)
    names = [n for n, _ in new.named_parameters()]
    old_names = [n for n, _ in old.named_parameters()]
    for i, name in enumerate(names):
        if name in old_names:
            assert (moments[f"opt.{i}.exp_avg"] == old_names.index(name) + 1).all()
            assert float(moments[f"opt.{i}.step"]) == 7.0
        else:                      # the new layer: no momentum, a steady squared-gradient average
            p = dict(new.named_parameters())[name]
            assert not moments[f"opt.{i}.exp_avg"].any()
            assert torch.allclose(moments[f"opt.{i}.exp_avg_sq"], torch.full_like(p, 1 / p.numel()))
            assert float(moments[f"opt.{i}.step"]) == 7.0


def test_resume_with_a_wider_spec_continues_the_run(tmp_path):
    from voxgen.grow import load_trained
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    first = train(spec, device="cpu", out=tmp_path / "run", iterations=30, progress=False)
    before = load_trained(tmp_path / "run" / "checkpoint.safetensors")
    spec.write_text(spec.read_text().replace("hidden_channels = 6", "hidden_channels = 9")
                    + "mlp_layers = 2\n")
    record = train(spec, device="cpu", out=tmp_path / "run", resume=True, iterations=first["iterations"] + 2,
                   progress=False)
    after = load_trained(tmp_path / "tiny.safetensors")
    assert record["iterations"] > first["iterations"]
    assert after.config.hidden_channels == 9 and after.config.mlp_layers == 2
    assert after.model.fc_in.shape[1] == before.model.fc_in.shape[1] + 3


def test_resume_refuses_a_spec_that_shrinks_the_model(tmp_path):
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    train(spec, device="cpu", out=tmp_path / "run", iterations=3, progress=False)
    spec.write_text(spec.read_text().replace("hidden_channels = 6", "hidden_channels = 4"))
    with pytest.raises(VoxgenError, match="hidden_channels 6 -> 4"):
        train(spec, device="cpu", out=tmp_path / "run", resume=True, iterations=5, progress=False)
