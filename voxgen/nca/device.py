"""The device a model runs on: `--device auto|cpu|cuda`."""

from __future__ import annotations

import torch

from voxgen.errors import VoxgenError


def pick_device(device) -> torch.device:
    """"auto" (or None) picks CUDA when torch sees it, else the CPU; "cuda"
    (or "cuda:N") without CUDA, or any other name, is a VoxgenError. On CUDA
    it asks cuDNN for deterministic algorithms and full float32 (no TF32), so
    a seeded run repeats bit for bit on the same device and stays close to
    the CPU's arithmetic."""
    name = "auto" if device is None else str(device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    kind = name.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise VoxgenError(f"unknown device {device!r} (auto, cpu or cuda)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise VoxgenError(f"device {name!r} asked for, but torch sees no CUDA device")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return torch.device(name)
    except RuntimeError:
        raise VoxgenError(f"unknown device {device!r} (auto, cpu or cuda)") from None
