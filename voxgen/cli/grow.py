"""`voxgen grow NAME|WEIGHTS`: grow a trained structure from its seed."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from voxgen.cli import SEED, WEIGHTS, GivenPath
from voxgen.nca.config import MAX_GROWTH_STEPS, MAX_STEPS

MAX_FRAME_FILES = MAX_STEPS     # --frames writes a file a step: a mistyped --steps must not fill the disk

FRAME_NAME = re.compile(r"step_\d{4,}\.toml")     # what --frames writes: step_0000.toml (the seed), ...
PROGRESS_FROM = 1000         # growths of this many steps or more show a progress bar at a terminal


@click.command()
@click.argument("weights", type=WEIGHTS)
@click.option("--steps", type=click.IntRange(0, MAX_GROWTH_STEPS), default=None,
              help="Growth steps (default: the training horizon; 4x the longest a spec allows at most).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Firing-mask random seed.")
@click.option("--out", "out", type=GivenPath("the file to write", "grown.schem", dir_okay=False),
              default=None,
              help="Write the grown structure (.toml, .schem, .nbt, .litematic): the whole grid it "
                   "grew in, the blueprint's box and the margin of air around it.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@click.option("--frames", type=GivenPath("a folder", "frames", file_okay=False), default=None,
              help=f"Write the seed and every step's structure as DIR/step_NNNN.toml, step_0000 the "
                   f"seed (a file a step: at most {MAX_FRAME_FILES:,} steps). When the growth is done they "
                   f"replace the frames an earlier run left in DIR; other files there are left alone, "
                   f"and a failed run leaves DIR as it was.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
def grow(weights, steps, seed, out, as_json, frames, device):
    """Grow WEIGHTS (a structure name or a .safetensors file) and compare with its blueprint
    (per block state too: the states not all right are listed, worst first)."""
    from voxgen import formats
    from voxgen.errors import VoxgenError
    from voxgen.atomic_write import check_output
    from tqdm import tqdm

    from voxgen.grow import decode, grow as grow_structure, load_trained, ready, seed_state

    if out is not None:                           # refuse a bad --out before growing and writing frames
        formats.format_for_output(out)
        in_frames = frames is not None and os.path.abspath(Path(out).parent) == os.path.abspath(frames)
        if in_frames and FRAME_NAME.fullmatch(Path(out).name):
            raise VoxgenError(f"--out is a frame's name in the --frames folder {frames}: the frames would "
                              f"replace it (give --out another name)", out)
        if not (in_frames and not Path(frames).exists()):   # a folder --frames makes is checked as it is made
            check_output(out)
    if frames is not None and Path(frames).exists() and not Path(frames).is_dir():
        raise VoxgenError("--frames must name a directory", frames)
    trained = load_trained(weights)
    ready(trained, device)                        # a bad --device or too little memory: before frames are touched
    total = trained.steps if steps is None else steps
    if frames is not None and total > MAX_FRAME_FILES:
        raise VoxgenError(f"--frames writes a file a step: at most {MAX_FRAME_FILES:,} steps with it, not "
                          f"{total:,} (grow fewer steps, or render the growth: voxgen render --growth)", frames)
    digits = max(4, len(str(total)))              # frame names sort in step order
    with staged_frames(Path(frames), digits, total) if frames is not None else nullcontext() as save_frame:
        if save_frame is not None:
            save_frame(0, decode(trained, seed_state(trained))[0])
        with tqdm(total=total, desc=f"grow {trained.name}", unit="step", leave=False, file=sys.stderr,
                  disable=None if total >= PROGRESS_FROM else True) as bar:     # a long growth, at a terminal
            result = grow_structure(trained, steps=steps, seed=seed, device=device, on_frame=save_frame,
                                    on_step_done=None if bar.disable else lambda i: bar.update())
        if out is not None:                       # inside: a failed --out leaves no frames either
            formats.save(result.structure, out)
    m = result.metrics
    report = {"name": trained.name, "exact": m["exact"], "accuracy": m["accuracy"], "iou": m["iou"],
              "wrong_cells": m["wrong_cells"], "steps": result.steps, "seed": result.seed,
              "per_class": m["per_class"]}
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"{trained.name}: {'exact' if m['exact'] else 'not exact'}  "
                   f"accuracy {m['accuracy']:.4f}  iou {m['iou']:.4f}  "
                   f"wrong cells {m['wrong_cells']}  steps {result.steps}  seed {seed}")
        for state, right in sorted(m["per_class"].items(), key=lambda kv: kv[1]):
            if right < 1:                         # the classes it got wrong somewhere, worst first
                click.echo(f"  {right:.4f} right: {state}")


@contextmanager
def staged_frames(folder: Path, digits: int, total: int):
    """Yield save(i, structure), which writes step i's frame (step_NNNN.toml,
    `digits` digits at least; i up to `total`) into a hidden folder inside `folder`, made with
    its parents if missing. When the block ends normally, the frames an
    earlier run left in `folder` are moved aside, these moved in, and the
    earlier ones removed; if the block or a move fails, these are removed,
    the earlier ones put back, and `folder` is left as it was."""
    import tempfile

    from voxgen import formats
    from voxgen.atomic_write import TEMP_PREFIX, raise_pending_signal
    from voxgen.cli import output_folder
    from voxgen.errors import VoxgenError

    with output_folder(folder):
        names = {f"step_{i:0{digits}d}.toml" for i in range(total + 1)}
        old = old_frames(folder, names)           # an unreadable folder: told before the growth
        try:
            staging = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=folder))
        except OSError as err:
            raise VoxgenError(f"cannot write into it ({err.strerror or err})", folder) from None
        written = []
        try:
            def save(i, structure):
                name = f"step_{i:0{digits}d}.toml"
                try:
                    formats.save(structure, staging / name)
                except VoxgenError as err:        # named as the user will see it, not the hidden folder
                    raise VoxgenError(err.message, folder / name) from None
                except OSError as err:
                    raise VoxgenError(f"cannot write ({err.strerror or err})", folder / name) from None
                written.append(name)

            yield save
            raise_pending_signal()                # a Ctrl-C or SIGTERM dropped during the growth
            # the earlier run's frames go aside (a shorter run must not leave
            # its later steps), to come back if this run's cannot all go in
            aside = staging / "earlier"
            aside.mkdir()
            set_aside, moved = [], []
            try:
                for path in old:
                    target = path
                    os.replace(path, aside / path.name)
                    set_aside.append(path)
                for name in written:
                    target = folder / name
                    os.replace(staging / name, target)
                    moved.append(target)
            except OSError as err:                # none of this run's frames, the earlier run's back
                for path in moved:
                    path.unlink(missing_ok=True)
                for path in set_aside:
                    try:
                        os.replace(aside / path.name, path)
                    except OSError:
                        pass                      # (the error below is the one to tell)
                raise VoxgenError(f"cannot put the frame in place ({err.strerror or err})", target) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def old_frames(folder: Path, names: set) -> list[Path]:
    """The frames (step_NNNN.toml) an earlier `grow --frames` wrote into
    `folder`: no folder, no other name. A folder by the name of one of this
    run's frames, `names`, is refused (before the growth: once old frames
    are removed, it would stop a new one)."""
    from voxgen.errors import VoxgenError

    try:
        frames = [path for path in folder.iterdir() if FRAME_NAME.fullmatch(path.name)]
        for path in frames:
            if path.name in names and not (path.is_symlink() or path.is_file()):
                raise VoxgenError("a folder by a frame's name is in the way: move it, or give another "
                                  "--frames folder", path)
        return [path for path in frames if path.is_symlink() or path.is_file()]
    except OSError as err:
        raise VoxgenError(f"cannot list an earlier run's frames ({err.strerror or err})",
                          err.filename or folder) from None
