"""The Structure type (layer L1): blocks, palette, void, and what round trips need.

`blocks[x, y, z]` holds palette indices (+x east, +y up, +z south).
`palette[0]` is always `minecraft:air`. `void[x, y, z]` is True where the file
stores nothing (structure void, or a gap between Litematica regions); growth
treats void as air, export keeps it. Block entities and entities are opaque:
voxgen carries them through round trips and never interprets them, except
for their positions.

Entities have one convention in memory, whatever the file: an entity is its
vanilla NBT compound (`id`, `Pos`, `Rotation`, ...) with `Pos` (3 doubles)
relative to the structure's (0, 0, 0) corner, and a hanging entity's
`TileX/TileY/TileZ` (item frames, paintings) relative to the same corner.
Each reader turns its format's layout into this (`.nbt` {pos, blockPos, nbt},
Sponge v2's absolute `Pos`, Litematica's region-relative `Pos`) and each
writer writes its own layout from it.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace

import numpy as np

from voxgen.blocks import AIR, AIR_IDS, block_id, canonical
from voxgen.cut_plane import axis_number, cut_masks
from voxgen.errors import ParameterError, whole_number

_TILE = ("TileX", "TileY", "TileZ")


def _whole(name: str, value) -> int:
    """`value` as a Python int: a Python or numpy integer; a float or bool is
    refused (TypeError, as numpy would), not truncated."""
    try:
        return whole_number(name, value)
    except ParameterError as err:
        raise TypeError(str(err)) from None


def entity_pos(entity) -> tuple[float, float, float] | None:
    """An entity's `Pos` as 3 floats, or None if it has no usable one."""
    pos = entity.get("Pos") if hasattr(entity, "get") else None
    try:
        if pos is not None and len(pos) == 3:
            return tuple(float(v) for v in pos)
    except (TypeError, ValueError):
        pass
    return None


def entity_block(entity) -> tuple[int, int, int] | None:
    """The cell an entity belongs to: a hanging entity's TileX/Y/Z when they
    agree with its Pos (within 2 cells: a frame sits at the face of its cell),
    else the cell holding Pos; None without a Pos."""
    import math

    pos = entity_pos(entity)
    if pos is None:
        return None
    cell = tuple(math.floor(v) for v in pos)
    try:
        tile = tuple(int(entity[k]) for k in _TILE)
    except (KeyError, TypeError, ValueError):
        return cell
    return tile if all(abs(t - c) <= 2 for t, c in zip(tile, cell)) else cell


def shifted_entity(entity, offset):
    """A copy of `entity` with Pos moved by `offset` (3 numbers) and, when the
    offset is whole cells, TileX/Y/Z too."""
    import nbtlib

    out = nbtlib.Compound(entity)
    pos = entity_pos(entity)
    if pos is not None:
        out["Pos"] = nbtlib.List[nbtlib.Double]([nbtlib.Double(p + d) for p, d in zip(pos, offset)])
    if all(float(d).is_integer() for d in offset):
        for key, d in zip(_TILE, offset):
            if isinstance(entity.get(key), nbtlib.Int):
                out[key] = nbtlib.Int(int(entity[key]) + int(d))
    return out


def entities_fitted(entities, shifts, shape) -> list:
    """`entities` moved by the first of `shifts` (3-tuples) under which every
    entity's cell lies inside a box of `shape`, or by the first shift if
    none fits: how a reader settles which position convention a file
    followed when formats and writers disagree."""
    def fits(shift):
        cells = (entity_block(shifted_entity(e, shift)) for e in entities)
        return all(c is None or all(0 <= v < n for v, n in zip(c, shape)) for c in cells)

    shift = next((s for s in shifts if fits(s)), shifts[0])
    return [shifted_entity(e, shift) for e in entities] if any(shift) else list(entities)


def _entities_moved(entities, offset, shape=None) -> list:
    """Entities shifted by `offset`; with `shape`, only those then inside a
    box of that shape: their cell (`entity_block`) or the cell holding their
    Pos (a painting of before 1.8 names the wall block behind it, which may
    lie just outside)."""
    import math

    def inside(cell):
        return cell is not None and all(0 <= c < n for c, n in zip(cell, shape))

    out = []
    for entity in entities:
        moved = shifted_entity(entity, offset) if any(offset) else entity
        pos = entity_pos(moved)
        if shape is None or inside(entity_block(moved)) or (
                pos is not None and inside(tuple(math.floor(v) for v in pos))):
            out.append(moved)
    return out


# --- palette indices at scale ---------------------------------------------------
# A blueprint may hold 64 M cells. np.bincount and np.take copy an int32 index
# array to int64 first (512 MB), np.unique sorts one, and numpy indexes by a
# transposed view into an array of the view's strides (then copied again to be
# contiguous): these take slabs of the first axis, or no copy at all.

def used_entries(indices: np.ndarray, n: int) -> np.ndarray:
    """bool (n,): which of the entries 0..n-1 the integer array `indices`
    holds (an assignment indexed by it: no copy, 5-10x faster than bincount)."""
    used = np.zeros(n, dtype=bool)
    used[indices] = True
    return used


def entry_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """int64 (n,): how many cells of `indices` hold each entry 0..n-1."""
    counts = np.zeros(n, dtype=np.int64)
    for lo, hi in _slabs(indices):
        counts += np.bincount(indices[lo:hi].ravel(), minlength=n)
    return counts


def looked_up(table: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """table[indices], C-contiguous, in `table`'s dtype."""
    out = np.empty(indices.shape, table.dtype)
    for lo, hi in _slabs(indices):
        out[lo:hi] = table[indices[lo:hi]]
    return out


def _slabs(indices: np.ndarray):
    """(lo, hi) ranges of the first axis of about a million cells each."""
    step = max(1, (1 << 20) // max(1, int(np.prod(indices.shape[1:], dtype=np.int64))))
    return ((lo, min(lo + step, len(indices))) for lo in range(0, len(indices), step))


@dataclass(eq=False)
class Structure:
    """A block volume with its palette.

    blocks: int32 (X, Y, Z) palette indices (any integer array is taken and
        converted; a C-contiguous int32 one is kept as it is, not copied, so
        changing it afterwards changes the Structure).
    palette: tuple of canonical block states (made canonical here: namespace
        written, properties sorted; entries that name one state are merged
        into the first, and `blocks` renumbered); palette[0] == "minecraft:air".
    Bad arguments here and to the methods raise TypeError, ValueError or
    IndexError, as numpy would: a Structure is a data type, and the files
    it comes from are checked by `formats` (VoxgenError, naming the file).
    void: bool (X, Y, Z) or None (no void cells).
    block_entities: {(x, y, z): opaque NBT compound without position keys}.
    entities: list of NBT compounds, vanilla layout, Pos relative to (0, 0, 0)
        (see the module docstring).
    data_version: Minecraft DataVersion, or None if the file has none.
    name: a human name (file stem or blueprint name).
    origin: where blocks[0, 0, 0] sits in the source's coordinates.
    metadata: free-form dict kept by formats that can store it (e.g. .toml).
    Two Structures are equal only when they are one object (numpy arrays
    have no one truth value): compare contents with `same_blocks`. A new
    Structure made by a method shares no array, dict or list with its source.
    """

    blocks: np.ndarray
    palette: tuple[str, ...]
    void: np.ndarray | None = None
    block_entities: dict = field(default_factory=dict)
    entities: list = field(default_factory=list)
    data_version: int | None = None
    name: str = ""
    origin: tuple[int, int, int] = (0, 0, 0)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        blocks = np.asarray(self.blocks)
        if blocks.dtype.kind not in "biu":      # 0.7 would be truncated to air, silently
            raise TypeError(f"blocks must hold integer palette indices, not {blocks.dtype}")
        self.palette = tuple(canonical(p) for p in self.palette)
        if blocks.ndim != 3:
            raise ValueError(f"blocks must be 3-D, got shape {blocks.shape}")
        if not self.palette or self.palette[0] != AIR:
            raise ValueError("palette[0] must be minecraft:air")
        # checked before the cast to int32, which would wrap an index of 2**32 round to 0
        if blocks.size and (blocks.min() < 0 or blocks.max() >= len(self.palette)):
            raise ValueError("palette index out of range")
        self.blocks = np.ascontiguousarray(blocks, dtype=np.int32)
        if len(set(self.palette)) < len(self.palette):
            # "stone" and "minecraft:stone" are one state once canonical: one
            # entry, or counts() would drop a key's cells and a writer an index
            entry: dict[str, int] = {}
            remap = np.array([entry.setdefault(p, len(entry)) for p in self.palette], dtype=np.int32)
            self.palette = tuple(entry)
            self.blocks = looked_up(remap, self.blocks)
        if self.void is not None:
            self.void = np.ascontiguousarray(self.void, dtype=bool)
            if self.void.shape != self.blocks.shape:
                raise ValueError("void mask shape differs from blocks")
            if not self.void.any():
                self.void = None

    # --- construction ------------------------------------------------------

    @classmethod
    def from_states(cls, states: np.ndarray, **kwargs) -> "Structure":
        """Build from an (X, Y, Z) array of block-state strings (None = void)."""
        states = np.asarray(states, dtype=object)
        void = np.vectorize(lambda s: s is None, otypes=[bool])(states)
        flat = ["minecraft:air" if s is None else canonical(s) for s in states.ravel()]
        palette, inverse = np.unique(np.array([AIR] + flat, dtype=object), return_inverse=True)
        return cls.from_indices(inverse[1:].reshape(states.shape), list(palette), void=void, **kwargs)

    @classmethod
    def from_indices(cls, indices: np.ndarray, palette, **kwargs) -> "Structure":
        """Build from indices into any palette; air is moved to index 0 and
        every air-like id (cave_air, void_air) merged into it only if asked by
        the caller (formats keep them as they are)."""
        palette = [canonical(p) for p in palette]
        if AIR not in palette:
            palette.append(AIR)
        air = palette.index(AIR)
        order = [air] + [i for i in range(len(palette)) if i != air]
        remap = np.empty(len(palette), dtype=np.int32)
        remap[order] = np.arange(len(palette), dtype=np.int32)
        indices = np.asarray(indices)
        if indices.dtype.kind not in "biu":     # 0.7 would be truncated, as the constructor says
            raise TypeError(f"indices must be integer palette indices, not {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= len(palette)):
            raise ValueError("palette index out of range")      # -1 would wrap to the last entry
        blocks = remap[indices.astype(np.int64, copy=False)]
        return cls(blocks, tuple(palette[i] for i in order), **kwargs)

    # --- queries -----------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.blocks.shape)

    def air_mask(self) -> np.ndarray:
        """bool (X, Y, Z): air-like cells or void."""
        is_air_entry = np.array([block_id(p) in AIR_IDS for p in self.palette])
        mask = is_air_entry[self.blocks]
        if self.void is not None:
            mask |= self.void
        return mask

    def count_non_air(self) -> int:
        return int((~self.air_mask()).sum())

    def state_at(self, x: int, y: int, z: int) -> str | None:
        """The block state at a cell, or None for void. IndexError outside
        the box (a negative coordinate does not count from the far end)."""
        cell = tuple(_whole(n, v) for n, v in zip("xyz", (x, y, z)))
        if not all(0 <= c < n for c, n in zip(cell, self.shape)):
            raise IndexError(f"cell {cell} outside the box {self.shape}")
        x, y, z = cell
        if self.void is not None and self.void[x, y, z]:
            return None
        return self.palette[self.blocks[x, y, z]]

    def state_array(self) -> np.ndarray:
        """object (X, Y, Z) array of states, None for void."""
        states = np.array(self.palette, dtype=object)[self.blocks]
        if self.void is not None:
            states[self.void] = None
        return states

    def counts(self) -> dict[str, int]:
        """Cells per palette state (void cells not counted)."""
        n = entry_counts(self.blocks, len(self.palette))
        if self.void is not None:
            n -= entry_counts(self.blocks[self.void], len(self.palette))
        return {s: int(c) for s, c in zip(self.palette, n)}

    def same_blocks(self, other: "Structure") -> bool:
        """True if both hold the same state (or void) in every cell."""
        if not isinstance(other, Structure):
            raise TypeError(f"same_blocks compares with a Structure, not {type(other).__name__}")
        return self.shape == other.shape and bool(
            np.all(self.state_array() == other.state_array()))

    # --- transformations (each returns a new Structure) ---------------------

    def _derived(self, **changes) -> "Structure":
        """`replace(self, **changes)`, with a copy of each mutable field not
        changed (void, block_entities, entities, metadata): editing one
        Structure never edits another."""
        copies = {"void": lambda v: None if v is None else v.copy(), "block_entities": dict,
                  "entities": list, "metadata": dict}
        own = {key: copy(getattr(self, key)) for key, copy in copies.items() if key not in changes}
        return replace(self, **own, **changes)

    def compacted(self) -> "Structure":
        """Drop palette entries no cell uses (air stays at 0)."""
        used = used_entries(self.blocks, len(self.palette))
        used[0] = True
        remap = (np.cumsum(used) - 1).astype(np.int32)
        palette = tuple(p for p, u in zip(self.palette, used) if u)
        return self._derived(blocks=looked_up(remap, self.blocks), palette=palette)

    def crop(self, lo, hi) -> "Structure":
        """Cells lo <= p < hi (per axis, inside the box: 0 <= lo <= hi <=
        shape, else ValueError); entities and block entities follow."""
        lo = tuple(_whole("lo", v) for v in lo)
        hi = tuple(_whole("hi", v) for v in hi)
        if len(lo) != 3 or len(hi) != 3 or not all(0 <= a <= b <= n for a, b, n in zip(lo, hi, self.shape)):
            raise ValueError(f"crop {lo}..{hi} is not a box inside (0, 0, 0)..{self.shape}")
        sl = tuple(slice(a, b) for a, b in zip(lo, hi))
        bes = {(x - lo[0], y - lo[1], z - lo[2]): v for (x, y, z), v in self.block_entities.items()
               if all(a <= p < b for p, a, b in zip((x, y, z), lo, hi))}
        origin = tuple(o + a for o, a in zip(self.origin, lo))
        entities = _entities_moved(self.entities, tuple(-a for a in lo),
                                   tuple(b - a for a, b in zip(lo, hi)))
        return self._derived(blocks=self.blocks[sl].copy(),
                       void=None if self.void is None else self.void[sl].copy(),
                       block_entities=bes, entities=entities, origin=origin)

    def trimmed(self) -> "Structure":
        """Crop to the bounding box of non-air cells (an empty structure stays 1x1x1)."""
        solid = ~self.air_mask()
        if not self.blocks.size:                # a box of no cells: one cell of air
            return self._derived(blocks=np.zeros((1, 1, 1), np.int32), void=None, block_entities={},
                           entities=[])
        if not solid.any():
            return self.crop((0, 0, 0), (1, 1, 1))
        idx = np.nonzero(solid)
        return self.crop([i.min() for i in idx], [i.max() + 1 for i in idx])

    def pad(self, width, fill_void: bool = False) -> "Structure":
        """Grow the box by `width` cells (int, or per-axis (before, after) pairs)
        of air (or void), each >= 0. `origin` moves so positions stay comparable."""
        if isinstance(width, numbers.Integral):
            width = [(width, width)] * 3
        width = [(_whole("width", a), _whole("width", b)) for a, b in width]
        if len(width) != 3 or min(min(w) for w in width) < 0:
            raise ValueError(f"pad width must be >= 0, three (before, after) pairs or one int: {width}")
        blocks = np.pad(self.blocks, width)
        void = None
        if fill_void or self.void is not None:
            base = self.void if self.void is not None else np.zeros(self.shape, bool)
            void = np.pad(base, width, constant_values=fill_void)
        bes = {(x + width[0][0], y + width[1][0], z + width[2][0]): v
               for (x, y, z), v in self.block_entities.items()}
        origin = tuple(o - w[0] for o, w in zip(self.origin, width))
        entities = _entities_moved(self.entities, tuple(w[0] for w in width))
        return self._derived(blocks=blocks, void=void, block_entities=bes, entities=entities,
                       origin=origin)

    def translate(self, offset) -> "Structure":
        """Shift the contents by `offset` cells inside the same box; cells
        shifted out are lost, cells shifted in are air."""
        offset = tuple(_whole("offset", v) for v in offset)
        if len(offset) != 3:
            raise ValueError(f"offset must be 3 whole numbers (x, y, z), got {offset}")
        blocks = np.zeros_like(self.blocks)
        void = None if self.void is None else np.zeros_like(self.void)
        src, dst = [], []
        for n, d in zip(self.shape, offset):
            src.append(slice(max(0, -d), min(n, n - d)))
            dst.append(slice(max(0, d), min(n, n + d)))
        if all(s.start < s.stop for s in src):
            blocks[tuple(dst)] = self.blocks[tuple(src)]
            if void is not None:
                void[tuple(dst)] = self.void[tuple(src)]
        bes = {}
        for pos, v in self.block_entities.items():
            new = tuple(p + d for p, d in zip(pos, offset))
            if all(0 <= p < n for p, n in zip(new, self.shape)):
                bes[new] = v
        entities = _entities_moved(self.entities, offset, self.shape)
        return self._derived(blocks=blocks, void=void, block_entities=bes, entities=entities)

    def cut_along(self, axis, at: int) -> tuple["Structure", "Structure"]:
        """Cut by the plane `axis = at`: cells with coordinate < at go to the
        first part, the rest to the second. Both parts keep the full box (the
        other part's cells become air), so positions stay comparable. Each
        entity goes to the part its cell (`entity_block`) falls in."""
        a = axis_number(axis)
        n = self.shape[a]
        at = _whole("at", at)
        if not 0 <= at <= n:
            raise ValueError(f"cut position {at} outside 0..{n} on axis {'xyz'[a]}")
        first, second = cut_masks(self.shape, a, at)
        cells = [entity_block(e) for e in self.entities]
        below = [c is None or c[a] < at for c in cells]     # no Pos: the first part
        return (replace(self.masked(first), entities=[e for e, b in zip(self.entities, below) if b]),
                replace(self.masked(second), entities=[e for e, b in zip(self.entities, below) if not b]))

    def masked(self, keep: np.ndarray) -> "Structure":
        """Keep cells where `keep` is True; the rest become air (void stays).
        An entity is kept when its cell (`entity_block`, clamped into the
        box) is kept, or when it has no Pos."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != self.shape:            # numpy would broadcast a (1, 1, 1) mask silently
            raise ValueError(f"mask shape {keep.shape} differs from the box {self.shape}")
        blocks = np.where(keep, self.blocks, np.int32(0)).astype(np.int32, copy=False)
        bes = {p: v for p, v in self.block_entities.items() if keep[p]}
        entities = []
        for entity in self.entities:
            cell = entity_block(entity)
            if cell is None or keep[tuple(min(max(c, 0), n - 1) for c, n in zip(cell, self.shape))]:
                entities.append(entity)
        return self._derived(blocks=blocks, block_entities=bes, entities=entities)
