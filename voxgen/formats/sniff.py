"""Decide a file's format from its bytes, not its name."""

from __future__ import annotations

from voxgen.errors import VoxgenError


def sniff_format(path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise VoxgenError("file is empty", path)
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "snbt"
    if b"[palette]" in head or b"[layers]" in head:
        return "toml"
    raise VoxgenError("not a blueprint file voxgen can read", path)
