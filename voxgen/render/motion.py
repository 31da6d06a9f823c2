"""Pictures of machines in motion: a block being pushed is drawn as itself.

While a piston moves blocks, each moving cell holds a `moving_piston`
placeholder for two game ticks; the block it carries lives in the physics'
moving-piston table, not in the grid. A picture shows each placeholder as
what it carries (the pushed block, the extending head or the retracting
base, at the cell it is moving into): `Machines.settled`, as
`SimResult.final` shows it too.
"""

from __future__ import annotations

from voxgen.physics.engine import Machines
from voxgen.physics.simulate import cropped
from voxgen.physics.state import decode
from voxgen.structure import Structure


def picture(machines: Machines, b: int) -> tuple[tuple, Structure]:
    """(origin (x, y, z), Structure cropped to machine `b`'s blocks) with every
    moving-piston cell showing the block it carries; a 1x1x1 air Structure
    at (0, 0, 0) when nothing is left."""
    pos, cells = machines.settled(b)
    origin, blocks, palette = cropped(pos, [decode(int(c), machines.materials) for c in cells])
    return origin, Structure(blocks, tuple(palette))


def flight_frames(parts: list[Structure], plans: list[list], ticks: list[int]) -> list[list]:
    """[frame][part] -> (origin, Structure) of each part's world after each
    game tick count in `ticks` (ascending), the parts flying together from
    their start placements `plans` (one list of (tick, pos, state) a part),
    as `simulate_batch` runs them (quiet placement). One run, stopped at
    each tick in turn."""
    machines = Machines(parts, plans)
    frames = []
    for t in ticks:
        machines.run(int(t))
        frames.append([picture(machines, b) for b in range(len(parts))])
    return frames
