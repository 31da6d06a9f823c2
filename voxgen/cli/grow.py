"""`voxgen grow NAME|WEIGHTS`: grow a trained structure from its seed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from voxgen.cli import SEED

MAX_FRAME_FILES = 10_000     # --frames writes a file a step: a mistyped --steps must not fill the disk
FRAME_NAME = re.compile(r"step_\d{4,}\.toml")     # what --frames writes: step_0000.toml (the seed), ...
PROGRESS_FROM = 1000         # growths of this many steps or more show a progress bar at a terminal


@click.command()
@click.argument("weights")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Growth steps (default: the training horizon).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Firing-mask random seed.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the grown structure (.toml, .schem, .nbt, .litematic): the whole grid it "
                   "grew in, the blueprint's box and the margin of air around it.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@click.option("--frames", type=click.Path(file_okay=False), default=None,
              help=f"Write the seed and every step's structure as DIR/step_NNNN.toml, step_0000 the "
                   f"seed (a file a step: at most {MAX_FRAME_FILES:,} steps). Frames an earlier run left "
                   f"in DIR are removed first; other files there are left alone.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
def grow(weights, steps, seed, out, as_json, frames, device):
    """Grow WEIGHTS (a structure name or a .safetensors file) and compare with its blueprint
    (per block state too: the states not all right are listed, worst first)."""
    from voxgen import formats
    from voxgen.errors import VoxgenError, make_dir
    from voxgen.atomic_write import check_output
    from tqdm import tqdm

    from voxgen.grow import decode, grow as grow_structure, load_trained, ready, seed_state

    if out is not None:                           # refuse a bad --out before growing and writing frames
        formats.format_for_output(out)
        check_output(out)
    if frames is not None and Path(frames).exists() and not Path(frames).is_dir():
        raise VoxgenError("--frames must name a directory", frames)
    trained = load_trained(weights)
    ready(trained, device)                        # a bad --device or too little memory: before frames are touched
    total = trained.steps if steps is None else steps
    save_frame = None
    if frames is not None and total > MAX_FRAME_FILES:
        raise VoxgenError(f"--frames writes a file a step: at most {MAX_FRAME_FILES:,} steps with it, not "
                          f"{total:,} (grow fewer steps, or render the growth: voxgen render --growth)", frames)
    if frames is not None:                        # made before growing; frames written as they come
        make_dir(frames)
        digits = max(4, len(str(total)))          # names sort in step order

        def save_frame(i, structure):
            formats.save(structure, Path(frames) / f"step_{i:0{digits}d}.toml")
        remove_old_frames(Path(frames))             # a shorter run must not leave the old run's later steps
        save_frame(0, decode(trained, seed_state(trained))[0])
    with tqdm(total=total, desc=f"grow {trained.name}", unit="step", leave=False, file=sys.stderr,
              disable=None if total >= PROGRESS_FROM else True) as bar:     # a long growth, at a terminal
        result = grow_structure(trained, steps=steps, seed=seed, device=device, on_frame=save_frame,
                                on_step_done=None if bar.disable else lambda i: bar.update())
    if out is not None:
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


def remove_old_frames(folder: Path) -> None:
    """Remove the frames (step_NNNN.toml) an earlier `grow --frames` wrote
    into `folder`; nothing else in it (no folder, no other name) is touched."""
    from voxgen.errors import VoxgenError

    try:
        for path in folder.iterdir():
            if FRAME_NAME.fullmatch(path.name) and (path.is_symlink() or path.is_file()):
                path.unlink()
    except OSError as err:
        raise VoxgenError(f"cannot clear an earlier run's frames ({err.strerror or err})",
                          err.filename or folder) from None
