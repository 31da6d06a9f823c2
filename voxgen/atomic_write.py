"""Output files that appear whole or not at all.

A writer writes to a short hidden temporary name in the target's folder, and
the finished file is renamed onto the target (`os.replace`, atomic within a
file system). An error, Ctrl-C or SIGTERM (the CLI turns it into SystemExit)
removes the temporary files. Errors name the user's path, never the
temporary one, and the temporary name stays short whatever the target's
length (a 250-character file name must still work).

    with atomic_output(path) as tmp:
        write(tmp)
    with atomic_outputs([obj, mtl]) as (obj_tmp, mtl_tmp):   # all or none
        ...

Does not fsync: a crash of the machine (not of voxgen) can still lose data.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from voxgen.errors import VoxgenError

TEMP_PREFIX = ".voxgen-"
_MAX_KEPT_SUFFIX = 16     # writers that pick a format by extension still see it


PENDING_SIGNALS: list[BaseException] = []
"""The exception the CLI's signal handler raised (Ctrl-C, SIGTERM), kept
until the command ends. One raised inside a C callback, as numba's compiler
runs them, is printed and dropped there, and the work goes on: it is raised
again before anything is committed (`raise_pending_signal`)."""


def raise_pending_signal() -> None:
    """Raise again a signal's exception that was dropped, if one was."""
    if PENDING_SIGNALS:
        raise PENDING_SIGNALS[0]


def temp_path(path: Path) -> Path:
    """A fresh hidden name beside `path`, at most 40 characters long."""
    suffix = path.suffix if len(path.suffix) <= _MAX_KEPT_SUFFIX else ""
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}.tmp{suffix}")


def check_output(path) -> Path:
    """Refuse, before the work that makes it, an output file that could not
    be written: a folder, or in a folder that is missing, not a folder or
    read-only. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise VoxgenError("is a directory", path)
    folder = path.parent
    if not folder.is_dir():
        raise VoxgenError(f"output folder {folder} does not exist" if not folder.exists()
                          else f"{folder} is not a folder", path)
    if not os.access(folder, os.W_OK | os.X_OK) or path.exists() and not os.access(path, os.W_OK):
        raise VoxgenError(f"cannot write into {folder} (permission denied)", path)
    return path


@contextmanager
def atomic_outputs(paths):
    """Yield one temporary path per target; when the block ends normally,
    rename each onto its target. The temporary files exist (empty) when the
    block starts, so a folder that cannot be written is found before any
    work is done; writers replace them. If anything fails, no target is left
    half-written and none of this call's targets is left alone: the ones
    already renamed are put back as they were (a file the user had, kept by
    a hard link until all are renamed) or removed."""
    # a symlink's target is written, not the link replaced by a file
    paths = [Path(os.path.realpath(p)) if Path(p).is_symlink() else Path(p) for p in paths]
    for path in paths:
        check_output(path)
    temps = [temp_path(path) for path in paths]
    renamed, kept = [], {}
    try:
        try:
            for tmp in temps:        # an unwritable folder fails here, before the work
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            yield temps
            raise_pending_signal()   # a Ctrl-C or SIGTERM dropped during the work: nothing goes in
            if len(paths) > 1:       # several files: keep the old ones until all are in place
                kept = {path: _keep(path) for path in paths if path.is_file()}
            for tmp, path in zip(temps, paths):
                os.replace(tmp, path)
                renamed.append(path)
        except BaseException:
            for path in renamed:
                if kept.get(path) is not None:
                    os.replace(kept.pop(path), path)
                else:
                    path.unlink(missing_ok=True)
            raise
    except OSError as err:
        target = _target_of(err.filename, temps, paths)
        if target is None:
            raise
        raise VoxgenError(f"cannot write ({err.strerror or err})", target) from None
    except VoxgenError as err:
        target = _target_of(err.path, temps, paths)
        if target is None or err.path == str(target):
            raise
        raise VoxgenError(err.message, target) from None
    finally:
        for tmp in [*temps, *(k for k in kept.values() if k is not None)]:
            if tmp.is_file() or tmp.is_symlink():
                tmp.unlink()


def _keep(path: Path) -> Path | None:
    """A hard link to the file at `path` under a temporary name (its old
    contents, should a later rename fail), or None where links cannot be made."""
    link = temp_path(path)
    try:
        os.link(path, link)
    except OSError:
        return None
    return link


@contextmanager
def atomic_output(path):
    """`atomic_outputs` for one file: yields its temporary path."""
    with atomic_outputs([path]) as (tmp,):
        yield tmp


def _target_of(named, temps, paths):
    """The user's path an error is about: the target of a temporary file it
    names, the only target when it names none; None for another file."""
    if named is None:
        return paths[0] if len(paths) == 1 else None
    named = os.fspath(named)
    for tmp, path in zip(temps, paths):
        if named in (str(tmp), str(path)):
            return path
    return None
