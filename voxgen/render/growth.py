"""Growth frames from trained NCA weights, and the blueprint they were grown from.

The NCA side (`voxgen.grow`) is imported only here, and only when asked, so
rendering blueprints never needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxgen.errors import VoxgenError
from voxgen.structure import Structure


@dataclass
class Growth:
    """frames: one Structure after each NCA step, led by the seed when it
    decodes to a block (frame i shows step first_step + i); blueprint: the
    target the weights were trained on, if known."""

    frames: list[Structure]
    blueprint: Structure | None
    name: str
    seed: int
    first_step: int = 0

    def labels(self) -> list[str]:
        """Corner text per frame: "step i/N"."""
        last = self.first_step + len(self.frames) - 1
        return [f"step {self.first_step + i}/{last}" for i in range(len(self.frames))]


def grow_frames(name_or_path, steps: int | None = None, seed: int = 0,
                device: str = "auto") -> Growth:
    """Load weights (NAME -> structures/NAME.safetensors, or a path) and grow,
    keeping every frame."""
    try:
        from voxgen.grow import decode, grow, load_trained, seed_state
    except ImportError as err:
        raise VoxgenError(f"growth is not available in this build ({err})", name_or_path) from err
    trained = load_trained(name_or_path)
    result = grow(trained, steps=steps, seed=seed, device=device, keep_frames=True)
    if result.frames:
        frames, first = list(result.frames), 1          # the states after steps 1..N
        # The seed leads when it shows a block (an NCA seed is often alive but air).
        seed_frame = decode(trained, seed_state(trained))[0]
        if seed_frame.count_non_air():
            frames, first = [seed_frame] + frames, 0
    else:
        frames, first = [result.structure], result.steps
    return Growth(frames, trained.target, Path(str(name_or_path)).stem,
                  seed, first_step=first)
