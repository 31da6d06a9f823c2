"""A header-only walk over NBT bytes: skips values by their lengths without
building objects. Used to sniff formats and to validate a payload before
nbtlib parses it (nbtlib loops forever-ish on a huge list of End tags, and
recurses without limit on deep nesting).
"""

from __future__ import annotations

import struct

_FIXED = {1: 1, 2: 2, 3: 4, 4: 8, 5: 4, 6: 8}  # tag type -> payload bytes
_ARRAY = {7: 1, 11: 4, 12: 8}                   # array tag type -> element bytes
# Deeper nesting is refused: nbtlib's SNBT writer and reader recurse and fail
# near 220 levels (Minecraft allows 512, real files nest a dozen or so).
MAX_DEPTH = 100
# More tags than this are refused before nbtlib builds one Python object per
# tag (~150 bytes and ~2 us each: at most ~0.6 GB and ~8 s). The 256^3 sample
# has 1.07 M; elements of number lists count one each, arrays count once.
MAX_TAGS = 4 * 1024 * 1024


class Truncated(Exception):
    """The data ends inside a tag."""


class TooLarge(ValueError):
    """Well-formed, but nested deeper or holding more tags than voxgen loads."""


# Payloads at least this large are checked by the compiled kernel.
COMPILED_MIN_BYTES = 1 << 16
_PROBLEMS = {2: "an unknown tag type", 4: "a non-empty list of End tags", 5: "a negative length"}


def _too_deep() -> TooLarge:
    return TooLarge(f"NBT nested more than {MAX_DEPTH} deep")



def validate(data: bytes, byteorder: str = "big") -> None:
    """Check that `data` is one complete NBT compound (root name included).
    Raises Truncated or ValueError."""
    if len(data) >= COMPILED_MIN_BYTES:
        import numpy as np

        from voxgen.formats._nbt_kernel import validate as compiled

        status = compiled(np.frombuffer(data, dtype=np.uint8), byteorder == "little", MAX_DEPTH, MAX_TAGS)
        if status == 1:
            raise Truncated()
        if status == 3:
            raise _too_deep()
        if status == 6:
            raise TooLarge(f"NBT holds more than {MAX_TAGS} tags")
        if status:
            raise ValueError(_PROBLEMS[status])
        return
    # (smaller payloads cannot hold MAX_TAGS tags: each takes at least a byte)
    order = ">" if byteorder == "big" else "<"
    if byte(data, 0) != 10:
        raise ValueError("the root tag is not a compound")
    skip(data, 3 + u16(data, 1, order), 10, order, 0)


def skip(data, pos: int, tag: int, order: str, depth: int) -> int:
    """The position just after a payload of type `tag` starting at `pos`."""
    if depth > MAX_DEPTH:
        raise _too_deep()
    if tag in _FIXED:
        end = pos + _FIXED[tag]
    elif tag in _ARRAY:
        end = pos + 4 + _ARRAY[tag] * i32(data, pos, order)
    elif tag == 8:
        end = pos + 2 + u16(data, pos, order)
    elif tag == 9:
        item, count = byte(data, pos), i32(data, pos + 1, order)
        pos += 5
        if item > 12:
            raise ValueError(f"unknown NBT tag type {item} in a list")
        if count and item == 0:
            raise ValueError("a non-empty list of End tags")
        if item in _FIXED:
            end = pos + _FIXED[item] * count
        else:
            for _ in range(count):
                pos = skip(data, pos, item, order, depth + 1)
            end = pos
    elif tag == 10:
        while True:
            child = byte(data, pos)
            if child == 0:
                return pos + 1
            pos = skip(data, pos + 3 + u16(data, pos + 1, order), child, order, depth + 1)
    else:
        raise ValueError(f"unknown NBT tag type {tag}")
    if end > len(data):
        raise Truncated()
    return end


def byte(data, pos: int) -> int:
    if pos >= len(data):
        raise Truncated()
    return data[pos]


def u16(data, pos: int, order: str) -> int:
    if pos + 2 > len(data):
        raise Truncated()
    return struct.unpack_from(order + "H", data, pos)[0]


def i32(data, pos: int, order: str) -> int:
    if pos + 4 > len(data):
        raise Truncated()
    value = struct.unpack_from(order + "i", data, pos)[0]
    if value < 0:
        raise ValueError("negative NBT length")
    return value
