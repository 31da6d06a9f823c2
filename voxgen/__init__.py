"""voxgen: grow Minecraft structures with 3D neural cellular automata.

The library, for use from Python (every name and module here is imported
on first use, so `import voxgen` stays instant and loads neither torch nor
numba):

    s = voxgen.load("house.schem")          # any blueprint format -> Structure
    s.blocks, s.palette                     # int32 (X, Y, Z) indices, states
    voxgen.save(s.cut_along("x", 4)[0], "half.schem")
    fm = voxgen.load(voxgen.resolve_blueprint("flying_machine"))   # a bundled NAME
    start = voxgen.machine_spec(fm).start   # its [meta.machine] recipe: what starts it
    voxgen.simulate(fm, 100, start).displacement   # 100 game ticks: [10.0, 0.0, 0.0] blocks
    t = voxgen.load_trained("caterpillar")  # a shipped NAME or a .safetensors
    g = voxgen.grow.grow(t, seed=0)         # GrowResult: .structure, .metrics
    voxgen.compare(g.structure, t.target)   # exact, accuracy, iou, ...
    r = voxgen.regenerate(t, trials=2)      # cut, regrow, fly: a JSON-able report

(`grow` and `train` are modules here, so their functions are
`voxgen.grow.grow` and `voxgen.train.train`.)

Bad input raises `VoxgenError` (one line, naming the file); a bad argument
to `grow`, `regenerate` or `simulate` raises its subclass `ParameterError`,
naming the parameter (a `Structure` method: ValueError, TypeError or
IndexError). Modules, in layers (each imports only from the layers below it):

L0  blocks (block states, registry)   errors, bundled (blueprints/, structures/)
L1  structure (Structure)
L2  formats (load, save) | physics (simulate) | nca (model, spec, weights) | metrics (compare)
L3  train | grow (load_trained, grow)
L4  regen (regenerate), regen_flight
L5  render (pictures, meshes)
L6  cli (the `voxgen` command)
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


# public name -> module that defines it; `voxgen.NAME` imports it on first use
_EXPORTS = {
    "VoxgenError": "voxgen.errors", "ParameterError": "voxgen.errors",
    "canonical": "voxgen.blocks", "block_info": "voxgen.blocks",
    "Structure": "voxgen.structure",
    "load": "voxgen.formats", "save": "voxgen.formats",
    "resolve_blueprint": "voxgen.bundled",
    "compare": "voxgen.metrics",
    "simulate": "voxgen.physics", "simulate_batch": "voxgen.physics",
    "machine_spec": "voxgen.physics",
    "load_trained": "voxgen.grow",
    "regenerate": "voxgen.regen",
}
# the documented modules, also reachable as `voxgen.NAME` without an import
_MODULES = ("blocks", "errors", "bundled", "structure", "formats", "physics", "nca", "metrics",
            "train", "grow", "regen", "render")
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import an exported name on first use (PEP 562): torch and numba load
    only when a caller reaches for what needs them."""
    import importlib

    if name in _MODULES:                    # importing sets the attribute itself
        return importlib.import_module(f"voxgen.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_MODULES))
