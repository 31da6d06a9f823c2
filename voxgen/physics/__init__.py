"""Functional-block physics (layer L2): Minecraft Java piston, slime and
observer behaviour, game tick by game tick (PHYSICS.md).

    World(structure, placement="quiet", version="modern")   one machine
    simulate(structure, ticks, placements=(), ...) -> SimResult
    simulate_batch(structures, ticks, placements_per_structure, ...) -> [SimResult]
    machine_spec(structure) -> MachineSpec | None
"""

from voxgen.physics.engine import Machines, World
from voxgen.physics.simulate import MachineSpec, SimResult, machine_spec, simulate, simulate_batch

__all__ = ["World", "Machines", "simulate", "simulate_batch", "SimResult", "machine_spec",
           "MachineSpec"]
