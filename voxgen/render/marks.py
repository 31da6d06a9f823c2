"""The marks pictures draw on a machine block's working face (where a piston
pushes, where an observer looks), over the mesh of `mesh.build_mesh`:

    vertices, quads, colours = front_marks(mesh)
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import block_id, properties
from voxgen.render.mesh import VoxelMesh
from voxgen.render.shapes import DIRECTIONS, NORMALS

# Machine blocks whose working side decides what they do (where a piston
# pushes, where an observer looks): a picture marks the face their `facing`
# names (a crafter's `orientation`, e.g. north_up: its first part), so a
# piston grown facing the wrong way shows. The mark is a darker
# square inset on that face, drawn over the mesh, which itself stays one
# colour per block (exports keep the registry colour).
FRONT_BLOCKS = frozenset({"minecraft:piston", "minecraft:sticky_piston", "minecraft:observer",
                          "minecraft:dispenser", "minecraft:dropper", "minecraft:crafter"})
FRONT_MARK_SHADE = 0.45     # times the face's own colour
FRONT_MARK_SCALE = 0.6      # side of the mark, in blocks
FRONT_MARK_LIFT = 0.01      # blocks in front of the face, so depth testing keeps it on top


def front_directions(palette) -> np.ndarray:
    """int8 (K,): per palette entry the DIRECTIONS index of its front face
    (`front_facing`) if it is one of FRONT_BLOCKS, else -1."""
    out = np.full(len(palette), -1, dtype=np.int8)
    for k, state in enumerate(palette):
        if block_id(state) in FRONT_BLOCKS:
            facing = front_facing(state)
            if facing in DIRECTIONS:
                out[k] = DIRECTIONS.index(facing)
    return out


def front_facing(state: str) -> str | None:
    """The direction a block's front faces: its `facing`, or the first part
    of its `orientation` (a crafter's front_top, e.g. up_east); None without
    either."""
    props = properties(state)
    if "orientation" in props:
        return props["orientation"].split("_")[0]
    return props.get("facing")


def front_marks(mesh: VoxelMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The marks of `mesh`'s front faces (see FRONT_BLOCKS): float32 (4M, 3)
    vertices, int32 (M, 4) quads wound like their faces, uint8 (M, 3) colours."""
    front = front_directions(mesh.palette)
    marked = np.flatnonzero(front[mesh.face_block] == mesh.face_direction)
    corners = mesh.vertices.reshape(-1, 4, 3)[marked]
    centre = corners.mean(axis=1, keepdims=True)
    lift = NORMALS[mesh.face_direction[marked]][:, None, :] * FRONT_MARK_LIFT
    vertices = (centre + (corners - centre) * FRONT_MARK_SCALE + lift).astype(np.float32)
    colours = np.rint(mesh.face_colours[marked] * FRONT_MARK_SHADE).astype(np.uint8)
    quads = np.arange(4 * len(marked), dtype=np.int32).reshape(-1, 4)
    return vertices.reshape(-1, 3), quads, colours
