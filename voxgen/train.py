"""Training (layer L3): one loop, top to bottom.

    train(spec_path, device="auto", resume=False, iterations=None, out=None) -> dict

Each iteration: sample a batch from the pool of grown states, replace the
worst (by last loss) with fresh seeds, damage the best few, run a random
number of steps, score the end state (class cross-entropy weighted so rare
blocks count, plus the alive channel: `nca/loss.py`), step Adam on
normalised gradients and put the states back in the pool (with fire_rate 1
growth is deterministic, so the fresh seeds of a batch are grown once:
`distinct_runs`). Stops early once whole batches grow exactly (with
fire_rate 1: the fresh seed does) and fresh seeds confirm it. With
`average_from` set, what is checked and saved is the mean of the weights
every `average_every` iterations from then on, with `average_decay` their
exponential moving average (`average.py`). A run that ends without
passing its checks saves the weights of its best check instead of its last
when those did better (`nca/best.py`). Writes to `out` (default
runs/NAME/): metrics.jsonl, curve.png, checkpoint.safetensors (a fresh run
sets an earlier run's aside, and one run at a time holds the folder:
`nca/train_run.py`); and the weights to
structures/NAME.safetensors. A run whose loss stops changing (growth dies
out: no gradient) stops after STALL_ITERATIONS. Resuming with a spec that adds
capacity (hidden channels, MLP width or layers, perception filters, fixed ->
learned perception) widens the checkpoint's model without changing what it
does (`widen.py`). Resuming with `iterations` at the checkpoint's own count
trains nothing and writes the checkpoint's model as the weights. A spec of
stages (or a blueprint file of more than 300 blocks: the larger-structure
recipe) runs each stage as such a run in a folder of its own, from the
weights of the stage before (`nca/stages.py`).
"""

from __future__ import annotations

import math
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from voxgen import formats
from voxgen.atomic_write import check_output
from voxgen.errors import VoxgenError, make_dir
from voxgen.nca.active import rollout
from voxgen.nca.average import WeightMean
from voxgen.nca.best import BestWeights
from voxgen.nca.config import NCAConfig, lr_at, schedule_anchor
from voxgen.nca.device import pick_device
from voxgen.nca.damage import apply_damage, blocks_box
from voxgen.nca.evaluate import HEALS, check_growth, distinct_runs, heal, healed, healing_checks
from voxgen.nca.loss import class_weights, growth_loss
from voxgen.nca.model import NCA, set_threads
from voxgen.nca.spec import LARGE_BLOCKS, for_blueprint, parse_spec
from voxgen.nca.stages import STAGE_WEIGHTS, check_weights_outside, fine_tuning_run, run_stages, summary
from voxgen.nca.target import class_grid, decode_classes, encode, seed_state
from voxgen.nca.train_run import (BEST, CHECKPOINT, CURVE, METRICS, PREVIOUS_CHECKPOINT, History, check_run_files,
                                  check_weights_path, checkpoint_device, config_changes, hold_run_folder,
                                  load_optimizer, log_rows, open_log, optimizer_tensors, origin_path,
                                  plot_curve, resume_log, set_aside_previous_run)
from voxgen.nca.weights import model_state, plain_name, read_weights, save_weights
from voxgen.nca.widen import fit_checkpoint, fit_parameters
from voxgen.train_memory import check_memory


STALL_ITERATIONS = 50
"""Iterations of one unchanged batch loss after which a run stops: no
gradient reaches the weights (growth dies out within every rollout, and a
dead cell is all zeros whatever the weights), so nothing can change."""


def start_from(model: NCA, path, palette, classes: torch.Tensor) -> None:
    """Load the parameters of the trained weights at `path` into `model`
    (`train --init`: fine-tuning), widened when the spec adds capacity. The
    weights must be for the same target: palette and grid."""
    tensors, meta = read_weights(path)
    if list(meta["palette"]) != list(palette) or tuple(tensors["target.classes"].shape) != tuple(classes.shape):
        raise VoxgenError("these weights grow another structure (palette or grid differ from the spec's "
                          "blueprint and margin)", path)
    params = fit_parameters(model_state(tensors), NCAConfig.from_dict(meta["config"]), model, path)
    model.load_state_dict(params)


def train(spec_path, device: str = "auto", resume: bool = False, iterations: int | None = None,
          out=None, weights_path=None, progress: bool = True, threads: int | None = 1,
          init=None) -> dict:
    """Train the NCA of a structure spec; returns the training record (as
    saved in the weights' metadata) and where the weights and the run
    folder were written ("weights", "run"). `init`: trained weights to
    start from (a new run, fresh optimizer and pool). A spec of stages
    runs them in turn (`nca/stages.py`); `iterations` is then each one's."""
    spec = parse_spec(spec_path)
    if init is not None and resume:
        raise VoxgenError("init starts a new run from trained weights and resume goes on from the "
                          "run's checkpoint: give one of them")
    if iterations is not None and int(iterations) < 1:
        raise VoxgenError(f"iterations must be at least 1, got {iterations}")
    weights_path = Path(weights_path or spec.path.with_suffix(".safetensors"))
    out = Path(out) if out else Path("runs") / spec.name
    if spec.stages or spec.from_file:        # (a large blueprint file is trained in stages)
        check_weights_outside(weights_path, out)
    check_later = check_weights_path(weights_path, out)      # before training, not after
    if threads:
        set_threads(threads)
    dev = pick_device(device)
    blueprint = formats.load(spec.blueprint)
    padded = tuple(n + 2 * spec.config.margin for n in blueprint.shape)
    for cfg in spec.configs:
        check_memory(spec, cfg, 2, padded, dev)      # air and one block at least: before the class grid
    classes_palette = class_grid(blueprint)
    if len(classes_palette[1]) < 2:
        raise VoxgenError("blueprint has no blocks to grow (it is all air)", spec.blueprint)
    blocks = int((classes_palette[0] > 0).sum())
    larger = for_blueprint(spec, blocks, fine_tuning=init is not None or resume and fine_tuning_run(out))
    if larger is not spec and progress:
        how = (f"trained in {len(larger.configs)} stages" if larger.stages else
               "trained from --init's weights with the settings of the last stage" if init is not None else
               "its --init run resumed, with the settings of the last stage")
        print(f"{spec.path}: {blocks} blocks, more than the defaults suit "
              f"({LARGE_BLOCKS}): {how}, as the README's 'A larger structure' says (a spec of this blueprint "
              f"alone trains it with every default)", file=sys.stderr)
    spec = larger
    configs = [cfg if iterations is None else replace(cfg, iterations=int(iterations)) for cfg in spec.configs]
    for cfg in configs:
        check_memory(spec, cfg, len(classes_palette[1]), padded, dev)      # before the padded grid is made
    try:
        target = encode(blueprint, spec.config.margin, spec.config.seed_position, classes_palette)
    except VoxgenError as err:       # a seed_position outside the box or on air: the spec's to fix
        raise VoxgenError(err.message, err.path or spec.path) from None
    if len(configs) > 1:
        def run_stage(number, folder, going_on, start, done, starting):
            last = number == len(configs)       # the others' weights stay in their folders
            return _stage(spec, configs[number - 1], dev, target, folder,
                          weights_path if last else folder / STAGE_WEIGHTS, check_later and last, going_on,
                          start, progress, stages=done, starting=starting)
        return run_stages(spec.name, len(configs), out, resume, init, run_stage, progress,
                          heals=[healing_checks(cfg) for cfg in configs], weights=weights_path)
    return _stage(spec, configs[0], dev, target, out, weights_path, check_later, resume, init, progress)


def _stage(spec, cfg, dev, target, out, weights_path, check_later, resume, init, progress,
           stages=None, starting=None) -> dict:
    """One training run of config `cfg` in run folder `out`: the model (and
    `init`'s weights in it) made before the folder is, then the folder held
    for `_run`. `stages`: for a stage of a spec of stages, the summaries of
    the stages before (`nca/stages.py`)."""
    torch.manual_seed(cfg.torch_seed)
    model = NCA(len(target.palette), cfg).to(dev)
    classes = torch.as_tensor(target.classes, device=dev)                    # (X, Y, Z)
    if init is not None:
        from voxgen.grow import resolve_weights      # a shipped structure's NAME, as `grow` takes it
        init = resolve_weights(init)
        start_from(model, init, target.palette, classes)
    make_dir(out)
    if check_later:
        check_output(weights_path)
    with hold_run_folder(out):       # one run at a time in a run folder
        check_run_files(out)
        return _run(spec, cfg, dev, target, model, classes, out, weights_path, resume, init, progress,
                    stages, starting)


def _run(spec, cfg, dev, target, model, classes, out, weights_path, resume, init, progress,
         stages=None, starting=None) -> dict:
    """`train`'s loop, in run folder `out` (held), from `model` (fresh, or
    --init's weights): what `train` returns. For a stage of a spec of
    stages, `stages`: the summaries of the stages before, and `starting`:
    called once every check has passed, just before training."""
    ckpt_path = out / CHECKPOINT
    name = plain_name(spec.name)          # as weights files name it: a file's name may be any text

    # --- target tensors, optimizer, pool ---------------------------------------------
    k = len(target.palette)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    weights = class_weights(classes, k, cfg.class_weight_power)
    blocks = (classes > 0).float()[None, None]
    far_air = (F.max_pool3d(blocks, 3, 1, 1) == 0)[0, 0].float()
    seed = seed_state(model, classes.shape, target.seed, device=dev)        # (1, C, X, Y, Z)
    pool = seed.repeat(cfg.pool_size, 1, 1, 1, 1)
    pool_loss = torch.full((cfg.pool_size,), float("inf"))
    box = blocks_box(target.classes)           # damage is placed on the blocks, not on the air around them
    sampler = torch.Generator().manual_seed(cfg.torch_seed)                  # batches, damage
    firing = torch.Generator(device=dev).manual_seed(cfg.torch_seed + 1)    # firing masks
    start, elapsed, streak, history, kept, last_verify = 0, 0.0, 0, History(STALL_ITERATIONS), 0, -10**9
    verified, stalled_at, anchor = None, None, None      # anchor: `lr_at`'s, once a resume changed the budget
    # halves of a cut across an axis whose blocks lie in one layer: all of them and none (no half
    # regrows that, and training on them wipes the sample): neither damaged nor checked across it
    cut_axes = [a for a in cfg.halfcut_axes if box[1]["xyz".index(a)] - box[0]["xyz".index(a)] > 1]
    damage_kinds = [kind for kind in cfg.damage_kinds if kind != "halfcut" or cut_axes]
    mean = WeightMean(model)
    started_from = origin_path(init) if init is not None else None

    def save(path, weights: NCA, record: dict):     # weights of this run's target: the final ones, or the best's
        save_weights(path, weights, classes, name, target.palette, target.seed, record,
                     data_version=target.structure.data_version)
    best = BestWeights(out / BEST, cfg.verify_needed, healing_checks(cfg), save)
    if resume and not ckpt_path.exists() and progress:
        previous = out / PREVIOUS_CHECKPOINT
        print(f"no checkpoint at {ckpt_path}: nothing to resume, training from the start"
              + (f" ({previous} is the run before's, set aside when a fresh run began)"
                 if previous.exists() else ""), file=sys.stderr)
    if resume and ckpt_path.exists():
        tensors, meta = read_weights(ckpt_path, checkpoint=True)
        if list(meta["palette"]) != list(target.palette) or tuple(tensors["target.classes"].shape) != classes.shape:
            raise VoxgenError(f"this checkpoint is for another structure ({meta['name']}: palette or grid differ "
                              f"from the spec's blueprint and margin); give another --out", ckpt_path)
        saved = NCAConfig.from_dict(meta["config"])                            # the checkpoint's config
        if len(tensors["pool"]) != cfg.pool_size:
            raise VoxgenError(f"the checkpoint's pool holds {len(tensors['pool'])} states but the spec's pool_size "
                              f"is {cfg.pool_size}: resume with the same pool_size", ckpt_path)
        tensors = fit_checkpoint(tensors, saved, model, ckpt_path)
        model.load_state_dict(model_state(tensors))
        start, elapsed, streak = meta["iteration"], meta["elapsed_s"], meta["streak"]
        made_on = checkpoint_device(meta, tensors)
        try:
            load_optimizer(opt, tensors)
            sampler.set_state(tensors["rng.sampler"])
            if made_on == dev.type:
                firing.set_state(tensors["rng.firing"])
        except (RuntimeError, ValueError, KeyError, IndexError, TypeError) as err:
            raise VoxgenError(f"corrupt checkpoint (optimizer or random state: {str(err).splitlines()[0]})",
                              ckpt_path) from None
        made_with = meta.get("threads")     # the CPU's products round by thread count: said, as the device is
        if isinstance(made_with, int) and made_with != torch.get_num_threads() and dev.type == "cpu" and progress:
            print(f"{ckpt_path}: trained on {made_with} threads, resumed on {torch.get_num_threads()}: the run "
                  f"rounds otherwise from here on (--threads {made_with} goes on as it would have)", file=sys.stderr)
        if made_on != dev.type:             # another kind of generator: its state cannot carry over
            firing.manual_seed(cfg.torch_seed + 1 + start)
            if progress:
                print(f"{ckpt_path}: trained on {made_on}, resumed on {dev.type}: the firing masks go on from "
                      f"a new seed (the run differs from one that stayed on {made_on})", file=sys.stderr)
        pool, pool_loss = tensors["pool"].to(dev), tensors["pool_loss"]
        started_from = meta.get("started_from")
        mean.load(tensors, meta.get("averaged", 0), saved.average_decay)
        if cfg.iterations < start:
            raise VoxgenError(f"{ckpt_path}: the checkpoint is at iteration {start}, past "
                              f"iterations = {cfg.iterations} (give at least {start}; {start} writes its weights as they are)")
        stored = tuple(meta["lr_anchor"]) if meta.get("lr_anchor") else None
        anchor = schedule_anchor(saved, cfg, start, stored)
        if anchor != stored and progress:   # not the new budget's own schedule: said
            print(f"{ckpt_path}: iterations {saved.iterations} -> {cfg.iterations}: the {cfg.lr_schedule} lr "
                  f"schedule goes on from where it was (lr {lr_at(cfg, start, anchor):.3g} now), spread over "
                  f"the iterations left", file=sys.stderr)
        changed = config_changes(saved.to_dict(), cfg.to_dict())
        if changed and progress:            # allowed (a lower lr, wider model, ...), but said
            print(f"{ckpt_path}: resuming with the spec's settings, changed from the checkpoint's: "
                  f"{', '.join(changed)}", file=sys.stderr)
        edited = int((tensors["target.classes"].to(classes) != classes).sum())
        if edited and progress:             # an edited blueprint of the same palette and box: said too
            print(f"{ckpt_path}: the blueprint differs from the checkpoint's in {edited} cells: training goes "
                  f"on toward the blueprint as it is now", file=sys.stderr)
        kept, verified_at = resume_log(out / METRICS, start, history)      # losses and checks
        best.resume(model, target.palette, classes, target.seed, progress)
        last_verify = last_verify if verified_at is None else verified_at
    else:                   # a fresh run: --resume must not find another run's checkpoint
        previous = set_aside_previous_run(out)
        if previous is not None and progress:
            print(f"a fresh run: the previous run's checkpoint is kept as {previous}", file=sys.stderr)
    if starting is not None:        # a stage of a spec of stages, about to train: `run_stages` says so
        starting()
    saved_at = start if resume and ckpt_path.exists() else None       # the iteration the checkpoint holds
    log = open_log(out / METRICS, kept)

    def diverged(it: int, what: str):
        kept_file = f"the last good checkpoint, {ckpt_path}, is kept" if ckpt_path.exists() else "no weights written"
        if saved_at == it:      # resumed, it meets this very batch again: no lr acts before its loss
            kept_file = (f"{ckpt_path} is kept, but at this iteration, so --resume with a lower lr diverges "
                         f"again: lower the loss weights, or train afresh")
        raise VoxgenError(f"training diverged at iteration {it} ({what}): lower lr (or lr_final) or the "
                          f"loss weights (hard_weight, alive_weight, skin_weight, focal_gamma); {kept_file}",
                          spec.path)

    def finite_model(it: int) -> None:
        """Refuse to save weights (or a weight average) that are not finite."""
        tensors = [*model.state_dict().values(), *mean.tensors().values()]
        if not all(bool(torch.isfinite(t).all()) for t in tensors):
            diverged(it, "weights not finite")

    def checkpoint(it: int) -> None:
        nonlocal saved_at
        finite_model(it)
        extra = {"pool": pool, "pool_loss": pool_loss, "rng.sampler": sampler.get_state(),
                 "rng.firing": firing.get_state(), **optimizer_tensors(opt), **mean.tensors()}
        save_weights(ckpt_path, model, classes, name, target.palette, target.seed,
                     record={}, extra_tensors=extra, data_version=target.structure.data_version,
                     extra_meta={"iteration": it, "elapsed_s": elapsed, "streak": streak, "averaged": mean.n,
                                 "device": dev.type, "threads": torch.get_num_threads(),
                                 **({"lr_anchor": list(anchor)} if anchor else {}),
                                 **({"started_from": started_from} if started_from else {})})
        saved_at = it

    from tqdm import tqdm
    bar = tqdm(range(start, cfg.iterations), initial=start, total=cfg.iterations,
               disable=not progress, unit="it",
               desc=f"{spec.name}{'' if stages is None else f' stage {len(stages) + 1}'} ({dev.type})")
    t0 = time.perf_counter() - elapsed
    it = start - 1      # the last iteration run (none yet)
    for it in bar:
        lr = lr_at(cfg, it, anchor)
        for group in opt.param_groups:
            group["lr"] = lr

        # sample; reseed the worst; damage the best
        idx = torch.randperm(cfg.pool_size, generator=sampler)[:cfg.batch]
        x = pool[idx].clone()                                                 # (B, C, X, Y, Z)
        order = torch.argsort(pool_loss[idx], descending=True)                # worst first
        x[order[:cfg.reseed]] = seed
        if it >= cfg.damage_after and damage_kinds:
            for j in order[cfg.reseed:][-cfg.damage_count:] if cfg.damage_count else []:
                kind = damage_kinds[int(torch.randint(len(damage_kinds), (), generator=sampler))]
                x[j:j + 1] = apply_damage(x[j:j + 1], kind, cfg, box, sampler, cut_axes)

        # grow for a random number of steps and learn from the end state
        lo, hi = cfg.steps
        steps = int(torch.randint(lo, hi + 1, (), generator=sampler))
        runs, back = (t.to(dev) for t in distinct_runs(order, cfg.reseed, cfg.deterministic))
        grown = rollout(model, x[runs], steps, firing)                        # (R, C, X, Y, Z)
        run_loss = growth_loss(model, grown, classes, weights, far_air)       # (R,)
        counts = torch.bincount(back, minlength=len(runs)).to(run_loss)
        loss = (run_loss * counts).sum() / cfg.batch                          # the batch mean
        x, loss_per = grown[back], run_loss[back]                             # (B, ...), (B,)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norms = []
        for p in model.parameters():
            if p.grad is not None:
                norm = p.grad.norm()
                norms.append(norm)
                p.grad /= norm + 1e-8
        # one check (one sync) per iteration: a loss or gradient that is not
        # finite stops the run before the step spoils the weights
        if not bool(torch.isfinite(torch.stack([loss.detach(), *norms])).all()):
            bar.close()
            log.close()
            value = float(loss.detach())
            diverged(it, f"loss {value:g}" + ("" if not math.isfinite(value) else ", gradients not finite"))
        loss_value = float(loss.detach())
        skipped = history.spike(loss_value, cfg.skip_spikes)
        if not skipped:
            opt.step()
        mean.after_iteration(model, it + 1)

        with torch.no_grad():
            if not skipped:
                pool[idx] = x.detach()
                pool_loss[idx] = loss_per.detach().cpu()
            right = (decode_classes(model, x) == classes).flatten(1)
            accuracy = float(right.float().mean())
            exact = int(right.all(1).sum())
        elapsed = time.perf_counter() - t0
        row = {"it": it, "loss": loss_value, "accuracy": accuracy, "exact": exact,
               "batch": cfg.batch, "steps": steps, "lr": lr, "time_s": round(elapsed, 3),
               **({"skipped": True} if skipped else {})}
        history.add(row)
        log_rows(log, [row], out / METRICS)
        bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{accuracy:.4f}", exact=f"{exact}/{cfg.batch}", refresh=False)
        stalled_at = history.stalled()
        if stalled_at is not None:
            break

        # early stop: whole batches exact for a while, then fresh seeds confirm
        # (with fire_rate 1 growth from the seed is the same in every seed, so
        # the batch's fresh seed growing exactly is enough to ask)
        seed_exact = cfg.deterministic and cfg.reseed > 0 and bool(right[int(order[0])].all())
        streak = streak + 1 if exact == cfg.batch or seed_exact else 0
        if streak >= cfg.stop_streak and it - last_verify >= cfg.verify_gap:
            last_verify = it
            judged = mean.model(model)          # the weights that would be saved
            check = check_growth(judged, classes, target.seed, cfg.horizon, range(cfg.verify_seeds),
                                 long_if_exact=cfg.verify_needed)     # grown on to 4x only if it may pass
            row["verify"] = check
            passed = check["exact"] >= cfg.verify_needed and check["long_accuracy"] >= 0.99
            for key in healing_checks(cfg) if passed else ():
                # trained to heal: cut halves (or, trained on balls alone, the
                # grown structure with a ball wiped) must regrow too, in >= 90% of tries
                check[key] = heal(key, judged, classes, target.seed, cfg, cut_axes)
                passed = passed and healed(check[key])
            log_rows(log, [{"it": it, "verify": check}], out / METRICS)
            if passed:
                verified = check
                break
            best.offer(it, check, judged)
        if (it + 1) % cfg.checkpoint_every == 0:
            checkpoint(it + 1)
    bar.close()
    log.close()
    elapsed = time.perf_counter() - t0
    iterations_done = it + 1
    checkpoint(iterations_done)
    model = mean.model(model)

    def judge(weights: NCA) -> dict:        # as a check scores them, the long growth and healing too
        check = check_growth(weights, classes, target.seed, cfg.horizon, range(cfg.verify_seeds))
        return {**check, **{key: heal(key, weights, classes, target.seed, cfg, cut_axes)
                            for key in healing_checks(cfg)}}
    final, kept_best = verified or judge(model), None
    if not verified and iterations_done > start:    # an earlier check's weights, if they do better
        model, final, kept_best = best.choose(model, final, judge)
    for key, damage in HEALS.items():
        if key not in final and damage in cfg.damage_kinds:
            final[key] = heal(key, model, classes, target.seed, cfg, cut_axes)
    record = {"iterations": iterations_done, "wall_time_s": round(elapsed, 1), "device": str(dev),
              "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "stopped_early": verified is not None,
              "final": final, "blueprint": spec.blueprint.name}
    if dev.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(dev)
    if started_from:
        record["started_from"] = started_from
    if stalled_at is not None:
        record["loss_stalled_at"] = stalled_at
    if kept_best is not None:
        record["best_of_checks"] = kept_best
    if stages is not None:
        record["stages"] = [*stages, summary(record)]
    if mean.n:
        record["averaged"] = ({"from": cfg.average_from, "decay": cfg.average_decay, "iterations": mean.n}
                              if cfg.average_decay else
                              {"from": cfg.average_from, "every": cfg.average_every, "weights": mean.n})
    save(weights_path, model, record)
    if history.points:
        try:
            plot_curve(history.points, out / CURVE)
        except VoxgenError as err:      # (a full disk): what the run made is kept, and said
            raise VoxgenError(f"{err.message}; the weights are written, to {weights_path}", err.path) from None
    return {**record, "weights": str(weights_path), "run": str(out)}     # where they went (not in the metadata)
