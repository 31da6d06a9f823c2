"""voxgen: grow Minecraft structures with 3D neural cellular automata.

Layers (import downwards only; see DESIGN.md):
L0 blocks, config  ->  L1 structure  ->  L2 formats | physics | nca | metrics
->  L3 train | grow  ->  L4 regen  ->  L5 render | export  ->  L6 cli
"""

import os
import stat
import tempfile

__version__ = "0.1.0"


def _writable(folder: str) -> bool:
    """Whether numba can keep its cache in `folder` (made if missing): the
    same test numba's own cache locators make, so root, read-only mounts and
    ACLs all answer as they will for numba."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _package_cache_writable() -> bool:
    """Whether numba's default place, the `__pycache__` beside each kernel
    module, is writable in this package and all its subpackages."""
    package = os.path.dirname(os.path.abspath(__file__))
    folders = [package] + [
        entry.path for entry in os.scandir(package)
        if entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py"))
    ]
    return all(_writable(os.path.join(folder, "__pycache__")) for folder in folders)


def _private_temp_folder() -> str | None:
    """`<tmp>/voxgen-numba-<uid>`, a folder only this user can write, or None.

    numba's cache files are pickles, so a folder with a guessable name in a
    shared temp dir is used only if this user made it and nobody else can
    write it; a folder someone else planted is refused, not trusted.
    """
    try:
        temp = tempfile.gettempdir()
    except FileNotFoundError:  # no writable temp dir at all
        return None
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = os.path.join(temp, f"voxgen-numba-{uid if uid is not None else 'user'}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return None
    if uid is not None and info.st_uid != uid:
        return None
    return folder if _writable(folder) else None


def _user_cache_folder() -> str:
    """`$XDG_CACHE_HOME/voxgen/numba`, else `~/.cache/voxgen/numba`."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "voxgen", "numba")


def _place_numba_cache() -> None:
    """Give numba a cache folder this user can write, before any module
    imports numba (numba reads NUMBA_CACHE_DIR once, at its import).

    numba caches each `@njit(cache=True)` kernel beside its source, else in
    ~/.cache/numba, and raises "cannot cache function ... no locator
    available" at import when neither is writable: a root-owned or read-only
    install used by another user. A writable NUMBA_CACHE_DIR the user set and
    a writable package folder are left alone; otherwise the cache goes to
    the user's cache folder, else a private temp folder, else nowhere (the
    kernels compile on every run, slower but correct).
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR", "")
    if chosen and _writable(chosen):
        return
    if _package_cache_writable():
        return
    for folder in (_user_cache_folder(), _private_temp_folder()):
        if folder is not None and _writable(folder):
            os.environ["NUMBA_CACHE_DIR"] = folder
            return
    _compile_without_cache()


def _compile_without_cache() -> None:
    """Make `cache=True` a no-op: with no writable folder anywhere, numba
    would otherwise refuse to define the kernels at all."""
    from numba.core import dispatcher

    dispatcher.Dispatcher.enable_caching = lambda self: None


_place_numba_cache()
