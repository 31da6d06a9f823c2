"""The setup path and the kernel cache, checked without installing anything
or running make: the Makefile's venv check is run alone on fake Pythons, and
voxgen.kernel_cache's key is computed directly."""

import os
import re
import subprocess
import types
from pathlib import Path

import pytest

from conftest import ROOT
from voxgen import kernel_cache

numba_caching = pytest.importorskip("numba.core.caching")

MAKEFILE = ROOT / "Makefile"


# --- kernel_cache: a kernel's key holds its whole folder ---------------------

def test_folder_digest_sees_an_edit_that_keeps_size_and_mtime(tmp_path, monkeypatch):
    """numba's own stamp is a file's mtime and size; the folder digest reads
    contents, so an edit of the same length restored to the same mtime (a
    checkout, a copy with -p) still compiles afresh."""
    (tmp_path / "kernels.py").write_text("from constants import N\n")
    constants = tmp_path / "constants.py"
    constants.write_text("N = 1\n")
    before = kernel_cache.folder_digest(str(tmp_path))
    stat = constants.stat()
    constants.write_text("N = 2\n")
    os.utime(constants, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    monkeypatch.setattr(kernel_cache, "_digests", {})          # a new process
    assert kernel_cache.folder_digest(str(tmp_path)) != before


def test_folder_digest_covers_py_files_only_and_their_names(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("A = 1\n")
    first = kernel_cache.folder_digest(str(tmp_path))

    def fresh() -> str:
        monkeypatch.setattr(kernel_cache, "_digests", {})
        return kernel_cache.folder_digest(str(tmp_path))

    (tmp_path / "notes.md").write_text("not code\n")
    assert fresh() == first
    (tmp_path / "b.py").write_text("")
    with_b = fresh()
    assert with_b != first                                     # a new module counts
    (tmp_path / "b.py").rename(tmp_path / "c.py")
    assert fresh() not in (first, with_b)                      # and its name


def test_a_voxgen_kernels_stamp_holds_its_folders_digest(tmp_path):
    kernels = Path(kernel_cache.__file__).parent / "physics" / "kernels.py"
    stamp = kernel_cache._stamp(types.SimpleNamespace(_py_file=str(kernels)))
    assert stamp[1] == kernel_cache.folder_digest(str(kernels.parent))
    assert stamp[0] == kernel_cache._numba_stamp(types.SimpleNamespace(_py_file=str(kernels)))
    elsewhere = tmp_path / "other.py"
    elsewhere.write_text("")
    plain = types.SimpleNamespace(_py_file=str(elsewhere))
    assert kernel_cache._stamp(plain) == kernel_cache._numba_stamp(plain)   # not voxgen's: numba's key


def test_every_source_backed_numba_locator_keys_by_folder():
    """A numba release (within the pinned range) whose locator overrides
    get_source_stamp would silently bring the stale caches back."""
    mixin = numba_caching._SourceFileBackedLocatorMixin
    assert mixin.get_source_stamp is kernel_cache._stamp
    locators = [c for c in vars(numba_caching).values()
                if isinstance(c, type) and issubclass(c, mixin) and c is not mixin
                and not c.__name__.startswith("_Zip") and c.__name__ != "ZipCacheLocator"]
    assert locators
    for locator in locators:
        assert locator.get_source_stamp is kernel_cache._stamp, locator.__name__


# --- Makefile: the venv check that starts install-venv ----------------------

def _venv_check() -> str:
    """The first command of the install-venv recipe, as the shell gets it."""
    lines = MAKEFILE.read_text().splitlines()
    start = lines.index("install-venv:") + 1
    command = []
    for line in lines[start:]:
        command.append(line.lstrip("\t@"))
        if not line.endswith("\\"):
            break
    return " ".join(part.rstrip("\\") for part in command)


def _run_check(tmp_path: Path, python: str, venv: Path) -> subprocess.CompletedProcess:
    script = (_venv_check().replace("$(BIN)", f"'{venv}/bin'").replace("$(VENV)", f"'{venv}'")
              .replace("$(PYTHON)", python).replace("$$", "$"))
    assert "$(" not in script, script
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)


def _fake(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_a_venv_with_a_working_pip_is_kept(tmp_path):
    venv = tmp_path / "venv"
    _fake(venv / "bin" / "python", "exit 0")                   # `-m pip --version` runs
    system = _fake(tmp_path / "system_python", f"echo \"$@\" >> '{tmp_path}/called'")
    done = _run_check(tmp_path, str(system), venv)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "called").exists()


def test_a_venv_without_pip_is_made_anew(tmp_path):
    """`venv` interrupted before ensurepip leaves a python without pip: the
    old check (`test -x python`) took it as done and every later make failed
    with "No module named pip"."""
    venv = tmp_path / "venv"
    _fake(venv / "bin" / "python", "exit 1")
    system = _fake(tmp_path / "system_python", f"echo \"$@\" >> '{tmp_path}/called'")
    done = _run_check(tmp_path, str(system), venv)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "called").read_text().splitlines()
    assert calls[-1] == f"-m venv --clear {venv}"


@pytest.mark.parametrize("python", ["missing", "too old"])
def test_a_python_that_cannot_make_the_venv_is_named(tmp_path, python):
    venv = tmp_path / "venv"
    if python == "missing":
        path = str(tmp_path / "no_such_python3")
    else:
        path = str(_fake(tmp_path / "python3.9", "exit 1"))   # the version check fails
    done = _run_check(tmp_path, path, venv)
    assert done.returncode != 0
    assert f"PYTHON={path} is not a Python 3.11 or later" in done.stderr
    assert "make PYTHON=" in done.stderr
    assert not venv.exists()


def test_the_setup_lock_lies_outside_the_venv_and_is_ignored():
    """`venv --clear` empties .venv: a lock file inside it would be unlinked
    under a waiting setup."""
    text = MAKEFILE.read_text()
    lock = re.search(r"^LOCK\s*:=.*flock (\S+)\)$", text, re.M)
    assert lock and lock.group(1) == "$(VENV).lock"
    assert "/.venv.lock" in (ROOT / ".gitignore").read_text().split()
    recipe = text.split("install-venv:\n", 1)[1].split("\n\n", 1)[0]
    assert recipe.rstrip().endswith("touch $(STAMP)")           # the stamp last: an interrupted setup has none


def test_the_stamp_is_out_of_date_when_its_pin_or_its_python_changes():
    """The torch pin lives in the Makefile; a dangling .venv/bin/python (its
    system Python gone) counts as missing and its empty rule remakes the stamp."""
    text = MAKEFILE.read_text()
    prerequisites = re.search(r"^\$\(STAMP\):(.*)$", text, re.M).group(1).split()
    assert {"setup.py", "Makefile", "$(BIN)/python"} <= set(prerequisites)
    assert re.search(r"^\$\(BIN\)/python: ;$", text, re.M)
