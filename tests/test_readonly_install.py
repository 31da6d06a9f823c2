"""A read-only install works for a user who cannot write to it.

numba caches `@njit(cache=True)` kernels beside their source or in
~/.cache/numba and, when neither is writable, refuses to define them ("no
locator available"). voxgen/__init__.py points numba elsewhere. These tests
run a read-only copy of the package as a user without write access (an
unmapped user namespace keeps root's uid but drops its power to override
file modes; `nobody` via setpriv otherwise), so numba's own locators decide.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import voxgen
from voxgen import formats
from voxgen.structure import Structure

PREFIXES = (["unshare", "-U"], ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])


def _read_only(path: Path) -> None:
    for folder, dirs, files in os.walk(path):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    for folder, dirs, files in os.walk(path, topdown=False):
        os.chmod(folder, 0o555)


def _unprivileged(probe_dir: Path) -> list[str]:
    """A command prefix that runs as a user who cannot write `probe_dir`
    (read-only, root-owned) but can read it; skips when there is none."""
    code = "import pathlib, sys; pathlib.Path(sys.argv[1], 'probe').write_text('x')"
    for prefix in PREFIXES:
        if shutil.which(prefix[0]) is None:
            continue
        try:
            ran = subprocess.run(prefix + [sys.executable, "-c", "pass"], capture_output=True, timeout=60)
            wrote = subprocess.run(prefix + [sys.executable, "-c", code, str(probe_dir)],
                                   capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if ran.returncode == 0 and "PermissionError" in wrote.stderr:
            return prefix
    pytest.skip("no way to run as a user who cannot write the package here")


@pytest.fixture
def install(tmp_path):
    """A read-only copy of voxgen, a read-only HOME, a tiny .schem."""
    site = tmp_path / "site"
    shutil.copytree(Path(voxgen.__file__).parent, site / "voxgen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    schem = formats.save(Structure.from_states(np.array(["minecraft:stone"], dtype=object).reshape(1, 1, 1)),
                         tmp_path / "tiny.schem")
    os.chmod(tmp_path, 0o755)
    os.chmod(schem, 0o444)
    _read_only(site)
    _read_only(home)
    prefix = _unprivileged(site / "voxgen")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONPATH=str(site))
    return prefix, env, schem, site


def _info(prefix, env, schem, before_import="", cwd=None):
    code = (before_import + "import sys, runpy, voxgen; print(voxgen.__file__); "
            f"sys.argv = ['voxgen', 'info', {str(schem)!r}]; runpy.run_module('voxgen', run_name='__main__')")
    ran = subprocess.run(prefix + [sys.executable, "-c", code], env=env, cwd=cwd or schem.parent,
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(env["PYTHONPATH"]), ran.stdout     # the read-only copy ran
    return ran


def test_read_only_install_caches_in_a_private_temp_folder(install, tmp_path):
    prefix, env, schem, site = install
    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o1777)
    os.chmod(temp, 0o1777)
    env["TMPDIR"] = str(temp)
    ran = _info(prefix, env, schem, cwd=temp)
    assert "minecraft:stone" in ran.stdout
    (cache,) = temp.glob("voxgen-numba-*")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert list(cache.rglob("*.nbi")), "numba cached nothing"


def test_read_only_install_with_nowhere_to_write_compiles_without_cache(install, tmp_path):
    prefix, env, schem, site = install
    nowhere = tmp_path / "home"  # read-only; tempfile trusts a set tempdir
    ran = _info(prefix, env, schem, before_import=f"import tempfile; tempfile.tempdir = {str(nowhere)!r}; ",
                cwd=nowhere)
    assert "minecraft:stone" in ran.stdout
    assert not list(nowhere.rglob("*"))


def test_a_temp_folder_others_can_write_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"voxgen-numba-{os.getuid()}"
    planted.mkdir()
    os.chmod(planted, 0o777)
    assert voxgen._private_temp_folder() is None
    os.chmod(planted, 0o700)
    assert voxgen._private_temp_folder() == str(planted)


def test_read_only_install_caches_in_the_users_cache_folder(install, tmp_path):
    prefix, env, schem, site = install
    cache_home = tmp_path / "xdg"
    cache_home.mkdir()
    os.chmod(cache_home, 0o777)
    env["XDG_CACHE_HOME"] = str(cache_home)
    ran = _info(prefix, env, schem)
    assert list((cache_home / "voxgen" / "numba").rglob("*.nbi")), "numba cached nothing"
