"""Scenario fixtures (physics_fixtures/scenarios/*.toml) and the physics backends.

A scenario gives a layout (cells or inclusive boxes), player triggers at
ticks (applied when `world.time == tick`), full expected worlds after listed
ticks, and optionally the complete event log. Coordinates are the page's
(PHYSICS.md §4); the Structure handed to a backend starts at the layout's
minimum corner, so positions are shifted in and out here.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from voxgen.blocks import canonical
from voxgen.structure import Structure

FIXTURES = Path(__file__).parent / "physics_fixtures"
SCENARIOS = sorted((FIXTURES / "scenarios").glob("*.toml"))


def engine_world():
    """voxgen.physics.World, or None while the engine does not exist yet."""
    try:
        module = importlib.import_module("voxgen.physics")
    except ImportError:
        return None
    return getattr(module, "World", None)


def twin_world():
    from physics_twin import TwinWorld
    return TwinWorld


def expand(cells) -> dict:
    """[{pos, state} | {from, to, state}] -> {pos: canonical state}."""
    out = {}
    for c in cells:
        state = canonical(c["state"])
        if "pos" in c:
            out[tuple(c["pos"])] = state
        else:
            (x0, y0, z0), (x1, y1, z1) = c["from"], c["to"]
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    for z in range(z0, z1 + 1):
                        out[(x, y, z)] = state
    return {p: s for p, s in out.items() if s != "minecraft:air"}


@dataclass
class Scenario:
    name: str
    test: str
    ticks: int
    layout: dict
    triggers: list          # (tick, pos, state)
    expect: dict            # after tick -> full world {pos: state}
    events: list | None     # [(tick, pos, kind)] or None when the page gives none
    placement: str = "quiet"
    version: str = "modern"


def load_scenario(path) -> Scenario:
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    expect = {}
    for e in doc.get("expect", []):
        expect[e["after"]] = expect[e["same_as"]] if "same_as" in e else expand(e["cells"])
    events = doc.get("events")
    if events is not None:
        events = [(t, tuple(p), k) for t, p, k in events]
    triggers = [(t["tick"], tuple(t["place"]), canonical(t["state"])) for t in doc.get("triggers", [])]
    return Scenario(doc["name"], doc["test"], doc["ticks"], expand(doc["layout"]), triggers, expect,
                    events, doc.get("placement", "quiet"), doc.get("version", "modern"))


def structure_of(cells: dict) -> tuple[Structure, tuple]:
    """A Structure holding `cells`, and the page position of its (0, 0, 0)."""
    lo = tuple(min(p[i] for p in cells) for i in range(3))
    hi = tuple(max(p[i] for p in cells) for i in range(3))
    states = np.full([b - a + 1 for a, b in zip(lo, hi)], "minecraft:air", dtype=object)
    for p, s in cells.items():
        states[tuple(v - o for v, o in zip(p, lo))] = s
    return Structure.from_states(states), lo


def shift(pos, offset, sign=1):
    return tuple(p + sign * o for p, o in zip(pos, offset))


class Run:
    """A backend world driven in page coordinates; `world`, if given, is where
    the page's (0, 0, 0) lies in the game's world (else the backend's default
    place for the structure's corner)."""

    def __init__(self, factory, cells: dict, placement="quiet", version="modern", world=None):
        structure, self.lo = structure_of(cells)
        where = {} if world is None else {"origin": shift(self.lo, world)}
        self.world = factory(structure, placement=placement, version=version, **where)

    def place(self, pos, state):
        self.world.place(shift(pos, self.lo, -1), state)

    def use(self, pos):
        self.world.use(shift(pos, self.lo, -1))

    def tick(self, n=1):
        self.world.tick(n)

    def snapshot(self) -> dict:
        return {shift(p, self.lo): s for p, s in self.world.snapshot().items()}

    def events(self) -> list:
        return [(t, shift(p, self.lo), k) for t, p, k in self.world.events]


def run_scenario(factory, scn: Scenario):
    """Returns ({after tick: world}, event log) for ticks 0..scn.ticks."""
    run = Run(factory, scn.layout, scn.placement, scn.version)
    worlds = {0: run.snapshot()}
    for t in range(scn.ticks):
        for tick, pos, state in scn.triggers:
            if tick == t:
                run.place(pos, state)
        run.tick(1)
        worlds[t + 1] = run.snapshot()
    return worlds, run.events()


@pytest.fixture(params=["twin", "engine"])
def backend(request):
    """A World factory for each backend: the slow twin and the numba engine."""
    if request.param == "twin":
        return twin_world()
    world = engine_world()
    if world is None:
        pytest.skip("voxgen.physics.World does not exist yet (the engine is being written)")
    return world
