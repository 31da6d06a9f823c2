"""The compiled varint decoder behind `voxgen.formats.varint.decode_varints`
(private; numba is imported only when a Sponge file is read)."""

from voxgen.kernel_cache import numba


@numba.njit(cache=True, nogil=True)
def decode_into(data, count, out, max_bytes):
    """Decode `count` varints from uint8 `data` into int32 `out`.

    Returns the number of bytes consumed, -1 if the data ends early, -2 if a
    value is longer than `max_bytes` or does not fit in int32.
    """
    pos = 0
    n = data.shape[0]
    for i in range(count):
        value = 0
        shift = 0
        while True:
            if pos >= n:
                return -1
            b = data[pos]
            pos += 1
            value |= numba.int64(b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift >= 7 * max_bytes:
                return -2
        if value > 0x7FFFFFFF:
            return -2
        out[i] = value
    return pos
