"""`voxgen train structures/NAME.toml | NAME | BLUEPRINT`: train an NCA to grow a structure."""

from __future__ import annotations

import json
import shlex

import click

from voxgen.cli import GivenPath


def _print_keys(ctx, _param, value):
    """--keys: print every spec key as `key = default` and its docstring, then exit."""
    if not value or ctx.resilient_parsing:
        return
    import textwrap

    from voxgen.nca.config import describe_keys
    from voxgen.nca.spec import allowed_values
    blueprint = ("blueprint", "my_house.schem", "Required, no default: the blueprint to grow, a file in any "
                 "format voxgen reads (a path relative to the spec file) or a shipped blueprint's NAME (tree).")
    for key, default, doc in [blueprint, *describe_keys()]:
        allowed = allowed_values(key)
        doc = f"{doc} Allowed: {allowed}." if allowed else doc
        click.echo(f"{key} = {json.dumps(default)}")
        click.echo(textwrap.fill(doc, 78, initial_indent="    ", subsequent_indent="    "))
    click.echo("[[stages]]")
    click.echo(textwrap.fill(STAGES_DOC, 78, initial_indent="    ", subsequent_indent="    "))
    ctx.exit()


STAGES_DOC = ("After the keys, each [[stages]] table is a later stage: the stage before's keys, these "
              "changed, trained from the stage before's weights (a fresh optimizer and pool, as --init "
              "starts), unless the stage before grows the blueprint exactly (and, where a later stage trains "
              "damage, has regrown 90% of its checks' damaged parts too). A stage keeps margin and "
              "seed_position and may only widen the model (hidden_channels, mlp_width, mlp_layers, "
              "perception_filters up; fixed perception to learned). At most 15.")


@click.command()
@click.option("--keys", is_flag=True, is_eager=True, expose_value=False, callback=_print_keys,
              help="List every key a spec may set, with its default and what it does, and exit.")
@click.argument("spec", type=GivenPath("a spec, a blueprint file or a NAME", "structures/tree.toml", dir_okay=False))
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--resume", is_flag=True, help="Continue from the run's last checkpoint (a spec with more hidden_channels, "
                   "mlp_width, mlp_layers or perception_filters, or learned perception in place of fixed, "
                   "widens the model without changing what it does). A run without it sets the run folder's "
                   "earlier checkpoint aside as checkpoint.previous.safetensors. A spec of stages goes on "
                   "with the latest stage begun.")
@click.option("--init", type=GivenPath("trained weights: a file or a NAME", "tree", dir_okay=False), default=None,
              help="Start a new run from these trained weights, a file or a shipped structure's NAME "
                   "(fine-tuning: the same blueprint, a fresh "
                   "optimizer and pool; a spec with more capacity widens them, as --resume does). Give the "
                   "spec a small lr (1e-4 to 3e-4): a fresh Adam moves every weight by about lr at first.")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Override the spec's iteration budget, each stage's in a spec of stages (with "
                   "--resume, the total: the checkpoint's own count trains nothing and writes its model as "
                   "the weights; stages done are not run again; another budget spreads the rest of the lr "
                   "schedule over the iterations left, so the lr goes on from where it was).")
@click.option("--out", type=GivenPath("a run folder", "runs/tree", file_okay=False), default=None,
              help="Run folder for metrics.jsonl, curve.png, the checkpoint and best.safetensors, the weights "
                   "of the best growth check so far (default runs/NAME; a spec of stages "
                   "runs each in a folder of its own there, stage1, stage2, ...).")
@click.option("--weights", type=GivenPath("the weights file", "tree.safetensors", dir_okay=False), default=None,
              help="Where to write the weights (default beside the spec: NAME.safetensors).")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for torch and the numba kernels (default: torch's own count, the cores "
                   "this process may use or OMP_NUM_THREADS; 1 is fastest on a CPU busy with other work). "
                   "A seeded run repeats exactly only with the same number of threads.")
def train(spec, device, resume, init, iterations, out, weights, threads):
    """Train the NCA of SPEC and save NAME.safetensors beside it.

    SPEC is a spec file (structures/NAME.toml: a blueprint and the settings
    that differ from the defaults, and any later stages as [[stages]]
    tables), a shipped structure's NAME (tree), or a blueprint file itself
    (house.schem, any format voxgen reads), trained with every default, or
    above 300 blocks in the two stages of the README's 'A larger
    structure'."""
    from voxgen.nca.model import DEFAULT_THREADS
    from voxgen.train import train as run_training

    record = run_training(spec, device=device, resume=resume, iterations=iterations, out=out,
                          weights_path=weights, threads=threads or DEFAULT_THREADS, init=init)
    click.echo(json.dumps(record, indent=2))
    click.echo(verdict(spec, record, out, weights, threads), err=True)


# Below this IoU of the grown blocks after a run of at least FAR_AFTER
# iterations, the verdict points to the two-stage recipe for larger
# structures: a house of 801 blocks trained with every default for 2000
# iterations reached 0.52 (about 560 blocks too many). A shorter run is
# far from its structure because it is short.
FAR_IOU = 0.9
FAR_AFTER = 1000


def verdict(spec: str, record: dict, out, weights, threads) -> str:
    """One line for the person at the terminal: what the weights grow (and,
    when something grows, how many cut halves and wiped balls regrew where
    the run checked them), and, when they do not grow the structure exactly from every seed checked,
    the command that trains on (the run's own folder, weights and threads;
    for a spec of stages, its last stage), or, where the run stopped
    because its loss stalled, what to do instead."""
    final, done, stages = record["final"], record["iterations"], record.get("stages")
    line = (f"voxgen: wrote {record['weights']}: {final['exact']} of {final['n']} seeds grow "
            f"{record['blueprint']} exactly ({final['accuracy']:.2%} of cells right) after {done} iterations")
    if stages:
        took = sum(s["wall_time_s"] for s in stages)
        line += (f" of stage {len(stages)} ({sum(s['iterations'] for s in stages)} in all, "
                 + (f"{took / 60:.0f} min)" if took >= 60 else f"{took:.0f} s)"))
    if final["exact"]:                       # what regrows, once something grows
        line += "".join(f"; {what} in {final[key]['exact']} of {final[key]['n']} tries" for key, what in
                        (("regrowth", "cut halves regrow"), ("sphere_regrowth", "a wiped ball regrows"))
                        if key in final)
    kept = record.get("best_of_checks")
    if kept:                                 # not the last weights: say whose, and what the last did
        last = kept["last"]
        line += (f" (the weights of its check at iteration {kept['iteration']}; its last weights grew "
                 f"{last['exact']} of {last['n']} seeds exactly"
                 + "".join(f", {what} in {last[key]['exact']} of {last[key]['n']}" for key, what in
                           (("regrowth", "cut halves regrew"), ("sphere_regrowth", "wiped balls regrew"))
                           if key in last) + ")")
    if record["stopped_early"] or final["exact"] == final["n"]:
        return line
    if "loss_stalled_at" in record:          # no gradient: more of the same run cannot help
        return (f"{line}; stopped: the loss has not changed since iteration {record['loss_stalled_at']} (growth "
                f"dies out within every rollout, leaving nothing to learn from), so --resume cannot help: "
                f"train afresh with another torch_seed or a lower lr")
    more = [f"--out {shlex.quote(out)}"] if out else []
    more += [f"--weights {shlex.quote(weights)}"] if weights else []
    more += [f"--threads {threads}"] if threads else []
    line = (f"{line}; to train on: voxgen train {shlex.quote(spec)} --resume --iterations {2 * done}"
            + "".join(" " + m for m in more))
    if final.get("iou", 1.0) < FAR_IOU and done >= FAR_AFTER and not stages:   # far off: more of the same rarely gets there
        line += (f"; far from it (IoU {final['iou']:.2f}: {final['extra']:.0f} blocks too many, "
                 f"{final['missing']:.0f} missing): a larger structure may need a larger model, see the "
                 f"README's 'A larger structure'")
    return line
