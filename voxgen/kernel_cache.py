"""numba for voxgen's kernels, its cache kept true to their sources (private).

    from voxgen.kernel_cache import njit, prange, numba

numba keys each cached kernel by its own source file alone. A kernel that
calls one in another file, or reads another file's constants, kept running
its old machine code after that file changed: after an edit, and after an
upgrade that changed one file of a folder and not another. Here the key of a
voxgen kernel also holds a digest of every .py file in the kernel's folder
(kernels use nothing compiled from another folder: tests/test_kernel_cache.py
checks it), so a change anywhere in a folder compiles its kernels afresh.
Import njit from here, not from numba, in any module that defines a kernel:
the key is made when a kernel is defined.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numba
from numba import njit, prange
from numba.core import caching

__all__ = ["njit", "prange", "numba", "folder_digest"]


def _start_pool_keeping_torch_threads() -> None:
    """Start numba's thread pool now, once: started by the first parallel
    kernel, it put torch's thread count (set by the caller, e.g.
    torch.set_num_threads(1) in a worker) back to the cores'. torch's count
    is kept as it was."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    numba.get_num_threads()
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_digests: dict[str, str] = {}


def folder_digest(folder: str) -> str:
    """sha256 of the names and contents of the .py files in `folder`, in
    name order (once a process)."""
    if folder not in _digests:
        digest = hashlib.sha256()
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(name.encode() + b"\0" + f.read() + b"\0")
        _digests[folder] = digest.hexdigest()
    return _digests[folder]


_LOCATOR = getattr(caching, "_SourceFileBackedLocatorMixin", None)     # private: numba < 0.69 pinned
_numba_stamp = getattr(_LOCATOR, "get_source_stamp", None)


def _stamp(locator):
    """numba's stamp of a kernel's source file, with its folder's digest
    when the file is voxgen's."""
    stamp = _numba_stamp(locator)
    folder = os.path.dirname(os.path.abspath(locator._py_file))
    if os.path.commonpath([folder, _PACKAGE]) != _PACKAGE:
        return stamp
    return stamp, folder_digest(folder)


if _numba_stamp is not None:
    _LOCATOR.get_source_stamp = _stamp
else:                       # a numba that moved it: kernels still work, caches key by file alone
    import warnings
    warnings.warn("voxgen.kernel_cache: this numba has no _SourceFileBackedLocatorMixin; after "
                  "an upgrade of voxgen, delete its __pycache__ folders", stacklevel=2)


_start_pool_keeping_torch_threads()
