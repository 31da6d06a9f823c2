"""Sponge schematic `.schem`, versions 1, 2 and 3 (read); 3 or 2 (write).

    v1/v2: root `Schematic` {Version, Width, Height, Length, Palette, BlockData,
           (Tile|Block)Entities, Entities, Offset, Metadata, DataVersion (v2)}
    v3:    root "" {Schematic: {Version, ..., Blocks: {Palette, Data, BlockEntities}}}

Cells are stored y-major: index = x + z * Width + y * Width * Length, as
varints (voxgen.formats.varint). Sizes are unsigned shorts.

Block entities become vanilla-style opaque compounds `{id: ..., fields...}`
without position keys, keyed by (x, y, z); the writer puts `Pos`/`Id` back
(inline for v2, under `Data` for v3). Entities likewise become vanilla
`{id, Pos, fields...}` with Pos relative to the box (Structure's convention).
In files, a v3 entity's Pos is relative to the box (the v3 spec); a v1/v2
entity's Pos is absolute, as WorldEdit writes it, with `Offset` the box's
minimum corner in the world (Evaluator.schem: Pos (-160, 26, -164), Offset
(-163, 16, -177)). A file whose entities fit the box only under the other
reading is read that way. The Offset becomes `Structure.origin` and the
Metadata compound is kept as SNBT in `metadata["sponge_metadata"]`, so both
survive a round trip. v3 Biomes are not kept.

Sponge schematics came with 1.13, so their names are always flattened: a
DataVersion below 1451 (a writer quirk in real files) is not believed
(`file_palette.flattened_data_version`).
"""

from __future__ import annotations

import nbtlib
import numpy as np

from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io
from voxgen.formats.file_palette import (build_structure, check_size, file_palette,
                                         flattened_data_version, written_data_version)
from voxgen.formats.nbt_io import require
from voxgen.formats.varint import VarintError, decode_varints, encode_varints
from voxgen.structure import Structure, entities_fitted, shifted_entity
_POSITION_KEYS = ("x", "y", "z", "id", "Id", "Pos")


def schematic_body(root: nbtlib.Compound) -> nbtlib.Compound:
    """The compound holding `Version`: the root itself (v1/v2) or root["Schematic"] (v3)."""
    inner = root.get("Schematic")
    if "Version" not in root and isinstance(inner, nbtlib.Compound):
        return inner
    return root


def load(path, block_entities: bool = True) -> Structure:
    """Read a Sponge schematic. `block_entities=False` skips decoding them
    (the 256^3 sample's 42k block entities dominate its load time)."""
    data, _ = nbt_io.read_bytes(path)
    skip = () if block_entities else ("BlockEntities", "TileEntities")
    body = schematic_body(nbt_io.parse_root(data, path, skip=skip))
    del data                                # parsed into copies: the raw bytes are not needed
    version = int(require(body, "Version", nbtlib.Int, path, "Schematic"))
    if version not in (1, 2, 3):
        raise VoxgenError(f"unsupported Sponge schematic version {version}", path)
    size = tuple(int(require(body, key, nbtlib.Short, path, "Schematic")) & 0xFFFF
                 for key in ("Width", "Height", "Length"))
    size = check_size(size, path)
    if version == 3:
        container = require(body, "Blocks", nbtlib.Compound, path, "Schematic")
        where = "Schematic.Blocks"
        packed = require(container, "Data", nbtlib.ByteArray, path, where)
        be_list = container.get("BlockEntities", nbtlib.List([]))
    else:
        container, where = body, "Schematic"
        packed = require(body, "BlockData", nbtlib.ByteArray, path, where)
        be_list = body.get("BlockEntities", body.get("TileEntities", nbtlib.List([])))
    states = _read_palette(require(container, "Palette", nbtlib.Compound, path, where), path)

    width, height, length = size
    if len(packed) < width * height * length:  # each cell takes at least one byte
        raise VoxgenError(f"block data holds {len(packed)} bytes for {width * height * length} "
                          "cells (truncated or wrong size)", path)
    try:
        flat = decode_varints(packed, width * height * length)
    except VarintError as err:
        raise VoxgenError(f"corrupt block data ({err})", path) from None
    indices = flat.reshape(height, length, width).transpose(2, 0, 1)  # (X, Y, Z)

    offset = body.get("Offset")
    origin = (0, 0, 0)
    if offset is not None:
        if not isinstance(offset, nbtlib.IntArray) or len(offset) != 3:
            raise VoxgenError("tag 'Offset' is not an int array of 3", path)
        origin = tuple(int(v) for v in offset)
    metadata = {"format_version": version}
    if isinstance(body.get("Metadata"), nbtlib.Compound):
        metadata["sponge_metadata"] = body["Metadata"].snbt()
    data_version = body.get("DataVersion")
    data_version = int(data_version) if isinstance(data_version, nbtlib.Int) else None
    structure = build_structure(
        indices, states, path, origin=origin, metadata=metadata,
        data_version=flattened_data_version(data_version, metadata))
    if block_entities:
        structure.block_entities = _read_block_entities(be_list, version, size, path)
    entities = body.get("Entities")
    if isinstance(entities, nbtlib.List):
        entities = [_entity_in(e, version, path) for e in entities]
        structure.entities = _relative(entities, version, origin, size)
    return structure


def _relative(entities: list, version: int, origin, size) -> list:
    """Entities with Pos relative to the box: v3 files store it so, v1/v2
    files absolute (box corner at `origin`); whichever reading the
    positions contradict (cells outside the box) gives way to the other."""
    absolute = tuple(-o for o in origin)
    shifts = [absolute, (0, 0, 0)] if version < 3 else [(0, 0, 0), absolute]
    return entities_fitted(entities, shifts, size)


def _entity_in(entry, version: int, path) -> nbtlib.Compound:
    """A Sponge entity as a vanilla-style compound {id, Pos, fields...}."""
    if not isinstance(entry, nbtlib.Compound):
        raise VoxgenError("an entity is not a compound", path)
    fields = entry.get("Data", nbtlib.Compound()) if version == 3 else entry
    if not isinstance(fields, nbtlib.Compound):
        raise VoxgenError("entity 'Data' is not a compound", path)
    out = nbtlib.Compound()
    if "Id" in entry or "id" in entry:
        out["id"] = _id(entry.get("Id", entry.get("id")), "an entity", path)
    if "Pos" in entry:
        out["Pos"] = entry["Pos"]
    out.update((k, v) for k, v in fields.items() if k not in ("Id", "id", "Pos"))
    return out


def _entity_out(tag: nbtlib.Compound, version: int, origin) -> nbtlib.Compound:
    """The inverse of `_entity_in` (and `_relative`): v2 positions absolute,
    the box's corner at `origin`."""
    if version < 3:
        tag = shifted_entity(tag, origin)
    head = nbtlib.Compound({key: tag[key] for key in ("Pos",) if key in tag})
    return _sponge_compound(head, tag, ("id", "Pos"), version)


def _sponge_compound(head: nbtlib.Compound, tag: nbtlib.Compound, skip, version: int) -> nbtlib.Compound:
    """`head` plus our `{id, fields}` in Sponge layout: `Id`, and the other
    fields under `Data` (v3) or inline (v1/v2)."""
    fields = nbtlib.Compound({k: v for k, v in tag.items() if k not in skip})
    if "id" in tag:
        head["Id"] = nbtlib.String(tag["id"])
    if version == 3:
        head["Data"] = fields
    else:
        head.update(fields)
    return head


def _read_palette(palette: nbtlib.Compound, path) -> list:
    """Palette compound {state: Int index} -> list by index (None for gaps)."""
    if len(palette) == 0:
        raise VoxgenError("the palette is empty", path)
    by_index = {}
    for state, index in palette.items():
        if not isinstance(index, nbtlib.Int):
            raise VoxgenError(f"palette entry {state!r} is not an int", path)
        index = int(index)
        if not 0 <= index < len(palette) + 4096 or index in by_index:
            raise VoxgenError(f"palette entry {state!r} has a bad or repeated index {index}", path)
        by_index[index] = state
    states = [None] * (max(by_index) + 1)
    for index, state in by_index.items():
        states[index] = state
    return states


def _read_block_entities(entries, version: int, size, path) -> dict:
    if not isinstance(entries, nbtlib.List):
        raise VoxgenError("block entities are not a list", path)
    out = {}
    for entry in entries:
        if not isinstance(entry, nbtlib.Compound):
            raise VoxgenError("a block entity is not a compound", path)
        # One tolist() per position: indexing an nbtlib IntArray builds a
        # tag object per element (a third of the load of 100k block entities).
        pos = np.asarray(require(entry, "Pos", nbtlib.IntArray, path, "block entity")).tolist()
        if len(pos) != 3 or not all(0 <= p < n for p, n in zip(pos, size)):
            raise VoxgenError(f"block entity position {pos} is outside the structure", path)
        block_id = entry.get("Id", entry.get("id"))
        fields = entry.get("Data", nbtlib.Compound()) if version == 3 else entry
        if not isinstance(fields, nbtlib.Compound):
            raise VoxgenError("block entity 'Data' is not a compound", path)
        body = nbtlib.Compound()
        if block_id is not None:
            body["id"] = _id(block_id, "a block entity", path)
        body.update((key, value) for key, value in fields.items() if key not in _POSITION_KEYS)
        out[tuple(pos)] = body
    return out


def save(structure: Structure, path, version: int = 3) -> None:
    """Write `structure` as a Sponge schematic of `version` 3 (default) or 2."""
    if version not in (2, 3):
        raise VoxgenError(f"can write Sponge schematic version 2 or 3, not {version}", path)
    if max(structure.shape) > 0xFFFF:
        raise VoxgenError(f"size {list(structure.shape)} does not fit a Sponge schematic", path)
    indices, states = file_palette(structure)
    packed = encode_varints(indices.transpose(1, 2, 0).ravel())  # y, z, x order
    palette = nbtlib.Compound({s: nbtlib.Int(i) for i, s in enumerate(states)})
    data = nbtlib.ByteArray(packed.view(np.int8))
    width, height, length = structure.shape
    body = nbtlib.Compound({
        "Version": nbtlib.Int(version),
        "DataVersion": nbtlib.Int(written_data_version(structure)),
        "Width": _short(width), "Height": _short(height), "Length": _short(length),
        "Offset": nbtlib.IntArray(list(structure.origin)),
    })
    body["Metadata"] = _metadata_out(structure, path)
    paste = _paste_offset(structure, path)
    for key, value in zip(("WEOffsetX", "WEOffsetY", "WEOffsetZ"), paste):  # some readers need it
        body["Metadata"].setdefault(key, nbtlib.Int(value))
    bes = nbtlib.List[nbtlib.Compound]([_block_entity_out(pos, tag, version)
                                         for pos, tag in sorted(structure.block_entities.items())])
    if version == 3:
        body["Blocks"] = nbtlib.Compound({"Palette": palette, "Data": data, "BlockEntities": bes})
        root = nbtlib.Compound({"Schematic": body})
        root_name = ""
    else:
        body.update({"PaletteMax": nbtlib.Int(len(states)), "Palette": palette,
                     "BlockData": data, "BlockEntities": bes})
        root, root_name = body, "Schematic"
    if structure.entities:
        body["Entities"] = nbtlib.List[nbtlib.Compound]([_entity_out(e, version, structure.origin)
                                                         for e in structure.entities])
    nbt_io.write_nbt(path, root, root_name=root_name, what=f"a Sponge v{version} schematic")


def _metadata_out(structure: Structure, path) -> nbtlib.Compound:
    """The Metadata compound a Sponge file had, kept as SNBT in
    `metadata["sponge_metadata"]`; empty without one. A text blueprint's
    [meta] may hold any string there: one that is not an SNBT compound
    voxgen reads is refused, nothing written."""
    meta = structure.metadata.get("sponge_metadata")
    if not isinstance(meta, str):
        return nbtlib.Compound()
    nbt_io.check_snbt_items([meta], path, "metadata 'sponge_metadata'", writing=True)
    try:
        tag = nbtlib.parse_nbt(meta)
    except RecursionError:
        raise VoxgenError("metadata 'sponge_metadata' is nested too deeply; nothing written", path) from None
    except Exception as err:  # nbtlib raises its own InvalidLiteral
        raise VoxgenError(f"metadata 'sponge_metadata' is not valid SNBT ({err}); nothing written", path) from None
    if not isinstance(tag, nbtlib.Compound):
        raise VoxgenError("metadata 'sponge_metadata' is not an SNBT compound; nothing written", path)
    return tag


def _id(value, what: str, path) -> nbtlib.String:
    """An entity's or block entity's `Id`: a string tag, or a VoxgenError
    (an Int(5) had become the id "Int(5)")."""
    if not isinstance(value, nbtlib.String):
        raise VoxgenError(f"{what}'s Id is not a string tag ({type(value).__name__})", path)
    return value


def _paste_offset(structure: Structure, path) -> tuple[int, int, int]:
    """WorldEdit's paste offset (where the box lies from the player): a
    legacy `.schematic`'s WEOffset, kept as `metadata["we_offset"]`, else 0."""
    offset = structure.metadata.get("we_offset", (0, 0, 0))
    if not (isinstance(offset, (list, tuple)) and len(offset) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31 for v in offset)):
        raise VoxgenError("metadata 'we_offset' is not 3 whole numbers (a paste offset); nothing written", path)
    return tuple(offset)


def _short(n: int) -> nbtlib.Short:
    """An unsigned size stored in a signed short."""
    return nbtlib.Short(n - 0x10000 if n >= 0x8000 else n)


def _block_entity_out(pos, tag: nbtlib.Compound, version: int) -> nbtlib.Compound:
    """Our opaque `{id, fields}` as a Sponge block entity at `pos`. Position
    keys the tag kept (a structure .nbt may hold x, y, z or Pos in a block's
    `nbt`) are left out: inline (v2) they replaced the cell's `Pos`, and the
    reader drops them anyway."""
    head = nbtlib.Compound({"Pos": nbtlib.IntArray([int(p) for p in pos])})
    return _sponge_compound(head, tag, _POSITION_KEYS, version)
