"""`voxgen regen NAME`: grow, cut, regrow each part alone, compare, fly.

The pictures (--render DIR) are made here, at the edge: a montage PNG of
grown -> cut parts -> regrown parts, and a GIF of the parts regrowing side by
side and then, for machines, flying apart.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import click

from voxgen.cli import SEED, WEIGHTS, GivenPath
from voxgen.nca.config import MAX_GROWTH_STEPS

GAP = 3           # air cells between the two parts in the GIF
HOLD = 6          # GIF frames showing the grown whole, then the cut parts
STORY = 250       # at most this many GIF frames of regrowth, and as many of flight
FLIGHT_SHOWN = 400  # game ticks of flight the GIF shows at most (40 blocks at 0.1 a tick): the
                    # picture spans the whole flight, and --ticks may ask for millions


def sampled(n: int, every: int) -> list[int]:
    """0, every, 2 every, ... below n, and n - 1 (the end) always: at most
    STORY + 1 of them, `every` made larger for a long n, so that a long
    --steps or --ticks is sampled into the GIF, not held whole."""
    if n <= 0:
        return []
    picks = list(range(0, n, max(every, -(-n // STORY))))
    return picks if picks[-1] == n - 1 else picks + [n - 1]


def compose(placed, palette_hint=()) :
    """One Structure holding every (offset (3,), Structure) of `placed` at
    its offset, on the smallest box that holds them all (offsets may be
    negative; the box starts at the lowest corner). Returns (structure, lo)."""
    import numpy as np

    from voxgen.structure import Structure

    lo = np.min([np.asarray(o) for o, _ in placed], axis=0)
    hi = np.max([np.asarray(o) + s.shape for o, s in placed], axis=0)
    palette = ["minecraft:air"] + sorted({p for _, s in placed for p in s.palette[1:]} | set(palette_hint))
    index = {p: i for i, p in enumerate(palette)}
    blocks = np.zeros(tuple(int(v) for v in hi - lo), dtype=np.int32)
    for offset, s in placed:
        lut = np.array([index.get(p, 0) for p in s.palette], dtype=np.int32)
        solid = ~s.air_mask()
        at = np.argwhere(solid) + (np.asarray(offset) - lo)
        blocks[tuple(at.T)] = lut[s.blocks[solid]]
    return Structure(blocks, tuple(palette)), lo


def _in_box(structures_with_offsets, lo, shape):
    """Paste onto a fixed box (lo, shape) so every GIF frame shares one frame."""
    import numpy as np

    from voxgen.structure import Structure

    s, slo = compose(structures_with_offsets)
    blocks = np.zeros(tuple(int(v) for v in shape), dtype=np.int32)
    d = slo - lo
    src = tuple(slice(0, n) for n in s.shape)
    dst = tuple(slice(int(a), int(a) + n) for a, n in zip(d, s.shape))
    blocks[dst] = s.blocks[src]
    return Structure(blocks, s.palette)


def render_montage(report, path, size: int = 320) -> None:
    """grown | part i damaged | part i regrown, for trial 0, one PNG."""
    from voxgen.render.scene import Scene, joint_bounds, save_png

    f = report["frames"]
    damage = report["trials"][0]["damage"]
    panels = [(f.grown, "grown")]
    panels += [(s, f"part {i} {'cut' if damage == 'cut' else 'after ' + damage}")
               for i, s in enumerate(f.damaged)]
    parts = report["trials"][0]["parts"]
    panels += [(s, f"part {i} regrown{' (exact)' if parts[i]['exact'] else ''}")
               for i, s in enumerate(f.regrowing[-1])]
    # every panel's blocks in view: framed on the grown whole alone, a part
    # that overgrew it (grew twice, or sideways) was cut off at the edge
    lo, hi = joint_bounds([s for s, _ in panels])
    with Scene(size, panels=len(panels)) as scene:
        for i, (s, label) in enumerate(panels):
            scene.show(s, i)
            scene.label(label, i)
        scene.frame(lo, hi)
        save_png(scene.snapshot(), path)


def story_frames(report, trained, every_step: int = 2, every_tick: int = 2):
    """(frames, labels) of trial 0: the grown whole, the cut parts, the parts
    regrowing side by side, then (machines) flying from where they stand,
    for the first FLIGHT_SHOWN ticks at most."""
    import numpy as np

    from voxgen.regen_flight import flight_recipe, placements_for
    from voxgen.render.motion import flight_frames

    f = report["frames"]
    trial = report["trials"][0]
    axis = "xyz".index(trial.get("axis", "x"))
    grid = np.array(f.grown.shape)
    shifts = [np.eye(3, dtype=int)[axis] * (grid[axis] + GAP) * i for i in range(len(f.damaged))]
    scenes = [[(np.zeros(3, dtype=int), f.grown)]] * HOLD
    labels = ["grown from the seed"] * HOLD
    scenes += [[(shifts[i], s) for i, s in enumerate(f.damaged)]] * HOLD
    labels += [f"cut at {trial['axis']}={trial['at']}" if trial["damage"] == "cut"
               else trial["damage"]] * HOLD
    for k in sampled(len(f.steps), every_step):
        scenes.append([(shifts[i], s) for i, s in enumerate(f.regrowing[k])])
        labels.append(f"regrow step {f.steps[k]}")
    machine = flight_recipe(trained)[0] if report["machine"] else None
    if machine is not None and report["ticks"]:
        offsets = [p["offset"] for p in trial["parts"]]
        ticks = sampled(min(report["ticks"], FLIGHT_SHOWN) + 1, every_tick)
        plans = [placements_for(machine, trained.config.margin, o) for o in offsets]
        flights = flight_frames(f.regrowing[-1], plans, ticks)      # moving blocks as themselves
        for t, frame in zip(ticks, flights):
            scenes.append([(shifts[i] + np.asarray(origin), s) for i, (origin, s) in enumerate(frame)])
            labels.append(f"fly tick {t}")
    lo = np.min([np.asarray(o) for sc in scenes for o, _ in sc], axis=0)
    hi = np.max([np.asarray(o) + s.shape for sc in scenes for o, s in sc], axis=0)
    frames = [_in_box(sc, lo, hi - lo) for sc in scenes]
    return frames, labels


def render_story(report, trained, path, size: int = 384, fps: float = 10.0,
                 shown_as: str | None = None) -> tuple[int, float]:
    """The GIF (or MP4) of trial 0 regrowing and flying; returns the frames
    in the file (a GIF shows a held picture as one longer frame) and its
    length in seconds. `shown_as`: the name its progress bar gives it (a
    temporary file's by default)."""
    from voxgen.render.animate import write_animation

    frames, labels = story_frames(report, trained)
    final, _ = compose([((0, 0, 0), frames[0]), ((0, 0, 0), frames[-1])])
    written = write_animation(frames, path, final=final, labels=labels, size=size, fps=fps, shown_as=shown_as)
    return written, len(frames) / fps


def table(report) -> str:
    """The terminal table: one row per part of every trial, then the summary."""
    fly = report["machine"] is not None
    head = f"{'trial':>5} {'cut':>6} {'part':>4} {'blocks':>6} {'exact':>5} {'accuracy':>8} {'iou':>6} " \
           f"{'offset':>10} {'exact@':>6}" + (f" {'flies':>5} {'dist':>6} {'speed':>6}" if fly else "")
    rows = [head]
    for t in report["trials"]:
        where = f"{t['axis']}={t['at']}" if t["damage"] == "cut" else t["damage"]
        for p in t["parts"]:
            since = p["exact_since_step"]
            row = (f"{t['trial']:>5} {where:>6} {p['part']:>4} {p['blocks_after_damage']:>6} "
                   f"{'yes' if p['exact'] else 'no':>5} "
                   f"{p['accuracy']:>8.4f} {p['iou']:>6.3f} {str(p['offset']):>10} "
                   f"{'-' if since is None else since:>6}")
            if fly:
                row += f" {'yes' if p['flies'] else 'no':>5} {p['displacement']:>6.2f} {p['speed']:>6.3f}"
            rows.append(row)
    s = report["summary"]
    rows.append("")
    for part, r in s["parts"].items():
        line = (f"part {part}: exact {r['exact']}/{r['n']}  mean accuracy {r['accuracy']:.4f}  "
                f"exact since step mean {r['exact_since_step_mean']} max {r['exact_since_step_max']}")
        if fly:
            line += f"  flies {r['flies']}/{r['n']}  speed {r['speed_mean']} (expected {s['expected_speed']})"
        rows.append(line)
    grown_fly = f" (flies {s['grown_flies']}/{s['trials']})" if fly else ""
    if s["untouched"]:
        rows.append(f"{s['untouched']} of {s['n_parts']} parts lost no block to the damage: "
                    "their exact shows no regrowth")
    rows.append(f"{report['name']}: grown exact {s['grown_exact']}/{s['trials']}{grown_fly}, "
                f"{report['steps']} regrowth steps" + (f", {report['ticks']} ticks of flight" if fly else ""))
    rows.append("blocks: the part's blocks right after the damage; exact@: the step from which "
                "it stayed exact to the end (- if not exact at the end)")
    rows.append(report["flight"])
    return "\n".join(rows)


@click.command()
@click.argument("name", type=WEIGHTS)
@click.option("--damage", type=click.Choice(["cut", "sphere", "box", "random"]), default="cut",
              show_default=True, help="How the grown structure is damaged.")
@click.option("--axis", type=click.Choice(["x", "y", "z"]), default=None,
              help="Axis the cut crosses (default: the blueprint's longest).")
@click.option("--at", "at", default="half", show_default=True,
              help="Cut plane in blueprint coordinates: an integer, half, or random (half +- 2); "
                   "always leaves blocks on both sides.")
@click.option("--jitter", type=click.IntRange(min=0), default=2, show_default=True,
              help="--at random picks the middle +- JITTER.")
@click.option("--radius", type=click.FloatRange(min=0, max=1, min_open=True), default=0.3, show_default=True,
              help="--damage sphere: the ball's radius, a fraction of the blueprint's largest extent "
                   "(placed at random inside its box).")
@click.option("--rate", type=click.FloatRange(min=0, max=1, min_open=True), default=0.3, show_default=True,
              help="--damage random: the fraction of cells wiped.")
@click.option("--trials", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--steps", type=click.IntRange(0, MAX_GROWTH_STEPS), default=None,
              help="Regrowth steps after the damage (default: 2 x the training horizon).")
@click.option("--ticks", type=click.IntRange(min=1), default=None,
              help="Game ticks of flight for machines (default: 10 blocks' worth), rounded up to "
                   "whole machine cycles (the flying machine's is 10 ticks: 1 -> 10, 15 -> 20).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Trial i grows with firing seed SEED + i (so SEED + TRIALS - 1 <= 2^63 - 1); "
                   "also seeds the damage (--at random, where a ball or box lands, which cells --damage random wipes).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--render", "render_dir", type=GivenPath("a folder", "pictures", file_okay=False),
              default=None,
              help="Write DIR/NAME_regen.png (montage) and DIR/NAME_regen.gif (trial 0; at most "
                   f"{STORY} frames of regrowth and the first {FLIGHT_SHOWN} ticks of flight).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.pass_context
def regen(ctx, name, damage, axis, at, jitter, radius, rate, trials, steps, ticks, seed, as_json, render_dir,
          device):
    """Grow NAME, damage it, regrow every part alone and judge each one."""
    from voxgen.atomic_write import atomic_outputs, check_output
    from voxgen.cli import output_folder
    from voxgen.errors import ParameterError, VoxgenError
    from voxgen.grow import load_trained
    from voxgen.regen import regenerate
    from voxgen.regen_flight import flight_recipe

    given = {p for p in ("axis", "at", "jitter", "radius", "rate")
             if ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT}
    if damage != "cut" and given & {"axis", "at"}:
        raise VoxgenError(f"--{sorted(given & {'axis', 'at'})[0]} places a cut; "
                          f"--damage {damage} does not use it")
    for option, kind, what in (("radius", "sphere", "sizes a sphere"), ("rate", "random", "sets random damage")):
        if option in given and damage != kind:
            raise VoxgenError(f"--{option} {what}; --damage {damage} does not use it")
    if "jitter" in given and at != "random":
        raise VoxgenError("--jitter moves an --at random cut; it does nothing without --at random")

    if render_dir is not None:
        if Path(render_dir).exists() and not Path(render_dir).is_dir():
            raise VoxgenError("--render must name a directory", render_dir)
        from voxgen.render.offscreen import require_opengl
        require_opengl()                    # fail before the work, not after
    trained = load_trained(name, device=device)
    if ticks is not None:
        machine, note = flight_recipe(trained)
        if machine is None:
            raise VoxgenError(f"--ticks times a machine's flight, and there is none to fly: "
                              f"{note.removeprefix('no flight: ')}", trained.path)
    # --render's folder is made before the work (a folder that cannot be is told now) and
    # removed if the run fails (a refused option, Ctrl-C, a picture that cannot be written)
    with output_folder(Path(render_dir)) if render_dir is not None else nullcontext():
        if render_dir is not None:
            png, gif = (Path(render_dir) / f"{file_stem(trained.name)}_regen.{ext}" for ext in ("png", "gif"))
            check_output(png), check_output(gif)       # a picture that cannot be written: told before the work
        try:
            report = regenerate(trained, damage=damage, axis=axis, at=at, trials=trials, steps=steps,
                                ticks=ticks, seed=seed, jitter=jitter, radius=radius, rate=rate,
                                keep_frames=render_dir is not None)
        except ParameterError as err:     # the library names `at`; the user typed --at
            raise err.as_option(path=trained.path) from None
        if render_dir is not None:        # the pictures first: a report is printed only for a run that succeeded
            with atomic_outputs([png, gif]) as (png_tmp, gif_tmp):     # both pictures or neither
                render_montage(report, png_tmp)
                n, seconds = render_story(report, trained, gif_tmp, shown_as=gif.name)
        report.pop("frames", None)
        click.echo(json.dumps(report, indent=1) if as_json else table(report))
        if render_dir is not None:
            click.echo(f"wrote {png} and {gif} ({n} frames, {seconds:.1f} s)", err=as_json)


def file_stem(name: str) -> str:
    """A structure name as a file name inside the output folder: its last
    path part, control characters and separators dropped (`read_weights`
    refuses such names already; this keeps the folder whatever the name)."""
    stem = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())
    return stem.strip(".") or "structure"
