"""Trained-weights files: safetensors tensors plus JSON-string metadata.

A weights file is self-contained: the model parameters ("model.*"), the target
grid ("target.classes", int32 (X, Y, Z)), and metadata (str -> JSON string):
format, name, palette, grid_shape, seed_pos, config, record. Loading never
unpickles. Training checkpoints use the same layout with extra tensors
(optimizer, pool, random states) and metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from voxgen.errors import VoxgenError
from voxgen.nca.config import NCAConfig
from voxgen.nca.model import NCA

FORMAT = "voxgen-nca/1"


def save_weights(path, model: NCA, classes, name: str, palette, seed, record: dict,
                 extra_tensors: dict | None = None, extra_meta: dict | None = None) -> Path:
    """Write atomically (temporary name, then rename). `classes`: (X, Y, Z) ints."""
    path = Path(path)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors["target.classes"] = torch.as_tensor(classes).to(torch.int32).cpu().contiguous()
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra_tensors or {}).items()})
    meta = {"format": FORMAT, "name": name, "palette": list(palette),
            "grid_shape": list(tensors["target.classes"].shape), "seed_pos": list(seed),
            "config": model.config.to_dict(), "record": record, **(extra_meta or {})}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_weights(path) -> tuple[dict, dict]:
    """(tensors, metadata with JSON decoded). Raises VoxgenError on bad files."""
    path = Path(path)
    if not path.is_file():
        raise VoxgenError("no such weights file", path)
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
        meta = {k: json.loads(v) for k, v in raw.items()}
    except (SafetensorError, OSError, ValueError) as err:
        raise VoxgenError(f"not a voxgen weights file ({err})", path) from None
    if meta.get("format") != FORMAT:
        raise VoxgenError(f"not a voxgen weights file (format {meta.get('format')!r})", path)
    return tensors, meta


def model_state(tensors: dict) -> dict:
    """The model's state dict among a weights or checkpoint file's tensors
    (stored under "model.")."""
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def build_model(tensors: dict, meta: dict, device="cpu") -> NCA:
    """An NCA with the stored config and parameters."""
    config = NCAConfig.from_dict(meta["config"])
    model = NCA(len(meta["palette"]), config)
    model.load_state_dict(model_state(tensors))
    return model.to(device).eval()
