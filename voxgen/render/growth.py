"""Growth frames from trained NCA weights, and the blueprint they were grown from.

The NCA side (`voxgen.grow`) is imported only here, and only when asked, so
rendering blueprints never needs torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from voxgen.errors import VoxgenError
from voxgen.structure import Structure


MAX_FRAMES = 1000       # a longer growth shows every k-th step (and the last)


@dataclass
class Growth:
    """frames: the Structure after each NCA step (every k-th when there are
    more than MAX_FRAMES steps, and the last), led by the seed when it
    decodes to a block; steps: the step each frame shows (0: the seed);
    blueprint: the target the weights were trained on, if known."""

    frames: list[Structure]
    blueprint: Structure | None
    name: str
    seed: int
    steps: list[int]

    def labels(self) -> list[str]:
        """Corner text per frame: "step i/N"."""
        return [f"step {s}/{self.steps[-1]}" for s in self.steps]


def load_weights(name_or_path):
    """The trained NCA (voxgen.grow.Trained) of NAME -> structures/NAME.safetensors
    or a path; a VoxgenError for a bad file, or when growth is not installed."""
    try:
        from voxgen.grow import load_trained
    except ImportError as err:
        raise VoxgenError(f"growth is not available in this build ({err})", name_or_path) from err
    return load_trained(name_or_path)


def grow_frames(weights, steps: int | None = None, seed: int = 0,
                device: str = "auto") -> Growth:
    """Grow from `weights` (NAME, a path, or what `load_weights` returned),
    keeping every frame (at most MAX_FRAMES of them, evenly spaced)."""
    trained = load_weights(weights) if isinstance(weights, (str, Path)) else weights
    from voxgen.grow import decode, grow, seed_state

    total = trained.steps if steps is None else int(steps)
    every = max(1, math.ceil(total / MAX_FRAMES))
    frames, shown = [], []

    def keep(i, structure):                              # the state after step i
        if i % every == 0 or i == total:
            frames.append(structure)
            shown.append(i)
    result = grow(trained, steps=steps, seed=seed, device=device, on_frame=keep)
    if not frames:
        frames, shown = [result.structure], [result.steps]
    # The seed leads when it shows a block (an NCA seed is often alive but air).
    seed_frame = decode(trained, seed_state(trained))[0]
    if result.steps and seed_frame.count_non_air():
        frames, shown = [seed_frame] + frames, [0] + shown
    return Growth(frames, trained.target, Path(trained.path).stem, seed, shown)
