"""The compiled NBT validator behind `voxgen.formats.nbt_walk.validate` for
large payloads (private; numba is imported only when one is read).

One pass over the bytes with an explicit stack, building nothing: it proves
every length field fits the data before a parser is allowed to trust it.
"""

import numpy as np

from voxgen.kernel_cache import numba

OK, TRUNCATED, BAD_TAG, TOO_DEEP, END_LIST, NEGATIVE, TOO_MANY = 0, 1, 2, 3, 4, 5, 6


@numba.njit(cache=True, nogil=True)
def _u16(data, pos, little):
    if little:
        return np.int64(data[pos]) | (np.int64(data[pos + 1]) << 8)
    return (np.int64(data[pos]) << 8) | np.int64(data[pos + 1])


@numba.njit(cache=True, nogil=True)
def _i32(data, pos, little):
    value = np.int64(0)
    for k in range(4):
        b = np.int64(data[pos + k])
        value |= b << (8 * k if little else 8 * (3 - k))
    if value >= 1 << 31:
        value -= 1 << 32
    return value


@numba.njit(cache=True, nogil=True)
def _payload_size(tag):
    """Bytes of a fixed-size payload, 0 if not fixed-size."""
    if tag == 1:
        return 1
    if tag == 2:
        return 2
    if tag == 3 or tag == 5:
        return 4
    if tag == 4 or tag == 6:
        return 8
    return 0


def validate(data, little, max_depth=None, max_tags=None):
    """`_validate` with nbt_walk's limits (read at call time) unless given."""
    from voxgen.formats import nbt_walk

    return _validate(data, little, nbt_walk.MAX_DEPTH if max_depth is None else max_depth,
                     nbt_walk.MAX_TAGS if max_tags is None else max_tags)


@numba.njit(cache=True, nogil=True)
def _validate(data, little, max_depth, max_tags):
    """A status code (OK, TRUNCATED, ...) for uint8 `data` as one NBT root
    compound nested at most `max_depth` deep, holding at most `max_tags` tags
    (each element of a number list counts, an array counts once)."""
    n = data.shape[0]
    if n < 3:
        return TRUNCATED
    if data[0] != 10:
        return BAD_TAG
    pos = 3 + _u16(data, 1, little)
    kind = np.zeros(max_depth + 1, dtype=np.int8)      # 0 compound, 1 list
    item = np.zeros(max_depth + 1, dtype=np.int8)
    left = np.zeros(max_depth + 1, dtype=np.int64)
    depth = 0
    tags = 0
    while depth >= 0:
        if pos > n:
            return TRUNCATED
        if kind[depth] == 0:
            if pos >= n:
                return TRUNCATED
            tag = np.int64(data[pos])
            pos += 1
            if tag == 0:
                depth -= 1
                continue
            if pos + 2 > n:
                return TRUNCATED
            pos += 2 + _u16(data, pos, little)
        else:
            if left[depth] == 0:
                depth -= 1
                continue
            left[depth] -= 1
            tag = np.int64(item[depth])
        if pos > n:
            return TRUNCATED
        tags += 1
        if tags > max_tags:
            return TOO_MANY
        fixed = _payload_size(tag)
        if fixed:
            pos += fixed
        elif tag == 7 or tag == 11 or tag == 12:
            if pos + 4 > n:
                return TRUNCATED
            count = _i32(data, pos, little)
            if count < 0:
                return NEGATIVE
            pos += 4 + count * (1 if tag == 7 else (4 if tag == 11 else 8))
        elif tag == 8:
            if pos + 2 > n:
                return TRUNCATED
            pos += 2 + _u16(data, pos, little)
        elif tag == 9:
            if pos + 5 > n:
                return TRUNCATED
            sub = np.int64(data[pos])
            count = _i32(data, pos + 1, little)
            pos += 5
            if count < 0:
                return NEGATIVE
            if sub > 12:
                return BAD_TAG
            if sub == 0:
                if count > 0:
                    return END_LIST
            elif _payload_size(sub):
                pos += count * _payload_size(sub)
                tags += count
                if tags > max_tags:
                    return TOO_MANY
            elif count > 0:
                if depth >= max_depth:
                    return TOO_DEEP
                depth += 1
                kind[depth] = 1
                item[depth] = sub
                left[depth] = count
        elif tag == 10:
            if depth >= max_depth:
                return TOO_DEEP
            depth += 1
            kind[depth] = 0
        else:
            return BAD_TAG
    return OK if pos <= n else TRUNCATED
