"""Rendering speed on a 64^3 creature of 100k blocks.

Prints: mesh build time (numpy) against the per-cube twin from the tests in
the same run; time per frame at 512x512 (new mesh + render + read back, and
render + read back alone); time to write a 100-frame MP4 growth of a 30k-block
creature. Targets on a 2-core CPU without GPU: mesh < 20 ms, frame < 60 ms,
100-frame MP4 of 30k blocks < 6 s.

    .venv/bin/python bench/render.py [--quick] [--rough]

--quick skips the slow twin; --rough makes a creature with ~3x the visible faces.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from voxgen.render.animate import write_animation  # noqa: E402
from voxgen.render.mesh import build_mesh  # noqa: E402
from voxgen.render.reveal import reveal_frames  # noqa: E402
from voxgen.render.scene import Scene  # noqa: E402
from voxgen.structure import Structure  # noqa: E402

PALETTE = ["minecraft:air", "minecraft:stone", "minecraft:moss_block", "minecraft:oak_planks",
           "minecraft:slime_block", "minecraft:red_wool", "minecraft:gold_block"]


def creature(n_blocks: int, size: int = 64, seed: int = 0, roughness: float = 0.08) -> Structure:
    """A lumpy blob of exactly `n_blocks` blocks in a size^3 box: a smooth random
    field (sum of Gaussian lumps) plus noise of std `roughness`, thresholded at
    the right quantile; block type by height band, with random speckles.
    More roughness, more visible faces (0.08: ~22k faces; 0.3: ~62k)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(size)] * 3, indexing="ij"), axis=-1).astype(np.float32)
    field = np.zeros((size,) * 3, np.float32)
    for _ in range(40):
        centre = rng.uniform(0.2 * size, 0.8 * size, 3)
        width = rng.uniform(0.06, 0.18) * size
        field += np.exp(-((grid - centre) ** 2).sum(-1) / (2 * width ** 2))
    field += rng.normal(0, roughness, field.shape).astype(np.float32)      # rough skin
    order = np.argsort(field.ravel())[::-1][:n_blocks]
    blocks = np.zeros(size ** 3, np.int32)
    height = np.unravel_index(order, field.shape)[1]
    blocks[order] = 1 + (height * 4) // size
    speckle = order[rng.random(len(order)) < 0.05]
    blocks[speckle] = rng.integers(5, 7, len(speckle))
    return Structure(blocks.reshape((size,) * 3), PALETTE)


def timed(fn, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `repeat` calls. CPU time counts every
    thread of this process (llvmpipe renders on several); on a shared machine
    it shows the work done when wall time is inflated by other processes."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def ms(pair) -> str:
    return f"{pair[0] * 1e3:7.1f} ms (cpu {pair[1] * 1e3:6.1f})"


def main(quick: bool, roughness: float) -> None:
    big = creature(100_000, roughness=roughness)
    mesh = build_mesh(big)
    print(f"creature: 64^3 box, {big.count_non_air()} blocks, {mesh.n_faces} visible faces")

    t_mesh = timed(lambda: build_mesh(big), 20)
    print(f"mesh build (numpy)           {ms(t_mesh)}   target < 20 ms")
    if not quick:
        from render_mesh_twin import per_cube_faces

        t_twin = timed(lambda: per_cube_faces(big), 1)
        print(f"mesh build (per-cube twin)   {ms(t_twin)}   "
              f"numpy is {t_twin[0] / t_mesh[0]:.0f}x faster")

    other = big.masked(np.roll(~big.air_mask(), 1, axis=0))    # a different frame, same box
    with Scene(512, fixed_camera=True) as scene:      # as stills and animations use it
        scene.frame_structure(big)
        scene.show(big)
        scene.snapshot()                                          # first render: GL setup
        t_draw = timed(scene.snapshot, 20)
        frames = iter([big, other] * 20)
        t_frame = timed(lambda: (scene.show(next(frames)), scene.snapshot()), 20)
    print(f"frame 512x512 (render+read)  {ms(t_draw)}")
    print(f"frame 512x512 (mesh+render)  {ms(t_frame)}   target < 60 ms")

    small = creature(30_000, seed=1, roughness=roughness)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "growth.mp4"
        w, c = time.perf_counter(), time.process_time()
        n = write_animation(reveal_frames(small, 100), out, final=small, total=100, size=512,
                            progress=False)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        size_kb = out.stat().st_size / 1024
    print(f"MP4, {n} frames of <= {small.count_non_air()} blocks, 512x512: {wall:5.2f} s "
          f"(cpu {cpu:5.2f} s without ffmpeg's own; {wall / n * 1e3:.0f} ms/frame, "
          f"{size_kb:.0f} KiB)   target < 6 s")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv, roughness=0.3 if "--rough" in sys.argv else 0.08)
