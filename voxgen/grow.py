"""Growing trained structures (layer L3): the API other modules use.

    t = load_trained("tree")                    # or a path to a .safetensors file
    result = grow(t, steps=None, seed=0)        # GrowResult(structure, metrics, frames, steps, seed)
    ready(t, "auto")                            # the device and the memory checked (grow does it first)
    state = seed_state(t, batch=2)              # (B, C, X, Y, Z)
    state = run(t, state, steps=64, generator=torch.Generator().manual_seed(0))
    structures = decode(t, state)               # one Structure per sample, the grid box

The grid is the blueprint box plus the trained margin; `Trained.target` is
the blueprint as trained on that grid (void folded into air), so decoded
structures and the target have the same shape and overgrowth into the
margin counts as wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxgen import formats
from voxgen.bundled import STRUCTURES
from voxgen.errors import ParameterError, VoxgenError, whole_number
from voxgen.metrics import compare
from voxgen.nca import target as nca_target
from voxgen.nca.active import rollout
from voxgen.nca.config import MAX_GROWTH_STEPS, NCAConfig
from voxgen.nca.device import memory_available, pick_device
from voxgen.nca.model import NCA
from voxgen.nca.weights import build_model, read_weights
from voxgen.safe_read import MAX_TOML_BYTES, NOT_REGULAR, BadToml, read_toml
from voxgen.structure import Structure

MAX_SEED = 2 ** 63 - 1          # the largest seed `grow` (and `voxgen grow --seed`) takes


@dataclass
class Trained:
    """A trained NCA and everything needed to grow and judge it."""
    name: str
    model: NCA
    palette: tuple
    target: Structure          # the blueprint on the training grid
    seed_pos: tuple            # (x, y, z) grid cell of the seed
    config: NCAConfig
    record: dict               # training record (iterations, wall time, ...)
    path: Path

    @property
    def grid_shape(self) -> tuple:
        return self.target.shape

    @property
    def steps(self) -> int:
        """Training horizon: the default number of growth steps."""
        return self.config.horizon

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def resolve_weights(name_or_path) -> Path:
    """NAME -> structures/NAME.safetensors; a path is taken as it is (a
    folder named like a structure in the working directory does not hide it)."""
    text = str(name_or_path)
    path = Path(text)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise VoxgenError(NOT_REGULAR, path)       # a FIFO would block the reader
    if path.suffix != ".safetensors" and path.is_file() and (path.suffix == ".toml" or formats.is_blueprint(path)):
        weights = path.with_suffix(".safetensors")
        if weights.exists():
            raise VoxgenError(f"is not trained weights; its trained weights are {weights}", path)
        kind = "spec" if path.suffix == ".toml" and "blueprint" in _toml_keys(path) else "blueprint"
        raise VoxgenError(f"is a {kind}, not trained weights; train it first: voxgen train {path}", path)
    if path.suffix == ".safetensors" or path.is_file() or "/" in text:
        if path.is_dir():
            raise VoxgenError("is a folder, not a weights file", path)
        return path
    path = STRUCTURES / f"{text}.safetensors"
    if not path.exists():
        known = sorted(p.stem for p in STRUCTURES.glob("*.safetensors"))
        raise VoxgenError(f"no trained structure '{text}' (trained: {', '.join(known) or 'none'})", path)
    return path


def _toml_keys(path: Path) -> set:
    """Top-level keys of a TOML file (none if it is not TOML or is larger
    than a spec; a pipe or TOML nested too deeply is refused, naming it)."""
    if path.stat().st_size > MAX_TOML_BYTES:     # a big text blueprint, not a spec
        return set()
    try:
        return set(read_toml(path, MAX_TOML_BYTES))
    except BadToml:
        return set()


def load_trained(name_or_path, device="cpu") -> Trained:
    """Load weights (safetensors only, never unpickled) and their metadata;
    `read_weights` checks the whole file before the model is built."""
    path = resolve_weights(name_or_path)
    tensors, meta = read_weights(path)
    model = build_model(tensors, meta, pick_device(device))
    classes = tensors["target.classes"].numpy().astype(np.int32)
    palette = tuple(meta["palette"])
    target = Structure(classes, palette, name=meta["name"], data_version=meta.get("data_version"))
    return Trained(name=meta["name"], model=model, palette=palette, target=target,
                   seed_pos=tuple(meta["seed_pos"]), config=model.config,
                   record=meta.get("record", {}), path=path)


def rollout_sample_bytes(cells: int, channels: int, filters: int, hidden: int) -> int:
    """Bytes one sample of a rollout without gradients holds at most (4-byte
    floats per cell, every cell living and firing): the state and the next,
    the perception rows (`filters` a channel), the MLP's activations
    (`hidden` a cell, all layers) and the masks."""
    return 4 * cells * (4 * channels + filters * channels + hidden)


def sample_bytes(trained: Trained) -> int:
    """`rollout_sample_bytes` for `trained`'s grid and model."""
    return rollout_sample_bytes(math.prod(trained.grid_shape), trained.model.channels.total,
                                trained.model.kernel.shape[1], trained.config.mlp_width * trained.config.mlp_layers)


def check_memory(trained: Trained, need: int, what: str) -> None:
    """Refuse, before allocating, work needing `need` bytes that the device
    running `trained` does not have."""
    have = memory_available(trained.device)
    if have is not None and need > have:
        gb = 1024 ** 3
        raise VoxgenError(f"{what} on the {' x '.join(map(str, trained.grid_shape))} grid needs about "
                          f"{need / gb:.1f} GiB but the {trained.device.type} has {have / gb:.0f} GiB", trained.path)


def seed_state(trained: Trained, batch: int = 1, device=None) -> torch.Tensor:
    """(B, C, X, Y, Z) state holding only the seed cell."""
    return nca_target.seed_state(trained.model, trained.grid_shape, trained.seed_pos,
                                 batch=batch, device=device or trained.device)


@torch.no_grad()
def run(trained: Trained, state: torch.Tensor, steps: int, generator=None, on_step=None) -> torch.Tensor:
    """Advance `state` (B, C, X, Y, Z) by `steps` NCA steps on the active
    region. `generator` (torch.Generator on the state's device, or one per
    sample) drives the firing; `on_step(i, state)` sees each new state."""
    if generator is None:
        generator = torch.Generator(device=state.device).manual_seed(0)
    return rollout(trained.model, state.to(trained.device), int(steps), generator, on_step)


def decode(trained: Trained, state: torch.Tensor) -> list[Structure]:
    """One Structure per sample: argmax class where alive, air elsewhere."""
    return [grown_structure(trained, c) for c in nca_target.decode_classes(trained.model, state).cpu().numpy()]


def grown_structure(trained: Trained, classes: np.ndarray) -> Structure:
    """A Structure from an (X, Y, Z) class grid in the trained palette, of
    the blueprint's DataVersion (its wire drawn as the blueprint's is)."""
    return Structure(classes.astype(np.int32), trained.palette, name=trained.name,
                     data_version=trained.target.data_version)


@dataclass
class GrowResult:
    structure: Structure
    metrics: dict              # compare(structure, trained.target)
    frames: list | None        # Structure after each step, if kept
    steps: int
    seed: int


def ready(trained: Trained, device="auto") -> torch.device:
    """Put `trained` on `device` (`--device auto|cpu|cuda`) and check that
    growing fits its memory: what `grow` does first, for a caller to do
    before it writes anything (a VoxgenError otherwise). Returns the device."""
    dev = pick_device(device)
    if trained.device != dev:
        trained.model.to(dev)
    check_memory(trained, sample_bytes(trained), "growing")
    return dev


def grow(trained: Trained, steps: int | None = None, seed: int = 0, device="auto",
         keep_frames: bool = False, on_frame=None, on_step_done=None) -> GrowResult:
    """Grow from the seed cell for `steps` (default: the training horizon).
    The same seed on the same device gives the same result. `keep_frames`
    keeps the Structure after each step in the result; `on_frame(i, structure)`
    sees each one as it comes instead (i from 1), holding none of them;
    `on_step_done(i)` is told of each step (i from 1), nothing decoded."""
    steps = trained.steps if steps is None else whole_number("steps", steps, 0)
    if steps > MAX_GROWTH_STEPS:          # as the CLI's --steps: a mistyped count must not run for days
        raise ParameterError("steps", steps, f"must be <= {MAX_GROWTH_STEPS}")
    seed = whole_number("seed", seed, 0)
    if seed > MAX_SEED:                   # torch seeds a generator with 64 bits; the CLI's --seed stops here too
        raise ParameterError("seed", seed, f"must be <= {MAX_SEED}")
    dev = ready(trained, device)
    frames = [] if keep_frames else None

    def on_step(i, state):                # i counts from 0
        if keep_frames or on_frame is not None:
            structure = decode(trained, state)[0]
            if keep_frames:
                frames.append(structure)
            if on_frame is not None:
                on_frame(i + 1, structure)
        if on_step_done is not None:
            on_step_done(i + 1)
    watch = keep_frames or on_frame is not None or on_step_done is not None
    generator = torch.Generator(device=dev).manual_seed(seed)
    state = run(trained, seed_state(trained, device=dev), steps, generator, on_step if watch else None)
    structure = decode(trained, state)[0]
    return GrowResult(structure, compare(structure, trained.target), frames, steps, seed)
