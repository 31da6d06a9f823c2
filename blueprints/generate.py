"""Write the bundled blueprints tree.toml, cottage.toml and temple.toml.

    .venv/bin/python blueprints/generate.py

Our own designs, built from a few shapes (discs, ellipsoids, rings, steps) so
they are easy to change. The output is deterministic: no random numbers, the
"organic" ragged edge of the tree canopy comes from a fixed coordinate hash.
Coordinates are [x, y, z]: +x east, +y up, +z south, as in Structure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxgen import formats
from voxgen.blocks import AIR
from voxgen.structure import Structure

HERE = Path(__file__).resolve().parent
DATA_VERSION = 3953  # Minecraft 1.21: the property sets below are what it writes


def stairs(block: str, facing: str) -> str:
    """A bottom-half straight stair; `facing` is the side of its tall back."""
    return f"minecraft:{block}[facing={facing},half=bottom,shape=straight,waterlogged=false]"


def log(block: str, axis: str) -> str:
    return f"minecraft:{block}[axis={axis}]"


class Volume:
    """An (X, Y, Z) grid of block-state strings, air to start with."""

    def __init__(self, size_x: int, size_y: int, size_z: int):
        self.grid = np.full((size_x, size_y, size_z), AIR, dtype=object)

    def set(self, x: int, y: int, z: int, state: str) -> None:
        self.grid[x, y, z] = state

    def box(self, lo, hi, state: str) -> None:
        """Fill the inclusive box lo..hi (both [x, y, z])."""
        (x0, y0, z0), (x1, y1, z1) = lo, hi
        self.grid[x0:x1 + 1, y0:y1 + 1, z0:z1 + 1] = state

    def ring(self, y: int, lo: int, hi: int, state: str, lo_z=None, hi_z=None) -> None:
        """The outline of the square x, z in lo..hi at height y."""
        lo_z = lo if lo_z is None else lo_z
        hi_z = hi if hi_z is None else hi_z
        self.grid[lo:hi + 1, y, [lo_z, hi_z]] = state
        self.grid[[lo, hi], y, lo_z:hi_z + 1] = state

    def structure(self, name: str, description: str) -> Structure:
        return Structure.from_states(self.grid, name=name, data_version=DATA_VERSION,
                                     metadata={"description": description,
                                               "generator": "blueprints/generate.py"})


# --- tree -------------------------------------------------------------------

LEAVES = "minecraft:oak_leaves[distance=1,persistent=true,waterlogged=false]"
GRASS = "minecraft:grass_block[snowy=false]"


def _hash01(x: int, y: int, z: int) -> float:
    """A fixed pseudo-random number in [0, 1) per cell (no RNG state)."""
    h = (x * 73856093) ^ (y * 19349663) ^ (z * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF) / 65536.0


def tree() -> Structure:
    """An oak, 9 x 11 x 9: grass disc, trunk with roots, four branches along
    x and z, and a ragged canopy of overlapping leaf ellipsoids."""
    v = Volume(9, 11, 9)
    for x in range(9):
        for z in range(9):
            if (x - 4) ** 2 + (z - 4) ** 2 <= 17:
                v.set(x, 0, z, GRASS)
    for y in range(1, 9):
        v.set(4, y, 4, log("oak_log", "y"))
    v.set(3, 1, 4, log("oak_log", "x"))           # roots
    v.set(4, 1, 5, log("oak_log", "z"))
    for x in (5, 6):
        v.set(x, 5, 4, log("oak_log", "x"))       # east branch
    for z in (5, 6):
        v.set(4, 4, z, log("oak_log", "z"))       # low south branch
    for z in (3, 2):
        v.set(4, 6, z, log("oak_log", "z"))       # north branch
    v.set(3, 7, 4, log("oak_log", "x"))           # west branch
    v.set(2, 7, 4, log("oak_log", "x"))

    # (centre x, y, z), (radius x, y, z): the crown and a tuft per branch end.
    blobs = [((4.0, 8.0, 4.0), (3.6, 2.6, 3.6)),
             ((6.6, 5.9, 4.0), (1.9, 1.5, 1.9)),
             ((4.0, 5.0, 6.6), (1.8, 1.3, 1.8)),
             ((4.0, 6.8, 1.6), (1.9, 1.5, 1.9)),
             ((1.8, 7.6, 4.0), (1.8, 1.5, 1.9))]
    for x, y, z in np.ndindex(v.grid.shape):
        if y == 0 or v.grid[x, y, z] != AIR:
            continue
        depth = min(sum(((p - c) / r) ** 2 for p, c, r in zip((x, y, z), centre, radius))
                    for centre, radius in blobs)
        # Solid inside; towards the surface some cells are left out.
        if depth <= 0.6 or (depth <= 1.0 and _hash01(x, y, z) > 0.3):
            v.set(x, y, z, LEAVES)
    return v.structure("tree", "An oak on a grass disc: trunk, roots, four branches, ragged canopy.")


# --- cottage ----------------------------------------------------------------

FULL_BLOCKS = {"minecraft:oak_planks", "minecraft:oak_log", "minecraft:cobblestone",
               "minecraft:stone_bricks"}


def _connect_panes(v: Volume) -> None:
    """Give every glass pane the side connections the game computes: a side
    connects to another pane or to a full block."""
    sides = {"north": (0, -1), "south": (0, 1), "west": (-1, 0), "east": (1, 0)}
    size_x, _, size_z = v.grid.shape
    for x, y, z in zip(*np.nonzero(v.grid == "minecraft:glass_pane")):
        props = {"waterlogged": "false"}
        for side, (dx, dz) in sides.items():
            nx, nz = x + dx, z + dz
            inside = 0 <= nx < size_x and 0 <= nz < size_z
            other = v.grid[nx, y, nz].partition("[")[0] if inside else AIR
            props[side] = str(other in FULL_BLOCKS or other == "minecraft:glass_pane").lower()
        v.set(x, y, z, "minecraft:glass_pane[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]")


def cottage() -> Structure:
    """A one-room cottage, 9 x 8 x 9: 7 x 7 walls under a spruce-stair roof
    that overhangs by one block on every side; ridge along x."""
    v = Volume(9, 8, 9)
    v.box((1, 0, 1), (7, 0, 7), "minecraft:stone_bricks")       # floor
    v.ring(0, 1, 7, "minecraft:cobblestone")                     # foundation
    for y in range(1, 4):
        v.ring(y, 1, 7, "minecraft:oak_planks")
    for x in (1, 7):
        for z in (1, 7):
            v.box((x, 1, z), (x, 4, z), log("oak_log", "y"))    # corner posts
    v.box((2, 4, 1), (6, 4, 1), log("oak_log", "x"))            # beams on the eaves walls
    v.box((2, 4, 7), (6, 4, 7), log("oak_log", "x"))
    v.box((1, 4, 2), (1, 4, 6), log("oak_log", "z"))            # beams on the gable walls
    v.box((7, 4, 2), (7, 4, 6), log("oak_log", "z"))
    for x in (1, 7):                                             # gable triangles
        v.box((x, 5, 2), (x, 5, 6), "minecraft:oak_planks")
        v.box((x, 6, 3), (x, 6, 5), "minecraft:oak_planks")
    for step in range(4):                                        # roof slopes
        v.box((0, 4 + step, step), (8, 4 + step, step), stairs("spruce_stairs", "south"))
        v.box((0, 4 + step, 8 - step), (8, 4 + step, 8 - step), stairs("spruce_stairs", "north"))
    v.box((0, 7, 4), (8, 7, 4), log("oak_log", "x"))            # ridge beam

    door = "minecraft:oak_door[facing=south,half={half},hinge=left,open=false,powered=false]"
    v.set(4, 1, 7, door.format(half="lower"))
    v.set(4, 2, 7, door.format(half="upper"))
    for x, z in ((3, 1), (5, 1), (2, 7), (6, 7), (1, 4), (7, 4)):
        v.set(x, 2, z, "minecraft:glass_pane")
    _connect_panes(v)
    v.set(5, 2, 8, "minecraft:wall_torch[facing=south]")         # beside the door, under the eave
    return v.structure("cottage", "A one-room oak cottage with a spruce-stair roof, door, windows and a torch.")


# --- temple -----------------------------------------------------------------

def temple() -> Structure:
    """A temple, 21 x 20 x 21: three stone-brick steps, a colonnade of quartz
    pillars round a sandstone cella, and a hollow stepped sandstone pyramid
    whose stairs face inward on all four sides."""
    v = Volume(21, 20, 21)
    for y in range(3):                                           # stepped base
        v.box((y, y, y), (20 - y, y, 20 - y), "minecraft:stone_bricks")
        for x in (y, 20 - y):
            for z in (y, 20 - y):
                v.set(x, y, z, "minecraft:chiseled_stone_bricks")
    v.box((4, 2, 4), (16, 2, 16), "minecraft:smooth_sandstone")  # inner floor
    for y in (0, 1, 2):                                          # entrance steps, south
        v.box((9, y, 20 - y), (11, y, 20 - y), stairs("stone_brick_stairs", "north"))

    columns = [(c, 3) for c in range(3, 18, 2)] + [(c, 17) for c in range(3, 18, 2)]
    columns += [(3, c) for c in range(5, 17, 2)] + [(17, c) for c in range(5, 17, 2)]
    for x, z in columns:
        v.box((x, 3, z), (x, 8, z), "minecraft:quartz_pillar[axis=y]")
        v.set(x, 9, z, "minecraft:chiseled_quartz_block")

    for y in range(3, 10):                                       # cella walls
        v.ring(y, 6, 14, "minecraft:sandstone" if y < 9 else "minecraft:chiseled_sandstone")
    v.box((9, 3, 14), (11, 5, 14), AIR)                          # doorway, south
    v.box((10, 6, 6), (10, 7, 6), AIR)                           # windows
    v.box((6, 6, 10), (6, 7, 10), AIR)
    v.box((14, 6, 10), (14, 7, 10), AIR)
    v.set(10, 3, 10, "minecraft:chiseled_quartz_block")          # altar
    v.set(10, 4, 10, "minecraft:lantern[hanging=false,waterlogged=false]")

    for level in range(9):                                       # pyramid roof
        y, lo, hi = 10 + level, 2 + level, 18 - level
        if lo == hi:
            v.set(lo, y, lo, "minecraft:chiseled_quartz_block")
            break
        v.box((lo + 1, y, lo), (hi - 1, y, lo), stairs("sandstone_stairs", "south"))
        v.box((lo + 1, y, hi), (hi - 1, y, hi), stairs("sandstone_stairs", "north"))
        v.box((lo, y, lo + 1), (lo, y, hi - 1), stairs("sandstone_stairs", "east"))
        v.box((hi, y, lo + 1), (hi, y, hi - 1), stairs("sandstone_stairs", "west"))
        for x in (lo, hi):
            for z in (lo, hi):
                v.set(x, y, z, "minecraft:chiseled_sandstone")
        if hi - lo > 2:
            v.ring(y, lo + 1, hi - 1, "minecraft:cut_sandstone")  # carries the next step
        else:
            v.set(lo + 1, y, lo + 1, "minecraft:cut_sandstone")
    v.set(10, 19, 10, "minecraft:lantern[hanging=false,waterlogged=false]")
    return v.structure("temple", "A stepped temple: colonnade, sandstone cella, hollow stair pyramid.")


BLUEPRINTS = {"tree": tree, "cottage": cottage, "temple": temple}


def main() -> None:
    for name, build in BLUEPRINTS.items():
        structure = build()
        path = formats.save(structure, HERE / f"{name}.toml")
        print(f"{path.name}: size {structure.shape}, {structure.count_non_air()} blocks, "
              f"{len(structure.palette)} states")


if __name__ == "__main__":
    main()
