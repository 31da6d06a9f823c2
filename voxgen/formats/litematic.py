"""Litematica `.litematic` (read and write).

    root {Version, SubVersion?, MinecraftDataVersion, Metadata{Name, Author, ...},
          Regions{name: {Position{x,y,z}, Size{x,y,z}, BlockStatePalette[{Name, Properties}],
                         BlockStates (packed longs), TileEntities, Entities, Pending*Ticks}}}

A region spans Position .. Position + Size - 1 per axis; a negative size
extends the other way (min corner = Position + Size + 1). Cells are stored
x fastest, then z, then y, packed `bits_for(len(palette))` bits each
(voxgen.formats.bitpack). All regions are placed into one box: cells no
region covers are void, and where regions overlap, later ones win.
Tile entities (positions relative to their region's min corner) are kept
opaque. Entities are vanilla NBT whose Pos is relative to their region's
`Position` (Litematica subtracts the region's first corner, not its minimum):
they are moved to Structure's convention (relative to the box) and back.
The writer emits one region at Position (0, 0, 0): a structure's `origin`
is not written (a region's Position is relative to the placement, and an
origin taken from a world would put the blocks far from it).
"""

from __future__ import annotations

import time

import nbtlib
import numpy as np

from voxgen.blocks import join_state, split_state
from voxgen.errors import VoxgenError
from voxgen.formats import FARTHEST, MAX_CELLS, nbt_io
from voxgen.formats.bitpack import bits_for, longs_needed, pack, unpack
from voxgen.formats.file_palette import (build_structure, canonical_state, check_size, file_palette,
                                         flattened_data_version, written_data_version)
from voxgen.formats.nbt_io import require
from voxgen.structure import Structure, shifted_entity
_XYZ = ("x", "y", "z")
# Files with more regions are refused: a schematic holds a handful, and each
# costs ~0.3 ms to decode and place, so 200 k one-cell regions (a 1 MB file)
# took ~60 s.
MAX_REGIONS = 1024


def load(path, block_entities: bool = True) -> Structure:
    """Read every region of a Litematica file into one Structure."""
    data, _ = nbt_io.read_bytes(path)
    root = nbt_io.parse_root(data, path)
    regions = require(root, "Regions", nbtlib.Compound, path)
    if len(regions) == 0:
        raise VoxgenError("the file has no regions", path)
    if len(regions) > MAX_REGIONS:
        raise VoxgenError(f"the file has {len(regions):,} regions, more than voxgen reads ({MAX_REGIONS:,})", path)
    boxes = {name: _region_box(name, region, path) for name, region in regions.items()}
    lo = np.min([b[0] for b in boxes.values()], axis=0)
    hi = np.max([b[0] + b[1] for b in boxes.values()], axis=0)
    shape = check_size(hi - lo, path, "enclosing box")

    indices = np.zeros(shape, dtype=np.int32)        # (the states of <= 1024 regions' palettes fit)
    covered = np.zeros(shape, dtype=bool)
    states: list[str] = []
    entities: dict = {}
    for name, region in regions.items():
        corner, size = boxes[name]
        local, palette = _decode_region(name, region, size, path)
        at = tuple(slice(c - l, c - l + n) for c, l, n in zip(corner, lo, size))
        np.add(local, len(states), out=indices[at])      # (in place: no region-sized temporary)
        covered[at] = True
        states += palette
        if block_entities:
            for pos, tag in _region_tile_entities(name, region, size, path):
                entities[tuple(int(p + c - l) for p, c, l in zip(pos, corner, lo))] = tag
    del local, data                         # the last region's copy: 256 MB at 64 M cells
    data_version = root.get("MinecraftDataVersion")
    meta = root.get("Metadata")
    name = ""
    if isinstance(meta, nbtlib.Compound) and "Name" in meta:
        name = str(require(meta, "Name", nbtlib.String, path, "Metadata"))
    version = int(require(root, "Version", nbtlib.Int, path)) if "Version" in root else 0
    metadata = {"format_version": version}
    data_version = int(data_version) if isinstance(data_version, nbtlib.Int) else None
    structure = build_structure(
        indices, states, path, void=~covered, data_version=flattened_data_version(data_version, metadata),
        name=name, origin=tuple(int(v) for v in lo), metadata=metadata)
    structure.block_entities = {p: t for p, t in entities.items()
                                if structure.void is None or not structure.void[p]}
    for region_name, region in regions.items():
        if "Entities" not in region:
            continue
        where = f"region {region_name!r}"
        shift = _vec(region, "Position", path, where) - lo
        for n, entity in enumerate(require(region, "Entities", nbtlib.List, path, where)):
            if not isinstance(entity, nbtlib.Compound):
                raise VoxgenError(f"{where}: entity {n} is not a compound", path)
            structure.entities.append(shifted_entity(entity, [int(v) for v in shift]))
    return structure


def _vec(compound, key, path, where) -> np.ndarray:
    vec = require(compound, key, nbtlib.Compound, path, where)
    return np.array([int(require(vec, a, nbtlib.Int, path, f"{where}.{key}")) for a in _XYZ],
                    dtype=np.int64)


def _region_box(name, region, path):
    """(min corner, extent) of a region, both int64 (3,)."""
    where = f"region {name!r}"
    if not isinstance(region, nbtlib.Compound):
        raise VoxgenError(f"{where} is not a compound", path)
    position, size = _vec(region, "Position", path, where), _vec(region, "Size", path, where)
    if (size == 0).any() or (np.abs(size) > MAX_CELLS).any():
        raise VoxgenError(f"{where} has size {size.tolist()}", path)
    extent = np.abs(size)
    check_size(extent, path, where)
    corner = np.where(size < 0, position + size + 1, position)
    if (np.abs(corner) >= FARTHEST).any():
        raise VoxgenError(f"{where} lies implausibly far away ({position.tolist()})", path)
    return corner, extent


def _decode_region(name, region, size, path) -> tuple[np.ndarray, list[str]]:
    """(indices (X, Y, Z) into the region palette, palette states)."""
    where = f"region {name!r}"
    palette = require(region, "BlockStatePalette", nbtlib.List, path, where)
    states = [_state_of(entry, path, where) for entry in palette]
    if not states:
        raise VoxgenError(f"{where} has an empty palette", path)
    longs = require(region, "BlockStates", nbtlib.LongArray, path, where)
    sx, sy, sz = (int(n) for n in size)
    count, bits = sx * sy * sz, bits_for(len(states))
    if len(longs) < longs_needed(count, bits):
        raise VoxgenError(f"{where} holds {len(longs)} longs of block states, "
                          f"{longs_needed(count, bits)} needed (truncated?)", path)
    flat = unpack(longs, count, bits)
    if flat.max(initial=0) >= len(states):
        raise VoxgenError(f"{where}: palette index {int(flat.max())} out of range "
                          f"(palette has {len(states)} entries)", path)
    return flat.reshape(sy, sz, sx).transpose(2, 0, 1), states


def _state_of(entry, path, where) -> str:
    if not isinstance(entry, nbtlib.Compound):
        raise VoxgenError(f"{where}: a palette entry is not a compound", path)
    block = str(require(entry, "Name", nbtlib.String, path, f"{where} palette"))
    props = entry.get("Properties", nbtlib.Compound())
    if not isinstance(props, nbtlib.Compound):
        raise VoxgenError(f"{where}: palette Properties is not a compound", path)
    state = join_state(block, {str(k): str(v) for k, v in props.items()})
    return canonical_state(state, path)


def _region_tile_entities(name, region, size, path):
    """(position in the region, opaque compound without x/y/z) pairs."""
    where = f"region {name!r} tile entity"
    for tag in region.get("TileEntities", nbtlib.List([])):
        if not isinstance(tag, nbtlib.Compound):
            raise VoxgenError(f"{where} is not a compound", path)
        pos = tuple(int(require(tag, a, nbtlib.Int, path, where)) for a in _XYZ)
        if not all(0 <= p < n for p, n in zip(pos, size)):
            raise VoxgenError(f"{where} at {list(pos)} is outside its region", path)
        yield pos, nbtlib.Compound({k: v for k, v in tag.items() if k not in _XYZ})


def save(structure: Structure, path) -> None:
    """Write `structure` as a one-region Litematica file (void cells become
    `minecraft:structure_void`)."""
    indices, states = file_palette(structure)
    bits = bits_for(len(states))
    longs = pack(indices.transpose(1, 2, 0).ravel(), bits)  # y, z, x order
    sx, sy, sz = structure.shape
    size = _xyz(structure.shape)
    palette = nbtlib.List[nbtlib.Compound]([_palette_entry(s) for s in states])
    tile_entities = nbtlib.List[nbtlib.Compound]([   # the cell's own x, y, z, whatever keys the tag kept
        nbtlib.Compound({**_xyz(pos), **{k: v for k, v in tag.items() if k not in _XYZ}})
        for pos, tag in sorted(structure.block_entities.items())])
    name = structure.name or "voxgen"
    region = nbtlib.Compound({
        "Position": _xyz((0, 0, 0)), "Size": size, "BlockStatePalette": palette,
        "BlockStates": nbtlib.LongArray(longs), "TileEntities": tile_entities,
        "Entities": nbtlib.List[nbtlib.Compound](structure.entities),   # Position 0: Pos as held
        "PendingBlockTicks": nbtlib.List([]), "PendingFluidTicks": nbtlib.List([]),
    })
    now = nbtlib.Long(int(time.time() * 1000))
    metadata = nbtlib.Compound({
        "Name": nbtlib.String(name), "Author": nbtlib.String("voxgen"),
        "Description": nbtlib.String(""), "RegionCount": nbtlib.Int(1),
        "TotalBlocks": nbtlib.Int(structure.count_non_air()),
        "TotalVolume": nbtlib.Int(sx * sy * sz), "EnclosingSize": size,
        "TimeCreated": now, "TimeModified": now,
    })
    root = nbtlib.Compound({
        "MinecraftDataVersion": nbtlib.Int(written_data_version(structure)),
        "Version": nbtlib.Int(6), "SubVersion": nbtlib.Int(1), "Metadata": metadata,
        "Regions": nbtlib.Compound({name: region}),
    })
    nbt_io.write_nbt(path, root, what="a Litematica file")


def _xyz(values) -> nbtlib.Compound:
    return nbtlib.Compound({a: nbtlib.Int(int(v)) for a, v in zip(_XYZ, values)})


def _palette_entry(state: str) -> nbtlib.Compound:
    block, props = split_state(state)
    entry = nbtlib.Compound({"Name": nbtlib.String(block)})
    if props:
        entry["Properties"] = nbtlib.Compound({k: nbtlib.String(v) for k, v in props.items()})
    return entry
