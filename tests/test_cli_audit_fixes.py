"""An audit's findings at the command line: step counts without an end, empty
path options, output a failed run left behind, weights and specs given
where a blueprint belongs. Each is one line naming the option or file,
exit 2, and the folder left as it was."""

import errno
import shutil
from pathlib import Path

import pytest

from conftest import one_line_error, run
from voxgen import formats

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "structures" / "caterpillar.safetensors"


def contents(folder: Path) -> dict:
    """Every file under `folder` (hidden ones too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- 1. step counts have a cap -----------------------------------------------------------

@pytest.mark.parametrize("args, cap", [
    (["grow", "caterpillar", "--steps", "99999999999", "--device", "bogus"], 40000),
    (["grow", "caterpillar", "--steps", "40001", "--device", "bogus"], 40000),
    (["regen", "caterpillar", "--steps", "40001", "--device", "bogus"], 40000),
    (["view", "caterpillar", "--steps", "10001"], 10000),
    (["render", "--growth", "caterpillar", "--steps", "10001", "-o", "g.gif"], 10000),
])
def test_growth_steps_have_a_cap(args, cap):
    """grow and regen: 4x the longest horizon a spec allows (where growth is
    judged); view and render, which keep or draw every step: that horizon."""
    one_line_error(run(*args), "--steps", args[args.index("--steps") + 1], f"<=x<={cap}")


@pytest.mark.parametrize("command, cap", [("grow", 40000), ("regen", 40000), ("view", 10000), ("render", 10000)])
def test_help_tells_the_steps_cap(command, cap):
    result = run(command, "--help")
    assert result.exit_code == 0 and f"<=x<={cap}]" in result.output.split("--steps")[1].split("--")[0]


def test_grow_4x_the_longest_horizon_runs_and_frames_stay_at_ten_thousand(tmp_path):
    one_line_error(run("grow", "caterpillar", "--steps", "10001", "--frames", tmp_path / "f"),
                   "--frames writes a file a step: at most 10,000 steps with it, not 10,001")
    assert not (tmp_path / "f").exists()
    result = run("grow", "caterpillar", "--steps", "40000", "--device", "bogus")      # in range: on to the device
    one_line_error(result, "unknown device 'bogus'")


# --- 2. an empty path is refused, naming the option --------------------------------------

@pytest.mark.parametrize("args, name", [
    (["grow", "caterpillar", "--frames", ""], "--frames"),
    (["grow", "caterpillar", "--out", ""], "--out"),
    (["grow", ""], "WEIGHTS"),
    (["regen", "caterpillar", "--render", ""], "--render"),
    (["regen", ""], "NAME"),
    (["train", "caterpillar", "--weights", "", "--device", "bogus"], "--weights"),
    (["train", "caterpillar", "--init", "", "--device", "bogus"], "--init"),
    (["train", "caterpillar", "--out", "", "--device", "bogus"], "--out"),
    (["train", ""], "SPEC"),
    (["simulate", "caterpillar", "--out", ""], "--out"),
    (["simulate", "caterpillar", "--check-trace", ""], "--check-trace"),
    (["simulate", ""], "FILE|NAME"),
    (["render", "caterpillar", "--compare", "", "-o", "a.png"], "--compare"),
    (["render", "--growth", "", "-o", "a.png"], "--growth"),
    (["render", "", "-o", "a.png"], "FILE|NAME"),
    (["convert", "caterpillar", ""], "OUT"),
    (["convert", "", "a.toml"], "IN|NAME"),
    (["info", ""], "FILE|NAME"),
    (["cut", "", "-o", "parts"], "BLUEPRINT"),
    (["export", "", "-o", "a.glb"], "FILE|NAME"),
    (["view", ""], "FILE|NAME"),
])
def test_an_empty_path_is_refused_by_name(tmp_path, monkeypatch, args, name):
    """'' is the current folder to Path(): `grow --frames ''` wrote its
    frames there (removing an earlier run's), `train --weights ''` wrote
    the default weights."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "step_0003.toml").write_text("a file of the user's")
    one_line_error(run(*args), f"{name} is empty: give ")
    assert contents(tmp_path) == {"step_0003.toml": b"a file of the user's"}


# --- 3. a failed run leaves the folder as it was -----------------------------------------

def disk_full_after(monkeypatch, files: int):
    """formats.save writes `files` files, then fails as a full disk does."""
    real, written = formats.save, []

    def save(structure, path, **opts):
        if len(written) >= files:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        return real(structure, path, **opts)
    monkeypatch.setattr(formats, "save", save)


def test_grow_frames_on_a_full_disk_leave_the_folder_as_it_was(tmp_path, monkeypatch):
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("step_0000.toml", "step_0001.toml", "step_0030.toml", "notes.txt"):
        (frames / name).write_text(f"an earlier {name}")
    before = contents(frames)
    disk_full_after(monkeypatch, 10)
    result = run("grow", "caterpillar", "--steps", "20", "--frames", frames)
    one_line_error(result, frames / "step_0010.toml", "No space left on device")
    assert ".voxgen-" not in result.output               # the user's folder is named, not a hidden one
    assert contents(frames) == before
    result = run("grow", "caterpillar", "--steps", "20", "--frames", tmp_path / "new" / "frames")
    one_line_error(result, "No space left on device")
    assert not (tmp_path / "new").exists()               # no folder made for nothing


def test_grow_frames_refuse_a_folder_by_a_frames_name_before_removing_anything(tmp_path):
    frames = tmp_path / "frames"
    (frames / "step_0002.toml").mkdir(parents=True)
    for name in ("step_0000.toml", "step_0005.toml"):
        (frames / name).write_text(f"an earlier {name}")
    before = contents(frames)
    one_line_error(run("grow", "caterpillar", "--steps", "3", "--frames", frames),
                   frames / "step_0002.toml", "a folder by a frame's name is in the way")
    assert contents(frames) == before and (frames / "step_0002.toml").is_dir()


def test_grow_frames_are_not_left_by_a_failed_out(tmp_path, monkeypatch):
    disk_full_after(monkeypatch, 4)                      # the seed and 3 steps, then --out fails
    result = run("grow", "caterpillar", "--steps", "3", "--frames", tmp_path / "f", "--out", tmp_path / "g.toml")
    one_line_error(result, tmp_path / "g.toml", "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_regen_render_failing_on_the_gif_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    from voxgen.cli import regen
    from voxgen.render import offscreen

    def montage(report, path):
        Path(path).write_bytes(b"this run's montage")

    def story(report, trained, path, shown_as=None):
        Path(path).write_bytes(b"half a gif")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(offscreen, "require_opengl", lambda: None)
    monkeypatch.setattr(regen, "render_montage", montage)
    monkeypatch.setattr(regen, "render_story", story)
    out = tmp_path / "pictures"
    out.mkdir()
    (out / "caterpillar_regen.png").write_bytes(b"an earlier run's montage")
    (out / "notes.txt").write_text("the user's")
    before = contents(out)
    args = ["regen", "caterpillar", "--trials", "1", "--steps", "2", "--ticks", "10", "--render"]
    result = run(*args, out)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == f"voxgen: error: {out / 'caterpillar_regen.gif'}: " \
                                             "cannot write (No space left on device)"
    assert contents(out) == before
    result = run(*args, tmp_path / "new" / "pictures")
    assert result.exit_code == 2 and not (tmp_path / "new").exists(), result.output


# --- 4. weights where a blueprint belongs ------------------------------------------------

@pytest.mark.parametrize("name", ["caterpillar.safetensors", "caterpillar.bin"])
@pytest.mark.parametrize("command", [["info"], ["export", "-o", "m.glb"], ["render", "-o", "p.png"],
                                     ["convert", "c.toml"]])
def test_weights_given_as_a_blueprint_are_named_as_weights(tmp_path, monkeypatch, name, command):
    monkeypatch.chdir(tmp_path)
    shutil.copy(WEIGHTS, tmp_path / name)
    one_line_error(run(command[0], name, *command[1:]),
                   f"{name}: a voxgen weights file (safetensors), not a blueprint: grow it with voxgen grow {name} "
                   f"(or draw it: render --growth)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_file_like_weights_only_in_its_first_byte_is_not_called_weights(tmp_path):
    fake = tmp_path / "fake.bin"
    fake.write_bytes((1000).to_bytes(8, "little") + b"{ not that long")
    one_line_error(run("info", fake), "not a blueprint file voxgen can read")
    assert "weights file" not in run("info", fake).output


# --- 5. a spec's blueprint key that names no blueprint -----------------------------------

@pytest.mark.parametrize("value, words", [
    ('""', "key 'blueprint' is empty"),
    ('"other.toml"', "key 'blueprint': other.toml is a structure spec, not a blueprint; "
                     "the blueprint it trains on is 'tree'"),
    ('"sub"', "key 'blueprint': sub is a folder, not a blueprint file"),
])
def test_a_spec_blueprint_that_is_no_blueprint_names_the_spec_and_key(tmp_path, value, words):
    (tmp_path / "other.toml").write_text('blueprint = "tree"\n')
    (tmp_path / "sub").mkdir()
    spec = tmp_path / "ok.toml"
    spec.write_text(f"blueprint = {value}\n")
    one_line_error(run("train", spec, "--iterations", "1", "--device", "cpu", "--out", tmp_path / "run"),
                   f"voxgen: error: {spec}: {words}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.toml", "other.toml", "sub"]
