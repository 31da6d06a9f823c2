"""Random small worlds from the physics block set, with random player triggers.

`random_world(rng)` -> (cells {pos: state}, triggers [(tick, pos, state)], placement, version).
Worlds hold retracted and (with their heads) extended pistons, and optionally
doors and levers; triggers place redstone blocks, stone, slime, air,
hand-placed observers and sticky pistons, or use levers.
Everything is drawn from a numpy Generator, so a seed fixes the world.
"""

from __future__ import annotations

import numpy as np

FACINGS = ("down", "up", "north", "south", "west", "east")
SIZE = 6


def _block(rng) -> str:
    r = rng.random()
    facing = FACINGS[rng.integers(6)]
    if r < 0.22:
        return "minecraft:stone"
    if r < 0.42:
        return "minecraft:slime_block"
    if r < 0.48:
        return "minecraft:honey_block"
    if r < 0.52:
        return "minecraft:obsidian"
    if r < 0.56:
        return f"minecraft:white_glazed_terracotta[facing={facing}]"
    if r < 0.59:
        return "minecraft:cobweb"
    if r < 0.62:
        return "minecraft:redstone_block"
    if r < 0.76:
        return f"minecraft:observer[facing={facing},powered=false]"
    if r < 0.88:
        return f"minecraft:sticky_piston[extended=false,facing={facing}]"
    return f"minecraft:piston[extended=false,facing={facing}]"


DIRS = {"down": (0, -1, 0), "up": (0, 1, 0), "north": (0, 0, -1),
        "south": (0, 0, 1), "west": (-1, 0, 0), "east": (1, 0, 0)}


def _extend_some_pistons(rng, cells) -> None:
    """Turn about one piston in four whose front cell is air into an extended
    piston with its head (a consistent pair, as the game would hold it)."""
    for pos in sorted(cells):
        state = cells[pos]
        if "piston[extended=false" not in state or rng.random() > 0.25:
            continue
        facing = state.split("facing=")[1].rstrip("]")
        front = tuple(p + d for p, d in zip(pos, DIRS[facing]))
        if front in cells:
            continue
        sticky = state.startswith("minecraft:sticky")
        cells[pos] = state.replace("extended=false", "extended=true")
        cells[front] = (f"minecraft:piston_head[facing={facing},short=false,"
                        f"type={'sticky' if sticky else 'normal'}]")


def _add_levers_and_doors(rng, cells, size) -> list:
    """A few doors (both halves, oak or iron) and levers (floor, ceiling or
    wall, on or off) in free cells, supported or not. Returns the levers."""
    for _ in range(rng.integers(1, 4)):
        x, y, z = (int(v) for v in rng.integers(0, size, size=3))
        if (x, y, z) in cells or (x, y + 1, z) in cells:
            continue
        name = "minecraft:oak_door" if rng.random() < 0.7 else "minecraft:iron_door"
        props = (f"facing={FACINGS[2 + rng.integers(4)]},half=@,"
                 f"hinge={'left' if rng.random() < 0.5 else 'right'},open=false,powered=false")
        cells[(x, y, z)] = f"{name}[{props.replace('@', 'lower')}]"
        cells[(x, y + 1, z)] = f"{name}[{props.replace('@', 'upper')}]"
    levers = []
    for _ in range(rng.integers(1, 5)):
        pos = tuple(int(v) for v in rng.integers(0, size, size=3))
        if pos in cells:
            continue
        face = ("floor", "ceiling", "wall")[rng.integers(3)]
        cells[pos] = (f"minecraft:lever[face={face},facing={FACINGS[2 + rng.integers(4)]},"
                      f"powered={'true' if rng.random() < 0.4 else 'false'}]")
        levers.append(pos)
    return levers


TRIGGER_STATES = ("minecraft:redstone_block", "minecraft:stone", "minecraft:air", "minecraft:slime_block")


def random_world(rng, size: int = SIZE, ticks: int = 30, levers_and_doors: bool = False):
    """With `levers_and_doors`, the world also holds doors and levers, and some
    triggers are "use" (a right-click on a lever)."""
    fill = rng.uniform(0.15, 0.45)
    version = "1.12" if rng.random() < 0.15 else "modern"
    cells = {}
    for x in range(size):
        for y in range(size):
            for z in range(size):
                if rng.random() < fill:
                    block = _block(rng)
                    if version == "1.12" and block == "minecraft:honey_block":  # added in 1.15
                        block = "minecraft:slime_block"
                    cells[(x, y, z)] = block
    cells.setdefault((0, 0, 0), "minecraft:stone")
    _extend_some_pistons(rng, cells)
    triggers = []
    if levers_and_doors:
        for pos in _add_levers_and_doors(rng, cells, size):
            for _ in range(rng.integers(0, 3)):
                triggers.append((int(rng.integers(0, ticks // 2)), pos, "use"))
    for _ in range(rng.integers(1, 6)):
        tick = int(rng.integers(0, ticks // 2))
        pos = tuple(int(v) for v in rng.integers(-1, size + 1, size=3))
        r = rng.integers(len(TRIGGER_STATES) + 2)
        if r < len(TRIGGER_STATES):
            state = TRIGGER_STATES[r]
        elif r == len(TRIGGER_STATES):  # a hand-placed observer (fires only in 1.12)
            state = f"minecraft:observer[facing={FACINGS[rng.integers(6)]},powered=false]"
        else:                           # a hand-placed sticky piston
            state = f"minecraft:sticky_piston[extended=false,facing={FACINGS[rng.integers(6)]}]"
        triggers.append((tick, pos, state))
    triggers.sort(key=lambda t: t[0])
    placement = "loud" if rng.random() < 0.5 else "quiet"
    return cells, triggers, placement, version


EDITABLE = ("minecraft:air", "minecraft:stone", "minecraft:slime_block", "minecraft:honey_block",
            "minecraft:redstone_block", "minecraft:cobweb", "minecraft:obsidian")


def may_edit(state: str) -> bool:
    """Player triggers only touch simple cells (never piston parts or observers
    mid-pulse), so both backends see the same, supported edits."""
    return state.partition("[")[0] in EDITABLE or state.startswith("minecraft:white_glazed")
