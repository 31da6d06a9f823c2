"""Reading user files safely: regular files only, sizes capped, TOML parsed
with every failure turned into one VoxgenError naming the file.

    open_regular(path)                  binary file object; a pipe/device refused
    read_capped(path, limit, what)      its bytes, at most `limit`
    read_toml(path, limit, what)        a TOML document as a dict

A FIFO, socket or device is never opened for blocking reads (it could hang
voxgen or never end). `read_toml` raises `BadToml` (a VoxgenError) when the
bytes are not UTF-8 TOML, so a caller that only sniffs ("is this a spec?")
can treat that as "no"; nesting too deep, a file too large or unreadable
raise a plain VoxgenError.
"""

from __future__ import annotations

import os
import stat

from voxgen.errors import VoxgenError

NOT_REGULAR = "not a regular file (a pipe or device); save it to a file first"
# What read_toml accepts unless told otherwise: specs and recipes are a few lines.
MAX_TOML_BYTES = 1 << 20
_CHUNK = 1 << 24


class BadToml(VoxgenError):
    """The file is readable but is not UTF-8 TOML."""


class NotText(BadToml):
    """The file is readable but is not UTF-8 text at all (binary)."""


def check_regular(path, what: str = "file") -> None:
    """Refuse, without opening it, a path that is missing, a folder, or not
    a regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise VoxgenError(f"no such {what}", path) from None
    except OSError as err:
        raise VoxgenError(f"cannot read file ({err.strerror or err})", path) from None
    if stat.S_ISDIR(mode):
        raise VoxgenError(f"is a directory, not a {what}", path)
    if not stat.S_ISREG(mode):
        raise VoxgenError(NOT_REGULAR, path)


def open_regular(path):
    """`path` opened for binary reading; a VoxgenError unless it is a regular
    file. Opened non-blocking, so a FIFO with no writer cannot hang us."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise VoxgenError(f"cannot read file ({err.strerror})", path) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise VoxgenError(NOT_REGULAR, path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path, limit: int, what: str = "file") -> bytes:
    """The bytes of regular file `path`, refused (naming the limit) if more
    than `limit`: at most limit + 1 bytes are read whatever the file's size
    says."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:  # (f.read(n) would reserve n bytes up front)
            raise VoxgenError(f"{what} of {size:,} bytes is larger than voxgen accepts "
                              f"({limit:,} bytes)", path)
        raw = f.read(size + 1)
        if len(raw) > size:  # the size was wrong (/proc) or the file grew: read on, capped
            chunks = [raw]
            while raw and sum(map(len, chunks)) <= limit:
                raw = f.read(_CHUNK)
                chunks.append(raw)
            raw = b"".join(chunks)
    if len(raw) > limit:     # its size said less: /proc, or a file still growing
        raise VoxgenError(f"{what} is larger than voxgen accepts ({limit:,} bytes)", path)
    return raw


def read_toml(path, limit: int = MAX_TOML_BYTES, what: str = "TOML file") -> dict:
    """The TOML document in regular file `path` (at most `limit` bytes).
    Raises VoxgenError naming `path`: BadToml for text that is not UTF-8
    TOML (NotText where it is not UTF-8 text), a plain VoxgenError for nesting too deep (tomllib recurses),
    a file too large, missing, or not a regular file."""
    import tomllib

    check_regular(path, what)
    raw = read_capped(path, limit, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotText(f"not UTF-8 text (byte {err.start})", path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadToml(f"not valid TOML ({err})", path) from None
    except RecursionError:
        raise VoxgenError("TOML nested too deeply", path) from None
