"""The slow, obviously correct twins of voxgen.render.mesh.build_mesh: one
cube (or box) at a time, one face at a time, in plain Python loops.
`per_cube_faces` (every block a cube) is used by tests/test_render_mesh.py
and as the reference in bench/render.py; `per_box_faces` (pictures: shaped
blocks as their boxes, see-through blocks) by tests/test_render_shapes.py."""

import numpy as np

from voxgen.blocks import compile_palette

# Outward normal of each named face, written out by hand for the twin.
TWIN_NORMALS = {"east": (1, 0, 0), "west": (-1, 0, 0), "up": (0, 1, 0), "down": (0, -1, 0),
                "south": (0, 0, 1), "north": (0, 0, -1)}
TWIN_BRIGHTNESS = {"up": 1.0, "down": 0.5, "north": 0.8, "south": 0.8, "east": 0.6, "west": 0.6}


def per_cube_faces(structure, keep=None, hidden=()):
    """The slow twin: visit every cell, every direction; a face shows when the
    cell is drawn and its neighbour is not. Returns sorted tuples
    (x, y, z, direction, r, g, b, frozenset of the 4 corners)."""
    colours = compile_palette(structure.palette).colour
    air = structure.air_mask()
    X, Y, Z = structure.shape

    def drawn(x, y, z):
        if not (0 <= x < X and 0 <= y < Y and 0 <= z < Z):
            return False
        if air[x, y, z] or structure.blocks[x, y, z] in hidden:
            return False
        return keep is None or bool(keep[x, y, z])

    faces = []
    for x in range(X):
        for y in range(Y):
            for z in range(Z):
                if not drawn(x, y, z):
                    continue
                for name, n in TWIN_NORMALS.items():
                    if drawn(x + n[0], y + n[1], z + n[2]):
                        continue
                    axis = [i for i in range(3) if n[i]][0]
                    side = 1 if n[axis] > 0 else 0
                    corners = frozenset(
                        (x + cx, y + cy, z + cz)
                        for cx in (0, 1) for cy in (0, 1) for cz in (0, 1)
                        if (cx, cy, cz)[axis] == side)
                    rgb = colours[structure.blocks[x, y, z]] * TWIN_BRIGHTNESS[name]
                    faces.append((x, y, z, name, *np.rint(rgb).astype(int).tolist(), corners))
    return sorted(faces, key=lambda f: f[:7])


def _box_face_corners(box, axis, side):
    """The 4 corners (in 16ths of a block, cell-relative) of the face of
    `box` (x0, y0, z0, x1, y1, z1) on `side` (0 low, 1 high) of `axis`."""
    lo, hi = box[:3], box[3:]
    corners = set()
    for a in (lo, hi):
        for b in (lo, hi):
            for c in (lo, hi):
                corner = [a[0], b[1], c[2]]
                corner[axis] = (lo, hi)[side][axis]
                corners.add(tuple(corner))
    return corners


TWIN_SIDES = {"north": (0, -1), "east": (1, 0), "south": (0, 1), "west": (-1, 0)}


def _twin_kind(state):
    """'fence', 'nether_fence', 'pane', 'wall', 'gate' or None, by the name."""
    name = state.partition("[")[0].partition(":")[2]
    if name == "nether_brick_fence":
        return "nether_fence"
    if name.endswith("_fence_gate"):
        return "gate"
    if name.endswith("_fence"):
        return "fence"
    if name in ("glass_pane", "iron_bars") or name.endswith("_glass_pane"):
        return "pane"
    if name.endswith("_wall"):
        return "wall"
    return None


def _twin_props(state):
    inner = state.partition("[")[2].rstrip("]")
    return dict(part.split("=") for part in inner.split(",") if part)


def _twin_state_at(structure, x, y, z):
    """The state saved at (x, y, z); air outside the box or in a void cell."""
    X, Y, Z = structure.shape
    if not (0 <= x < X and 0 <= y < Y and 0 <= z < Z) or (structure.void is not None and structure.void[x, y, z]):
        return "minecraft:air"
    return structure.palette[structure.blocks[x, y, z]]


def _twin_name(s):
    return s.partition("[")[0].partition(":")[2]


def _twin_face(state, side):
    """bool (16, 16): the pixels of the cell's side `side` the block covers,
    box by box and pixel by pixel; nothing for a block without collision."""
    from voxgen.render.neighbours import collides
    from voxgen.render.shapes import block_shape

    covered = np.zeros((16, 16), bool)
    if not collides(state):
        return covered
    boxes = block_shape(state)
    if boxes is None:
        return ~covered
    for x0, y0, z0, x1, y1, z1 in boxes.tolist():
        for a in range(16):
            for b in range(16):
                if side == "down" and y0 == 0 and x0 <= a < x1 and z0 <= b < z1:
                    covered[a, b] = True
                if side == "up" and y1 == 16 and x0 <= a < x1 and z0 <= b < z1:
                    covered[a, b] = True
                if side in ("north", "south") and (z0 == 0 if side == "north" else z1 == 16) \
                        and x0 <= a < x1 and y0 <= b < y1:
                    covered[a, b] = True
                if side in ("west", "east") and (x0 == 0 if side == "west" else x1 == 16) \
                        and z0 <= a < z1 and y0 <= b < y1:
                    covered[a, b] = True
    return covered


TWIN_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


def _twin_wire(structure, x, y, z, state):
    """The wire at (x, y, z) as a picture draws it: as saved unless it reaches
    no side in a file from before 1.16 (DataVersion 2531, dots); then by the
    game's getConnectingSide, side by side."""
    from voxgen.render.shapes import block_shape

    props = _twin_props(state)
    if any(props.get(side) in ("side", "up") for side in TWIN_SIDES):
        return state
    if structure.data_version is None or structure.data_version >= 2531:
        return state

    def conductor(s):
        from voxgen.render.neighbours import collides
        return (block_shape(s) is None and collides(s) and _twin_name(s) not in (
            "glass", "tinted_glass", "ice", "frosted_ice", "glowstone", "redstone_block", "observer", "piston",
            "sticky_piston", "beacon", "barrier", "spawner")
            and not _twin_name(s).endswith(("_stained_glass", "_leaves")))

    def is_wire(s):
        return _twin_name(s) == "redstone_wire"

    def reaches(s, side):
        facing = _twin_props(s).get("facing")
        if _twin_name(s) == "repeater":
            return facing in (side, TWIN_OPPOSITE[side])
        if _twin_name(s) == "observer":
            return facing == side
        return _twin_name(s) in ("redstone_wire", "lever", "redstone_torch", "redstone_wall_torch",
                                 "redstone_block", "detector_rail", "daylight_detector", "comparator", "target",
                                 "trapped_chest", "tripwire_hook", "lectern", "sculk_sensor",
                                 "calibrated_sculk_sensor", "lightning_rod") \
            or _twin_name(s).endswith(("_button", "_pressure_plate"))

    capped = conductor(_twin_state_at(structure, x, y + 1, z))
    got = {}
    for side, (dx, dz) in TWIN_SIDES.items():
        beside = _twin_state_at(structure, x + dx, y, z + dz)
        holds = _twin_face(beside, "up").all() or _twin_name(beside) == "hopper"
        if not capped and holds and is_wire(_twin_state_at(structure, x + dx, y + 1, z + dz)):
            got[side] = "up" if _twin_face(beside, TWIN_OPPOSITE[side]).all() else "side"
        elif reaches(beside, side):
            got[side] = "side"
        elif not conductor(beside) and is_wire(_twin_state_at(structure, x + dx, y - 1, z + dz)):
            got[side] = "side"
        else:
            got[side] = "none"
    no_north_south = got["north"] == got["south"] == "none"
    no_east_west = got["east"] == got["west"] == "none"
    if no_north_south:
        got["east"] = "side" if got["east"] == "none" else got["east"]
        got["west"] = "side" if got["west"] == "none" else got["west"]
    if no_east_west:
        got["north"] = "side" if got["north"] == "none" else got["north"]
        got["south"] = "side" if got["south"] == "none" else got["south"]
    props.update(got)
    return state.partition("[")[0] + "[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]"


def twin_drawn_state(structure, x, y, z):
    """The slow twin of `joins.with_joined_sides` for one cell: the state a
    picture draws there, by the rules written out one by one (a wall asks
    for the state drawn on top of it first)."""
    from voxgen.render.shapes import block_shape

    state = structure.palette[structure.blocks[x, y, z]]
    if _twin_name(state) == "redstone_wire":
        return _twin_wire(structure, x, y, z, state)
    kind = _twin_kind(state)
    props = _twin_props(state)
    if kind in (None, "gate") or any(props.get(side, "false") not in ("false", "none") for side in TWIN_SIDES):
        return state
    X, Y, Z = structure.shape
    joined = []
    for side, (dx, dz) in TWIN_SIDES.items():
        nx, nz = x + dx, z + dz
        if not (0 <= nx < X and 0 <= nz < Z) or (structure.void is not None and structure.void[nx, y, nz]):
            continue
        other = structure.palette[structure.blocks[nx, y, nz]]
        name = _twin_name(other)
        other_kind = _twin_kind(other)
        if block_shape(other) is None:
            full_face = _twin_face(other, side).all() and name not in (
                "barrier", "pumpkin", "carved_pumpkin", "jack_o_lantern", "melon") \
                and not name.endswith("_leaves") and not name.endswith("shulker_box")
        else:
            full_face = other_kind is None and _twin_face(other, TWIN_OPPOSITE[side]).all()
        gate_in_line = other_kind == "gate" and (
            _twin_props(other).get("facing", "north") in ("north", "south")) == (side in ("east", "west"))
        if kind in ("fence", "nether_fence"):
            join = full_face or other_kind == kind or gate_in_line
        elif kind == "pane":
            join = full_face or other_kind in ("pane", "wall")
        else:
            join = full_face or other_kind in ("pane", "wall") or gate_in_line
        if join:
            joined.append(side)
    if not joined:
        return state
    if kind != "wall":
        for side in TWIN_SIDES:
            props[side] = "true" if side in joined else "false"
        return state.partition("[")[0] + "[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]"
    # a wall: the block on top as drawn, its bottom face against the game's test boxes
    top = twin_drawn_state(structure, x, y + 1, z) if y + 1 < Y and not (
        structure.void is not None and structure.void[x, y + 1, z]) else "minecraft:air"
    bottom = _twin_face(top, "down")
    tests = {"north": (7, 0, 9, 9), "east": (7, 7, 16, 9), "south": (7, 7, 9, 16), "west": (0, 7, 9, 9)}
    for side in TWIN_SIDES:
        x0, z0, x1, z1 = tests[side]
        props[side] = ("tall" if bottom[x0:x1, z0:z1].all() else "low") if side in joined else "none"
    top_name, top_props = _twin_name(top), _twin_props(top)
    wall_post = _twin_kind(top) == "wall" and top_props.get("up", "true") == "true"
    override = top_name in ("torch", "soul_torch", "redstone_torch", "copper_torch", "tripwire", "sign",
                            "wall_sign") or top_name.endswith(("_pressure_plate", "_banner")) \
        or (top_name.endswith("_sign") and not top_name.endswith("hanging_sign"))
    corner_or_end = (props["north"] == "none") != (props["south"] == "none") or \
        (props["east"] == "none") != (props["west"] == "none")
    tall_line = props["north"] == props["south"] == "tall" or props["east"] == props["west"] == "tall"
    if wall_post or corner_or_end:
        props["up"] = "true"
    elif tall_line:
        props["up"] = "false"
    else:
        props["up"] = "true" if override or bottom[7:9, 7:9].all() else "false"
    return state.partition("[")[0] + "[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]"


def per_box_faces(structure, keep=None, hidden=(), see_through=False, eye=None):
    """The slow twin of `build_mesh(shapes=True)`: every cell, every box,
    every face, by the rules written out one by one. Returns sorted tuples
    (block, direction, r, g, b, clear, frozenset of the 4 corners in 16ths
    of a block). `block` is the state drawn: fences and panes saved with no
    side connected are joined to their neighbours (`twin_drawn_state`)."""
    from voxgen.render.mesh import see_through_entries
    from voxgen.render.shapes import block_shape

    colours = compile_palette(structure.palette).colour
    clear_entry = see_through_entries(structure.palette)
    air = structure.air_mask()
    X, Y, Z = structure.shape
    drawn = {(x, y, z): twin_drawn_state(structure, x, y, z)
             for x in range(X) for y in range(Y) for z in range(Z)}

    def kind(x, y, z):
        if not (0 <= x < X and 0 <= y < Y and 0 <= z < Z):
            return None
        k = structure.blocks[x, y, z]
        if air[x, y, z] or k in hidden or (keep is not None and not keep[x, y, z]):
            return None
        if block_shape(drawn[x, y, z]) is not None:
            return "shaped"
        return "clear" if see_through and clear_entry[k] else "opaque"

    def surrounded(x, y, z):
        return all(kind(x + n[0], y + n[1], z + n[2]) == "opaque" for n in TWIN_NORMALS.values())

    def covers(x, y, z, axis, side):
        """The shaped block at (x, y, z) covers every pixel of its cell's side."""
        pixels = set()
        for box in block_shape(drawn[x, y, z]).tolist():
            if box[3 * side + axis] == 16 * side:
                others = [a for a in range(3) if a != axis]
                pixels |= {(u, v) for u in range(box[others[0]], box[3 + others[0]])
                           for v in range(box[others[1]], box[3 + others[1]])}
        return len(pixels) == 256

    def face(x, y, z, name, corners):
        n = TWIN_NORMALS[name]
        if eye is not None:
            corner = np.array(next(iter(corners))) / 16
            if np.dot(n, np.array(eye) - corner) <= 0:
                return []
        k = structure.blocks[x, y, z]
        rgb = np.rint(colours[k] * TWIN_BRIGHTNESS[name]).astype(int).tolist()
        clear = bool(see_through and clear_entry[k])
        return [(drawn[x, y, z], name, *rgb, clear, frozenset(corners))]

    faces = []
    for x in range(X):
        for y in range(Y):
            for z in range(Z):
                here = kind(x, y, z)
                if here is None or (here == "shaped" and surrounded(x, y, z)):
                    continue
                for name, n in TWIN_NORMALS.items():
                    axis = [i for i in range(3) if n[i]][0]
                    side = 1 if n[axis] > 0 else 0
                    there = (x + n[0], y + n[1], z + n[2])
                    beside = kind(*there)
                    if here == "shaped":
                        boxes = block_shape(drawn[x, y, z]).tolist()
                        for box in boxes:
                            on_side = box[3 * side + axis] == 16 * side
                            if on_side and beside == "opaque":
                                continue
                            corners = {(16 * x + cx, 16 * y + cy, 16 * z + cz)
                                       for cx, cy, cz in _box_face_corners(box, axis, side)}
                            faces += face(x, y, z, name, corners)
                        continue
                    if beside == "opaque" or (beside == "clear" and here == "clear"):
                        continue
                    if here == "opaque" and beside == "shaped" and (
                            surrounded(*there) or covers(*there, axis, 1 - side)):
                        continue
                    corners = {(16 * (x + cx), 16 * (y + cy), 16 * (z + cz))
                               for cx in (0, 1) for cy in (0, 1) for cz in (0, 1)
                               if (cx, cy, cz)[axis] == side}
                    faces += face(x, y, z, name, corners)
    return sorted(faces, key=lambda f: (f[:6], sorted(f[6])))
