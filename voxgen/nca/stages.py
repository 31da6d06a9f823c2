"""Training in stages (a spec's `[[stages]]`, or the larger-structure recipe
a large blueprint file gets): the run folder's bookkeeping.

    run_stages(name, count, out, resume, init, run_stage, progress) -> record

Stage N (from 1) runs in out/stageN, from the weights of stage N-1 (kept as
out/stage{N-1}/weights.safetensors; the first from `init`, or fresh). A
stage that grows the blueprint exactly (`ended`) ends them, unless a later
stage trains healing (cut halves, wiped balls) that this one's checks did
not show: a growth-only stage is then followed by the rest. out/stages.json
lists a summary of each stage done, so that --resume goes on with the
latest stage begun: from its checkpoint, or from the weights of the stage
before if it has none yet. When a stage is about to train (its checks
passed), the checkpoints of every later stage folder are set aside, so
that none of an older run is resumed after it.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

from voxgen.atomic_write import atomic_output
from voxgen.errors import VoxgenError, make_dir
from voxgen.nca.evaluate import HEALS, healed
from voxgen.nca.spec import MAX_STAGES
from voxgen.nca.train_run import CHECKPOINT, hold_run_folder, set_aside_previous_run

STAGES = "stages.json"
"""In a staged run's folder: the stages done, each one's summary."""
STAGE_WEIGHTS = "weights.safetensors"
"""In a stage's folder: its weights, for the next stage to start from."""
_MAX_STAGES_BYTES = 1 << 20      # a summary a stage: a few hundred bytes each


def stage_folder(out: Path, number: int) -> Path:
    """Where stage `number` (from 1) runs."""
    return out / f"stage{number}"


def check_weights_outside(weights: Path, out: Path) -> None:
    """Refuse weights to be written in a stage's folder, where they would
    overwrite its checkpoint or the weights the next stage starts from."""
    for number in range(1, MAX_STAGES + 1):
        if stage_folder(out, number).resolve() in weights.resolve().parents:
            raise VoxgenError(f"is in the folder of stage {number} of the run (--out {out}), whose files "
                              f"--resume and the next stage read: give --weights another path", weights)


def run_stages(name: str, count: int, out: Path, resume: bool, init, run_stage, progress: bool,
               heals=None, weights: Path | None = None) -> dict:
    """Run stages 1..`count` in `out` (held throughout) as the module says;
    `heals`: each stage's regrowth checks (`evaluate.healing_checks`; None:
    none trains healing);
    `run_stage(number, folder, resume, init, done, starting)` trains one
    (`done`: the summaries of the stages before) and calls `starting()`
    once its checks have passed, just before it trains; it returns its
    record, whose "stages" is `done` and its own summary after it, and
    "weights": where it wrote them (the last stage: `weights`; an earlier
    one: its folder's STAGE_WEIGHTS, so that the weights of a run stopped
    or failed before its last stage are not taken for the run's). Returns
    the last record run, with "run": `out`, its weights copied to `weights`
    if the stages ended before the last. Nothing of an earlier run is set
    aside before a stage is about to train."""
    heals = heals or [[]] * count

    def ends(number: int, stage: dict) -> bool:     # stage `number`'s summary ends the stages
        return ended(stage, {key for later in heals[number:] for key in later})
    make_dir(out)
    with hold_run_folder(out):          # the stages' list and every stage's folder
        done = _stages_done(out) if resume else []
        if done and (ends(len(done), done[-1]) or len(done) >= count):
            done = done[:min(len(done), count) - 1]     # the latest stage begun and ended: go on with it
        for number in range(len(done) + 1, count + 1):
            folder = stage_folder(out, number)
            going_on = resume and (number == 1 or (folder / CHECKPOINT).is_file())
            start = init if number == 1 else stage_folder(out, number - 1) / STAGE_WEIGHTS
            if not going_on and number > 1 and not start.is_file():
                raise VoxgenError(f"stage {number - 1}'s weights are missing: train afresh (without --resume)",
                                  start)
            if progress:
                print(f"{name}: stage {number} of {count} (run folder {folder})", file=sys.stderr)

            def starting(number=number, done=done):
                # this stage trains anew: what was done after its start is no more
                for later in range(number + 1, MAX_STAGES + 1):    # those of a longer spec too
                    set_aside_previous_run(stage_folder(out, later))
                _write_stages(out, done)
            record = run_stage(number, folder, going_on, None if going_on else start, done, starting)
            done = record["stages"]
            if Path(record["weights"]).resolve() != (folder / STAGE_WEIGHTS).resolve():
                _keep(Path(record["weights"]), folder / STAGE_WEIGHTS)
            _write_stages(out, done)
            if number < count and ends(number, done[-1]):
                if progress:
                    print(f"{name}: stage {number} grows it exactly: the later stages are not needed",
                          file=sys.stderr)
                break
        if weights is not None and Path(record["weights"]).resolve() != Path(weights).resolve():
            _keep(Path(record["weights"]), Path(weights))       # the stages ended early: these are the run's
            record = {**record, "weights": str(weights)}
    return {**record, "run": str(out)}


def fine_tuning_run(out: Path) -> bool:
    """Whether the run in `out` to resume is one stage from trained weights
    (`train --init` on a blueprint file that would be trained in stages):
    its checkpoint in `out` itself, where stages keep theirs in their
    folders and list themselves in STAGES; the later of the two where a
    folder holds both."""
    checkpoint, stages = out / CHECKPOINT, out / STAGES
    if not checkpoint.is_file():
        return False
    return not stages.is_file() or checkpoint.stat().st_mtime >= stages.stat().st_mtime


def ended(stage: dict, heals=()) -> bool:
    """Whether a stage's summary ends the stages: it stopped early, or its
    final check grew the blueprint exactly from every seed; and each of the
    regrowth checks `heals` (those later stages would train) is in its
    summary, passed."""
    grows = stage["stopped_early"] or ("exact" in stage and stage["exact"] == stage.get("n"))
    return grows and all(healed(stage.get(key)) for key in heals)


def summary(record: dict) -> dict:
    """What stages.json and the weights' record ("stages") keep of a stage's record."""
    final = record["final"]
    return {"iterations": record["iterations"], "wall_time_s": record["wall_time_s"],
            "stopped_early": record["stopped_early"],
            **{k: final[k] for k in ("exact", "n", "accuracy", "iou", *HEALS) if k in final}}


def _keep(weights: Path, kept: Path) -> None:
    """A copy of a stage's weights, whole or not at all."""
    with atomic_output(kept) as tmp:
        shutil.copyfile(weights, tmp)


def _write_stages(out: Path, done: list) -> None:
    with atomic_output(out / STAGES) as tmp:
        Path(tmp).write_text(json.dumps(done, indent=1) + "\n")


def _stages_done(out: Path) -> list:
    """The summaries in `out`'s STAGES file ([] without one)."""
    path = out / STAGES
    if not path.is_file():
        return []
    try:
        if path.stat().st_size > _MAX_STAGES_BYTES:
            raise ValueError(f"over {_MAX_STAGES_BYTES} bytes")
        done = json.loads(path.read_text())
        if not (isinstance(done, list) and all(_is_summary(d) for d in done)):
            raise ValueError("not a list of stage summaries")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise VoxgenError(f"cannot read the stages done ({err}): train afresh (without --resume)", path) from None
    return done


def _is_summary(stage) -> bool:
    """Whether `stage` holds what `summary` writes, as its readers use it."""
    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def fraction(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1

    return (isinstance(stage, dict) and isinstance(stage.get("stopped_early"), bool)
            and count(stage.get("iterations"))
            and isinstance(stage.get("wall_time_s"), (int, float)) and not isinstance(stage["wall_time_s"], bool)
            and math.isfinite(stage["wall_time_s"]) and stage["wall_time_s"] >= 0
            and all(count(stage[key]) for key in ("exact", "n") if key in stage)
            and all(fraction(stage[key]) for key in ("accuracy", "iou") if key in stage))
