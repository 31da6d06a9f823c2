"""The arms the game gives fences, walls, panes and iron bars, and the
lines it gives redstone wire (`wire`), saved with no side connected, for
pictures (`mesh.build_mesh(shapes=True)`).

    drawn = with_joined_sides(structure)     # new entries after the palette's own

Files upgraded from 1.12 (legacy .schematic, 1.12 structure .nbt) save every
fence, wall, pane, iron bars and redstone wire with no side connected;
placed in the world, the game recomputes the sides from the neighbours
(updateFromNeighbourShapes). Pictures do the same for those states only: a
state with a side set was saved by the game and is drawn as stored (a
neighbour outside the saved region may be why). Only the neighbours
`_joined_by` lists are joined: full cubes, the other connectors as the game
pairs them, and a full side of a block that collides (a stair's back).

A wall joined so takes its height and post from what stands on it, as the
game's WallBlock does (`_on_top`): a side is tall where the bottom face of
the block on top covers it; the post stays at a corner or an end, under a
wall with its post, and on a straight run that is not tall on both sides
under a torch, sign, banner or pressure plate (the tag wall_post_override)
or a bottom face covering the post. Walls are joined top layer first, so
that a wall under a wall sees it joined.
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import block_id, join_state, properties
from voxgen.render.neighbours import SIDE_STEPS, NewEntries, entry_at, face, full_cube, in_slabs, opposite
from voxgen.render.shapes import SIDES, block_shape, connected_sides, connector
from voxgen.render.wire import joined_wire
from voxgen.structure import Structure

# Kinds of block that reach out to their neighbours, as bits.
FENCE, NETHER_FENCE, PANE, WALL = 1, 2, 4, 8
# Full cubes nothing joins: the game's exceptions (isExceptionForConnection).
_JOIN_NONE = frozenset({"barrier", "pumpkin", "carved_pumpkin", "jack_o_lantern", "melon"})
_JOIN_NONE_SUFFIXES = ("_leaves", "shulker_box")


def _reach(state: str) -> int:
    """The kind bit of a fence, nether brick fence, wall or pane / iron bars
    `state` saved with no side connected, else 0."""
    path = block_id(state).partition(":")[2]
    kind = {"fence": NETHER_FENCE if path == "nether_brick_fence" else FENCE,
            "pane": PANE, "wall": WALL}.get(connector(state), 0)
    return kind if kind and not connected_sides(properties(state)) else 0


def _joined_by(state: str) -> list[int]:
    """Per side s of SIDES, the kinds (bits) that join `state` when it lies on their side s."""
    path = block_id(state).partition(":")[2]
    kind = connector(state)
    every = FENCE | NETHER_FENCE | PANE | WALL
    if full_cube(state):
        return [0 if path in _JOIN_NONE or path.endswith(_JOIN_NONE_SUFFIXES) else every] * 4
    if kind == "fence":
        return [NETHER_FENCE if path == "nether_brick_fence" else FENCE] * 4
    if kind in ("pane", "wall"):
        return [PANE | WALL] * 4
    if kind == "fence_gate":               # only in line: a gate facing north joins east and west
        facing = properties(state).get("facing", "north")
        along = SIDES.index(facing if facing in SIDES else "north") % 2
        return [0 if s % 2 == along else FENCE | NETHER_FENCE | WALL for s in range(4)]
    # a full face towards the block joining it (a stair's back); none without collision
    return [every if block_shape(state) is not None and face(state, opposite(side)).all() else 0
            for side in SIDES]


def joined_state(state: str, sides: list[str]) -> str:
    """`state` (a fence, pane or iron bars) connected on `sides` only."""
    props = properties(state)
    for side in SIDES:
        props[side] = str(side in sides).lower()
    return join_state(block_id(state), props)


# What the block on a wall does to it, as bits: per side s of SIDES, bit s:
# its bottom face covers that side's test box (the side is tall); and:
POST_COVERED, POST_OVERRIDE, WALL_WITH_POST = 16, 32, 64
# The game's test boxes (x0, z0, x1, z1) on the bottom face of the block on top.
_SIDE_TESTS = {"north": (7, 0, 9, 9), "east": (7, 7, 16, 9), "south": (7, 7, 9, 16), "west": (0, 7, 9, 9)}
_POST_TEST = (7, 7, 9, 9)
# The tag wall_post_override: torches, tripwire, signs (standing and on a
# wall, not hanging), banners and pressure plates.
_POST_OVERRIDE = frozenset({"torch", "soul_torch", "redstone_torch", "copper_torch", "tripwire", "sign", "wall_sign"})


def _on_top(state: str) -> int:
    """The bits above for `state` standing on a wall."""
    bottom = face(state, "down")
    bits = sum(1 << s for s, side in enumerate(SIDES) if _covers(bottom, _SIDE_TESTS[side]))
    bits |= POST_COVERED if _covers(bottom, _POST_TEST) else 0
    path = block_id(state).partition(":")[2]
    if path in _POST_OVERRIDE or path.endswith(("_pressure_plate", "_banner")) or (
            path.endswith("_sign") and not path.endswith("hanging_sign")):
        bits |= POST_OVERRIDE
    if connector(state) == "wall" and properties(state).get("up", "true") == "true":
        bits |= WALL_WITH_POST
    return bits


def _covers(bottom: np.ndarray, test: tuple) -> bool:
    x0, z0, x1, z1 = test
    return bool(bottom[x0:x1, z0:z1].all())


def joined_wall(state: str, sides: list[str], on_top: int) -> str:
    """Wall `state` connected on `sides` only, under a block of `_on_top`
    bits `on_top` (the game's shouldRaisePost and side heights)."""
    props = properties(state)
    for s, side in enumerate(SIDES):
        props[side] = ("tall" if on_top >> s & 1 else "low") if side in sides else "none"
    none = {side: props[side] == "none" for side in SIDES}
    tall_line = any(props[a] == props[b] == "tall" for a, b in (("north", "south"), ("east", "west")))
    if on_top & WALL_WITH_POST or none["north"] != none["south"] or none["east"] != none["west"]:
        post = True                       # under a wall's post, or a corner or an end
    else:
        post = not tall_line and bool(on_top & (POST_OVERRIDE | POST_COVERED))
    props["up"] = str(post).lower()
    return join_state(block_id(state), props)


def with_joined_sides(structure: Structure) -> Structure:
    """`structure` with each fence, wall, pane, iron bars and redstone wire
    saved with no side connected given the sides the game would connect (see
    above), as new palette entries after the structure's own (which keep
    their indices); `structure` itself when none changes. Blocks, not
    pictures: no cell is hidden or cut here. Neighbours beside are read from
    the blocks as saved."""
    return joined_wire(_joined_walls(_joined_fences(structure)))


def _sides(structure: Structure, joins, reach, entry, x, y, z) -> np.ndarray:
    """Bit s set where the neighbour on SIDES[s] joins the cell (x, y, z) of `entry`."""
    sides = np.zeros(len(entry), dtype=np.int64)
    for s, (dx, dz) in enumerate(SIDE_STEPS):
        neighbour = entry_at(structure, x + dx, y, z + dz)
        sides |= ((joins[neighbour, s] & reach[entry]) != 0).astype(np.int64) << s
    return sides


def _joined_fences(structure: Structure) -> Structure:
    """Fences, panes and iron bars saved unconnected, joined (runs of x-slabs,
    loops over the 4 sides and the (entry, sides) pairs found)."""
    palette = structure.palette
    reach = np.array([_reach(state) for state in palette], dtype=np.uint8)
    reach[reach == WALL] = 0
    if not reach.any():
        return structure
    joins = np.array([_joined_by(state) for state in palette], dtype=np.uint8)     # (K, 4)
    out = NewEntries(structure)
    for cells, (x, y, z) in in_slabs(structure, reach.astype(bool)):
        entry = structure.blocks.ravel()[cells]
        sides = _sides(structure, joins, reach, entry, x, y, z)
        out.put(cells, entry, sides, lambda k, bits: None if bits == 0 else joined_state(
            palette[k], [side for s, side in enumerate(SIDES) if bits >> s & 1]))
    return out.result()


def _joined_walls(structure: Structure) -> Structure:
    """Walls saved unconnected, joined a layer at a time from the top (each
    sees the block on it as joined)."""
    palette = structure.palette
    reach = np.array([_reach(state) for state in palette], dtype=np.uint8)
    reach[reach != WALL] = 0
    if not reach.any():
        return structure
    joins = np.array([_joined_by(state) for state in palette], dtype=np.uint8)     # (K, 4)
    out = NewEntries(structure)
    on_top = {}                                                 # entry -> _on_top bits, as met
    X, Y, Z = structure.shape
    wall = reach.astype(bool)
    layers = np.flatnonzero(wall[structure.blocks].any(axis=(0, 2)))
    for y in layers[::-1].tolist():
        x, z = np.nonzero(wall[structure.blocks[:, y, :]])
        if structure.void is not None:
            keep = ~structure.void[x, y, z]
            x, z = x[keep], z[keep]
        if not len(x):
            continue
        ys = np.full(len(x), y)
        entry = structure.blocks[x, y, z]
        sides = _sides(structure, joins, reach, entry, x, ys, z)
        kinds, kind_of = np.unique(entry_at(structure, x, ys + 1, z, blocks=out.blocks), return_inverse=True)
        for k in kinds.tolist():
            if k not in on_top:
                on_top[k] = _on_top(out.states[k])
        code = sides | np.array([on_top[k] for k in kinds.tolist()], dtype=np.int64)[kind_of.ravel()] << 4
        out.put((x * Y + y) * Z + z, entry, code, lambda k, c: None if c & 15 == 0 else joined_wall(
            palette[k], [side for s, side in enumerate(SIDES) if c >> s & 1], c >> 4))
    return out.result()
