"""Tests that a hand mutation audit of the NCA's file handling found missing:
the safetensors header read before any tensor, the weights checks and the
memory they are held to, metrics.jsonl read on --resume, and grow --frames
staged in a hidden folder. Each fails on a small plausible bug (named in
its docstring) that the rest of the suite let through."""

import io
import json
import os
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import voxgen.nca.device as device_module
import voxgen.nca.weights as weights_module
from conftest import STRUCTURES, one_line_error, run
from voxgen import formats
from voxgen.errors import VoxgenError
from voxgen.nca.safetensors_header import MAX_HEADER_BYTES, MAX_TENSORS, read_header
from voxgen.nca.train_run import History, open_log, resume_log

FLYING = STRUCTURES / "flying_machine.safetensors"


def shipped():
    """(tensors, metadata with JSON decoded) of the flying machine."""
    with safe_open(str(FLYING), framework="pt") as f:
        meta = {k: json.loads(v) for k, v in f.metadata().items()}
    return load_file(str(FLYING)), meta


def header_file(tmp_path, header, data: bytes = b"", length: int | None = None) -> Path:
    """A file of safetensors' layout: `header` (JSON-encoded unless bytes),
    its length (or `length` if given) before it, then `data`."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / "h.safetensors"
    path.write_bytes((len(text) if length is None else length).to_bytes(8, "little") + text + data)
    return path


def refused(read, path, message):
    """`read(path)` is one VoxgenError line naming `path` and holding `message`."""
    with pytest.raises(VoxgenError) as err:
        read(path)
    assert err.value.path == str(path) and message in str(err.value) and "\n" not in str(err.value), str(err.value)


def header_refused(path, message):
    refused(read_header, path, f"not a voxgen weights file ({message}")


# --- the header -------------------------------------------------------------------

@pytest.mark.parametrize("length, message", [
    (MAX_HEADER_BYTES, "truncated in its header"),          # the cap itself is allowed (not `>=`)
    (MAX_HEADER_BYTES + 1, f"its first 8 bytes give a header of {MAX_HEADER_BYTES + 1} bytes"),
    (9, "truncated in its header"),                         # one byte short (`len(text) < length`)
])
def test_a_header_longer_than_the_file_or_the_cap_is_refused(tmp_path, length, message):
    header_refused(header_file(tmp_path, b'{"a": 1}', length=length), message)


@pytest.mark.parametrize("text, message", [
    (b"5", "its header is not a JSON object"),
    (b'"x"', "its header is not a JSON object"),          # header.pop: an AttributeError once
    (b"[" * 100_000, "its header is not JSON"),            # json recurses past the limit
    (b'{"__metadata__": ["x"]}', "its metadata is not a table of strings"),
    (b'{"__metadata__": {"format": 5}}', "its metadata is not a table of strings"),
])
def test_a_header_of_the_wrong_json_is_one_line(tmp_path, text, message):
    header_refused(header_file(tmp_path, text), message)


def test_the_tensor_count_cap_is_inclusive(tmp_path):
    entries = {f"x{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(MAX_TENSORS)}
    assert len(read_header(header_file(tmp_path, entries))[0]) == MAX_TENSORS
    entries["one_more"] = entries["x0"]
    header_refused(header_file(tmp_path, entries), f"{MAX_TENSORS + 1} tensors; voxgen writes at most")


@pytest.mark.parametrize("shape, offsets", [
    ({}, [0, 0]),                  # an empty object: torch.empty({}) raised a TypeError
    ([True], [0, 4]),              # a JSON true is no count (torch.empty([True]) raised)
    ([1] * 9, [0, 4]),             # 8 dimensions at most
    ([2 ** 48], [0, 0]),           # counts are below 2^48
    ([1], [0, 4, 4]),              # unpacked as (begin, end): a ValueError once
    ([1], [0]),
])
def test_a_shape_or_place_that_is_no_list_of_counts_is_one_line(tmp_path, shape, offsets):
    path = header_file(tmp_path, {"x": {"dtype": "F32", "shape": shape, "data_offsets": offsets}}, b"\0" * 4)
    header_refused(path, "tensor 'x': its shape or place in the file is not a list of counts")


def test_a_tensor_past_the_end_of_the_file_or_short_of_its_place_is_refused(tmp_path):
    """The data is what follows the 8 bytes and the header (`- 8` dropped
    let a tensor end past the file); a tensor fills its place exactly (`!=`
    as `>` let one of 4 bytes sit in 8). A long name is cut to 40 characters."""
    name = "x" * 1000
    path = header_file(tmp_path, {name: {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    header_refused(path, f"tensor {'x' * 40!r} of shape [1] does not fit its place in the file (bytes 0..4 of 0)")
    path = header_file(tmp_path, {"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8)
    header_refused(path, "tensor 'x' of shape [1] does not fit its place in the file (bytes 0..8 of 8)")
    path = header_file(tmp_path, {"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8)
    assert read_header(path)[0]["x"].shape == (1,)


# --- the weights' metadata, grid and memory ----------------------------------------

def write(tmp_path, tensors, meta, **raw) -> Path:
    """A weights file of `tensors` and `meta` (JSON-encoded), and `raw` metadata strings as given."""
    path = tmp_path / "w.safetensors"
    save_file(tensors, str(path), metadata={**{k: json.dumps(v) for k, v in meta.items()}, **raw})
    return path


def weights_refused(path, message):
    refused(weights_module.read_weights, path, message)


@pytest.mark.parametrize("raw, message", [
    ({"format": '"other-nca/2"'}, "format 'other-nca/2'"),       # checked before check_weights: dropped, any passed
    ({"format": "null"}, "format None"),
    ({"record": "[" * 100_000}, "its metadata 'record' is not JSON"),   # json recurses past the limit
])
def test_metadata_of_another_format_or_no_json_is_refused(tmp_path, raw, message):
    tensors, meta = shipped()
    weights_refused(write(tmp_path, tensors, meta, **raw), f"not a voxgen weights file ({message})")


@pytest.mark.parametrize("version, ok", [(0, True), (2**31 - 1, True), (True, False), (-1, False), (2**31, False)])
def test_data_version_is_an_integer_0_to_2_31_minus_1(tmp_path, version, ok):
    tensors, meta = shipped()
    path = write(tmp_path, tensors, {**meta, "data_version": version})
    if ok:
        assert weights_module.read_weights(path)[1]["data_version"] == version
    else:
        weights_refused(path, f"'data_version' must be a DataVersion (an integer 0 to 2^31 - 1), got {version!r}")


@pytest.mark.parametrize("grid, ok", [((512, 512, 256), True), ((5, 53, 253_241), False)])
def test_a_grid_of_max_cells_is_taken_and_one_cell_more_refused(grid, ok):
    """check_weights on a header's tensors (no values): the cell cap, 2^26,
    is inclusive; 5 * 53 * 253,241 is 2^26 + 1."""
    tensors, meta = shipped()
    shapes = {k: torch.empty(t.shape, dtype=t.dtype, device="meta") for k, t in tensors.items()}
    shapes["target.classes"] = torch.empty(grid, dtype=torch.int32, device="meta")
    meta["grid_shape"] = list(grid)
    if ok:
        weights_module.check_weights(shapes, meta, "w.safetensors")
    else:
        with pytest.raises(VoxgenError, match=r"the grid \[5, 53, 253241\] has more than 67,108,864 cells"):
            weights_module.check_weights(shapes, meta, "w.safetensors")


def test_a_class_one_past_the_palette_is_refused(tmp_path):
    tensors, meta = shipped()
    tensors["target.classes"][0, 0, 0] = len(meta["palette"])
    weights_refused(write(tmp_path, tensors, meta), f"holds classes outside the palette's 0..{len(meta['palette']) - 1}")


@pytest.mark.parametrize("spare", [0, None, -1])
def test_weights_that_just_fit_the_memory_are_read(monkeypatch, spare):
    """The memory check counts every tensor (`sum`, not `max`), reads at
    exactly enough (`>`, not `>=`) and when the memory is unknown (None)."""
    need = sum(t.nbytes for t in load_file(str(FLYING)).values())
    monkeypatch.setattr(weights_module, "memory_available", lambda device: None if spare is None else need + spare)
    if spare == -1:
        weights_refused(FLYING, "GiB of memory here")
    else:
        assert weights_module.read_weights(FLYING)[1]["name"] == "flying_machine"


# --- the memory there is --------------------------------------------------------------

def test_a_cgroup_limit_is_the_memory_and_max_is_none(monkeypatch):
    """cgroup v2's memory.max (faked; no address-space limit) holds bytes or "max"."""
    import resource
    monkeypatch.setattr(resource, "getrlimit", lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    found = {}
    for text in (None, "max\n", "1048576\n"):
        def fake_open(path):
            if text is None or path != "/sys/fs/cgroup/memory.max":
                raise FileNotFoundError(path)
            return io.StringIO(text)
        monkeypatch.setattr(device_module, "open", fake_open, raising=False)
        found[text] = device_module.memory_available(torch.device("cpu"))
    assert found[None] > 1 << 20 and found["max\n"] == found[None] and found["1048576\n"] == 1 << 20


def test_memory_unknown_to_the_platform_is_none_and_a_gpu_is_its_whole_memory(monkeypatch):
    def unknown(name):
        raise ValueError(f"unrecognized configuration name {name!r}")
    monkeypatch.setattr(os, "sysconf", unknown)
    assert device_module.memory_available(torch.device("cpu")) is None
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (1 << 30, 80 << 30))     # (free, total)
    assert device_module.memory_available(torch.device("cuda")) == 80 << 30


# --- metrics.jsonl read on --resume -------------------------------------------------------

LOSS = '{"it": 0, "loss": 0.5, "accuracy": 0.9}'


def log_of(tmp_path, *lines) -> Path:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def logged_rows(path, before):
    """The loss rows `resume_log` keeps, as the curve holds them."""
    history = History(50)
    resume_log(path, before, history)
    return [{"it": it, "loss": loss, "accuracy": accuracy} for it, loss, accuracy in history.points]


def test_a_line_of_blanks_is_skipped(tmp_path):
    """`not line.strip()` as `not line`: a line of spaces was refused as no JSON row."""
    rows = logged_rows(log_of(tmp_path, LOSS, "   \t", '{"it": 1, "loss": 0.4, "accuracy": 0.9}'), before=5)
    assert [r["it"] for r in rows] == [0, 1]


@pytest.mark.parametrize("row, problem", [
    ('{"it": true, "loss": 0.5, "accuracy": 0.9}', "'it' is not an iteration"),
    ('{"it": -1, "loss": 0.5, "accuracy": 0.9}', "'it' is not an iteration"),
    ('{"it": 1, "loss": true, "accuracy": 0.9}', "'loss' is not a finite number"),
    ('{"it": 1}', "'loss' is missing"),                                       # no verify: no growth check
    ('{"it": 1, "verify": 5}', "'loss' is missing"),
    ('{"it": 1, "verify": {"n": 1}, "loss": "abc", "accuracy": 0.9}', "'loss' is not a finite number"),
])
def test_a_row_that_is_neither_a_loss_nor_a_growth_check_is_refused(tmp_path, row, problem):
    """A loss row reaches plot_curve (`"loss" in row`): one with a verify
    table but a bad loss must not pass as a growth check."""
    path = log_of(tmp_path, LOSS, row)
    with pytest.raises(VoxgenError, match=f"line 2: {problem}") as err:
        logged_rows(path, before=5)
    assert err.value.path == str(path)


def test_an_it_of_true_is_no_iteration_at_the_checkpoint_either(tmp_path):
    """True == 1: with the checkpoint at iteration 1 the row had ended the
    reading (every row after it dropped) instead of being refused."""
    with pytest.raises(VoxgenError, match="line 2: 'it' is not an iteration"):
        logged_rows(log_of(tmp_path, LOSS, '{"it": true, "loss": 0.5, "accuracy": 0.9}'), before=1)


def test_a_log_that_cannot_be_opened_names_it(tmp_path):
    with pytest.raises(VoxgenError, match="metrics.jsonl: cannot write .No such file or directory.$"):
        open_log(tmp_path / "gone" / "metrics.jsonl")


# --- grow --frames --------------------------------------------------------------------

def contents(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def quick_growth(monkeypatch):
    """voxgen.grow.grow grows one step whatever --steps says, and hands the
    frame of the last step asked for: the names of a long growth, at once."""
    import voxgen.grow
    real = voxgen.grow.grow

    def grow(trained, steps=None, on_frame=None, **kw):
        result = real(trained, steps=1, **kw)
        if on_frame is not None:
            on_frame(steps, result.structure)
        return result
    monkeypatch.setattr(voxgen.grow, "grow", grow)


def test_frames_at_the_cap_are_named_with_five_digits_and_no_frames_have_no_cap(tmp_path, monkeypatch):
    """10,000 steps are allowed with --frames (`>=` refused them), named
    step_00000 on so they sort (`digits = 4` did not); without --frames,
    grow takes more (the frames' cap, applied to all, refused 10,001)."""
    quick_growth(monkeypatch)
    result = run("grow", "caterpillar", "--steps", "10000", "--frames", tmp_path / "f")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["step_00000.toml", "step_10000.toml"]
    assert run("grow", "caterpillar", "--steps", "10001").exit_code == 0


def test_a_folder_by_the_last_frames_name_is_refused_before_removing_anything(tmp_path):
    """The names this run writes go up to --steps (range(total) missed the last)."""
    frames = tmp_path / "frames"
    (frames / "step_0003.toml").mkdir(parents=True)
    (frames / "step_0009.toml").write_text("an earlier frame")
    one_line_error(run("grow", "caterpillar", "--steps", "3", "--frames", frames),
                   frames / "step_0003.toml", "a folder by a frame's name is in the way")
    assert contents(frames) == {"step_0009.toml": b"an earlier frame"}


def test_a_frame_that_cannot_be_put_in_place_takes_this_runs_others_back(tmp_path, monkeypatch):
    """...and puts the earlier run's frames back, the longer run's last ones too."""
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "notes.txt").write_text("the user's")
    earlier = {f"step_{i:04d}.toml": b"earlier %d" % i for i in range(10)}
    for name, data in earlier.items():
        (frames / name).write_bytes(data)
    real = os.replace

    def replace(src, dst):
        if Path(dst) == frames / "step_0002.toml" and Path(src).parent.name != "earlier":    # this run's frame
            raise PermissionError(13, "Permission denied")
        return real(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    one_line_error(run("grow", "caterpillar", "--steps", "3", "--frames", frames),
                   frames / "step_0002.toml", "cannot put the frame in place (Permission denied)")
    assert contents(frames) == {"notes.txt": b"the user's", **earlier}      # no frame of this run, no hidden folder


def test_frames_are_staged_inside_the_folder_and_a_failed_one_is_named_as_the_user_sees_it(tmp_path, monkeypatch):
    """A hidden folder inside --frames (on its file system, so the frames
    move in by rename); formats.save's error names the hidden path, which
    the user never sees: the error names the frame in --frames."""
    frames, saved = tmp_path / "frames", []

    def save(structure, path, **opts):
        saved.append(Path(path))
        if len(saved) == 3:
            raise VoxgenError("cannot write (No space left on device)", path)
    monkeypatch.setattr(formats, "save", save)
    result = run("grow", "caterpillar", "--steps", "3", "--frames", frames)
    one_line_error(result, f"{frames / 'step_0002.toml'}: cannot write (No space left on device)")
    assert ".voxgen-" not in result.output and not frames.exists()
    assert [p.parent.parent for p in saved] == [frames] * 3 and saved[0].parent.name.startswith(".voxgen-")


def test_an_interrupted_command_removes_the_output_folder_it_made(tmp_path):
    """output_folder cleans up on Ctrl-C too (`except Exception` did not)."""
    from voxgen.cli import output_folder
    with pytest.raises(KeyboardInterrupt):
        with output_folder(tmp_path / "new" / "pictures"):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_an_empty_path_shows_how_to_give_one():
    """An option's example repeats the option; an argument's is the value alone."""
    one_line_error(run("grow", "caterpillar", "--frames", ""),
                   "voxgen: error: --frames is empty: give a folder, e.g. --frames frames\n")
    one_line_error(run("grow", ""),
                   "voxgen: error: WEIGHTS is empty: give a trained structure's NAME or a weights file, e.g. tree\n")
