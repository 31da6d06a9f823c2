"""A training run's folder (`train --out`, default runs/NAME/): what is in
it, and what a fresh run does with an earlier run's files.

    out/metrics.jsonl                   a row an iteration, and the fresh-seed checks
    out/curve.png                       loss and batch accuracy
    out/checkpoint.safetensors          the latest checkpoint: what --resume goes on from
    out/checkpoint.previous.safetensors the run before's, set aside when a fresh run began
    out/metrics.previous.jsonl          its metrics
    out/best.safetensors                the weights of the best growth check so far (`nca/best.py`)
    out/best.previous.safetensors       the run before's

A fresh run (no --resume) sets the earlier run's checkpoint and metrics
aside before its first iteration, so that `--resume` never goes on from
another run's checkpoint; only the one run before is kept. The weights file
is written elsewhere and never touched here. One run at a time uses a
folder (`hold_run_folder`): a second would set the first's checkpoint aside
and the two would then write over each other's. The checkpoint's training
state: the optimizer's tensors (`optimizer_tensors`, `load_optimizer`) and
the device its firing generator's state belongs to (`checkpoint_device`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections import deque
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

from voxgen.atomic_write import atomic_output, check_output
from voxgen.errors import VoxgenError
from voxgen.nca.spec import MAX_COUNT
from voxgen.safe_read import NOT_REGULAR, open_regular

CHECKPOINT = "checkpoint.safetensors"
PREVIOUS_CHECKPOINT = "checkpoint.previous.safetensors"
BEST = "best.safetensors"
PREVIOUS_BEST = "best.previous.safetensors"
METRICS = "metrics.jsonl"
PREVIOUS_METRICS = "metrics.previous.jsonl"
CURVE = "curve.png"

# A row of metrics.jsonl is 150-210 bytes (a growth check's a few hundred,
# and rare). --resume reads the log a line at a time and keeps none of it
# but the curve's points (History), so a log of any length resumes in the
# same memory; a line longer than any row training writes is refused
# before it is held whole (a sparse file of zeros, say).
MAX_ROW_BYTES = 1 << 16
CURVE_POINTS = 1 << 15
"""The most loss rows curve.png draws: a longer run's are thinned to every
2nd, 4th, ... iteration (`History`), the same rows a resumed run keeps."""
MOVE_ASIDE = "move it aside and --resume goes on without its rows"


def check_weights_path(weights: Path, out: Path) -> bool:
    """Refuse, before training, a weights path that is not a .safetensors
    file, that is one of the run's checkpoints (the weights would overwrite
    the checkpoint --resume needs), or that cannot be written. A path in the
    run folder itself, which training creates, is checked once that exists:
    returns True when the check is still to do (`check_output` then)."""
    if weights.suffix != ".safetensors":
        raise VoxgenError("weights are written as .safetensors: give a path ending in .safetensors", weights)
    for name, what in ((CHECKPOINT, "checkpoint"), (PREVIOUS_CHECKPOINT, "previous checkpoint"),
                       (BEST, "best weights so far"), (PREVIOUS_BEST, "previous best weights")):
        if weights.resolve() == (out / name).resolve():
            raise VoxgenError(f"is the run's {what} (--out {out}): give --weights another path", weights)
    if not out.exists() and weights.parent.resolve() == out.resolve():
        return True                     # in the run folder training is about to make
    check_output(weights)
    return False


@contextmanager
def hold_run_folder(out: Path):
    """Hold run folder `out` (made already) for one training run: an
    exclusive lock on the folder itself, so no file is left in it, released
    when the block ends or the process does. A folder another run holds is
    a VoxgenError. Where the system has no such locks (no `fcntl`, a file
    system without them) or the folder cannot be opened, nothing is held."""
    try:
        import fcntl
        fd = os.open(out, os.O_RDONLY)
    except (ImportError, OSError):  # not a POSIX system, or a folder that cannot be read: unguarded
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VoxgenError("another training run is using this run folder: let it finish, or give "
                              "this one another --out", out) from None
        except OSError:             # a file system without locks: train unguarded
            pass
        yield
    finally:
        os.close(fd)


def check_run_files(out: Path) -> None:
    """Refuse, before training, a run folder whose checkpoint, metrics,
    curve or best weights could not be written at the end, or set aside
    by a fresh run (a folder by one of their names or their .previous
    names, a read-only file), or whose metrics.jsonl is a pipe or device
    (opened to write, a pipe waits for a reader forever)."""
    for name in (CHECKPOINT, METRICS, CURVE, BEST, PREVIOUS_CHECKPOINT, PREVIOUS_METRICS, PREVIOUS_BEST):
        check_output(out / name)
    if (out / METRICS).exists() and not (out / METRICS).is_file():
        raise VoxgenError(NOT_REGULAR, out / METRICS)


def set_aside_previous_run(out: Path) -> Path | None:
    """At the start of a fresh run: rename an earlier run's checkpoint, its
    metrics and its best weights in `out` to their .previous names
    (replacing the ones there), so that --resume cannot mix the runs.
    Returns where the checkpoint went, None if there was none (then only
    best weights are moved, those of a run killed before its first
    checkpoint: metrics without a checkpoint resume nothing). Each rename is
    atomic; a failure is a VoxgenError."""
    try:
        if not (out / CHECKPOINT).is_file():
            if (out / BEST).is_file():
                os.replace(out / BEST, out / PREVIOUS_BEST)
            return None
        for name, previous in ((METRICS, PREVIOUS_METRICS), (BEST, PREVIOUS_BEST)):
            if (out / name).is_file():
                os.replace(out / name, out / previous)
            else:
                (out / previous).unlink(missing_ok=True)       # not the set-aside checkpoint's
        os.replace(out / CHECKPOINT, out / PREVIOUS_CHECKPOINT)
    except OSError as err:
        raise VoxgenError(f"cannot set the previous run's files aside ({err.strerror or err})",
                          err.filename or out / CHECKPOINT) from None
    return out / PREVIOUS_CHECKPOINT


def config_changes(saved: dict, now: dict) -> list[str]:
    """`key old -> new` for every setting of the config `now` that differs
    from the checkpoint's `saved` (the iteration budget left out: --resume
    --iterations changes it by design)."""
    return [f"{key} {json.dumps(saved.get(key))} -> {json.dumps(value)}" for key, value in now.items()
            if key != "iterations" and saved.get(key) != value]


def origin_path(init) -> str:
    """How the record names the weights a run started from: the path from
    the working directory when they lie under it, else the file name alone
    (a record is shared; it need not show where else files live)."""
    path = Path(os.path.abspath(init))
    try:
        return str(path.relative_to(Path.cwd().absolute()))
    except ValueError:
        return path.name


class History:
    """What a run keeps of its loss rows: the curve's points, thinned to at
    most CURVE_POINTS by keeping the iterations that are multiples of a
    stride that doubles each time they overflow (so a resumed run keeps the
    points a run never stopped would), and the last STALL losses for
    `stalled`. Memory stays the same however long the run."""

    def __init__(self, stall: int):
        self.points: list[tuple[int, float, float]] = []     # (it, loss, accuracy)
        self.stride = 1
        self.last = deque(maxlen=stall)                     # (it, loss)

    def add(self, row: dict) -> None:
        it = row["it"]
        self.last.append((it, row["loss"]))
        if it % self.stride == 0:
            self.points.append((it, row["loss"], row["accuracy"]))
            while len(self.points) > CURVE_POINTS:
                self.stride *= 2
                self.points = [p for p in self.points if p[0] % self.stride == 0]

    def spike(self, loss: float, factor: float) -> bool:
        """Whether `loss` is more than `factor` times the (upper) median of the last
        STALL losses (a full window of them; never with `factor` 0)."""
        full = len(self.last) == self.last.maxlen
        return bool(factor) and full and loss > factor * statistics.median_high(value for _, value in self.last)

    def stalled(self) -> int | None:
        """The iteration from which the last STALL losses are one value, if they are."""
        full = len(self.last) == self.last.maxlen
        return self.last[0][0] if full and len({loss for _, loss in self.last}) == 1 else None


def resume_log(path: Path, before: int, history: History) -> tuple[int, int | None]:
    """Read a run's metrics.jsonl, if there is one, for `train --resume`
    from the checkpoint at iteration `before`: each row before it goes
    into `history` (loss rows) or is a growth check. Returns where the log
    goes on (the byte after the last row kept: 0 without a log) and the
    last growth check's iteration (None if none).

    Each row is a loss row (`it`, and `loss` and `accuracy` finite numbers)
    or a growth check (`it`, `verify`). Rows come in iteration order, so
    reading stops at the first from `before` on: what follows is the killed
    run's after its checkpoint, dropped unread (a run of a version without
    the divergence check logged NaN losses there). A last line that is not
    JSON (cut short where a run was killed while writing it) is left out.
    A file that is not a regular one, or any other line that is not such a
    row (not UTF-8, longer than MAX_ROW_BYTES), is a VoxgenError naming the
    file and the line: `train --resume` reads the log before it trains."""
    # A bad row is refused, not skipped: the resumed run writes on after the
    # rows it keeps, dropping what follows, so a skipped row would be lost
    # for good, and unseen. Refused, it costs seconds (nothing has trained
    # yet) and the user fixes the line named, or moves the log aside, and
    # loses nothing they did not choose to.
    if not path.exists():
        return 0, None
    kept, last_verify = 0, None
    with open_regular(path) as log:
        for number, line in enumerate(iter(partial(log.readline, MAX_ROW_BYTES + 1), b""), 1):
            last = not line.endswith(b"\n")
            if last and len(line) > MAX_ROW_BYTES:
                raise VoxgenError(f"line {number}: longer than {MAX_ROW_BYTES:,} bytes, no row training "
                                  f"writes; {MOVE_ASIDE}", path)
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as err:
                raise VoxgenError(f"line {number}: not UTF-8 text (byte {kept + err.start}); {MOVE_ASIDE}",
                                  path) from None
            if text.strip():
                try:
                    row = json.loads(text)
                except (ValueError, RecursionError):      # (nested too deeply: json recurses)
                    if last:                               # no newline after it: cut short
                        break
                    raise VoxgenError(f"line {number}: not a JSON row: fix the line, or {MOVE_ASIDE}",
                                      path) from None
                it = _iteration(row)
                if it is not None and it >= before:
                    break
                problem = _row_problem(row)
                if problem:
                    raise VoxgenError(f"line {number}: {problem}: fix the line, or {MOVE_ASIDE}", path)
                if "loss" in row:
                    history.add(row)
                else:
                    last_verify = it
            kept += len(line)
    return kept, last_verify


def _row_problem(row) -> str | None:
    """What keeps a parsed line of metrics.jsonl from being a row training
    writes (see `resume_log`); None if nothing does."""
    if not isinstance(row, dict):
        return "not a JSON object"
    it = _iteration(row)
    if it is None or not 0 <= it <= MAX_COUNT:
        return f"'it' is {'missing' if 'it' not in row else 'not an iteration'} (a whole number 0 to {MAX_COUNT})"
    if "loss" not in row and isinstance(row.get("verify"), dict):
        return None                             # a growth check
    for key in ("loss", "accuracy"):
        if key not in row:
            return f"'{key}' is missing"
        if not _finite(row[key]):
            return f"'{key}' is not a finite number"
    return None


def _iteration(row) -> int | None:
    """A parsed row's 'it', if it is a whole number (not true or false)."""
    it = row.get("it") if isinstance(row, dict) else None
    return it if isinstance(it, int) and not isinstance(it, bool) else None


def _finite(value) -> bool:
    """Whether a value parsed from JSON is a number a float holds, not NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:                       # an integer past any float
        return False


def open_log(path: Path, kept: int = 0):
    """metrics.jsonl at `path` opened to write on after its first `kept`
    bytes (the rows a resumed run keeps, as `resume_log` found them; 0: a
    fresh log), what followed them dropped; see `log_rows`."""
    try:
        if not kept:
            return path.open("w")
        with path.open("r+b") as raw:
            raw.truncate(kept)
            raw.seek(kept - 1)
            ends_line = raw.read(1) == b"\n"
        log = path.open("a")
        if not ends_line:                   # a row the user saved without its newline must not run on
            log.write("\n")
    except OSError as err:
        raise VoxgenError(f"cannot write ({err.strerror or err})", path) from None
    return log


def log_rows(log, rows, path: Path) -> None:
    """Add `rows` to the open metrics log `log` (at `path`) and flush them,
    so that a run killed later keeps every row it logged. A failure to
    write (a full disk) is a VoxgenError naming the file, and closes `log`."""
    try:
        for row in rows:
            log.write(json.dumps(row) + "\n")
        log.flush()
    except OSError as err:
        with suppress(OSError):     # closed now (its flush fails again), not when collected, with a warning
            log.close()
        raise VoxgenError(f"cannot write ({err.strerror or err})", path) from None


def plot_curve(points: list[tuple], path: Path) -> None:
    """loss (log scale) and batch accuracy per iteration, as a PNG written
    whole or not at all (`atomic_output`): a failure to write it (a full
    disk) is a VoxgenError naming `path`. `points`: (it, loss, accuracy),
    as `History` keeps them."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    its, losses, accuracies = zip(*points)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    try:
        ax.semilogy(its, losses, color="tab:blue", lw=0.8)
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss", color="tab:blue")
        acc_ax = ax.twinx()
        acc_ax.plot(its, accuracies, color="tab:orange", lw=0.8)
        acc_ax.set_ylabel("batch accuracy", color="tab:orange")
        acc_ax.set_ylim(min(0.9, *accuracies), 1.0005)
        fig.tight_layout()
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def optimizer_tensors(opt) -> dict:
    """The optimizer's state as a checkpoint stores it: opt.<param>.<key> tensors."""
    import torch

    out = {}
    for i, st in opt.state_dict()["state"].items():
        for key, value in st.items():
            out[f"opt.{i}.{key}"] = torch.as_tensor(value).clone()
    return out


def load_optimizer(opt, tensors: dict) -> None:
    """Put a checkpoint's opt.* tensors back into the optimizer `opt`."""
    state = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, i, name = key.split(".", 2)
            state.setdefault(int(i), {})[name] = value
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)


def checkpoint_device(meta: dict, tensors: dict) -> str:
    """"cpu" or "cuda": the device type a checkpoint was trained on, whose
    firing generator its "rng.firing" holds; a checkpoint written before
    voxgen recorded it tells by that state's size (CUDA's Philox state is 16
    bytes, the CPU's Mersenne twister 5056)."""
    return meta.get("device") or ("cuda" if tensors["rng.firing"].numel() == 16 else "cpu")
