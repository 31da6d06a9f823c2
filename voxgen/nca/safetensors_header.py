"""A safetensors file's header, read and checked before any tensor is
(`weights.read_weights`): a hostile header (a size field of terabytes, a
shape of 2^64, a million tensors) is one line, not a traceback or a file
read whole.

    shapes, metadata = read_header(path)    # name -> tensor on the "meta" device; str -> str
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

from voxgen.errors import VoxgenError

# A weights file's header at most (its tensors' names, dtypes and shapes,
# and the metadata: palette, config, record): the shipped ones take 2-3 KB,
# a palette of 10,000 long block states about 1 MB.
MAX_HEADER_BYTES = 16 << 20
# Tensors in a file at most: a model of 64 layers has about 130, a
# checkpoint adds its Adam moments and weight average, 6 a parameter.
MAX_TENSORS = 4096
# safetensors' dtype names -> torch's, for the header's tensors: those of
# `weights.stored_dtypes` and others that a weights file from elsewhere may hold
# (refused by name there); a name not here is refused at once.
_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
           "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "I64": torch.int64,
           "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def read_header(path: Path) -> tuple[dict, dict]:
    """A safetensors file's header alone: (name -> a tensor on torch's "meta"
    device, of the stored dtype and shape and holding no data; the metadata,
    str -> str). A VoxgenError naming `path` for a header that is too large
    (MAX_HEADER_BYTES, MAX_TENSORS), not JSON of the layout safetensors
    writes, of a dtype voxgen never writes, or whose tensors' sizes do not
    match their places in the file."""
    def bad(message):
        raise VoxgenError(f"not a voxgen weights file ({message})", path)

    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            bad("truncated: no header")
        length = int.from_bytes(head, "little")
        if length > MAX_HEADER_BYTES:
            what = "a pickle" if head[:1] == b"\x80" else "a zip file (torch.save?)" if head[:2] == b"PK" else None
            bad(f"{what}, not safetensors: voxgen never unpickles" if what else
                f"its first 8 bytes give a header of {length} bytes; a safetensors file of voxgen's has one "
                f"of at most {MAX_HEADER_BYTES >> 20} MiB")
        text = f.read(length)
        data = f.seek(0, os.SEEK_END) - 8 - length
    if len(text) < length:
        bad("truncated in its header")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        bad("its header is not JSON")
    if not isinstance(header, dict):
        bad("its header is not a JSON object")
    raw = header.pop("__metadata__", None) or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        bad("its metadata is not a table of strings")
    if len(header) > MAX_TENSORS:
        bad(f"{len(header)} tensors; voxgen writes at most {MAX_TENSORS}")
    shapes = {}
    for name, entry in header.items():
        shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if isinstance(entry, dict) else (None, None)
        named = entry.get("dtype") if isinstance(entry, dict) else None
        dtype = _DTYPES.get(named) if isinstance(named, str) else None
        label = repr(name[:40])
        if dtype is None:
            bad(f"tensor {label} is of a dtype voxgen never writes ({str(named)[:20]})")
        if not (isinstance(shape, list) and len(shape) <= 8 and all(_count(n) for n in shape)
                and _count(math.prod(max(n, 1) for n in shape))) \
                or not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(n) for n in offsets)):
            bad(f"tensor {label}: its shape or place in the file is not a list of counts")
        begin, end = offsets
        if not begin <= end <= data or math.prod(shape) * dtype.itemsize != end - begin:
            bad(f"tensor {label} of shape {shape} does not fit its place in the file "
                f"(bytes {begin}..{end} of {data})")
        shapes[name] = torch.empty(shape, dtype=dtype, device="meta")
    return shapes, raw


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 48
