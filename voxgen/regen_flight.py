"""Flying regrown machines (part of the regeneration harness, layer L4).

A regrown part lives on the NCA grid (blueprint box + margin) and may sit
shifted from the blueprint by `offset` (grid cell p holds the blueprint's
cell p + offset - margin). Its blueprint's start placements are moved the
same way, then every part flies in one `simulate_batch` call.
"""

from __future__ import annotations

import numpy as np

from voxgen import formats
from voxgen.errors import VoxgenError
from voxgen.physics import MachineSpec, machine_spec, simulate_batch
from voxgen.structure import Structure

FLY_FRACTION = 0.8
"""A part flies when it stays whole (the same cells, all moved by one shift)
and its blocks' centroid moved at least this fraction of the expected
distance (blocks_per_tick x ticks) along the blueprint's direction."""


def find_blueprint(trained) -> tuple[Structure | None, str]:
    """(blueprint, why): the blueprint named by the spec beside the weights
    (WEIGHTS.toml), or else by structures/NAME.toml, but only one whose
    blocks are the weights' own target (the weights store it); else None
    and a line saying why. A spec beside the weights that cannot be read, or
    names another structure, is refused (VoxgenError naming it)."""
    from voxgen.grow import STRUCTURES
    from voxgen.metrics import compare
    from voxgen.nca.spec import parse_spec
    beside = trained.path.with_suffix(".toml")
    fallback = STRUCTURES / f"{trained.name}.toml"
    for spec_path in (beside, fallback):
        if not spec_path.exists():
            continue
        try:
            blueprint = formats.load(parse_spec(spec_path).blueprint)
        except VoxgenError as err:
            if spec_path == beside:
                why = err.message if err.path == str(spec_path) else str(err)
                raise VoxgenError(f"cannot be read for the flight recipe ({why})",
                                  spec_path) from None
            return None, f"no flight: {spec_path} cannot be read"
        margin = trained.config.margin
        matches = tuple(n + 2 * margin for n in blueprint.shape) == trained.grid_shape and \
            compare(blueprint.pad(margin), trained.target)["exact"]
        if matches:
            return blueprint, f"flight recipe from {spec_path}"
        if spec_path == beside:
            raise VoxgenError(f"its blueprint is not the structure {trained.path.name} grows, "
                              "so its flight recipe does not apply", spec_path)
        return None, f"no flight: {spec_path}'s blueprint is not what these weights grow"
    return None, f"no flight: no spec beside the weights ({beside.name}) or {fallback}"


def flight_recipe(trained) -> tuple[MachineSpec | None, str]:
    """(machine, note): the [meta.machine] start recipe of the weights' own
    blueprint and where it came from, or None and why there is no flight."""
    blueprint, note = find_blueprint(trained)
    if blueprint is None:
        return None, note
    machine = machine_spec(blueprint)
    return (machine, note) if machine is not None else (None, "no flight: not a machine "
                                                         "(its blueprint has no [meta.machine])")


def default_ticks(machine: MachineSpec) -> int:
    """Ticks to fly about 10 blocks at the expected speed (100 if unknown)."""
    return int(round(10 / machine.blocks_per_tick)) if machine.blocks_per_tick > 0 else 100


def whole_cycles(ticks: int, machine: MachineSpec) -> int:
    """`ticks` rounded up to whole engine cycles (1 / blocks_per_tick ticks
    each), so the machine is judged at rest, not in mid-stroke."""
    if machine.blocks_per_tick <= 0:
        return int(ticks)
    period = max(1, int(round(1 / machine.blocks_per_tick)))
    return -(-int(ticks) // period) * period


def machine_dict(machine: MachineSpec) -> dict:
    return {"start": [[t, list(p), s] for t, p, s in machine.start],
            "direction": list(machine.direction), "blocks_per_tick": machine.blocks_per_tick}


def placements_for(machine: MachineSpec, margin: int, offset) -> list:
    """The start placements in grid coordinates of a part shifted by `offset`."""
    return [(t, tuple(int(p[i]) + margin - int(offset[i]) for i in range(3)), s)
            for t, p, s in machine.start]


def kept_whole(part: Structure, result, plan, shift) -> bool:
    """True when the cells the part fills after the flight are exactly the
    cells it filled at the start moved by `shift` (3 ints): nothing left
    behind, lost, or added (blocks the player placed are not counted)."""
    placed = {}
    for _, pos, state in plan:
        placed[tuple(pos)] = state
    final = result.final
    after = {tuple(int(v) for v in p + np.asarray(result.origin))
             for p in np.argwhere(~final.air_mask())}
    after = {p for p in after
             if placed.get(p) != final.palette[final.blocks[tuple(np.subtract(p, result.origin))]]}
    before = {tuple(int(v) for v in p + np.asarray(shift)) for p in np.argwhere(~part.air_mask())}
    return after == before


def _judge(part, result, plan, machine: MachineSpec, ticks: int) -> dict:
    direction = np.asarray(machine.direction, float)
    along = float(np.dot(result.displacement, direction / max(np.linalg.norm(direction), 1e-9)))
    expected = machine.blocks_per_tick * ticks
    far_enough = along >= FLY_FRACTION * expected if expected > 0 else along >= 1.0
    whole = kept_whole(part, result, plan, np.rint(direction * along).astype(int))
    return {"flies": bool(far_enough and whole), "kept_whole": bool(whole),
            "displacement": round(along, 4),
            "displacement_xyz": [round(v, 4) for v in result.displacement],
            "speed": round(along / ticks, 5) if ticks else 0.0, "moved": result.moved}


def fly(parts: list[Structure], offsets: list, machine: MachineSpec, margin: int,
        ticks: int) -> list[dict]:
    """Start and fly every part together; per part: flies, kept_whole, displacement
    (blocks along the blueprint's direction), displacement_xyz, speed
    (blocks per tick), moved, and `error` if the physics refused the part
    (then it does not fly)."""
    plans = [placements_for(machine, margin, o) for o in offsets]
    try:
        results = simulate_batch(parts, ticks, plans)
    except VoxgenError:                      # one bad part: fly them one by one
        results = []
        for part, plan in zip(parts, plans):
            try:
                results.append(simulate_batch([part], ticks, [plan])[0])
            except VoxgenError as err:
                results.append(err)
    out = []
    for part, plan, r in zip(parts, plans, results):
        if isinstance(r, VoxgenError):
            out.append({"flies": False, "kept_whole": False, "displacement": 0.0,
                        "displacement_xyz": [0.0] * 3, "speed": 0.0, "moved": False,
                        "error": str(r)})
        else:
            out.append(_judge(part, r, plan, machine, ticks))
    return out
