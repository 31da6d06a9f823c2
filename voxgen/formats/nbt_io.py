"""NBT bytes in and out, through nbtlib (the established library).

Every format module reads and writes NBT through these two functions so the
error handling (truncation, bad gzip, hostile lengths) lives in one place.
Hostile length fields cannot make us allocate gigabytes: the file and its
decompressed payload are capped before parsing (gzip and zlib alike), the
validator counts the tags nbtlib would build, and nbtlib reads arrays from
that bounded buffer. Only regular files are read: a pipe or device would be
read twice (sniff, then load) and may never end.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib

import nbtlib
import numpy as np

from voxgen.errors import VoxgenError
from voxgen.formats import nbt_walk
from voxgen.formats.nbt_walk import MAX_DEPTH, MAX_TAGS  # noqa: F401 (re-exported)
from voxgen.safe_read import read_capped

# Decompressed NBT larger than this is refused (the 256^3 sample is ~30 MB):
# the payload, plus nbtlib's copy of its arrays, stays under ~0.5 GB.
MAX_NBT_BYTES = 256 * 1024 * 1024
_CHUNK = 16 * 1024 * 1024                       # decompressed at a time


# One decompressed payload is remembered, keyed by (path, mtime, size), so that
# sniffing a file and then loading it decompresses it once.
_LAST_READ: dict = {}


def read_bytes(path) -> tuple[bytes, bool]:
    """(decompressed payload, was_gzipped). Raises VoxgenError."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise VoxgenError(f"cannot read file ({err.strerror})", path) from None
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    if _LAST_READ.get("key") == key:
        return _LAST_READ["value"]
    value = _read_bytes(path)
    _LAST_READ.clear()
    _LAST_READ.update(key=key, value=value)
    return value


def _read_bytes(path) -> tuple[bytes, bool]:
    raw = read_capped(path, MAX_NBT_BYTES, "NBT file")
    if raw[:2] == b"\x1f\x8b":
        return _decompress(raw, 16 + zlib.MAX_WBITS, "gzip", path), True
    if raw[:2] in (b"\x78\x9c", b"\x78\xda", b"\x78\x01"):
        return _decompress(raw, zlib.MAX_WBITS, "zlib", path), True
    return raw, False


def _decompress(raw: bytes, wbits: int, kind: str, path) -> bytes:
    """gzip or zlib data decompressed, at most MAX_NBT_BYTES of it. Taken in
    chunks, so that a bomb is refused once the cap is passed with about the
    cap in memory (one call with the cap as its limit grew its buffer to
    twice that: 0.56 GB at the peak for a 1 GB bomb)."""
    d, chunks, total = zlib.decompressobj(wbits), [], 0
    try:
        while not d.eof and total <= MAX_NBT_BYTES:
            chunk = d.decompress(raw, _CHUNK)
            raw = d.unconsumed_tail               # the input this chunk left (b"": zlib holds the rest)
            if not chunk:
                break                           # no more comes out, and the stream has not ended
            chunks.append(chunk)
            total += len(chunk)
    except zlib.error as err:
        raise VoxgenError(f"corrupt {kind} data ({err})", path) from None
    if total > MAX_NBT_BYTES:
        raise VoxgenError(f"decompressed data is larger than voxgen accepts ({MAX_NBT_BYTES:,} bytes)", path)
    if not d.eof:
        raise VoxgenError(f"{kind} stream is truncated", path)
    return b"".join(chunks)                     # one chunk: that chunk itself, not a copy


def parse_nbt(data: bytes, path, byteorder: str = "big") -> nbtlib.File:
    """Parse an uncompressed NBT payload whose root is a compound."""
    if not data or data[0] != 10:
        raise VoxgenError("not NBT data (the root tag is not a compound)", path)
    _validate(data, path, byteorder)
    buf = io.BytesIO(data)
    try:
        root = nbtlib.File.parse(buf, byteorder=byteorder)
    except (EOFError, ValueError, KeyError, IndexError, OverflowError, MemoryError,
            UnicodeDecodeError, TypeError) as err:
        raise VoxgenError(f"corrupt or truncated NBT ({type(err).__name__})", path) from None
    except Exception as err:  # nbtlib wraps struct.error and friends
        raise VoxgenError(f"corrupt or truncated NBT ({type(err).__name__}: {err})", path) from None
    return root


def _validate(data: bytes, path, byteorder: str) -> None:
    """Every length field checked against the data before a parser sees it."""
    try:
        nbt_walk.validate(data, byteorder)
    except nbt_walk.Truncated:
        raise VoxgenError("truncated NBT", path) from None
    except nbt_walk.TooLarge as err:
        raise VoxgenError(f"{err}, more than voxgen loads", path) from None
    except ValueError as err:
        raise VoxgenError(f"corrupt NBT ({err})", path) from None


def read_nbt(path, byteorder: str = "big") -> nbtlib.File:
    """Read a (possibly gzipped) NBT file. `.root_name` gives the root's name."""
    data, _ = read_bytes(path)
    return parse_nbt(data, path, byteorder)


def nesting_depth(value) -> int:
    """How deep compounds and lists (nbtlib's or plain dicts and lists) nest;
    without recursion, so any depth can be measured."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in value)
    return deepest


_NUMBERS = (nbtlib.Byte, nbtlib.Short, nbtlib.Int, nbtlib.Long, nbtlib.Float, nbtlib.Double)


def tag_stats(tag, level: int = 0) -> tuple[int, int]:
    """(deepest level, tags) of an nbtlib tree as the validator counts them:
    `tag` sits at `level`, each child one deeper; the elements of a number
    list count as tags but not as levels, an array counts once."""
    deepest, count, stack = level, 0, [(tag, level)]
    while stack:
        tag, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if isinstance(tag, nbtlib.Compound):
            stack.extend((child, depth + 1) for child in tag.values())
        elif isinstance(tag, nbtlib.List):
            if tag and isinstance(tag[0], _NUMBERS):
                count += len(tag)
            else:
                stack.extend((child, depth + 1) for child in tag)
    return deepest, count


def check_loadable(depth: int, tags: int, path, what: str) -> None:
    """Refuse, before a file is written, NBT that voxgen's reader would
    refuse: deeper than MAX_DEPTH or more than MAX_TAGS tags in `what`."""
    if depth > nbt_walk.MAX_DEPTH:
        raise VoxgenError(f"the block or entity data would nest {depth} deep in {what}, more than "
                          f"voxgen reads ({nbt_walk.MAX_DEPTH}); nothing written", path)
    if tags > nbt_walk.MAX_TAGS:
        raise VoxgenError(f"{what} would hold {tags} NBT tags, more than voxgen reads "
                          f"({nbt_walk.MAX_TAGS}); nothing written", path)


def write_nbt(path, root: nbtlib.Compound, root_name: str = "", gzipped: bool = True,
              byteorder: str = "big", what: str | None = None) -> None:
    """Write `root` as an NBT file (gzipped by default). With `what` (the
    format, for the message), refused first if voxgen could not read it
    back (check_loadable): every blueprint writer passes it."""
    if what is not None:
        check_loadable(*tag_stats(root), path, what)
    file = nbtlib.File(root, root_name=root_name)
    buf = io.BytesIO()
    file.write(buf, byteorder=byteorder)
    data = buf.getvalue()
    if gzipped:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


# SNBT text holding more items than this (commas and colons: about one a tag)
# is refused before nbtlib parses it: its parser takes ~5 us an item, so the
# 16 MB that text files may hold, as `[0,0,...]` (8 M items), took ~45 s and
# 1.1 GB. A structure SNBT takes about six items a listed block.
MAX_SNBT_ITEMS = 1 << 20


def check_snbt_items(texts, path, what: str, writing: bool = False) -> None:
    """Refuse SNBT strings `texts` that hold, together, more than
    MAX_SNBT_ITEMS items; `what` names them in the message. A writer
    (`writing`) refuses what the reader would."""
    items = sum(text.count(",") + text.count(":") for text in texts)
    if items > MAX_SNBT_ITEMS:
        raise VoxgenError(f"{items:,} SNBT items in {what}, more than voxgen reads "
                          f"({MAX_SNBT_ITEMS:,}){'; nothing written' if writing else ''}", path)


def require(compound, key: str, tag_type, path, where: str = "root"):
    """compound[key], checked to be of `tag_type`; a clear error otherwise."""
    if not isinstance(compound, nbtlib.Compound) or key not in compound:
        raise VoxgenError(f"missing tag '{key}' in {where}", path)
    value = compound[key]
    if not isinstance(value, tag_type):
        want = tag_type.__name__ if isinstance(tag_type, type) else "/".join(t.__name__ for t in tag_type)
        raise VoxgenError(f"tag '{key}' in {where} is {type(value).__name__}, expected {want}", path)
    return value


# --- fast path ----------------------------------------------------------------
# nbtlib builds one Python object per tag: ~3 s for the 256^3 sample's 42k
# block entities. rapidnbt (C++) parses the same payload in ~0.6 s; we then
# convert its tree to nbtlib tags, leaving out subtrees the caller skips.
FAST_MIN_BYTES = 1 << 20


def parse_root(data: bytes, path, byteorder: str = "big", skip=frozenset()) -> nbtlib.Compound:
    """The root compound of an uncompressed NBT payload.

    Keys named in `skip` (at any depth) may come back as empty Lists: a
    promise by the caller that it will not read them. Payloads of at least
    FAST_MIN_BYTES with something to skip go through rapidnbt when installed.
    """
    # Converting rapidnbt's tree to nbtlib costs ~5 us a tag: a win only when
    # the bulk of the tags (block entities) is skipped.
    if skip and len(data) >= FAST_MIN_BYTES and data[:1] == b"\x0a":
        root = _parse_rapid(data, path, byteorder, frozenset(skip))
        if root is not None:
            return root
    return parse_nbt(data, path, byteorder)


def _parse_rapid(data: bytes, path, byteorder: str, skip: frozenset):
    try:
        from rapidnbt import NbtFileFormat, nbtio
    except ImportError:
        return None
    fmt = NbtFileFormat.BIG_ENDIAN if byteorder == "big" else NbtFileFormat.LITTLE_ENDIAN
    _validate(data, path, byteorder)  # rapidnbt trusts length fields: allocates first, asks later
    try:
        root = nbtio.loads(data, fmt)
    except Exception as err:  # a C++ parse error surfaces as a generic exception
        raise VoxgenError(f"corrupt or truncated NBT ({type(err).__name__})", path) from None
    if root is None:
        raise VoxgenError("corrupt or truncated NBT", path)
    try:
        return _compound_from_rapid(root.items(), skip)
    except UnicodeDecodeError:
        raise VoxgenError("corrupt NBT (a string is not UTF-8)", path) from None


def _compound_from_rapid(items, skip: frozenset) -> nbtlib.Compound:
    out = nbtlib.Compound()
    for key, value in items:
        out[key] = nbtlib.List([]) if key in skip else _from_rapid(value, skip)
    return out


def _from_rapid(tag, skip: frozenset):
    """One rapidnbt tag (variant) as the equal nbtlib tag."""
    kind = tag.get_type().name
    if kind == "Compound":
        return _compound_from_rapid(tag.items(), skip)
    if kind == "List":
        items = [_from_rapid(t, skip) for t in tag.get_list()]
        return nbtlib.List[type(items[0])](items) if items else nbtlib.List([])
    if kind == "String":
        return nbtlib.String(tag.get_string())
    if kind == "ByteArray":
        return nbtlib.ByteArray(np.frombuffer(tag.get_byte_array(), dtype=np.int8))
    if kind == "IntArray":
        return nbtlib.IntArray(np.asarray(tag.get_int_array(), dtype=np.int32))
    if kind == "LongArray":
        return nbtlib.LongArray(np.asarray(tag.get_long_array(), dtype=np.int64))
    scalar = {"Byte": nbtlib.Byte, "Short": nbtlib.Short, "Int": nbtlib.Int, "Long": nbtlib.Long,
              "Float": nbtlib.Float, "Double": nbtlib.Double}[kind]
    return scalar(tag.value)
