"""The slow, obviously correct twin of voxgen.render.mesh.build_mesh: one
cube at a time, one face at a time, in plain Python loops. Used by
tests/test_render_mesh.py and as the reference in bench/render.py."""

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
