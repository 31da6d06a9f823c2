"""The device a model runs on (`--device auto|cpu|cuda`), and its memory."""

from __future__ import annotations

import os

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


def memory_available(device: torch.device) -> int | None:
    """Bytes of memory on `device`, None if unknown: for the CPU physical RAM,
    or less where this process is held to less (its address-space limit,
    `ulimit -v`, or its container's cgroup limit)."""
    try:
        if device.type == "cuda":
            return torch.cuda.mem_get_info(device)[1]
        limits = [os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
    except (ValueError, OSError, AttributeError):
        return None
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(cgroup).read().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
        break
    return min(limits)
