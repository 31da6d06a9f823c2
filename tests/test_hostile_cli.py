"""Hostile and mistaken input at the command line's edges (cut, convert,
info, export, render, view): one line naming the user's path, exit 2, no
traceback, nothing written outside the chosen folder, no half output."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from conftest import one_line_error, run
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.structure import Structure

ROOT = Path(__file__).resolve().parent.parent

TWO_STONES = """{name_line}
[palette]
"." = "minecraft:air"
"#" = "minecraft:stone"
[layers]
y0 = \"\"\"
##
\"\"\"
"""


def many_states(n: int = 100) -> Structure:
    """Two rows (along x) of the same `n` distinct block states: too many
    for a text blueprint, in either half of a cut along x."""
    palette = ["minecraft:air"] + [f"minecraft:oak_stairs[facing={f},half={h},shape={s},waterlogged={w}]"
                                   for f in ("north", "south", "east", "west") for h in ("top", "bottom")
                                   for s in ("straight", "inner_left", "inner_right", "outer_left",
                                             "outer_right") for w in ("true", "false")]
    palette += [f"minecraft:repeater[delay={d},facing=north,locked=false,powered=false]"
                for d in (1, 2, 3, 4)]
    palette += [f"minecraft:redstone_wire[east=none,north=none,power={p},south=none,west=none]"
                for p in range(16)]
    palette = palette[:n + 1]
    blocks = np.tile(np.arange(1, len(palette), dtype=np.int32), (2, 1, 1))   # (2, 1, n)
    return Structure(blocks, tuple(palette), name="many")


def no_hidden_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*")]


# --- cut: names, all or nothing, options ------------------------------------

@pytest.mark.parametrize("inner_name", ["../escaped/evil", "/tmp/voxgen-absolute-evil/evil",
                                        "a\x1b[31mred\nline"])
def test_cut_names_parts_after_the_file_not_the_name_inside(tmp_path, inner_name):
    source = tmp_path / "house.toml"
    source.write_text(TWO_STONES.format(name_line=f"name = {json.dumps(inner_name)}"))
    out = tmp_path / "out"
    result = run("cut", source, "--axis", "x", "--at", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["house_part0.toml", "house_part1.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["house.toml", "out"]
    assert not Path("/tmp/voxgen-absolute-evil").exists()
    assert "\x1b" not in result.output


def test_cut_file_name_with_control_characters_is_cleaned(tmp_path):
    source = tmp_path / "bad\x1bname.toml"
    source.write_text(TWO_STONES.format(name_line=""))
    result = run("cut", source, "--axis", "x", "--at", "1", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "bad_name_part0.toml", "bad_name_part1.toml"]


def test_cut_writes_both_parts_or_neither(tmp_path):
    source = tmp_path / "house.toml"
    source.write_text(TWO_STONES.format(name_line=""))
    out = tmp_path / "out"
    (out / "house_part1.toml").mkdir(parents=True)
    result = run("cut", source, "--axis", "x", "--at", "1", "-o", out)
    one_line_error(result, out / "house_part1.toml", "is a directory")
    assert [p.name for p in out.iterdir()] == ["house_part1.toml"]


def test_cut_that_cannot_write_makes_no_folder_and_names_the_file(tmp_path):
    source = tmp_path / "many.schem"
    formats.save(many_states(), source)
    out = tmp_path / "new" / "deeper"
    result = run("cut", source, "--axis", "x", "--at", "1", "-o", out)   # default --format toml
    one_line_error(result, out / "many_part0.toml", "do not fit a text blueprint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.schem"]


def test_cut_refuses_an_empty_output_folder(tmp_path, monkeypatch):
    source = tmp_path / "house.toml"
    source.write_text(TWO_STONES.format(name_line=""))
    monkeypatch.chdir(tmp_path)
    one_line_error(run("cut", source, "-o", ""), "-o is empty")
    assert [p.name for p in tmp_path.iterdir()] == ["house.toml"]


@pytest.mark.parametrize("seed", ["-1", str(2**63), "99999999999999999999999"])
def test_cut_seed_out_of_range_is_a_usage_error(tmp_path, seed):
    result = run("cut", "flying_machine", "--at", "random", "--seed", seed, "-o", tmp_path / "c")
    one_line_error(result, "cut", "--seed")
    assert not (tmp_path / "c").exists()


# --- click's usage errors, MemoryError, SIGTERM -------------------------------

@pytest.mark.parametrize("args, needles", [
    (["bogus"], ["No such command 'bogus'"]),
    (["--bogus"], ["--bogus"]),
    (["cut"], ["cut: Missing argument"]),
    (["convert", "flying_machine"], ["convert: Missing argument 'OUT'"]),
    (["render", "flying_machine", "-o", "x.png", "--size", "1"], ["render: ", "--size"]),
])
def test_usage_errors_are_one_line(args, needles):
    one_line_error(run(*args), *needles)


def test_no_arguments_still_shows_the_help():
    result = run()
    assert "Usage:" in result.output and "Commands:" in result.output


def test_memory_error_is_one_line(monkeypatch):
    def exhaust(path, **opts):
        raise MemoryError
    monkeypatch.setattr(formats, "load", exhaust)
    one_line_error(run("info", "flying_machine"), "out of memory")


def test_threads_has_an_upper_bound():
    one_line_error(run("train", "flying_machine", "--threads", "100000"), "--threads")


def test_sigterm_removes_the_temporary_file(tmp_path):
    """`timeout` and `kill` send SIGTERM: the command unwinds as on Ctrl-C."""
    out = tmp_path / "x.schem"
    script = f"""
import sys, time
import voxgen.formats.sponge as sponge
def slow(structure, path, **opts):
    open(path, "w").write("half")
    print("writing", flush=True)
    time.sleep(60)
sponge.save = slow
from voxgen.cli import main
main(["convert", "flying_machine", {str(out)!r}])
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "writing\n", proc.stderr.read()
        assert len(list(tmp_path.iterdir())) == 1               # the temporary file
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err == "voxgen: terminated\n"
    assert list(tmp_path.iterdir()) == []


# --- atomic writes: the user's path in errors, short temporary names ---------

def test_atomic_outputs_leave_nothing_when_the_writer_fails(tmp_path):
    from voxgen.atomic_write import atomic_outputs

    (tmp_path / "b.txt").write_text("old")
    with pytest.raises(VoxgenError) as caught:
        with atomic_outputs([tmp_path / "a.txt", tmp_path / "b.txt"]) as (a, b):
            a.write_text("new a")
            b.write_text("new b")
            raise VoxgenError("the writer gave up", b)
    assert caught.value.path == str(tmp_path / "b.txt")            # not the temporary name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]
    assert (tmp_path / "b.txt").read_text() == "old"


def test_an_error_without_a_path_names_the_output(tmp_path):
    """The text writer's "do not fit" names no file; convert's error does."""
    source, target = tmp_path / "many.schem", tmp_path / "many.toml"
    formats.save(many_states(), source)
    one_line_error(run("convert", source, target), f"{target}: ", "do not fit a text blueprint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.schem"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_unwritable_output_names_the_users_path():
    result = run("convert", "flying_machine", "/proc/x.schem")
    one_line_error(result, "/proc/x.schem: ")
    assert ".voxgen-" not in result.output and ".tmp" not in result.output


def test_a_long_output_name_works(tmp_path):
    target = tmp_path / ("a" * 245 + ".schem")                    # 251 bytes: near NAME_MAX
    result = run("convert", "flying_machine", target)
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_obj_export_with_its_mtl_a_folder_writes_nothing(tmp_path):
    (tmp_path / "m.mtl").mkdir()
    result = run("export", "flying_machine", "-o", tmp_path / "m.obj")
    one_line_error(result, f"{tmp_path / 'm.mtl'}: is a directory")
    assert [p.name for p in tmp_path.iterdir()] == ["m.mtl"]


# --- bundled names, specs, view's display ------------------------------------

def test_convert_takes_a_bundled_blueprint_name(tmp_path):
    result = run("convert", "flying_machine", tmp_path / "fm.schem")
    assert result.exit_code == 0, result.output
    assert formats.load(tmp_path / "fm.schem").count_non_air() > 0


@pytest.mark.parametrize("command", ["info", "convert", "export", "cut"])
def test_a_spec_given_as_a_blueprint_is_named_as_one(tmp_path, command):
    (tmp_path / "house.toml").write_text('blueprint = "../blueprints/house.toml"\nsteps = [20, 30]\n')
    args = {"info": [], "convert": [tmp_path / "x.schem"], "export": ["-o", tmp_path / "x.glb"],
            "cut": ["-o", tmp_path / "parts"]}[command]
    result = run(command, tmp_path / "house.toml", *args)
    one_line_error(result, tmp_path / "house.toml", "structure spec",
                   os.path.normpath(tmp_path / "../blueprints/house.toml"))


def test_view_names_a_missing_file_before_the_missing_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    one_line_error(run("view", "/nonexistent/x.schem"), "/nonexistent/x.schem", "no such file")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 only")
def test_view_with_a_display_that_does_not_answer_is_an_error(monkeypatch):
    import ctypes.util

    if ctypes.util.find_library("X11") is None:
        pytest.skip("no libX11 to ask the X server with")
    monkeypatch.setenv("DISPLAY", ":97")
    one_line_error(run("view", "flying_machine"), "':97' does not answer", "voxgen render")


@pytest.mark.parametrize("option, value", [("--azimuth", "inf"), ("--azimuth", "nan"),
                                           ("--elevation", "-inf"), ("--elevation", "nan"),
                                           ("--elevation", "91"), ("--fps", "nan")])
def test_render_angles_and_rates_must_be_finite(tmp_path, option, value):
    result = run("render", "flying_machine", "-o", tmp_path / "r.gif", option, value)
    one_line_error(result, "render: ", option)
    assert list(tmp_path.iterdir()) == []


def test_cut_format_is_an_extension_not_a_path(tmp_path):
    result = run("cut", "flying_machine", "-o", tmp_path / "out", "--format", "schem/../../evil.schem")
    one_line_error(result, "--format")
    assert list(tmp_path.iterdir()) == []


def test_render_compare_takes_a_bundled_name(tmp_path):
    from voxgen.render import offscreen

    if offscreen.opengl_problem():
        pytest.skip(offscreen.opengl_problem())
    result = run("render", "flying_machine", "--compare", "flying_machine", "-o", tmp_path / "c.png",
                 "--size", "16")
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


def test_writing_to_a_symlink_writes_its_target(tmp_path):
    """The link stays a link; the file it points to gets the new contents."""
    real, link = tmp_path / "real.schem", tmp_path / "link.schem"
    assert CliRunner().invoke(main, ["convert", "flying_machine", str(real)]).exit_code == 0
    os.symlink("real.schem", link)
    result = CliRunner().invoke(main, ["convert", "tree", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "real.schem"
    from voxgen import formats
    assert formats.load(real).shape == formats.load(ROOT / "blueprints" / "tree.toml").shape


def test_an_output_path_ending_in_a_slash_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["convert", "flying_machine", str(tmp_path / "x.schem") + "/"])
    assert result.exit_code == 2 and "names a folder (it ends in '/')" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_signal_raised_inside_numba_code_still_ends_as_terminated(monkeypatch):
    """A SIGTERM's exception raised while a numba kernel runs comes back as a
    SystemError ("returned a result with an exception set") caused by it."""
    from voxgen import formats
    from voxgen.cli import Terminated

    def killed(*args, **kwargs):
        raise SystemError("CPUDispatcher(...) returned a result with an exception set") from Terminated(143)

    monkeypatch.setattr(formats, "load", killed)
    result = CliRunner().invoke(main, ["info", "flying_machine"])
    assert result.exit_code == 143 and "voxgen: terminated" in result.output


def test_ctrl_c_inside_numba_code_wrapped_twice_still_ends_as_interrupted(monkeypatch):
    """Ctrl-C while numba unpickles a kernel's constants comes back wrapped
    twice: a SystemError from the kernel, caused by one from numba's
    unpickler, caused by the KeyboardInterrupt (seen in `voxgen train`)."""
    from voxgen import formats

    def interrupted(*args, **kwargs):
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as ctrl_c:
                raise SystemError("_numba_unpickle returned a result with an exception set") from ctrl_c
        except SystemError as inner:
            raise SystemError("CPUDispatcher(apply_update) returned a result with an exception "
                              "set") from inner

    monkeypatch.setattr(formats, "load", interrupted)
    result = CliRunner().invoke(main, ["info", "flying_machine"])
    assert result.exit_code == 130 and "voxgen: interrupted" in result.output
    assert "Traceback" not in result.output


def test_a_failed_second_rename_puts_back_the_files_the_user_had(tmp_path, monkeypatch):
    """Two files written together: if the second cannot be renamed into
    place, the first is put back as it was, and no temporary file stays."""
    from voxgen import atomic_write
    first, second = tmp_path / "m.obj", tmp_path / "m.mtl"
    first.write_text("old obj")
    second.write_text("old mtl")
    real_replace = os.replace

    def replace(src, dst):
        if os.fspath(dst) == os.fspath(second):
            raise OSError(28, "No space left on device", os.fspath(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_write.os, "replace", replace)
    with pytest.raises(VoxgenError, match="m.mtl: cannot write"):
        with atomic_write.atomic_outputs([first, second]) as (a, b):
            a.write_text("new obj")
            b.write_text("new mtl")
    assert first.read_text() == "old obj" and second.read_text() == "old mtl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mtl", "m.obj"]


def _dropped_by_a_c_callback(signum):
    """The handler the CLI installed for `signum`, run inside a ctypes
    callback, which prints and drops the exception and goes on: as numba's
    compiler does with a signal that arrives while it compiles a kernel."""
    import ctypes

    handler = signal.getsignal(signum)
    assert callable(handler) and handler is not signal.default_int_handler
    ctypes.CFUNCTYPE(None)(lambda: handler(signum, None))()


@pytest.mark.parametrize("signum, code, said", [(signal.SIGTERM, 143, "voxgen: terminated"),
                                                (signal.SIGINT, 130, "voxgen: interrupted")])
def test_a_signal_dropped_while_numba_compiles_still_ends_the_command(tmp_path, monkeypatch, signum, code, said):
    """The growth goes on after the dropped signal; its --frames and --out
    are not put in place, the command ends by the signal, and Python's
    "Exception ignored" report of it is not shown."""
    from voxgen import grow as grow_module

    real = grow_module.grow

    def killed_while_compiling(*args, **kwargs):
        _dropped_by_a_c_callback(signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(grow_module, "grow", killed_while_compiling)
    result = run("grow", "flying_machine", "--steps", "3", "--frames", tmp_path / "frames",
                 "--out", tmp_path / "grown.schem")
    assert result.exit_code == code and said in result.output, result.output
    assert "Traceback" not in result.output and "Exception ignored" not in result.output
    assert list(tmp_path.iterdir()) == []              # the frames folder it made taken away again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # put back


def test_a_signal_dropped_before_a_plain_report_still_ends_the_command(monkeypatch):
    from voxgen import formats as formats_module

    real = formats_module.load

    def killed_while_compiling(*args, **kwargs):
        _dropped_by_a_c_callback(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(formats_module, "load", killed_while_compiling)
    result = run("info", "flying_machine")
    assert result.exit_code == 143 and "voxgen: terminated" in result.output
    monkeypatch.undo()
    assert run("info", "flying_machine").exit_code == 0      # the next command is not ended by it
