"""Physics speed: game ticks/s for one flying machine, machine-ticks/s for a
batch of flying machines, and the slow twin (tests/physics_twin.py) on the
same work, measured in the same run.

    .venv/bin/python bench/physics.py [--ticks 100000] [--batch 10000] [--batch-ticks 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from voxgen.formats import load  # noqa: E402
from voxgen.physics import Machines, machine_spec  # noqa: E402


def started(world_cls, structure, start):
    world = world_cls(structure)
    for tick, pos, state in start:
        if world.time < tick:
            world.tick(tick - world.time)
        world.place(pos, state)
    return world


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--batch-ticks", type=int, default=1_000)
    ap.add_argument("--twin-ticks", type=int, default=2_000)
    args = ap.parse_args()

    flying = load(ROOT / "blueprints" / "flying_machine.toml")
    start = machine_spec(flying).start

    for n in (1, 2):                            # load the compiled kernels
        Machines([flying] * n, [start] * n).run(50)

    slow = Machines([flying], [start], fast_forward=False)
    t0 = time.perf_counter()
    slow.run(args.ticks)
    stepped = args.ticks / (time.perf_counter() - t0)
    print(f"engine, one flying machine, tick by tick (no fast-forward): "
          f"{stepped:12,.0f} game ticks/s")

    machines = Machines([flying], [start])
    t0 = time.perf_counter()
    machines.run(args.ticks)
    single = args.ticks / (time.perf_counter() - t0)
    x = min(p[0] for p in machines.snapshot(0))
    print(f"engine, one flying machine, periodic fast-forward: {single:12,.0f} game ticks/s "
          f"({args.ticks} ticks, flew {x} blocks)")

    rates = {}
    for share in (False, True):
        t0 = time.perf_counter()
        batch = Machines([flying] * args.batch, [start] * args.batch, share_identical=share)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        batch.run(args.batch_ticks)
        dt = time.perf_counter() - t0
        rates[share] = args.batch * args.batch_ticks / dt
        how = ("identical machines simulated once (exact sharing)" if share
               else "every machine simulated (as for all-different machines)")
        print(f"engine, {args.batch} machines, {how}: {rates[share]:12,.0f} machine-ticks/s "
              f"({args.batch_ticks} ticks in {dt:.2f} s; placement of the batch {setup:.2f} s)")
        del batch
    rate = rates[False]

    try:
        from physics_twin import TwinWorld
    except ImportError as err:
        print(f"twin unavailable ({err})")
        return
    twin = started(TwinWorld, flying, start)
    t0 = time.perf_counter()
    twin.tick(args.twin_ticks)
    twin_rate = args.twin_ticks / (time.perf_counter() - t0)
    print(f"twin, one flying machine   : {twin_rate:12,.0f} game ticks/s "
          f"({args.twin_ticks} ticks)")
    print(f"engine tick by tick / twin : {stepped / twin_rate:12,.0f} x")
    print(f"engine batch / twin        : {rate / twin_rate:12,.0f} x (every machine simulated)")
    print("targets: one machine >= 100,000 ticks/s; batch >= 10,000,000 machine-ticks/s")


if __name__ == "__main__":
    main()
