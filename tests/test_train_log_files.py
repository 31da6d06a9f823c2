"""`train --resume` reads the run folder's metrics.jsonl, and every run
writes it and curve.png: a log that is not UTF-8, not a regular file, too
large or holding a row of wrong fields is refused in one line naming it
before anything trains; the curve appears whole or not at all."""

import errno
import os
import re
import shutil
import threading

import pytest
from click.testing import CliRunner

from conftest import write_tiny
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.nca.train_run import MAX_ROW_BYTES


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny blueprint's spec, and a run folder of it trained 2 iterations."""
    root = tmp_path_factory.mktemp("log_files")
    write_tiny(root, "grow")
    from voxgen.train import train
    train(root / "tiny.toml", device="cpu", out=root / "run", iterations=2,
          weights_path=root / "w.safetensors", progress=False)
    return root


@pytest.fixture
def run(tiny, tmp_path):
    """A copy of the tiny run folder, to spoil."""
    shutil.copytree(tiny / "run", tmp_path / "run")
    return tmp_path / "run"


def _resume(tiny, run, **kw):
    from voxgen.train import train
    return train(tiny / "tiny.toml", device="cpu", out=run, resume=True, iterations=3,
                 weights_path=run.parent / "w.safetensors", progress=False, **kw)


def _refused_before_training(tiny, run, match):
    """Resuming `run` is refused naming its metrics.jsonl, with nothing
    written: the checkpoint as it was, no weights."""
    checkpoint = (run / "checkpoint.safetensors").read_bytes()
    with pytest.raises(VoxgenError, match=match) as err:
        _resume(tiny, run)
    assert err.value.path == str(run / "metrics.jsonl") and "\n" not in str(err.value)
    assert (run / "checkpoint.safetensors").read_bytes() == checkpoint
    assert not (run.parent / "w.safetensors").exists()


def test_a_log_that_is_not_utf8_is_one_line_from_the_command(tiny, run):
    (run / "metrics.jsonl").write_bytes(b'\xff\xfe{"it":0}\n')
    result = CliRunner().invoke(main, ["train", str(tiny / "tiny.toml"), "--resume", "--iterations", "3",
                                       "--device", "cpu", "--threads", "1", "--out", str(run),
                                       "--weights", str(run.parent / "w.safetensors")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"{run / 'metrics.jsonl'}: line 1: not UTF-8 text (byte 0)" in result.output
    assert (run / "metrics.jsonl").read_bytes() == b'\xff\xfe{"it":0}\n'       # left for the user to see


@pytest.mark.parametrize("row, problem", [
    ('{"it": 1, "loss": 0.5}', "'accuracy' is missing"),
    ('{"it": 1, "loss": "abc", "accuracy": 0.9}', "'loss' is not a finite number"),
    ('{"it": 1, "loss": NaN, "accuracy": 0.9}', "'loss' is not a finite number"),
    ('{"it": 1, "loss": 0.5, "accuracy": 1e999}', "'accuracy' is not a finite number"),
    ('{"it": 1, "loss": 1' + "0" * 400 + ', "accuracy": 0.9}', "'loss' is not a finite number"),
    ('{"it": "1", "loss": 0.5, "accuracy": 0.9}', "'it' is not an iteration (a whole number 0 to 100000000)"),
    ('{"loss": 0.5, "accuracy": 0.9}', "'it' is missing (a whole number 0 to 100000000)"),
    ('[1, 2]', "not a JSON object"),
    ('{"it": 1, "loss": 0.5, "accur', "not a JSON row"),        # cut short, but not the last line
    ("[" * 60_000, "not a JSON row"),                            # json would recurse past the limit
    ('{"it": 1, "loss": 0.5, "accuracy": 0.9, "x": "' + "a" * MAX_ROW_BYTES + '"}',
     f"longer than {MAX_ROW_BYTES:,} bytes, no row training writes; move it aside"),
])
def test_a_row_of_wrong_fields_is_refused_naming_its_line(tiny, run, row, problem):
    """Before, such rows failed in plot_curve once the checkpoint and the
    weights were written: a traceback, no record, a stale curve."""
    (run / "metrics.jsonl").write_text('{"it": 0, "loss": 0.5, "accuracy": 0.9}\n' + row + "\n")
    if "longer than" not in problem:
        problem += ": fix the line, or move it aside"
    _refused_before_training(tiny, run, re.escape(f"line 2: {problem}"))


def test_a_cut_last_line_and_growth_checks_still_resume(tiny, run):
    (run / "metrics.jsonl").write_text('{"it": 0, "loss": 0.5, "accuracy": 0.9}\n\n'
                                       '{"it": 1, "verify": {"n": 10, "exact": 0}}\n'
                                       '{"it": 1, "loss": 0.4, "accur')
    _resume(tiny, run)
    assert (run / "metrics.jsonl").read_text().startswith('{"it": 0, "loss": 0.5, "accuracy": 0.9}\n\n'
                                                          '{"it": 1, "verify": {"n": 10, "exact": 0}}\n'
                                                          '{"it": 2, "loss": ')


def test_rows_after_the_checkpoint_are_dropped_unread(tiny, run):
    """A killed run's rows from its checkpoint's iteration on are dropped
    (a version without the divergence check logged NaN losses there), and
    not checked: the checkpoint before them resumes as it did."""
    (run / "metrics.jsonl").write_text('{"it": 0, "loss": 0.5, "accuracy": 0.9}\n'
                                       '{"it": 1, "loss": 0.4, "accuracy": 0.9}\n'
                                       '{"it": 2, "loss": NaN, "accuracy": 0.1}\n'
                                       'not json\n{"it": 3, "loss": NaN, "accuracy": 0.1}\n')
    _resume(tiny, run)
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert rows[:2] == ['{"it": 0, "loss": 0.5, "accuracy": 0.9}', '{"it": 1, "loss": 0.4, "accuracy": 0.9}']
    assert rows[2].startswith('{"it": 2, "loss": ') and "NaN" not in "".join(rows) and "not json" not in rows


def _with_pipe_released(path, call):
    """Call `call()`; should it hang on the FIFO at `path` (the bug), open the
    pipe's other end after a few seconds, again and again, so that the test
    fails, not hangs."""
    done = threading.Event()

    def release():
        wait = 5
        while not done.wait(wait):
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)      # a reader and a writer: nobody waits
            done.wait(1)
            os.close(fd)
            wait = 0

    helper = threading.Thread(target=release, daemon=True)
    helper.start()
    try:
        return call()
    finally:
        done.set()
        helper.join()


@pytest.mark.parametrize("resume", [True, False])
def test_a_log_that_is_a_pipe_is_refused_not_waited_on(tiny, run, resume):
    (run / "metrics.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    from voxgen.train import train
    with pytest.raises(VoxgenError, match="metrics.jsonl: not a regular file"):
        _with_pipe_released(run / "metrics.jsonl", lambda: train(
            tiny / "tiny.toml", device="cpu", out=run, resume=resume, iterations=3,
            weights_path=run.parent / "w.safetensors", progress=False))
    assert not (run.parent / "w.safetensors").exists()


def test_a_huge_line_is_refused_before_it_is_held(tiny, run):
    """A sparse 1 GiB log took the process to 2.6 GB of memory: its first
    line is refused once it is longer than any row training writes."""
    rows = (run / "metrics.jsonl").read_bytes().count(b"\n")
    with open(run / "metrics.jsonl", "r+b") as log:
        log.truncate(1 << 30)
    _refused_before_training(tiny, run, f"line {rows + 1}: longer than {MAX_ROW_BYTES:,} bytes, no row training "
                                        f"writes; move it aside")


def test_a_log_moved_aside_resumes_without_its_rows(tiny, run):
    (run / "metrics.jsonl").unlink()
    _resume(tiny, run)
    assert (run / "metrics.jsonl").read_text().startswith('{"it": 2, ')


def test_a_curve_that_cannot_be_written_names_it_and_leaves_the_old_one(tiny, run, monkeypatch):
    """A full disk: before, `voxgen: error: No space left on device`, naming
    no file, and a half-written curve.png."""
    from matplotlib.figure import Figure

    def full_disk(self, fname, **kw):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG\r\n half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    before = (run / "curve.png").read_bytes()
    monkeypatch.setattr(Figure, "savefig", full_disk)
    with pytest.raises(VoxgenError, match="curve.png: cannot write .No space left on device.; the weights "
                                          "are written, to ") as err:
        _resume(tiny, run)
    assert err.value.path == str(run / "curve.png")
    assert (run / "curve.png").read_bytes() == before
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in (tiny / "run").iterdir())
    assert (run.parent / "w.safetensors").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_log_row_that_cannot_be_written_names_the_log(tmp_path):
    from voxgen.nca.train_run import log_rows
    full = open("/dev/full", "w")
    with pytest.raises(VoxgenError, match="metrics.jsonl: cannot write .No space left on device.$"):
        log_rows(full, [{"it": 0, "loss": 0.5, "accuracy": 0.9}], tmp_path / "metrics.jsonl")
    assert full.closed          # not left to fail again, unseen, when collected


def test_what_grows_from_weights_keeps_the_blueprints_data_version(tiny, tmp_path):
    """Pictures draw a wire reaching no side by the DataVersion (a dot from
    1.16 on, joined before): the weights keep the blueprint's, and what grows
    from them has it, so a grown structure is drawn as its blueprint is."""
    from voxgen.grow import grow as grow_structure, load_trained
    from voxgen.nca.weights import read_weights, save_weights
    from voxgen.train import train
    blueprint = (tiny / "tiny_blueprint.toml").read_text()
    assert "data_version" not in blueprint
    (tmp_path / "tiny_blueprint.toml").write_text("data_version = 1519\n" + blueprint)
    shutil.copy(tiny / "tiny.toml", tmp_path / "tiny.toml")
    train(tmp_path / "tiny.toml", device="cpu", out=tmp_path / "run", iterations=1,
          weights_path=tmp_path / "w.safetensors", progress=False)
    assert read_weights(tmp_path / "w.safetensors")[1]["data_version"] == 1519
    assert read_weights(tmp_path / "run" / "checkpoint.safetensors", checkpoint=True)[1]["data_version"] == 1519
    trained = load_trained(tmp_path / "w.safetensors")
    assert trained.target.data_version == 1519
    assert grow_structure(trained, steps=2).structure.data_version == 1519
    old = tmp_path / "old.safetensors"                   # weights from before: no DataVersion, none grows
    save_weights(old, trained.model, trained.target.blocks, trained.name, trained.palette, trained.seed_pos, {})
    assert grow_structure(load_trained(old), steps=2).structure.data_version is None
    save_weights(old, trained.model, trained.target.blocks, trained.name, trained.palette, trained.seed_pos, {},
                 extra_meta={"data_version": "1.12"})
    with pytest.raises(VoxgenError, match="'data_version' must be a DataVersion"):
        load_trained(old)


# --- a log of any length resumes in the same memory -----------------------------------

def _rows(its):
    return "".join(f'{{"it": {it}, "loss": {1 / (it + 1)}, "accuracy": 0.9}}\n' for it in its)


def test_the_curve_keeps_every_row_up_to_its_cap_then_thins_the_same_way_resumed(monkeypatch):
    from voxgen.nca import train_run
    monkeypatch.setattr(train_run, "CURVE_POINTS", 100)
    short = train_run.History(50)
    for it in range(100):
        short.add({"it": it, "loss": 1.0, "accuracy": 0.5})
    assert [p[0] for p in short.points] == list(range(100)) and short.stride == 1
    long = train_run.History(50)
    for it in range(1000):
        long.add({"it": it, "loss": 1.0, "accuracy": 0.5})
    assert long.stride == 16 and [p[0] for p in long.points] == list(range(0, 1000, 16))
    half = train_run.History(50)            # a run resumed at 500 keeps the points of one never stopped
    for it in range(500):
        half.add({"it": it, "loss": 1.0, "accuracy": 0.5})
    resumed = train_run.History(50)
    for p in half.points:
        resumed.add({"it": p[0], "loss": p[1], "accuracy": p[2]})
    for it in range(500, 1000):
        resumed.add({"it": it, "loss": 1.0, "accuracy": 0.5})
    assert resumed.points == long.points


def test_a_stall_is_the_last_losses_alike_resumed_rows_counted():
    from voxgen.nca.train_run import History
    history = History(3)
    for it, loss in enumerate([0.5, 0.4, 0.4]):
        history.add({"it": it, "loss": loss, "accuracy": 0.9})
        assert history.stalled() is None
    history.add({"it": 3, "loss": 0.4, "accuracy": 0.9})
    assert history.stalled() == 1


def test_a_long_log_is_read_a_line_at_a_time(tmp_path, monkeypatch):
    """Before, a log over 128 MiB had to be moved aside to resume, and a
    run held every row it logged (about 850 bytes each) to the end."""
    import tracemalloc

    from voxgen.nca import train_run
    monkeypatch.setattr(train_run, "CURVE_POINTS", 1000)
    path = tmp_path / "metrics.jsonl"
    path.write_text(_rows(range(100_000)) + '{"it": 100000, "verify": {"n": 1, "exact": 0}}\n'
                    + _rows(range(100_001, 100_010)))
    history = train_run.History(50)
    tracemalloc.start()
    try:
        kept, last_verify = train_run.resume_log(path, 100_005, history)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path.stat().st_size > 4_000_000 and peak < 400_000, peak
    assert last_verify == 100_000 and kept == len((_rows(range(100_000)) + '{"it": 100000, "verify": {"n": 1, '
                                                   '"exact": 0}}\n' + _rows(range(100_001, 100_005))).encode())
    assert len(history.points) <= 1000 and history.points[-1][0] == 100_000 - 100_000 % history.stride
    assert [it for it, _ in history.last][-1] == 100_004


def test_the_log_goes_on_after_the_rows_kept(tmp_path):
    """What follows the rows kept is dropped; a last row saved without its
    newline gets one before the next."""
    from voxgen.nca.train_run import log_rows, open_log
    path = tmp_path / "metrics.jsonl"
    path.write_text(_rows([0]) + _rows([1]).rstrip("\n") + "\n" + _rows([2]))
    log = open_log(path, len(_rows([0, 1])))
    log_rows(log, [{"it": 2, "loss": 0.25, "accuracy": 1.0}], path)
    log.close()
    assert path.read_text() == _rows([0, 1]) + '{"it": 2, "loss": 0.25, "accuracy": 1.0}\n'
    path.write_text(_rows([0]) + _rows([1]).rstrip("\n"))
    log = open_log(path, path.stat().st_size)
    log_rows(log, [{"it": 2, "loss": 0.25, "accuracy": 1.0}], path)
    log.close()
    assert path.read_text() == _rows([0, 1]) + '{"it": 2, "loss": 0.25, "accuracy": 1.0}\n'
