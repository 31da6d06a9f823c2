"""Pictures of machines in motion: a block being pushed is drawn as itself.

While a piston moves blocks, each moving cell holds a `moving_piston`
placeholder for two game ticks; the block it carries lives in the physics'
moving-piston table (`cells.MMOVED`, a packed cell), not in the grid. A
snapshot decoded cell by cell (`SimResult.final`) therefore shows grey
placeholders where a flying machine's blocks are. Here each placeholder is
replaced by what it carries: the pushed block, the extending head
(`piston_head`) or the retracting base, at the cell it is moving into.
For pictures only: the physics and its reports are not changed.
"""

from __future__ import annotations

from voxgen.physics import cells as C
from voxgen.physics.engine import Machines
from voxgen.physics.simulate import cropped
from voxgen.physics.state import decode
from voxgen.structure import Structure


def carried_states(machines: Machines, b: int) -> dict[tuple, str]:
    """{position (the blueprint's coordinates): state} of the blocks machine `b`'s live moving
    pistons carry."""
    mp = machines.moving[b, :int(machines.meta[b, C.MPN])]
    live = mp[mp[:, C.MALIVE] == 1]
    return {(int(e[C.MX]), int(e[C.MY]), int(e[C.MZ])): decode(int(e[C.MMOVED]), machines.materials)
            for e in live}


def picture(machines: Machines, b: int) -> tuple[tuple, Structure]:
    """(origin (x, y, z), Structure cropped to machine `b`'s blocks) with every
    moving-piston cell showing the block it carries; a 1x1x1 air Structure
    at (0, 0, 0) when nothing is left."""
    pos, cells = machines.cells(b)
    carried = carried_states(machines, b) if len(pos) else {}
    states = []
    for p, c in zip(pos.tolist(), cells.tolist()):
        state = decode(int(c), machines.materials)
        if C.kind_of(c) == C.MOVING:
            state = carried.get(tuple(p), state)       # no entry: keep the placeholder
        states.append(state)
    origin, blocks, palette = cropped(pos, states)
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
