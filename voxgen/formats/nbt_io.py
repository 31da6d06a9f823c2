"""NBT bytes in and out, through nbtlib (the established library).

Every format module reads and writes NBT through these two functions so the
error handling (truncation, bad gzip, hostile lengths) lives in one place.
Hostile length fields cannot make us allocate gigabytes: the whole
decompressed payload is capped before parsing, and nbtlib reads arrays from
that bounded buffer.
"""

from __future__ import annotations

import gzip
import io
import zlib

import nbtlib

from voxgen.errors import VoxgenError

# Decompressed NBT larger than this is refused (the 256^3 sample is ~30 MB).
MAX_NBT_BYTES = 512 * 1024 * 1024


def read_bytes(path) -> tuple[bytes, bool]:
    """(decompressed payload, was_gzipped). Raises VoxgenError."""
    with open(path, "rb") as f:
        raw = f.read(MAX_NBT_BYTES + 1)
    if len(raw) > MAX_NBT_BYTES:
        raise VoxgenError("file is larger than voxgen accepts", path)
    if raw[:2] == b"\x1f\x8b":
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = d.decompress(raw, MAX_NBT_BYTES + 1)
            if len(data) > MAX_NBT_BYTES:
                raise VoxgenError("decompressed data is larger than voxgen accepts", path)
            if not d.eof:
                raise VoxgenError("gzip stream is truncated", path)
        except zlib.error as err:
            raise VoxgenError(f"corrupt gzip data ({err})", path) from None
        return data, True
    if raw[:2] == b"\x78\x9c" or raw[:2] == b"\x78\xda" or raw[:2] == b"\x78\x01":
        try:
            return zlib.decompress(raw), True
        except zlib.error as err:
            raise VoxgenError(f"corrupt zlib data ({err})", path) from None
    return raw, False


def parse_nbt(data: bytes, path, byteorder: str = "big") -> nbtlib.File:
    """Parse an uncompressed NBT payload whose root is a compound."""
    if not data or data[0] != 10:
        raise VoxgenError("not NBT data (the root tag is not a compound)", path)
    buf = io.BytesIO(data)
    try:
        root = nbtlib.File.parse(buf, byteorder=byteorder)
    except (EOFError, ValueError, KeyError, IndexError, OverflowError, MemoryError,
            UnicodeDecodeError, TypeError) as err:
        raise VoxgenError(f"corrupt or truncated NBT ({type(err).__name__})", path) from None
    except Exception as err:  # nbtlib wraps struct.error and friends
        raise VoxgenError(f"corrupt or truncated NBT ({type(err).__name__}: {err})", path) from None
    return root


def read_nbt(path, byteorder: str = "big") -> nbtlib.File:
    """Read a (possibly gzipped) NBT file. `.root_name` gives the root's name."""
    data, _ = read_bytes(path)
    return parse_nbt(data, path, byteorder)


def write_nbt(path, root: nbtlib.Compound, root_name: str = "", gzipped: bool = True,
              byteorder: str = "big") -> None:
    """Write `root` as an NBT file (gzipped by default)."""
    file = nbtlib.File(root, root_name=root_name)
    buf = io.BytesIO()
    file.write(buf, byteorder=byteorder)
    data = buf.getvalue()
    if gzipped:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def require(compound, key: str, tag_type, path, where: str = "root"):
    """compound[key], checked to be of `tag_type`; a clear error otherwise."""
    if not isinstance(compound, nbtlib.Compound) or key not in compound:
        raise VoxgenError(f"missing tag '{key}' in {where}", path)
    value = compound[key]
    if not isinstance(value, tag_type):
        want = tag_type.__name__ if isinstance(tag_type, type) else "/".join(t.__name__ for t in tag_type)
        raise VoxgenError(f"tag '{key}' in {where} is {type(value).__name__}, expected {want}", path)
    return value
