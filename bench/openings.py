"""Can a training recipe place a window in the middle of a wall?

    .venv/bin/python bench/openings.py [--iterations 800] [--threads 1] [--torch-seed S] [KEY=VALUE ...]

The temple's last wrong cells were 1 x 2 window openings in the middle of
three long walls: nothing near them marks the spot, so the rule must know
its position along the wall. This is the same trouble at toy size: an
11 x 5 x 11 room (a floor, walls 4 high, a window in the middle of three
walls, a 3-wide door in the fourth), seeded at the bottom centre. It trains
the room with the temple's model size and any spec overrides given as
KEY=VALUE (TOML values, e.g. fire_rate=1.0 perception='"learned"'), grows it
from seeds 0-4 and prints how many cells are wrong, and how many of them are
window cells. On the shared 2-core CPU (one thread, 800 iterations, 2.5-14
min a run): fixed perception or fire_rate < 1 missed the windows in every
run; learned perception with fire_rate 1 placed all three in 3 of 5 runs
(and missed one or two of them in the other two); with hard_weight=20.0
from the start as well, torch seeds 0-2 had 4, 1 and 8 cells wrong (3 of 3
runs missing window cells) where without it they had 0, 3 and 2: on the
temple hard_weight helped at the end of training, not from the start.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

N, HEIGHT = 11, 5
WINDOWS = [(0, y, N // 2) for y in (2, 3)] + [(N - 1, y, N // 2) for y in (2, 3)] \
    + [(N // 2, y, 0) for y in (2, 3)]
BASE = """batch = 4
pool_size = 32
steps = [32, 48]
hidden_channels = 16
mlp_width = 96
class_weight_power = 0.25
lr = 1e-3
damage_kinds = []
checkpoint_every = 100
"""


def room_layers() -> list[list[str]]:
    """Layers y = 0..HEIGHT-1 of the room, rows z, columns x ('M' floor,
    'F' wall, '.' air)."""
    layers = []
    for y in range(HEIGHT):
        rows = []
        for z in range(N):
            row = ""
            for x in range(N):
                wall = x in (0, N - 1) or z in (0, N - 1)
                door = z == N - 1 and abs(x - N // 2) <= 1 and y in (1, 2)
                block = "M" if y == 0 else "F" if wall and not door and (x, y, z) not in WINDOWS else "."
                row += block
            rows.append(row)
        layers.append(rows)
    return layers


def write_blueprint(path: Path) -> None:
    lines = ['name = "room"', "", "[palette]", '"." = "minecraft:air"',
             '"M" = "minecraft:stone_bricks"', '"F" = "minecraft:sandstone"', "", "[layers]"]
    for y, rows in enumerate(room_layers()):
        lines += [f"y{y} = '''", *rows, "'''"]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=800)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-seed", type=int, default=0)
    parser.add_argument("overrides", nargs="*", help="spec keys as KEY=VALUE (TOML values)")
    args = parser.parse_args()

    from voxgen.grow import grow, load_trained
    from voxgen.train import train

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_blueprint(tmp / "room_blueprint.toml")
        spec = tmp / "room.toml"
        spec.write_text(f'blueprint = "{tmp / "room_blueprint.toml"}"\n{BASE}torch_seed = {args.torch_seed}\n'
                        + "".join(f"{o}\n" for o in args.overrides))
        t = time.perf_counter()
        train(spec, device="cpu", out=tmp / "run", iterations=args.iterations,
              weights_path=tmp / "room.safetensors", progress=False, threads=args.threads)
        wall = time.perf_counter() - t
        trained = load_trained(tmp / "room.safetensors")
        target = torch.as_tensor(trained.target.blocks)   # the blueprint with the margin of air
        m = trained.config.margin
        windows = {(x + m, y + m, z + m) for x, y, z in WINDOWS}
        print(f"room {N}x{HEIGHT}x{N}, {args.iterations} iterations in {wall:.0f} s, "
              f"overrides: {' '.join(args.overrides) or 'none'}, torch_seed {args.torch_seed}")
        for seed in range(5):
            result = grow(trained, seed=seed, device="cpu")
            grown = torch.as_tensor(result.structure.blocks)
            wrong = {tuple(c) for c in (grown != target).nonzero().tolist()}
            print(f"seed {seed}: {len(wrong)} cells wrong (accuracy {result.metrics['accuracy']:.4f}), "
                  f"{len(wrong & windows)} of {len(windows)} window cells wrong")


if __name__ == "__main__":
    main()
