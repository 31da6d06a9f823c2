"""One merged mesh of the visible block faces, built with numpy.

A face is visible where a filled cell touches an empty one (air, void, a
hidden block, or outside the box). Each visible face becomes one quad with
its own four vertices (vertices are never shared between faces, so per-face
colours cannot bleed into each other in any exporter or renderer).

Pictures (`build_mesh(shapes=True)`) draw stairs, slabs, fences, torches,
plants and the other blocks of `shapes.block_shape` as their boxes. A shaped
block hides a neighbouring cube's face only where it covers that whole side
of its cell (the stone under a slab); its own boxes are drawn whole, less
the faces on its cell's sides against full opaque cubes (all of them when
such cubes surround it). Fences, walls and panes saved with no side
connected (files upgraded from 1.12) are drawn joined to their neighbours,
as the game would place them (`joins.with_joined_sides`). Exports keep
every block a cube, as saved.

Colours come from the block registry (`compile_palette`), times a fixed
brightness per face direction so blocks read as blocks without lighting.
Coordinates are block units in the structure's own index space: cell
(x, y, z) fills the unit cube [x, x+1] x [y, y+1] x [z, z+1]; +y is up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxgen.blocks import block_id, compile_palette
from voxgen.errors import VoxgenError
from voxgen.render.joins import with_joined_sides
from voxgen.render.shapes import BRIGHTNESS, CORNERS, NORMALS, ShapeTable, compile_shapes
from voxgen.structure import Structure

# The most visible faces one mesh may have. A mesh costs about 150 bytes a
# face to build, and exporting (trimesh) or drawing (VTK) it about 550 bytes a
# face at the peak, so 2 M faces stay near 1.1 GB. The largest real sample and
# bundled blueprint have far fewer (tens of thousands); a checkerboard has up
# to 3 faces a cell, so 100^3 of one (3 M faces) is refused.
MAX_FACES = 2_000_000

# Cells counted per slab by `count_faces` (bounds its temporaries).
_SLAB_CELLS = 1 << 22

# Blocks a picture draws see-through (`build_mesh(see_through=True)`), so
# that an ocean temple is not a blue box and a glass wall not a curtain;
# also every `*stained_glass` and `*stained_glass_pane`.
SEE_THROUGH = frozenset({"minecraft:water", "minecraft:bubble_column", "minecraft:glass",
                         "minecraft:glass_pane", "minecraft:ice", "minecraft:frosted_ice"})

@dataclass
class VoxelMesh:
    """Quads of the visible faces; F faces, 4 * F vertices.

    vertices: float32 (4F, 3) block units, [x, y, z].
    faces: int32 (F, 4) vertex indices, counter-clockwise from outside.
    face_block: int32 (F,) palette index of the block each face belongs to.
    face_direction: int8 (F,) index into DIRECTIONS.
    face_colours: uint8 (F, 3) block colour times the direction's brightness.
    block_colours: uint8 (K, 3) unshaded registry colour per palette entry.
    palette: the structure's palette (K entries), then, in pictures, the
        joined states drawn for fences and panes saved unconnected
        (`joins.with_joined_sides`; the structure's entries keep their indices).
    face_clear: bool (F,) faces of see-through blocks (none unless `build_mesh(see_through=True)`).
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_block: np.ndarray
    face_direction: np.ndarray
    face_colours: np.ndarray
    block_colours: np.ndarray
    palette: tuple[str, ...]
    face_clear: np.ndarray

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    def triangles(self) -> np.ndarray:
        """int32 (2F, 3): each quad split into two triangles (0,1,2), (0,2,3);
        triangle 2i and 2i+1 belong to face i."""
        q = self.faces
        return np.stack([q[:, [0, 1, 2]], q[:, [0, 2, 3]]], axis=1).reshape(-1, 3)

    def unshaded_colours(self) -> np.ndarray:
        """uint8 (F, 3): the exact registry colour of each face's block."""
        return self.block_colours[self.face_block]


def filled_mask(structure: Structure, keep: np.ndarray | None = None,
                hidden: np.ndarray | None = None) -> np.ndarray:
    """bool (X, Y, Z): cells drawn as blocks.

    keep: optional bool (X, Y, Z), cells allowed to show (e.g. one side of a cut).
    hidden: optional bool (K,), palette entries not to draw.
    """
    filled = ~structure.air_mask()
    if hidden is not None and np.any(hidden):
        filled &= ~np.asarray(hidden, dtype=bool)[structure.blocks]
    if keep is not None:
        filled &= keep
    return filled


def visible_faces(filled: np.ndarray, blockers: np.ndarray | None = None) -> list[np.ndarray]:
    """Per direction (in DIRECTIONS order), the flat cell indices (into the
    (X, Y, Z) box, C order) of filled cells whose neighbour that way is not
    one of `blockers` (default: the filled cells). Cells outside the box
    count as empty."""
    blockers = filled if blockers is None else blockers
    padded = np.pad(blockers, 1)
    X, Y, Z = filled.shape
    out = []
    for dx, dy, dz in NORMALS:
        neighbour = padded[1 + dx:1 + dx + X, 1 + dy:1 + dy + Y, 1 + dz:1 + dz + Z]
        out.append(np.flatnonzero(filled & ~neighbour))
    return out


def count_faces(filled: np.ndarray, blockers: np.ndarray | None = None) -> int:
    """How many faces `visible_faces(filled, blockers)` would return, without
    building any index array: slabs of about _SLAB_CELLS cells at a time.

    Each filled cell has 6 faces, and each neighbour among the blockers
    hides one (filled neighbours, when the blockers are the filled cells,
    hide two a pair). Counting pairs on contiguous slabs is ~6x faster than
    comparing every cell with its neighbour along strided views (0.9 s for a
    256^3 box, counted twice per render)."""
    filled = np.ascontiguousarray(filled, dtype=bool)
    blockers = filled if blockers is None else np.ascontiguousarray(blockers, dtype=bool)
    X, Y, Z = filled.shape
    rows = max(1, _SLAB_CELLS // max(1, Y * Z))
    cells = hidden = 0

    def touching(a, b):             # cells of `a` beside a blocker in `b`, and the other way
        return int(np.count_nonzero(a[0] & b[1])) + int(np.count_nonzero(a[1] & b[0]))
    for a in range(0, X, rows):
        slab, block = filled[a:a + rows], blockers[a:a + rows]
        ahead, block_ahead = filled[a + 1:a + rows + 1], blockers[a + 1:a + rows + 1]    # +x of slab[:n]
        n = len(ahead)
        cells += int(np.count_nonzero(slab))
        hidden += touching((slab[:n], ahead), (block[:n], block_ahead))
        hidden += touching((slab[:, :-1], slab[:, 1:]), (block[:, :-1], block[:, 1:]))
        hidden += touching((slab[:, :, :-1], slab[:, :, 1:]), (block[:, :, :-1], block[:, :, 1:]))
    return 6 * cells - hidden


def see_through_entries(palette) -> np.ndarray:
    """bool (K,): the palette entries a picture draws see-through (SEE_THROUGH)."""
    def clear(name):
        path = name.partition(":")[2]
        return name in SEE_THROUGH or path.endswith(("stained_glass", "stained_glass_pane"))
    return np.array([clear(block_id(state)) for state in palette], dtype=bool)


def _layers(structure: Structure, filled: np.ndarray, see_through: bool, shapes: bool):
    """(opaque, clear, shaped) bool (X, Y, Z) cells of `filled`, each None
    when empty (opaque: never): `shaped` the cells drawn as boxes (with
    `shapes`), `clear` the other SEE_THROUGH ones (with `see_through`),
    `opaque` the full cubes left."""
    # One look-up of the palette for both (the grid can be 256^3): 2 shaped, 1 clear.
    kind = np.zeros(len(structure.palette), dtype=np.uint8)
    if see_through:
        kind[see_through_entries(structure.palette)] = 1
    if shapes:
        kind[compile_shapes(structure.palette).shaped] = 2
    if not kind.any():
        return filled, None, None
    of_cell = kind[structure.blocks]
    shaped, clear = filled & (of_cell == 2), filled & (of_cell == 1)
    shaped, clear = (shaped if shaped.any() else None), (clear if clear.any() else None)
    for layer in (shaped, clear):
        filled = filled if layer is None else filled & ~layer
    return filled, clear, shaped


def _shaped_cells(shaped: np.ndarray, opaque: np.ndarray):
    """Per slab of about _SLAB_CELLS cells along x, in runs of at most
    _SLAB_CELLS // 8 shaped cells: (flat, blocked), the int64 (n,) flat
    indices of the `shaped` cells and bool (n, 6) whether their neighbour in
    each direction (DIRECTIONS) is one of the `opaque` full cubes. Neighbours
    are looked up by flat offsets into the padded grid, so a run takes about
    60 bytes a cell (a box full of slabs is counted in bounded memory)."""
    X, Y, Z = shaped.shape
    padded = np.pad(opaque, 1).ravel()
    step = NORMALS @ np.array([(Y + 2) * (Z + 2), Z + 2, 1])             # flat offset in `padded`
    rows = max(1, _SLAB_CELLS // max(1, Y * Z))
    run = max(1, _SLAB_CELLS // 8)
    for a in range(0, X, rows):
        cells = np.flatnonzero(shaped[a:a + rows]) + a * Y * Z
        for i in range(0, len(cells), run):
            flat = cells[i:i + run]
            x, y, z = np.unravel_index(flat, shaped.shape)
            at = ((x + 1) * (Y + 2) + (y + 1)) * (Z + 2) + (z + 1)          # in `padded`
            yield flat, padded[at[:, None] + step[None]]


def _covering(b: np.ndarray, blocked: np.ndarray, table: ShapeTable) -> np.ndarray:
    """bool (n, 6): the opaque cube beside each side of the shaped cells
    (entries `b`, see `_shaped_cells`) shows no face there: the side is
    covered whole (the stone under a slab), or opaque cubes surround the
    cell (so nothing of it shows and it hides all)."""
    return (table.full_side[b] | blocked.all(axis=1)[:, None]) & blocked


def _shaped_count(blocks: np.ndarray, shaped: np.ndarray, opaque: np.ndarray, table: ShapeTable) -> int:
    """How many faces the shaped cells add (`_shaped_faces`, less the cube
    faces `_covered_cube_faces` takes away), one slab at a time."""
    n = 0
    for flat, blocked in _shaped_cells(shaped, opaque):
        b = blocks.ravel()[flat]
        seen = ~blocked.all(axis=1)
        n += int(table.count[b[seen]].sum() - (table.side_faces[b[seen]] * blocked[seen]).sum()
                 - _covering(b, blocked, table).sum())
    return n


def _shaped_faces(blocks: np.ndarray, flat: np.ndarray, blocked: np.ndarray, table: ShapeTable, eye):
    """(vertices float32 (F, 4, 3), block int32 (F,), direction int8 (F,)) of
    the box faces of the shaped cells `flat` (see `_shaped_cells`): all but
    those on a side against an opaque cube, none of a cell such cubes
    surround, and with `eye` none turned away from it. No loop over cells:
    each cell's faces are its entry's run of the table."""
    seen = ~blocked.all(axis=1)
    flat, blocked = flat[seen], blocked[seen]
    b = blocks.ravel()[flat]
    runs = table.count[b]
    cell = np.repeat(np.arange(len(flat)), runs)
    face = np.arange(int(runs.sum())) + np.repeat(table.start[b] - (np.cumsum(runs) - runs), runs)
    direction = table.direction[face]
    position = np.stack(np.unravel_index(flat, blocks.shape), axis=1)[cell]     # (F, 3)
    shown = ~(table.on_side[face] & blocked[cell, direction])
    if eye is not None:
        axis = np.argmax(np.abs(NORMALS), axis=1)[direction]
        sign = NORMALS[direction, axis]
        plane = position[np.arange(len(face)), axis] + table.plane[face]
        shown &= sign * (np.asarray(eye, dtype=float)[axis] - plane) > 0
    face, cell, direction = face[shown], cell[shown], direction[shown]
    vertices = position[shown][:, None, :].astype(np.float32) + table.corners[face]
    return vertices, b[cell].astype(np.int32), direction


def _covered_cube_faces(blocks: np.ndarray, flat: np.ndarray, blocked: np.ndarray,
                        table: ShapeTable) -> list[np.ndarray]:
    """Per direction d, the sorted flat indices of the opaque cubes whose
    face d the shaped cells `flat` cover (`_covering`)."""
    _, Y, Z = blocks.shape
    step = NORMALS @ np.array([Y * Z, Z, 1])                # flat offset of each direction
    covering = _covering(blocks.ravel()[flat], blocked, table)
    # The cube beside side s shows its face s ^ 1 (east <-> west, ...).
    return [np.sort(flat[covering[:, d ^ 1]] + step[d ^ 1]) for d in range(6)]


def _plan(structure: Structure, keep, hidden, see_through: bool, shapes: bool):
    """(drawn, opaque, clear, shaped, faces): the structure `build_mesh`
    draws (with `shapes`, fences and panes saved unconnected joined to their
    neighbours: `joins.with_joined_sides`), its cells drawn each way and how
    many faces it builds. Shapes that would take the mesh over MAX_FACES
    give way to full cubes (as before shapes, so a picture that could be
    drawn still can); a mesh over it even then is for the caller to refuse."""
    filled = filled_mask(structure, keep, hidden)
    drawn = with_joined_sides(structure) if shapes else structure
    opaque, clear, shaped = _layers(drawn, filled, see_through, shapes)
    n = count_faces(opaque)
    if clear is not None:
        n += count_faces(clear, clear | opaque)     # water beside water or stone shows nothing
    if shaped is not None:
        n += _shaped_count(drawn.blocks, shaped, opaque, compile_shapes(drawn.palette))
        if n > MAX_FACES:
            return _plan(structure, keep, hidden, see_through, False)
    return drawn, opaque, clear, shaped, n


def check_faces(structure: Structure, path=None, keep: np.ndarray | None = None,
                hidden: np.ndarray | None = None, see_through: bool = False,
                shapes: bool = False) -> int:
    """The number of visible faces of `structure` (as `build_mesh` with the
    same arguments builds them); a VoxgenError naming `path` (default: the
    structure's name) if above MAX_FACES. Builds no mesh."""
    n = _plan(structure, keep, hidden, see_through, shapes)[4]
    _refuse_above_limit(n, structure, path)
    return n


def require_blocks(structure: Structure, path, doing: str) -> None:
    """A VoxgenError naming `path` when `structure` has no block to draw
    ("nothing to {doing}: the structure has no blocks")."""
    if not filled_mask(structure).any():
        raise VoxgenError(f"nothing to {doing}: the structure has no blocks", path)


def _refuse_above_limit(n: int, structure: Structure, path) -> None:
    if n > MAX_FACES:
        raise VoxgenError(f"too many visible block faces to build a mesh: {n:,} "
                          f"(limit {MAX_FACES:,})",
                          path if path is not None else (structure.name or None))


def facing_eye(flat: np.ndarray, d: int, shape, eye) -> np.ndarray:
    """bool mask over faces of direction `d` (cells `flat`): True where the
    point `eye` (block units) is in front of the face's plane, i.e. where a
    camera at `eye` can see the face at all."""
    axis = int(np.flatnonzero(NORMALS[d])[0])
    sign = int(NORMALS[d][axis])
    coordinate = np.unravel_index(flat, shape)[axis]
    plane = coordinate + (sign > 0)
    return sign * (eye[axis] - plane) > 0


def _sorted_member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """bool mask over `values`: which are in the sorted array `sorted_set`."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def build_mesh(structure: Structure, keep: np.ndarray | None = None,
               hidden: np.ndarray | None = None, eye=None, source=None,
               see_through: bool = False, shapes: bool = False) -> VoxelMesh:
    """The merged mesh of `structure`'s visible faces (see `filled_mask` for
    `keep` and `hidden`). Does not apply `structure.origin`.

    eye: optional camera position (block units); faces turned away from it
    are left out (about half of them), for a camera that will not move.
    see_through: water, glass and ice (SEE_THROUGH) hide nothing behind
    them: the faces of the blocks they touch are built too, theirs only
    where they touch air, and `face_clear` marks them (pictures draw them
    see-through; an export, without it, keeps the closed skin of the blocks).
    shapes: stairs, slabs, fences, torches, plants... (`shapes.block_shape`)
    are built as their boxes, appended after the cubes' faces (full cubes
    instead when the boxes would take the mesh over MAX_FACES and cubes
    would not), fences, walls and panes saved with no side connected
    joined to their neighbours as in the game (`joins.with_joined_sides`);
    without it (exports) every block is a full cube.

    More than MAX_FACES visible faces is a VoxgenError naming `source` (the
    input file; default the structure's name), before any mesh array exists."""
    # From here on `structure` is the one drawn: with shapes, fences and panes joined.
    structure, opaque, clear, shaped, n = _plan(structure, keep, hidden, see_through, shapes)
    _refuse_above_limit(n, structure, source)
    per_direction = visible_faces(opaque)
    if shaped is not None:
        table = compile_shapes(structure.palette)
        boxed, blocked = (np.concatenate(part) for part in zip(*_shaped_cells(shaped, opaque)))
        covered = _covered_cube_faces(structure.blocks, boxed, blocked, table)
        per_direction = [cells[~_sorted_member(cells, c)] for cells, c in zip(per_direction, covered)]
    clear_counts = [0] * 6
    if clear is not None:
        clear_faces = visible_faces(clear, clear | opaque)
        clear_counts = [len(f) for f in clear_faces]
        per_direction = [np.concatenate([a, b]) for a, b in zip(per_direction, clear_faces)]
    is_clear = [np.arange(len(flat)) >= len(flat) - n for flat, n in zip(per_direction, clear_counts)]
    if eye is not None:
        seen = [facing_eye(flat, d, opaque.shape, eye) for d, flat in enumerate(per_direction)]
        per_direction = [flat[k] for flat, k in zip(per_direction, seen)]
        is_clear = [c[k] for c, k in zip(is_clear, seen)]
    counts = [len(c) for c in per_direction]
    cells = np.concatenate(per_direction).astype(np.int64)
    direction = np.repeat(np.arange(6, dtype=np.int8), counts)

    # One direction at a time, so each face's corners are one broadcast add.
    vertices = np.empty((len(cells), 4, 3), dtype=np.float32)
    start = 0
    for d, flat in enumerate(per_direction):
        position = np.stack(np.unravel_index(flat, opaque.shape), axis=1).astype(np.float32)
        np.add(position[:, None, :], CORNERS[d], out=vertices[start:start + len(flat)])
        start += len(flat)
    face_block = structure.blocks.ravel()[cells].astype(np.int32)
    face_clear = np.concatenate(is_clear)
    if shaped is not None:
        box_vertices, box_block, box_direction = _shaped_faces(structure.blocks, boxed, blocked, table, eye)
        vertices = np.concatenate([vertices, box_vertices])
        face_block = np.concatenate([face_block, box_block])
        direction = np.concatenate([direction, box_direction])
        box_clear = see_through_entries(structure.palette)[box_block] if see_through else False
        face_clear = np.concatenate([face_clear, np.broadcast_to(box_clear, box_block.shape)])
    vertices = vertices.reshape(-1, 3)
    faces = np.arange(len(vertices), dtype=np.int32).reshape(-1, 4)

    colour = compile_palette(structure.palette).colour
    shaded = colour[face_block] * BRIGHTNESS[direction][:, None]
    face_colours = np.rint(shaded).astype(np.uint8)
    return VoxelMesh(vertices, faces, face_block, direction, face_colours,
                     colour, structure.palette, face_clear)
