"""How much memory a training run takes, and the refusal of one that cannot
fit (layer L3, beside `train.py`, which checks every stage's config before
it allocates anything).

    memory_needed(config, classes, grid) -> bytes
    check_memory(spec, config, classes, grid, device)
"""

from __future__ import annotations

import math

import torch

from voxgen.errors import VoxgenError
from voxgen.grow import rollout_sample_bytes
from voxgen.nca.device import memory_available
from voxgen.nca.weights import parameter_shapes


def memory_needed(config, classes: int, grid) -> int:
    """Bytes a training run holds at most: the pool, a batch's rollout of
    the longest length kept for the backward pass with every cell living,
    and the parameters. Per cell and step (4-byte floats): the MLP's rows at
    the firing cells, the state learned perception keeps for its backward,
    the states and masks; 1.1-1.4x the peak measured on this machine with
    every cell of a 23 x 22 x 23 grid living (fire_rate 0.5 and 1, both
    perceptions), so it errs high. The parameters count 8 times: the
    weights, their gradients, Adam's two moments, the weight average, and
    the copies the CPU's kernels and widening lay out. The fresh-seed
    verification (verify_seeds samples grown together, no gradients) runs
    between rollouts, so the larger of the two counts."""
    c = classes + 1 + config.hidden_channels
    p = config.perception_filters if config.perception == "learned" else 4
    hidden = config.mlp_width * config.mlp_layers
    per_cell_step = 4 * (config.fire_rate * (p * c + hidden + c)
                         + (c if config.perception == "learned" else 0) + 2 * c)
    cells = math.prod(grid)
    parameters = sum(math.prod(shape) for shape in parameter_shapes(classes, config).values())
    rollout = config.batch * config.steps[1] * cells * per_cell_step
    # the fresh-seed checks grow verify_seeds samples at once, no gradients, to
    # 4x the horizon, and keep a copy of the grown states while halves regrow
    verify = config.verify_seeds * (rollout_sample_bytes(cells, c, p, hidden) + 4 * cells * c)
    return int(4 * config.pool_size * c * cells + max(rollout, verify) + 8 * 4 * parameters)


def check_memory(spec, config, classes: int, grid, device: torch.device) -> None:
    """Refuse, before allocating, a run that cannot fit in the device's memory."""
    need, have = memory_needed(config, classes, grid), memory_available(device)
    if have is not None and need > have:
        gb = 1024 ** 3
        shape = " x ".join(map(str, grid))
        raise VoxgenError(f"training on a {shape} grid needs about {need / gb:.0f} GiB (pool {config.pool_size}, "
                          f"batch {config.batch}, {config.steps[1]} steps, verify_seeds {config.verify_seeds}) "
                          f"but {have / gb:.0f} GiB are there for it ({device.type}): choose a smaller blueprint "
                          f"or lower margin, pool_size, batch, steps, verify_seeds or the model's hidden_channels, "
                          f"mlp_width or mlp_layers",
                          spec.path)
