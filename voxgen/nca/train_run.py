"""A training run's folder (`train --out`, default runs/NAME/): what is in
it, and what a fresh run does with an earlier run's files.

    out/metrics.jsonl                   a row an iteration, and the fresh-seed checks
    out/curve.png                       loss and batch accuracy
    out/checkpoint.safetensors          the latest checkpoint: what --resume goes on from
    out/checkpoint.previous.safetensors the run before's, set aside when a fresh run began
    out/metrics.previous.jsonl          its metrics

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
import os
from contextlib import contextmanager
from pathlib import Path

from voxgen.atomic_write import check_output
from voxgen.errors import VoxgenError

CHECKPOINT = "checkpoint.safetensors"
PREVIOUS_CHECKPOINT = "checkpoint.previous.safetensors"
METRICS = "metrics.jsonl"
PREVIOUS_METRICS = "metrics.previous.jsonl"
CURVE = "curve.png"


def check_weights_path(weights: Path, out: Path) -> bool:
    """Refuse, before training, a weights path that is not a .safetensors
    file, that is one of the run's checkpoints (the weights would overwrite
    the checkpoint --resume needs), or that cannot be written. A path in the
    run folder itself, which training creates, is checked once that exists:
    returns True when the check is still to do (`check_output` then)."""
    if weights.suffix != ".safetensors":
        raise VoxgenError("weights are written as .safetensors: give a path ending in .safetensors", weights)
    for name in (CHECKPOINT, PREVIOUS_CHECKPOINT):
        if weights.resolve() == (out / name).resolve():
            raise VoxgenError(f"is the run's {'previous ' if name == PREVIOUS_CHECKPOINT else ''}checkpoint "
                              f"(--out {out}): give --weights another path", weights)
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
    """Refuse, before training, a run folder whose checkpoint, metrics or
    curve could not be written at the end (a folder by one of their names,
    a read-only file)."""
    for name in (CHECKPOINT, METRICS, CURVE):
        check_output(out / name)


def set_aside_previous_run(out: Path) -> Path | None:
    """At the start of a fresh run: rename an earlier run's checkpoint and
    its metrics in `out` to their .previous names (replacing the ones
    there), so that --resume cannot mix the runs. Returns where the
    checkpoint went, None if there was none (then nothing is moved: metrics
    without a checkpoint resume nothing). Each rename is atomic; a failure
    is a VoxgenError."""
    if not (out / CHECKPOINT).is_file():
        return None
    try:
        if (out / METRICS).is_file():
            os.replace(out / METRICS, out / PREVIOUS_METRICS)
        else:
            (out / PREVIOUS_METRICS).unlink(missing_ok=True)       # not the set-aside checkpoint's
        os.replace(out / CHECKPOINT, out / PREVIOUS_CHECKPOINT)
    except OSError as err:
        raise VoxgenError(f"cannot set the previous run's checkpoint aside ({err.strerror or err})",
                          out / CHECKPOINT) from None
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


def logged_rows(path: Path) -> list[dict]:
    """The rows of a run's metrics.jsonl, if there is one; a line that is not
    a row with an iteration (the last one, cut short where a run was killed
    while writing it) is left out."""
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("it"), int):
            rows.append(row)
    return rows


def plot_curve(history: list[dict], path: Path) -> None:
    """loss (log scale) and batch accuracy per iteration, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    its = [h["it"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.semilogy(its, [h["loss"] for h in history], color="tab:blue", lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss", color="tab:blue")
    acc_ax = ax.twinx()
    acc_ax.plot(its, [h["accuracy"] for h in history], color="tab:orange", lw=0.8)
    acc_ax.set_ylabel("batch accuracy", color="tab:orange")
    acc_ax.set_ylim(min(0.9, min((h["accuracy"] for h in history), default=0.9)), 1.0005)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
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
