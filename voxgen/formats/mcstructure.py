"""Bedrock `.mcstructure` (read only): uncompressed little-endian NBT.

    root "" {format_version, size [X, Y, Z], structure_world_origin,
             structure: {block_indices: [layer0, layer1], entities,
                         palette: {default: {block_palette: [{name, states, version}],
                                             block_position_data: {"i": {block_entity_data}}}}}}

Cells are stored z fastest: i = (x * Y + y) * Z + z. Layer 0 holds the block
(-1 = structure void), layer 1 an optional second block in the same cell,
in practice water: it becomes `waterlogged=true` where the Java block has
that property, and is dropped otherwise (counted in
`metadata["dropped_layer1_cells"]`). Names and states are mapped to Java by
voxgen.formats.bedrock_names; unknown blocks keep their Bedrock name.
Entities keep their (Bedrock) NBT, their world Pos made relative to the box
(`structure_world_origin`) when that fits them inside it.
"""

from __future__ import annotations

import nbtlib
import numpy as np

from voxgen.blocks import STRUCTURE_VOID, join_state, split_state
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io
from voxgen.formats.bedrock_names import to_java
from voxgen.formats.file_palette import build_structure, canonical_state, check_size
from voxgen.formats.nbt_io import require
from voxgen.structure import Structure, entities_fitted

_WATER = ("minecraft:water", "minecraft:flowing_water")


def load(path, block_entities: bool = True) -> Structure:
    data, _ = nbt_io.read_bytes(path)
    root = nbt_io.parse_root(data, path, byteorder="little")
    size_tag = require(root, "size", nbtlib.List, path)
    if len(size_tag) != 3 or not all(isinstance(v, nbtlib.Int) for v in size_tag):
        raise VoxgenError("tag 'size' is not a list of 3 ints", path)
    sx, sy, sz = check_size([int(v) for v in size_tag], path)
    body = require(root, "structure", nbtlib.Compound, path)
    layers = require(body, "block_indices", nbtlib.List, path, "structure")
    if not 1 <= len(layers) <= 2:
        raise VoxgenError(f"structure has {len(layers)} block layers, expected 1 or 2", path)
    volume = sx * sy * sz
    arrays = []
    for n, layer in enumerate(layers):
        if not isinstance(layer, nbtlib.List) or len(layer) != volume:
            raise VoxgenError(f"block layer {n} does not hold {volume} indices", path)
        if volume and not isinstance(layer[0], nbtlib.Int):
            raise VoxgenError(f"block layer {n} does not hold ints", path)
        arrays.append(np.fromiter(layer, dtype=np.int64, count=volume))
    if len(arrays) == 1:
        arrays.append(np.full(volume, -1, dtype=np.int64))
    palettes = require(body, "palette", nbtlib.Compound, path, "structure")
    default = require(palettes, "default", nbtlib.Compound, path, "structure.palette")
    entries = require(default, "block_palette", nbtlib.List, path, "structure.palette.default")
    java = [_java_state(e, path) for e in entries]
    for n, arr in enumerate(arrays):
        if volume and (arr.min() < -1 or arr.max() >= len(java)):
            bad = int(arr.min()) if arr.min() < -1 else int(arr.max())
            raise VoxgenError(f"block layer {n}: palette index {bad} out of range "
                              f"(palette has {len(java)} entries)", path)

    # one combined state per distinct (layer 0, layer 1) pair
    pair = (arrays[0] + 1) * (len(java) + 1) + (arrays[1] + 1)
    pairs, inverse = np.unique(pair, return_inverse=True)
    cells = np.bincount(inverse.ravel(), minlength=len(pairs))
    states, dropped = [], 0
    for code, n in zip(pairs.tolist(), cells.tolist()):
        first, second = divmod(code, len(java) + 1)
        state, lost = _combine(java, first - 1, second - 1)
        states.append(state)
        dropped += lost * n
    indices = inverse.reshape(sx, sy, sz)
    origin = (0, 0, 0)
    if "structure_world_origin" in root:
        tag = require(root, "structure_world_origin", nbtlib.List, path)
        if len(tag) != 3 or not all(isinstance(v, nbtlib.Int) for v in tag):
            raise VoxgenError("tag 'structure_world_origin' is not a list of 3 ints", path)
        origin = tuple(int(v) for v in tag)
    version = int(require(root, "format_version", nbtlib.Int, path)) if "format_version" in root else 0
    structure = build_structure(indices, states, path, origin=origin,
                                metadata={"format_version": version, "dropped_layer1_cells": dropped})
    if block_entities:
        structure.block_entities = _block_entities(default, (sx, sy, sz), structure, path)
    if isinstance(body.get("entities"), nbtlib.List):
        structure.entities = entities_fitted(list(body["entities"]), [tuple(-v for v in origin), (0, 0, 0)],
                                             (sx, sy, sz))
    return structure


def _java_state(entry, path) -> str:
    if not isinstance(entry, nbtlib.Compound):
        raise VoxgenError("a palette entry is not a compound", path)
    name = str(require(entry, "name", nbtlib.String, path, "palette entry"))
    states = entry.get("states", nbtlib.Compound())
    if not isinstance(states, nbtlib.Compound):
        raise VoxgenError(f"palette entry {name!r}: states is not a compound", path)
    plain = {str(k): int(v) if isinstance(v, int) else str(v) for k, v in states.items()}
    return canonical_state(to_java(name, plain), path)


def _combine(java: list[str], first: int, second: int) -> tuple[str, int]:
    """(state for a cell with layer-0 index `first`, layer-1 index `second`;
    1 if the layer-1 block had to be dropped)."""
    if first < 0:
        return STRUCTURE_VOID, int(second >= 0)
    state = java[first]
    if second < 0:
        return state, 0
    block, props = split_state(state)
    if java[second].partition("[")[0] in _WATER and "waterlogged" in props:
        props["waterlogged"] = "true"
        return join_state(block, props), 0
    return state, 1


def _block_entities(default, size, structure, path) -> dict:
    data = default.get("block_position_data", nbtlib.Compound())
    if not isinstance(data, nbtlib.Compound):
        raise VoxgenError("block_position_data is not a compound", path)
    sx, sy, sz = size
    out = {}
    for key, value in data.items():
        if not key.isdigit() or int(key) >= sx * sy * sz:
            raise VoxgenError(f"block_position_data key {key!r} is not a cell index", path)
        entity = value.get("block_entity_data") if isinstance(value, nbtlib.Compound) else None
        if not isinstance(entity, nbtlib.Compound):
            continue
        x, rest = divmod(int(key), sy * sz)
        y, z = divmod(rest, sz)
        if structure.void is None or not structure.void[x, y, z]:
            out[(x, y, z)] = nbtlib.Compound({k: v for k, v in entity.items() if k not in ("x", "y", "z")})
    return out
