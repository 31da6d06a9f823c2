"""Litematica's tightly packed block states, vectorised with numpy.

Entry i occupies bits [i * bits, (i + 1) * bits) of the long array read as
one little-endian bit string: an entry may start near the top of one long
and end in the next. Unlike the 1.16+ chunk format, nothing is padded.
"""

from __future__ import annotations

import numpy as np

# Entries packed at a time (1 Mi, whole rows of 64 entries).
PACK_CHUNK = 64 << 14


def longs_needed(count: int, bits: int) -> int:
    return (count * bits + 63) // 64


def unpack(longs: np.ndarray, count: int, bits: int) -> np.ndarray:
    """(count,) entries from `longs` (int64/uint64 (M,), any byte order): int32
    up to 31 bits an entry (every palette: int64 took 256 MB more at 64 M
    cells), int64 above.

    The caller checks len(longs) >= longs_needed(count, bits) first.
    The layout repeats every 64 entries (= `bits` longs): viewed as rows of
    `bits` words, entry slot j of every row sits at the same word column and
    shift, so each of the 64 slots is one whole-column numpy operation.
    """
    rows = -(-count // 64)
    words = np.zeros((rows + 1) * bits, dtype=np.uint64)    # one spare row for the spill
    have = min(len(longs), rows * bits)
    words[:have] = np.asarray(longs[:have]).astype(np.int64, copy=False).view(np.uint64)
    # word columns made contiguous: (bits + 1, rows); the last is the next row's first word
    table = np.empty((bits + 1, rows), dtype=np.uint64)
    table[:bits] = words[:rows * bits].reshape(rows, bits).T
    table[bits] = words[bits::bits][:rows]
    # Slot j of every row is written straight into column j of the result:
    # building (64, rows) and transposing it took three copies of the output.
    out = np.empty((rows, 64), dtype=np.int32 if bits <= 31 else np.int64)
    value = np.empty(rows, dtype=np.uint64)
    mask = np.uint64((1 << bits) - 1)
    for j in range(64):
        column, shift = divmod(j * bits, 64)
        np.right_shift(table[column], np.uint64(shift), out=value)
        if shift + bits > 64:  # the entry's high bits are in the next word
            value |= table[column + 1] << np.uint64(64 - shift)
        value &= mask
        out[:, j] = value
    return out.ravel()[:count]


def pack(values: np.ndarray, bits: int) -> np.ndarray:
    """The inverse of `unpack`: int64 (longs_needed(N, bits),).

    Packed PACK_CHUNK entries (a multiple of 64, so a whole number of
    longs) at a time: done in one go, the uint64 temporaries took ~40 bytes
    an entry (2.6 GB for a 64 Mi-cell structure)."""
    values = np.asarray(values).ravel()
    pieces = [_pack(values[a:a + PACK_CHUNK], bits) for a in range(0, values.size, PACK_CHUNK)]
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)


def _pack(values: np.ndarray, bits: int) -> np.ndarray:
    values = values.astype(np.int64).astype(np.uint64)
    out = np.zeros(longs_needed(values.size, bits), dtype=np.uint64)
    start = np.arange(values.size, dtype=np.uint64) * np.uint64(bits)
    index = (start >> np.uint64(6)).astype(np.int64)
    offset = start & np.uint64(63)
    np.bitwise_or.at(out, index, values << offset)
    spill = np.flatnonzero(offset + np.uint64(bits) > 64)
    if spill.size:
        np.bitwise_or.at(out, index[spill] + 1, values[spill] >> (np.uint64(64) - offset[spill]))
    return out.view(np.int64)


def bits_for(palette_size: int) -> int:
    """Litematica's entry width: enough bits for the palette, at least 2."""
    return max(2, (palette_size - 1).bit_length())
