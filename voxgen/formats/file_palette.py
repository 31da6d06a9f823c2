"""From a file's own palette and per-cell indices to a Structure, shared by
the Sponge, Litematica and Bedrock readers.

A file palette may name the same state twice (before canonicalisation), leave
gaps, or list states no cell uses. The Structure's palette is canonical,
duplicate-free, holds only used states, and has air at 0;
`minecraft:structure_void` cells become void (as in the text blueprint).
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

from voxgen.blocks import AIR, STRUCTURE_VOID, canonical
from voxgen.errors import VoxgenError
from voxgen.formats import MAX_CELLS
from voxgen.formats.flattening import FLATTENING_DATA_VERSION
from voxgen.structure import Structure, looked_up, used_entries

# Stamped when a structure has no DataVersion that says its names are
# flattened (1.20.4, as voxgen's writers always have).
DEFAULT_DATA_VERSION = 3700


def written_data_version(structure: Structure) -> int:
    """The DataVersion a writer stamps. A Structure always holds modern
    (flattened) names, so the stamp must say so: the structure's own version
    if it is at least FLATTENING_DATA_VERSION (1451), else DEFAULT_DATA_VERSION
    (a reader seeing < 1451 would "flatten" the names a second time)."""
    version = structure.data_version
    return int(version) if version is not None and version >= FLATTENING_DATA_VERSION else DEFAULT_DATA_VERSION


def flattened_data_version(version, metadata: dict) -> int | None:
    """For a reader whose format only ever holds flattened names (Sponge,
    Litematica, the text blueprint): the file's DataVersion, or None when it
    claims a pre-flattening one (< 1451, a writer quirk seen in real Sponge
    files); that claim is kept in `metadata["source_data_version"]`."""
    if version is not None and version < FLATTENING_DATA_VERSION:
        metadata["source_data_version"] = int(version)
        return None
    return version


# (limit, what to call a refusal) set by `cell_limit` for the loads inside it.
_CELL_LIMIT = contextvars.ContextVar("cell_limit", default=(MAX_CELLS, None))


@contextlib.contextmanager
def cell_limit(limit: int, refusal: str):
    """Within the block, loaders refuse a declared size above `limit` cells
    from the file's header, before decoding its blocks, with the message
    "`refusal`: XxYxZ = N cells (limit L)" (e.g. `cut`'s own limit)."""
    token = _CELL_LIMIT.set((min(int(limit), MAX_CELLS), refusal))
    try:
        yield
    finally:
        _CELL_LIMIT.reset(token)


def check_size(size, path, what: str = "structure") -> tuple[int, int, int]:
    """A declared (X, Y, Z) size, refused if not positive or above MAX_CELLS
    (before anything that large is allocated), or above a `cell_limit`."""
    size = tuple(int(n) for n in size)
    if len(size) != 3 or min(size) <= 0:
        raise VoxgenError(f"{what} size {list(size)} is not positive", path)
    cells = size[0] * size[1] * size[2]
    if cells > MAX_CELLS:
        raise VoxgenError(f"{what} size {list(size)} is too large "
                          f"(over {MAX_CELLS} cells)", path)
    limit, refusal = _CELL_LIMIT.get()
    if cells > limit:
        raise VoxgenError(f"{refusal}: {'x'.join(map(str, size))} = {cells:,} cells (limit {limit:,})", path)
    return size


def canonical_state(state: str, path) -> str:
    """canonical(state), with a VoxgenError naming the file for bad strings."""
    try:
        return canonical(str(state))
    except ValueError as err:
        raise VoxgenError(f"palette entry: {err}", path) from None


def build_structure(indices: np.ndarray, states: list, path, void=None, **kwargs) -> Structure:
    """A Structure from file-palette indices.

    indices: integer (X, Y, Z) into `states`; states: list of state strings
    (None for an index the file leaves undefined); void: optional bool
    (X, Y, Z) of cells the file does not store; kwargs go to Structure.
    """
    indices = np.asarray(indices)
    n = len(states)
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise VoxgenError(f"palette index {bad} out of range (palette has {n} entries)", path)
    used = used_entries(indices, n)
    palette = [AIR]
    remap = np.zeros(n, dtype=np.int32)
    is_void = np.zeros(n, dtype=bool)
    seen = {AIR: 0}
    for i, state in enumerate(states):
        if not used[i]:
            continue
        if state is None:
            raise VoxgenError(f"palette index {i} is used but not defined", path)
        state = canonical_state(state, path)
        if state == STRUCTURE_VOID:
            is_void[i] = True
            continue
        if state not in seen:
            seen[state] = len(palette)
            palette.append(state)
        remap[i] = seen[state]
    blocks = looked_up(remap, indices)
    cell_void = looked_up(is_void, indices) if is_void.any() else None
    if void is not None:
        cell_void = void if cell_void is None else (cell_void | void)
    return Structure(blocks, tuple(palette), void=cell_void, **kwargs)


def file_palette(structure: Structure) -> tuple[np.ndarray, list[str]]:
    """(indices (X, Y, Z) int32, states) for writing: the structure's used
    states with air first, void cells as `minecraft:structure_void`."""
    cells = structure.blocks if structure.void is None else structure.blocks[~structure.void]
    used = used_entries(cells, len(structure.palette))
    used[0] = True
    remap = (np.cumsum(used) - 1).astype(np.int32)
    states = [s for s, u in zip(structure.palette, used) if u]
    indices = looked_up(remap, structure.blocks)
    if structure.void is not None:
        indices[structure.void] = len(states)
        states.append(STRUCTURE_VOID)
    return indices, states
