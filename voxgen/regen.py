"""The regeneration harness (layer L4): grow, damage, let each part regrow
alone, compare it with the blueprint and, for machines, fly it.

    t = load_trained("caterpillar")
    report = regenerate(t, axis="z", at="random", trials=10, seed=0)
    report["summary"]                       # counts and means over all parts
    report["trials"][i]["parts"][j]         # part, exact, accuracy, iou, offset,
                                            # exact_since_step, flies, displacement, speed

Parts report blocks_after_damage (their blocks right after the damage),
blocks_removed (the grown blocks the damage took from them: 0 means the
part had nothing to regrow) and exact_since_step (None unless exact at the
end).

A bad argument raises `ParameterError` (a VoxgenError) naming the parameter
as the caller wrote it (`at=9: ...`); the CLI restates it as its option.

Coordinates: `at`, the reported damage (at, centre, lo/hi) and machine
placements are blueprint coordinates; the NCA grid is the blueprint box
plus `margin` cells, so grid = blueprint + margin.
All trials grow in one NCA batch, all parts regrow in one NCA batch, and all
regrown machines fly in one physics batch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from voxgen.cut_plane import axis_index, cut_masks, cut_position, solid_layers
from voxgen.errors import ParameterError, whole_number
from voxgen.grow import (MAX_SEED, Trained, check_memory, decode, grown_structure, run, sample_bytes,
                         seed_state)
from voxgen.metrics import compare, lost_off_grid, shifted
from voxgen.nca.config import MAX_GROWTH_STEPS
from voxgen.nca.target import decode_classes
from voxgen.regen_flight import default_ticks, flight_recipe, fly, machine_dict, whole_cycles

DAMAGES = ("cut", "sphere", "box", "random")
MAX_RADIUS = 1000.0      # a ball's radius, in the blueprint's largest extents: finite in the report


def damage_sizes(radius, rate, jitter) -> tuple[float, float, int]:
    """(radius, rate, jitter) as Python numbers (numpy ones too: they go
    into the JSON report). A negative radius or a rate past 1 is refused:
    it would silently damage nothing, or everything."""
    def real(param, value, ok, problem) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not ok(float(value)):
            raise ParameterError(param, value, problem)
        return float(value)
    return (real("radius", radius, lambda r: 0 <= r <= MAX_RADIUS,
                 f"must be a number in 0..{MAX_RADIUS} (a fraction of the blueprint's largest extent; "
                 f"from about 1.8 on it wipes everything)"),
            real("rate", rate, lambda r: 0 <= r <= 1, "must be a fraction in 0..1"),
            whole_number("jitter", jitter, 0))


# --- damage masks: bool (X, Y, Z) "keep" masks, one per part ----------------------

def sphere_mask(shape, centre, radius: float) -> list[np.ndarray]:
    """One part: everything outside the ball."""
    grid = np.indices(shape).reshape(3, -1).T
    d2 = ((grid - np.asarray(centre, float)) ** 2).sum(1).reshape(shape)
    return [d2 > radius ** 2]


def box_mask(shape, lo, hi) -> list[np.ndarray]:
    """One part: everything outside the half-open box [lo, hi)."""
    keep = np.ones(shape, bool)
    keep[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))] = False
    return [keep]


def random_mask(shape, rate: float, rng: np.random.Generator) -> list[np.ndarray]:
    """One part: each cell kept with probability 1 - rate."""
    return [rng.random(shape) >= rate]


def damage_masks(kind: str, blueprint_shape, margin: int, rng, axis=None, at="half",
                 radius: float = 0.3, rate: float = 0.3, jitter: int = 2,
                 solid: np.ndarray | None = None) -> tuple[list[np.ndarray], dict]:
    """Keep masks on the NCA grid (blueprint box + margin) and what was done.
    A cut leaves blocks of bool `solid` (blueprint-shaped, None: every cell)
    on both sides. sphere/box are placed at random inside the blueprint box;
    radius is a fraction of its largest extent, box sides half of each extent.
    The info gives positions (at, centre, lo/hi) in blueprint coordinates,
    as `at` is given, so a reader can redo the damage on the blueprint."""
    grid = tuple(n + 2 * margin for n in blueprint_shape)
    if kind == "cut":
        solid = np.ones(blueprint_shape, bool) if solid is None else solid
        a = axis_index(axis, blueprint_shape, solid)
        if axis is None and len(solid_layers(solid, a)) < 2:     # not the caller's axis: say so
            raise ParameterError("damage", kind, "no cut leaves blocks on both sides: the "
                                 "blueprint's blocks fill at most one cell")
        pos = cut_position(at, blueprint_shape[a], rng, jitter, solid_layers(solid, a), "xyz"[a])
        return cut_masks(grid, a, pos + margin), {"damage": "cut", "axis": "xyz"[a], "at": pos}
    if kind == "sphere":
        centre = [margin + rng.uniform(0, n - 1) for n in blueprint_shape]
        r = radius * max(blueprint_shape)
        return sphere_mask(grid, centre, r), {"damage": "sphere", "centre": [c - margin for c in centre],
                                              "radius": r}
    if kind == "box":
        size = [max(1, n // 2) for n in blueprint_shape]
        lo = [margin + int(rng.integers(0, n - s + 1)) for n, s in zip(blueprint_shape, size)]
        hi = [a + s for a, s in zip(lo, size)]
        return box_mask(grid, lo, hi), {"damage": "box", "lo": [a - margin for a in lo],
                                        "hi": [b - margin for b in hi]}
    if kind == "random":
        return random_mask(grid, rate, rng), {"damage": "random", "rate": rate}
    raise ParameterError("damage", kind, f"must be one of {', '.join(DAMAGES)}")


# --- exactness over time ---------------------------------------------------------

def exact_since_step(history: np.ndarray, steps_seen: list[int], target: np.ndarray, offset):
    """The step in `steps_seen` from which history[i] (X, Y, Z) shifted by
    `offset` equals `target` at every check through the last: the part has
    regrown and stayed so. None when the last check is not exact. A block
    the shift moves off the grid makes a check not exact."""
    moved = shifted(history, offset)
    exact = (moved == target).reshape(len(history), -1).all(1) & (lost_off_grid(history, offset, moved) == 0)
    if not exact[-1]:
        return None
    misses = np.nonzero(~exact)[0]
    return int(steps_seen[misses[-1] + 1 if len(misses) else 0])


# --- the harness -----------------------------------------------------------------

@dataclass
class RegenFrames:
    """Pictures of trial 0: the grown structure, each part right after the
    damage, and each part after every check (`steps` says which step)."""
    grown: object
    damaged: list
    regrowing: list             # [step][part] -> Structure
    steps: list


def _generators(seeds, device) -> list[torch.Generator]:
    """One generator per seed; seeds past 64 bits (SEED + i, a part's
    SEED * 1009 + ...) wrap round."""
    return [torch.Generator(device=device).manual_seed(int(s) % 2 ** 64) for s in seeds]


@torch.no_grad()
def regenerate(trained: Trained, *, damage: str = "cut", axis=None, at="half", trials: int = 10,
               steps: int | None = None, ticks: int | None = None, seed: int = 0,
               check_every: int = 1, window: int | None = None, keep_frames: bool = False,
               radius: float = 0.3, rate: float = 0.3, jitter: int = 2) -> dict:
    """Run `trials` regeneration trials; returns the report (see module doc).

    Trial i grows from the seed with firing seed `seed + i` (as `grow(seed=...)`
    does; seed + trials - 1 must stay <= 2^63 - 1), for the training horizon;
    then the damage splits it into parts (a cut leaves the blueprint's blocks
    on both sides; at="random": the middle +- `jitter` cells), each part
    alone in its own batch element, and every part runs `steps` more steps
    (default 2 x horizon), checked every `check_every` steps.
    Scores allow the best shift within `window` cells per axis (default: the
    grid margin); a block the shift moves off the grid is a wrong cell.
    exact_since_step: the check from which the part stayed exact to the end.
    Machines (their own blueprint, as the weights store it, has
    [meta.machine]) fly for `ticks` >= 1 game ticks (default 10 blocks'
    worth), rounded up to whole engine cycles; report["flight"] says where
    the recipe came from, or why there is no flight.
    `keep_frames` adds report["frames"], a RegenFrames of trial 0 (not
    JSON); the rest of the report is plain JSON types.

    Integer arguments take Python or numpy integers, not floats; a bad
    argument raises ParameterError naming it, before any work. The model
    and `trained` are not changed.
    """
    trials = whole_number("trials", trials, 1)
    seed = whole_number("seed", seed, 0)
    if trials - 1 > MAX_SEED:
        raise ParameterError("trials", trials, f"must be <= {MAX_SEED + 1} (trial i grows with firing seed "
                             f"seed + i, at most {MAX_SEED})")
    if seed > MAX_SEED - (trials - 1):
        raise ParameterError("seed", seed, f"the {trials} trials' seeds (this one and the next "
                             f"{trials - 1}) must stay <= {MAX_SEED}: use at most {MAX_SEED - (trials - 1)}")
    steps = 2 * trained.steps if steps is None else whole_number("steps", steps, 0)
    if steps > MAX_GROWTH_STEPS:
        raise ParameterError("steps", steps, f"must be <= {MAX_GROWTH_STEPS}")
    check_every = whole_number("check_every", check_every, 1)
    if ticks is not None and whole_number("ticks", ticks) < 1:
        raise ParameterError("ticks", ticks, "must be >= 1 (a flight of no ticks judges nothing)")
    window = None if window is None else whole_number("window", window, 0)
    radius, rate, jitter = damage_sizes(radius, rate, jitter)
    if damage not in DAMAGES:
        raise ParameterError("damage", damage, f"must be one of {', '.join(DAMAGES)}")
    if damage != "cut" and (axis is not None or not (isinstance(at, str) and at == "half")):
        name, value = ("axis", axis) if axis is not None else ("at", at)
        raise ParameterError(name, value, f"places a cut; damage={damage!r} does not use it")
    check_memory(trained, regen_bytes(trained, trials, 2 if damage == "cut" else 1, steps // check_every + 2,
                                      keep_frames), f"{trials} regeneration trials")
    device = trained.device
    margin = trained.config.margin
    if window is None:          # a shift past the margin pushes blueprint cells off the grid
        window = margin
    machine, flight_note = flight_recipe(trained)
    bp_shape = tuple(n - 2 * margin for n in trained.grid_shape)
    target = trained.target.blocks.astype(np.int16)
    solid = (target != 0)[tuple(slice(margin, margin + n) for n in bp_shape)]
    rng = np.random.default_rng(seed)
    damages = [damage_masks(damage, bp_shape, margin, rng, axis, at, radius, rate, jitter, solid)
               for _ in range(trials)]              # a bad `at` / `axis` refused before any work

    # grow every trial from its seed in one batch
    seeds = [seed + i for i in range(trials)]
    grown_state = run(trained, seed_state(trained, batch=trials), trained.steps,
                      _generators(seeds, device))
    grown = decode(trained, grown_state)

    # damage: each trial's parts become batch elements of one state
    parts, states, part_gens = [], [], []
    for i in range(trials):
        masks, info = damages[i]
        for j, keep in enumerate(masks):
            parts.append({"trial": i, "part": j, "info": info})
            states.append(grown_state[i] * torch.as_tensor(keep, device=device))
            part_gens.append(seeds[i] * 1009 + 17 * (j + 1))
    state = torch.stack(states)
    damaged = decode(trained, state)

    # regrow all parts together, remembering the classes every few steps
    def classes(s) -> np.ndarray:
        return decode_classes(trained.model, s).cpu().numpy().astype(np.int16)

    history, seen = [classes(state)], [0]

    def on_step(i, s):
        if (i + 1) % check_every == 0 or i + 1 == steps:
            history.append(classes(s))
            seen.append(i + 1)

    state = run(trained, state, steps, _generators(part_gens, device), on_step)
    regrown = decode(trained, state)
    history = np.stack(history)                                     # (S, P, X, Y, Z)

    results = []
    for p, info in enumerate(parts):
        m = compare(regrown[p], trained.target, translate=True, window=window)
        results.append({
            "part": info["part"], "exact": m["exact"], "accuracy": round(m["accuracy"], 6),
            "iou": round(m["iou"], 6), "offset": m["offset"], "wrong_cells": m["wrong_cells"],
            "blocks_after_damage": int(damaged[p].count_non_air()),
            # a sphere or box in the blueprint's air (or a sparse random draw)
            # can take no block: such a part's "exact" proves no regrowth
            "blocks_removed": int(grown[info["trial"]].count_non_air() - damaged[p].count_non_air()),
            "exact_since_step": exact_since_step(history[:, p], seen, target, m["offset"]),
        })

    if machine is not None:
        ticks = default_ticks(machine) if ticks is None else whole_cycles(ticks, machine)
        grown_offsets = [compare(g, trained.target, translate=True, window=window)["offset"]
                         for g in grown]
        flights = fly(regrown + grown, [r["offset"] for r in results] + grown_offsets,
                      machine, margin, ticks)
        for r, f in zip(results, flights):
            r.update(f)
        grown_flights = flights[len(results):]

    trials_out = []
    for i in range(trials):
        mine = [(p, r) for p, r in enumerate(results) if parts[p]["trial"] == i]
        g = compare(grown[i], trained.target)
        row = {"trial": i, "seed": seeds[i], **parts[mine[0][0]]["info"],
               "grown_exact": g["exact"], "grown_accuracy": round(g["accuracy"], 6)}
        if machine is not None:
            row["grown_flies"] = grown_flights[i]["flies"]
            row["grown_speed"] = grown_flights[i]["speed"]
        trials_out.append({**row, "parts": [r for _, r in mine]})
    report = {"name": trained.name, "damage": damage, "steps": steps,
              "ticks": ticks if machine else None, "check_every": check_every,
              "machine": machine_dict(machine) if machine else None, "flight": flight_note,
              "trials": trials_out, "summary": summarise(trials_out, machine)}
    if keep_frames:
        n0 = sum(1 for p in parts if p["trial"] == 0)
        report["frames"] = RegenFrames(
            grown=grown[0], damaged=damaged[:n0], steps=seen,
            regrowing=[[grown_structure(trained, h[p]) for p in range(n0)] for h in history])
    return report


def regen_bytes(trained: Trained, trials: int, parts: int, checks: int, keep_frames: bool) -> int:
    """Bytes `regenerate` holds at most: the grown trials and their parts as
    rollout samples, each part's classes at every check (int16), the
    decoded structures (int32), and trial 0's pictures if kept."""
    cells = math.prod(trained.grid_shape)
    n = trials * parts
    need = (trials + n) * sample_bytes(trained) + n * cells * 2 * checks + (2 * trials + 2 * n) * cells * 4
    return need + (checks * parts * cells * 4 if keep_frames else 0)



def summarise(trials: list[dict], machine) -> dict:
    """Counts per part index (exact, flies) and means over all parts;
    exact_since_step mean/max over the parts exact at the end; untouched:
    parts the damage took no block from (counted in exact all the same)."""
    by_part: dict[int, list] = {}
    for t in trials:
        for r in t["parts"]:
            by_part.setdefault(r["part"], []).append(r)
    every = [r for rs in by_part.values() for r in rs]
    out = {"trials": len(trials), "grown_exact": sum(t["grown_exact"] for t in trials),
           "parts": {}}
    for part, rs in sorted(by_part.items()):
        since = [r["exact_since_step"] for r in rs if r["exact_since_step"] is not None]
        row = {"n": len(rs), "exact": sum(r["exact"] for r in rs),
               "accuracy": round(float(np.mean([r["accuracy"] for r in rs])), 6),
               "iou": round(float(np.mean([r["iou"] for r in rs])), 6),
               "exact_since_step_mean": round(float(np.mean(since)), 2) if since else None,
               "exact_since_step_max": max(since) if since else None}
        if machine is not None:
            speeds = [r["speed"] for r in rs if r["flies"]]
            row.update(flies=sum(r["flies"] for r in rs),
                       speed_mean=round(float(np.mean(speeds)), 4) if speeds else None)
        out["parts"][str(part)] = row
    out["exact"] = sum(r["exact"] for r in every)
    out["n_parts"] = len(every)
    out["untouched"] = sum(r["blocks_removed"] == 0 for r in every)
    if machine is not None:
        out["flies"] = sum(r["flies"] for r in every)
        out["grown_flies"] = sum(t["grown_flies"] for t in trials)
        out["expected_speed"] = machine.blocks_per_tick
    return out
