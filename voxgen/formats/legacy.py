"""Legacy MCEdit / Schematica / WorldEdit `.schematic` (read only).

    root `Schematic` {Width, Height, Length: Short; Materials: "Alpha";
                      Blocks, Data: ByteArray (one byte per cell);
                      AddBlocks: ByteArray (optional, 4 high id bits per cell);
                      TileEntities, Entities: List; WEOffsetX/Y/Z, WEOriginX/Y/Z: Int}

Cells are y-major: index = (y * Length + z) * Width + x. Block ids are
0..255, or up to 4095 with `AddBlocks`, two cells per byte; the first cell of
each pair sits in the HIGH nibble, as MCEdit and Schematica write it
(WorldEdit's old reader assumed the low nibble; no vanilla id needs these
bits, so only modded ids are affected).

Numeric `id:data` pairs become modern block states through our flattening
table (`voxgen.formats.flattening`; bed and banner colours, skull types and
pot plants from the tile entities, `flattening_block_entities`): each
distinct pair is looked up once,
then the whole volume is indexed (numpy). Door halves and double-plant halves
are completed from their partner cell. `Materials` other than "Alpha"
(Classic/Indev ids mean different blocks) is refused.

Tile entities become opaque compounds keyed by (x, y, z) without their
position keys. Entities keep their NBT with Pos relative to the box (MCEdit
writes it so; WorldEdit writes world positions, the box's corner at
`WEOrigin`, and those are moved). `WEOffset` becomes
`Structure.origin` and, with `WEOrigin`, is kept in `metadata`.
"""

from __future__ import annotations

import nbtlib
import numpy as np

from voxgen.errors import VoxgenError
from voxgen.formats import flattening, flattening_block_entities, nbt_io
from voxgen.formats.file_palette import build_structure, check_size
from voxgen.formats.nbt_io import require
from voxgen.structure import Structure, entities_fitted

_POSITION_KEYS = ("x", "y", "z")


def load(path) -> Structure:
    data, _ = nbt_io.read_bytes(path)
    root = nbt_io.parse_root(data, path)
    del data                    # (the parsed arrays are copies: up to 128 MB less at the peak)
    materials = str(require(root, "Materials", nbtlib.String, path))
    if materials != "Alpha":
        raise VoxgenError(f"Materials={materials} schematics use a different block-id space; "
                          "only Alpha (Minecraft 1.x) legacy schematics can be read", path)
    size = check_size([int(require(root, key, nbtlib.Short, path)) & 0xFFFF
                       for key in ("Width", "Height", "Length")], path)
    ids, values = _cell_arrays(root, size, path)                      # flat, file order
    for key in ("Blocks", "Data", "AddBlocks"):     # read: 128 MB less at 64 M cells from here on
        root.pop(key, None)
    indices, states = flattening.numeric_states((ids << 4) | values)   # keys < 2^16: uint16
    indices, states = _complete_halves(ids, values, indices, states, size)
    del ids, values
    width, height, length = size
    # File order is (y, z, x); Structure order is [x, y, z].
    indices = indices.reshape(height, length, width).transpose(2, 0, 1)
    we_origin = _int_triple(root, "WEOrigin", path)
    entities = list(_compound_list(root, "Entities", path))
    if we_origin is not None:
        entities = entities_fitted(entities, [(0, 0, 0), tuple(-v for v in we_origin)], size)
    structure = build_structure(indices, states, path,
                                block_entities=_block_entities(root, size, path), entities=entities)
    structure.data_version = flattening.MODERN_DATA_VERSION
    flattening_block_entities.apply(structure)         # bed colours, skull types, pot plants, ...
    structure.metadata["legacy_materials"] = materials
    # WorldEdit's fields: WEOrigin, the box's corner in the world (a Sponge
    # file's Offset: the origin); WEOffset, where the box lies from the player
    # when pasted (a Sponge file's Metadata.WEOffsetX/Y/Z, written from here)
    offset = _int_triple(root, "WEOffset", path)
    if offset is not None:
        structure.metadata["we_offset"] = list(offset)
    if we_origin is not None:
        structure.origin = we_origin
        structure.metadata["we_origin"] = list(we_origin)
    return structure


def _cell_arrays(root, size, path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, data) flat in file order: ids 0..4095 as uint16, data 0..15 as
    uint8 (at 64 M cells, int32 arrays held 384 MB more)."""
    width, height, length = size
    n = width * height * length
    blocks = require(root, "Blocks", nbtlib.ByteArray, path)
    data = require(root, "Data", nbtlib.ByteArray, path)
    for name, array in (("Blocks", blocks), ("Data", data)):
        if len(array) != n:
            raise VoxgenError(f"{name} holds {len(array)} bytes, but {width}x{height}x{length} "
                              f"needs {n}", path)
    ids = np.asarray(blocks).view(np.uint8).astype(np.uint16)
    if "AddBlocks" in root:
        add = np.asarray(require(root, "AddBlocks", nbtlib.ByteArray, path)).view(np.uint8)
        if len(add) < (n + 1) // 2:
            raise VoxgenError(f"AddBlocks holds {len(add)} bytes, needs {(n + 1) // 2}", path)
        nibbles = np.empty(2 * len(add), dtype=np.uint16)
        nibbles[0::2] = add >> 4                                     # first cell: high nibble
        nibbles[1::2] = add & 0x0F
        ids |= nibbles[:n] << 8
    values = np.asarray(data).view(np.uint8) & np.uint8(0x0F)
    return ids, values


def _complete_halves(ids, values, indices, states, size):
    """Doors and double plants: take the facts each half lacks from its
    partner, the cell above or below (one layer = Width * Length cells away
    in file order) with the same id. Works on those cells only."""
    cells = np.flatnonzero(np.isin(ids, flattening.DOOR_IDS + (flattening.DOUBLE_PLANT_ID,)))
    if not len(cells):
        return indices, states
    layer = size[0] * size[2]
    own, data = ids[cells].astype(np.int64), values[cells].astype(np.int64)     # -1 below: signed
    upper = (data & 8) != 0
    partner = np.where(upper, cells - layer, cells + layer)
    inside = (partner >= 0) & (partner < len(ids))
    partner = np.where(inside, partner, 0)
    partner_data = np.where(inside & (ids[partner] == own), values[partner].astype(np.int64), -1)
    lower_data = np.where(upper, partner_data, data)
    upper_data = np.where(upper, data, partner_data)
    # (id, half, lower, upper) packed into one int, then one lookup per distinct key.
    packed = ((own * 2 + upper) * 17 + lower_data + 1) * 17 + upper_data + 1
    distinct, inverse = np.unique(packed, return_inverse=True)
    states = list(states)
    index_of = {s: i for i, s in enumerate(states)}
    new_index = np.empty(len(distinct), dtype=np.int32)
    for i, key in enumerate(distinct.tolist()):
        rest, up = divmod(key, 17)
        rest, low = divmod(rest, 17)
        block, is_upper = divmod(rest, 2)
        state = flattening.pair_state(block, None if low == 0 else low - 1, None if up == 0 else up - 1,
                                      "upper" if is_upper else "lower")
        new_index[i] = index_of.setdefault(state, len(index_of))
        if new_index[i] == len(states):
            states.append(state)
    indices = indices.copy()
    indices[cells] = new_index[inverse.ravel()]
    return indices, states


def _compound_list(root, key, path):
    if key not in root:
        return []
    items = require(root, key, nbtlib.List, path)
    if any(not isinstance(item, nbtlib.Compound) for item in items):
        raise VoxgenError(f"'{key}' holds something other than compounds", path)
    return items


def _block_entities(root, size, path) -> dict:
    out = {}
    for entity in _compound_list(root, "TileEntities", path):
        try:
            pos = tuple(int(entity[k]) for k in _POSITION_KEYS)
        except (KeyError, TypeError, ValueError):
            raise VoxgenError("a tile entity has no integer x, y, z", path) from None
        if not all(0 <= p < n for p, n in zip(pos, size)):
            raise VoxgenError(f"tile entity at {list(pos)} lies outside the {list(size)} volume", path)
        out[pos] = nbtlib.Compound({k: v for k, v in entity.items() if k not in _POSITION_KEYS})
    return out


def _int_triple(root, prefix, path):
    keys = [prefix + axis for axis in "XYZ"]
    if not all(k in root for k in keys):
        return None
    return tuple(int(require(root, k, nbtlib.Int, path)) for k in keys)
