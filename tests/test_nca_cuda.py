"""The NCA on CUDA: the same step as the CPU's numba kernels, the active
region equal to the dense computation, seeded runs that repeat, training
that reaches exact growth, and every shipped structure growing exactly.
Skipped where torch sees no CUDA device (CI, and this project's own CPU
machines); run on a lent GPU machine with `pytest tests/test_nca_cuda.py`."""

import pytest
import torch

from conftest import STRUCTURES, write_tiny
from test_nca_model import busy_model
from voxgen.grow import grow, load_trained
from voxgen.nca.active import live_box, rollout, step_active
from voxgen.nca.device import pick_device
from voxgen.nca.model import fire_mask
from voxgen.nca.target import seed_state
from voxgen.nca.weights import read_weights

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")
SHIPPED = sorted(p.stem for p in STRUCTURES.glob("*.toml") if p.with_suffix(".safetensors").exists())


@pytest.fixture(scope="module")
def cuda():
    return pick_device("cuda")


def grown_state(model, shape, steps, seed, device="cpu"):
    """A state after `steps` CPU steps from the seed: life spread over part of the grid."""
    state = seed_state(model, shape, tuple(n // 2 for n in shape), batch=2).to(model.kernel.dtype)
    with torch.no_grad():
        return rollout(model, state, steps, torch.Generator().manual_seed(seed)).to(device)


@pytest.mark.parametrize("perception, layers", [("learned", 2), ("fixed", 2), ("learned", 3)])
def test_cuda_step_and_gradients_equal_the_cpu_numba_step(cuda, perception, layers):
    """float64 so that the comparison is tight: one step from a grown state,
    its output and the gradients of every parameter and of the input."""
    cpu_model = busy_model(perception, layers=layers).double()
    gpu_model = busy_model(perception, layers=layers).double().to(cuda)
    state = grown_state(cpu_model, (7, 6, 8), 5, seed=2)
    fire = fire_mask(state.shape, 0.5, torch.Generator().manual_seed(3), "cpu")
    weight = torch.randn(state.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    results = []
    for model, dev in ((cpu_model, "cpu"), (gpu_model, cuda)):
        x = state.detach().clone().to(dev).requires_grad_()
        out = step_active(model, x, fire.to(dev))
        (out * weight.to(dev)).sum().backward()
        results.append([out.detach(), x.grad] + [p.grad for p in model.parameters()])
    assert (results[0][0][:, cpu_model.channels.alive] > 0.1).sum() > 30     # life really spread
    for a, b in zip(*results):
        assert torch.allclose(a, b.cpu(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("perception", ["learned", "fixed"])
def test_cuda_active_region_equals_dense(cuda, perception):
    model = busy_model(perception).to(cuda)
    state = seed_state(model, (9, 8, 11), (4, 0, 2), batch=2, device=cuda)
    with torch.no_grad():
        active = rollout(model, state, 12, torch.Generator(device=cuda).manual_seed(3), active=True)
        dense = rollout(model, state, 12, torch.Generator(device=cuda).manual_seed(3), active=False)
    assert torch.allclose(active, dense, atol=1e-5)
    assert (active[:, model.channels.alive] > 0.1).sum() > 20
    # and on a box that really is partial, one step at a time
    state = seed_state(model, (10, 6, 10), (2, 1, 2), device=cuda)
    gen = torch.Generator(device=cuda).manual_seed(5)
    with torch.no_grad():
        for _ in range(3):
            fire = fire_mask(state.shape, 0.5, gen, cuda)
            assert live_box(model, state)[1][0] < 10
            a, d = step_active(model, state, fire), model.step(state, fire)
            assert torch.allclose(a, d, atol=1e-6)
            state = a


def test_cuda_rollout_repeats_with_a_seed(cuda):
    model = busy_model().to(cuda)
    state = seed_state(model, (8, 6, 8), (4, 0, 4), device=cuda)
    with torch.no_grad():
        a, b, c = (rollout(model, state, 10, torch.Generator(device=cuda).manual_seed(s)) for s in (7, 7, 8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_structure_grows_exactly_on_cuda(cuda, name):
    """The CPU-trained weights on CUDA (a different random stream for the
    firing, so other growth paths): >= 9 of 10 seeds exact, >= 99% right at
    4x the horizon, and the same seed twice gives the same structure."""
    trained = load_trained(STRUCTURES / f"{name}.safetensors", device=cuda)
    results = [grow(trained, seed=s, device=cuda) for s in range(10)]
    exact = sum(r.metrics["exact"] for r in results)
    assert exact >= 9, f"{name}: exact in {exact}/10 seeds on CUDA"
    again = grow(trained, seed=3, device=cuda).structure
    assert (again.state_array() == results[3].structure.state_array()).all()
    assert grow(trained, steps=4 * trained.steps, seed=0, device=cuda).metrics["accuracy"] >= 0.99


def test_tiny_structure_trains_on_cuda_to_exact_growth_and_repeats(cuda, tmp_path):
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    records = []
    for run in ("a", "b"):
        records.append(train(tmp_path / "tiny.toml", device="cuda", out=tmp_path / run,
                             weights_path=tmp_path / f"{run}.safetensors", progress=False))
    record = records[0]
    assert record["stopped_early"], record
    assert record["device"].startswith("cuda") and record["gpu"]
    trained = load_trained(tmp_path / "a.safetensors", device=cuda)
    assert sum(grow(trained, seed=s, device=cuda).metrics["exact"] for s in range(10)) >= 9
    # a seeded run repeats bit for bit on the same device
    assert records[1]["iterations"] == record["iterations"]
    (wa, _), (wb, _) = (read_weights(tmp_path / f"{run}.safetensors") for run in ("a", "b"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
