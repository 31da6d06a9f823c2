"""Legacy .schematic and structure .nbt load times, next to a bare nbtlib
parse of the same file measured in the same run (the floor for a reader that
must look at every tag).

    .venv/bin/python bench/legacy_structure.py
"""

import time
from pathlib import Path

import nbtlib

from voxgen import formats

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
FILES = [SAMPLES / "schematics" / "schematic" / "Station.schematic",
         SAMPLES / "schematics" / "nbt" / "jungle_temple_2.nbt",
         SAMPLES / "anchor-nca" / "temples" / "Extra_mayan_temple.nbt",
         SAMPLES / "anchor-nca" / "terraforming" / "terraforming_delete32x32x32withgrassfloor.nbt"]


def best_of(fn, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'file':48s} {'cells':>9s} {'voxgen load':>12s} {'nbtlib parse':>13s} {'ratio':>6s}")
    for path in FILES:
        if not path.exists():
            print(f"{path.name}: absent")
            continue
        cells = formats.load(path).blocks.size
        ours = best_of(lambda: formats.load(path))
        bare = best_of(lambda: nbtlib.load(path))
        print(f"{path.name:48s} {cells:9d} {ours:11.3f}s {bare:12.3f}s {ours / bare:6.2f}")


if __name__ == "__main__":
    main()
