"""numba's cache stays true to the kernels' sources (voxgen/kernel_cache.py).

numba keys a cached kernel by its own file alone, so a kernel reading
another file's constants (or calling its kernels) ran stale machine code
after that file changed. voxgen keys its kernels by their whole folder too.
"""

import ast
import subprocess
import sys
from pathlib import Path

import voxgen

PACKAGE = Path(voxgen.__file__).parent

RUN = """
import sys
import voxgen.kernel_cache as kernel_cache
if sys.argv[2] == "as voxgen's":
    kernel_cache._PACKAGE = sys.argv[1]    # the folder counts as voxgen's
sys.path.insert(0, sys.argv[1])
import kernels
print(kernels.answer())
"""


def _answer(folder: Path, mode: str) -> str:
    done = subprocess.run([sys.executable, "-c", RUN, str(folder), mode], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_kernel_sees_a_changed_constant_of_another_file(tmp_path):
    for name in ("numba's own", "as voxgen's"):
        folder = tmp_path / name.replace(" ", "_").replace("'", "")
        folder.mkdir()
        (folder / "constants.py").write_text("ANSWER = 1\n")
        (folder / "kernels.py").write_text(
            "from voxgen.kernel_cache import njit\nfrom constants import ANSWER\n\n\n"
            "@njit(cache=True)\ndef answer():\n    return ANSWER\n")
        assert _answer(folder, name) == "1"
        (folder / "constants.py").write_text("ANSWER = 2\n")
        after = _answer(folder, name)
        assert after == ("1" if name == "numba's own" else "2"), name   # numba alone: stale
        assert _answer(folder, name) == after                            # and cached again


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def _kernel_modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "voxgen.kernel_cache" in _imports(p)]


def test_every_kernel_module_takes_numba_from_kernel_cache():
    plain = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
             if p.name not in ("kernel_cache.py", "__init__.py")
             and any(name == "numba" or name.startswith("numba.") for name in _imports(p))
             and "njit" in p.read_text()]
    assert plain == []
    assert len(_kernel_modules()) >= 10


# Imports a kernel module makes from another folder, with why its kernels do
# not depend on them (numba compiles a module's constants into its kernels).
PYTHON_SIDE_ONLY = {("render/reveal.py", "voxgen.structure"): "Structure is built around the kernel, in Python"}


def test_kernel_modules_import_nothing_compiled_from_another_folder():
    """The folder digest covers what a kernel is compiled from only if its
    module takes nothing from another folder (a constant read there would
    go stale as numba's own key did), but for PYTHON_SIDE_ONLY."""
    for path in _kernel_modules():
        folder = ".".join(("voxgen",) + path.parent.relative_to(PACKAGE).parts)
        for name in _imports(path):
            if not name.startswith("voxgen") or name == "voxgen.kernel_cache":
                continue
            same = name == folder or name.rsplit(".", 1)[0] == folder
            allowed = (str(path.relative_to(PACKAGE)), name) in PYTHON_SIDE_ONLY
            assert same or allowed, f"{path.relative_to(PACKAGE)} imports {name}"
