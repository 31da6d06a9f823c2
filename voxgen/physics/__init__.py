"""Functional-block physics (layer L2): Minecraft Java piston, slime and
observer behaviour, game tick by game tick (PHYSICS.md).

    World(structure, placement="quiet", version="modern")   one machine
    simulate(structure, ticks, placements=(), ...) -> SimResult
    simulate_batch(structures, ticks, placements_per_structure, ...) -> [SimResult]
    machine_spec(structure) -> MachineSpec | None
"""

from voxgen.physics.engine import World

__all__ = ["World"]
