"""Vanilla structure-block `.nbt` (read and write).

    root "" {DataVersion: Int, size: [Int x3],
             palette: [{Name, Properties?}] | palettes: [[{Name, Properties?}], ...],
             blocks: [{pos: [Int x3], state: Int, nbt?: Compound}],
             entities: [{pos: [Double x3], blockPos: [Int x3], nbt: Compound}],
             author?: String}

Cells the file does not list are structure void, kept apart from listed air;
a `minecraft:structure_void` palette entry is void too. Files written before
the flattening (DataVersion < 1451, or none) use 1.12 names
(`minecraft:stained_hardened_clay[color=green]`, `minecraft:slime`); those
are mapped to 1.13 states (`voxgen.formats.flattening`) and the structure then
carries DataVersion 1519, the version its names follow (the file's own is
kept in `metadata["source_data_version"]`).

With `palettes` (shipwrecks: one palette per wood type) the first palette
gives the blocks; all of them are kept in `metadata["structure_palettes"]`
(lists of states in file order) so that writing the structure back restores
them. Block entities (`nbt`) and entities are opaque.
"""

from __future__ import annotations

import math

import nbtlib
import numpy as np

from voxgen.blocks import AIR, join_state, split_state
from voxgen.errors import VoxgenError
from voxgen.formats import flattening, nbt_io
from voxgen.formats.file_palette import build_structure, canonical_state, check_size, file_palette
from voxgen.formats.nbt_io import require
from voxgen.structure import Structure

# Written when a structure has no DataVersion of its own (1.20.4).
DEFAULT_DATA_VERSION = 3700


def load(path) -> Structure:
    data, _ = nbt_io.read_bytes(path)
    root = nbt_io.parse_root(data, path)
    size = check_size(_int_list(require(root, "size", nbtlib.List, path), "size", path), path)
    data_version = int(require(root, "DataVersion", nbtlib.Int, path)) if "DataVersion" in root else None
    pre_flattening = data_version is None or data_version < flattening.FLATTENING_DATA_VERSION
    palettes = [_palette(p, f"palettes[{i}]", pre_flattening, path) for i, p in enumerate(_raw_palettes(root, path))]
    states = palettes[0]
    blocks = require(root, "blocks", nbtlib.List, path)
    # Unlisted cells stay void; index len(states) marks them until build_structure.
    indices = np.full(size, len(states), dtype=np.int32)
    block_entities = {}
    for i, entry in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(entry, nbtlib.Compound):
            raise VoxgenError(f"{where} is not a compound", path)
        pos = tuple(_int_list(require(entry, "pos", nbtlib.List, path, where), f"{where}.pos", path))
        if not all(0 <= p < n for p, n in zip(pos, size)):
            raise VoxgenError(f"{where}.pos {list(pos)} lies outside the {list(size)} structure", path)
        state = int(require(entry, "state", nbtlib.Int, path, where))
        if not 0 <= state < len(states):
            raise VoxgenError(f"{where}.state {state} out of range (palette has {len(states)} entries)", path)
        indices[pos] = state
        if "nbt" in entry:
            block_entities[pos] = require(entry, "nbt", nbtlib.Compound, path, where)
    entities = list(require(root, "entities", nbtlib.List, path)) if "entities" in root else []
    if any(not isinstance(e, nbtlib.Compound) for e in entities):
        raise VoxgenError("'entities' holds something other than compounds", path)
    unlisted = indices == len(states)
    structure = build_structure(indices, states + [AIR], path,
                                void=unlisted if unlisted.any() else None,
                                block_entities=block_entities, entities=entities,
                                data_version=flattening.MODERN_DATA_VERSION if pre_flattening else data_version)
    if structure.void is not None:
        structure.block_entities = {p: v for p, v in block_entities.items() if not structure.void[p]}
    if pre_flattening:
        structure.metadata["source_data_version"] = data_version
    if "author" in root:
        structure.metadata["author"] = str(require(root, "author", nbtlib.String, path))
    if "palettes" in root:
        structure.metadata["structure_palettes"] = palettes
    return structure


def _raw_palettes(root, path) -> list:
    if "palette" in root:
        return [require(root, "palette", nbtlib.List, path)]
    palettes = require(root, "palettes", nbtlib.List, path)
    if not palettes or any(not isinstance(p, nbtlib.List) for p in palettes):
        raise VoxgenError("'palettes' must be a non-empty list of palettes", path)
    return list(palettes)


def _palette(entries, where, pre_flattening: bool, path) -> list[str]:
    states = []
    for i, entry in enumerate(entries):
        here = f"{where}[{i}]"
        if not isinstance(entry, nbtlib.Compound):
            raise VoxgenError(f"{here} is not a compound", path)
        name = str(require(entry, "Name", nbtlib.String, path, here))
        props = {}
        if "Properties" in entry:
            for key, value in require(entry, "Properties", nbtlib.Compound, path, here).items():
                if not isinstance(value, nbtlib.String):
                    raise VoxgenError(f"{here}.Properties.{key} is not a string", path)
                props[str(key)] = str(value)
        try:
            state = join_state(name.strip().lower(), props)
            state = canonical_state(state, path)
            if pre_flattening:
                state = flattening.modern_state(*split_state(state))
        except ValueError as err:
            raise VoxgenError(f"{here}: {err}", path) from None
        states.append(state)
    return states


def _int_list(tag, where, path) -> list[int]:
    if len(tag) != 3 or any(not isinstance(v, nbtlib.Int) for v in tag):
        raise VoxgenError(f"'{where}' must be a list of 3 integers", path)
    return [int(v) for v in tag]


# --- writing -------------------------------------------------------------------

def save(structure: Structure, path) -> None:
    """Write `structure` as a gzipped structure `.nbt`; void cells are not listed."""
    indices, states, palettes = _file_palettes(structure)
    x, y, z = np.nonzero(indices != len(states))
    order = np.lexsort((x, z, y))                      # the game lists blocks y, then z, then x
    blocks = []
    for cx, cy, cz in zip(x[order].tolist(), y[order].tolist(), z[order].tolist()):
        entry = nbtlib.Compound({
            "pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(cx), nbtlib.Int(cy), nbtlib.Int(cz)]),
            "state": nbtlib.Int(int(indices[cx, cy, cz]))})
        nbt = structure.block_entities.get((cx, cy, cz))
        if nbt is not None:
            entry["nbt"] = nbt
        blocks.append(entry)
    root = nbtlib.Compound({
        "DataVersion": nbtlib.Int(structure.data_version or DEFAULT_DATA_VERSION),
        "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(n) for n in structure.shape]),
        "blocks": nbtlib.List[nbtlib.Compound](blocks),
        "entities": nbtlib.List[nbtlib.Compound]([_entity(e) for e in structure.entities]),
    })
    if len(palettes) > 1:
        root["palettes"] = nbtlib.List[nbtlib.List]([_palette_tag(p) for p in palettes])
    else:
        root["palette"] = _palette_tag(palettes[0])
    if structure.metadata.get("author"):
        root["author"] = nbtlib.String(str(structure.metadata["author"]))
    nbt_io.write_nbt(path, root)


def _file_palettes(structure: Structure):
    """(indices (X, Y, Z) with len(states) for void, states, palettes).

    Kept `structure_palettes` are written back when their first palette
    still names every state the structure uses; otherwise one palette of
    the used states is written."""
    kept = structure.metadata.get("structure_palettes")
    cells = structure.blocks if structure.void is None else structure.blocks[~structure.void]
    used = np.bincount(cells.ravel(), minlength=len(structure.palette)) > 0
    if kept and all(structure.palette[i] in kept[0] for i in np.flatnonzero(used)) \
            and all(len(p) == len(kept[0]) for p in kept):
        first = list(kept[0])
        remap = np.array([first.index(s) if s in first else 0 for s in structure.palette], dtype=np.int32)
        indices = remap[structure.blocks]
        if structure.void is not None:
            indices[structure.void] = len(first)
        return indices, first, [list(p) for p in kept]
    indices, states = file_palette(structure)
    if structure.void is not None:
        states = states[:-1]                           # void cells are left out, not listed
    return indices, states, [states]


def _palette_tag(states) -> nbtlib.List:
    entries = []
    for state in states:
        name, props = split_state(state)
        entry = nbtlib.Compound({"Name": nbtlib.String(name)})
        if props:
            entry["Properties"] = nbtlib.Compound({k: nbtlib.String(v) for k, v in sorted(props.items())})
        entries.append(entry)
    return nbtlib.List[nbtlib.Compound](entries)


def _entity(entity) -> nbtlib.Compound:
    """A structure entity {pos, blockPos, nbt}; one from another format (with
    only `Pos`) is wrapped, its block position rounded down."""
    if "nbt" in entity and "pos" in entity:
        return entity
    pos = [float(v) for v in entity.get("Pos", [0.0, 0.0, 0.0])][:3]
    return nbtlib.Compound({
        "pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(v) for v in pos]),
        "blockPos": nbtlib.List[nbtlib.Int]([nbtlib.Int(math.floor(v)) for v in pos]),
        "nbt": entity})
