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
are mapped to 1.13 states (`voxgen.formats.flattening`, and
`flattening_block_entities` for what 1.12 kept in block entities: bed and
banner colours, skull types, pot plants) and the structure then
carries DataVersion 1519, the version its names follow (the file's own, if
it has one, is kept in `metadata["source_data_version"]`).

With `palettes` (shipwrecks: one palette per wood type) the first palette
gives the blocks; all of them are kept in `metadata["structure_palettes"]`
(lists of states in file order) so that writing the structure back restores
them. Block entities (`nbt`) are opaque. An entity `{pos, blockPos, nbt}`
becomes its `nbt` with `Pos` set to `pos` (relative to the structure; the
game stores the world position it was saved at there) and TileX/Y/Z moved
likewise: Structure's convention. The writer wraps it back, `blockPos` being
the hanging block (TileX/Y/Z) or the cell holding Pos.

Whatever the source's DataVersion, the writer stamps one that says the names
are flattened (`file_palette.written_data_version`): the names a Structure
holds are always modern, and a stamp below 1451 would make this reader
flatten them again.
"""

from __future__ import annotations

import gzip
import io
import struct

import nbtlib
import numpy as np

from voxgen.blocks import AIR, join_state, split_state
from voxgen.errors import VoxgenError
from voxgen.formats import flattening, flattening_block_entities, nbt_io, nbt_walk
from voxgen.formats.file_palette import (build_structure, canonical_state,
                                         check_size, file_palette, written_data_version)
from voxgen.formats.nbt_io import require
from voxgen.structure import Structure, entity_block, entity_pos, shifted_entity, used_entries


def load(path) -> Structure:
    data, _ = nbt_io.read_bytes(path)
    # nbtlib directly: for lists of many small compounds it beats the rapidnbt
    # path of parse_root (whose conversion to nbtlib tags costs more).
    root = nbt_io.parse_nbt(data, path)
    size = check_size(_int_list(require(root, "size", nbtlib.List, path), "size", path), path)
    data_version = int(require(root, "DataVersion", nbtlib.Int, path)) if "DataVersion" in root else None
    pre_flattening = data_version is None or data_version < flattening.FLATTENING_DATA_VERSION
    palettes = [_palette(p, f"palettes[{i}]", pre_flattening, path) for i, p in enumerate(_raw_palettes(root, path))]
    states = palettes[0]
    positions, state_of, block_entities = _blocks(require(root, "blocks", nbtlib.List, path), path)
    if len(positions):
        bad = np.flatnonzero(((positions < 0) | (positions >= np.array(size))).any(axis=1))
        if len(bad):
            raise VoxgenError(f"blocks[{bad[0]}].pos {positions[bad[0]].tolist()} lies outside the "
                              f"{list(size)} structure", path)
        bad = np.flatnonzero((state_of < 0) | (state_of >= len(states)))
        if len(bad):
            raise VoxgenError(f"blocks[{bad[0]}].state {state_of[bad[0]]} out of range "
                              f"(palette has {len(states)} entries)", path)
    # Unlisted cells stay void; index len(states) marks them until build_structure.
    indices = np.full(size, len(states), dtype=np.int32)
    indices[tuple(positions.T)] = state_of
    entities = list(require(root, "entities", nbtlib.List, path)) if "entities" in root else []
    entities = [entity_in(e, f"entities[{i}]", path) for i, e in enumerate(entities)]
    unlisted = indices == len(states)
    structure = build_structure(indices, states + [AIR], path,
                                void=unlisted if unlisted.any() else None,
                                block_entities=block_entities, entities=entities,
                                data_version=flattening.MODERN_DATA_VERSION if pre_flattening else data_version)
    if structure.void is not None:
        structure.block_entities = {p: v for p, v in block_entities.items() if not structure.void[p]}
    if pre_flattening:
        if data_version is not None:      # (a None here would reach the text writer: TOML has no null)
            structure.metadata["source_data_version"] = data_version
        flattening_block_entities.apply(structure)     # bed colours, skull types, pot plants, ...
        flattening.pair_halves(structure)               # door and tall-plant halves, as 1.12 drew them
    if "author" in root:
        structure.metadata["author"] = str(require(root, "author", nbtlib.String, path))
    if "palettes" in root:
        structure.metadata["structure_palettes"] = palettes
    return structure


def entity_in(entry, where: str, path) -> nbtlib.Compound:
    """A structure entity {pos, blockPos, nbt} as its own NBT, Pos relative."""
    if not isinstance(entry, nbtlib.Compound):
        raise VoxgenError(f"{where} is not a compound", path)
    entity = require(entry, "nbt", nbtlib.Compound, path, where)
    if "pos" not in entry:
        return entity
    pos = require(entry, "pos", nbtlib.List, path, where)
    if len(pos) != 3 or not all(isinstance(v, (nbtlib.Double, nbtlib.Float)) for v in pos):
        raise VoxgenError(f"{where}.pos is not a list of 3 doubles", path)
    pos = [float(v) for v in pos]
    moved, saved = nbtlib.Compound(entity), entity_pos(entity)
    if saved is not None:
        # The world position the game saved it at, less pos: the structure's
        # corner in that world. TileX/Y/Z move by it when it is whole cells.
        corner = [a - b for a, b in zip(saved, pos)]
        if all(abs(c - round(c)) < 1e-6 for c in corner):
            moved = shifted_entity(entity, [-round(c) for c in corner])
    moved["Pos"] = nbtlib.List[nbtlib.Double]([nbtlib.Double(v) for v in pos])
    return moved


def _blocks(blocks, path):
    """(positions (N, 3) int64, states (N,) int64, {pos: nbt}) of the listed blocks."""
    n = len(blocks)
    positions = np.empty((n, 3), dtype=np.int64)
    state_of = np.empty(n, dtype=np.int64)
    block_entities = {}
    for i, entry in enumerate(blocks):
        try:
            pos, state = entry["pos"], entry["state"]
            ok = (type(state) is nbtlib.Int and isinstance(pos, nbtlib.List) and len(pos) == 3
                  and all(type(v) is nbtlib.Int for v in pos))
        except (KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            raise VoxgenError(f"blocks[{i}] is not {{pos: [3 Int], state: Int}}", path)
        positions[i] = pos
        state_of[i] = state
        if "nbt" in entry:
            block_entities[tuple(int(v) for v in pos)] = require(entry, "nbt", nbtlib.Compound, path,
                                                                 f"blocks[{i}]")
    return positions, state_of, block_entities


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
    root = nbtlib.Compound({
        "DataVersion": nbtlib.Int(written_data_version(structure)),
        "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(n) for n in structure.shape]),
        "entities": nbtlib.List[nbtlib.Compound]([_entity(e) for e in structure.entities]),
    })
    if len(palettes) > 1:
        root["palettes"] = nbtlib.List[nbtlib.List]([_palette_tag(p) for p in palettes])
    else:
        root["palette"] = _palette_tag(palettes[0])
    if structure.metadata.get("author"):
        root["author"] = nbtlib.String(str(structure.metadata["author"]))
    _check_readable(root, indices, len(states), structure.block_entities, path)
    buf = io.BytesIO()
    nbtlib.File(root, root_name="").write(buf, byteorder="big")
    # The root compound ends with TAG_End; the blocks list goes just before it.
    # Written piece by piece: a 256^3 structure lists 600 MB of blocks.
    with open(path, "wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", compresslevel=6, mtime=0) as out:
        out.write(buf.getvalue()[:-1])
        for chunk in _blocks_tag(indices, len(states), structure.block_entities):
            out.write(chunk)
        out.write(b"\x00")


# Tags of one listed block without block entity: its compound, the pos list,
# its 3 Ints, the state Int (nbt_walk counts each element of a number list).
_TAGS_PER_BLOCK = 6
# Where a block entity's compound sits: root > blocks > entry > nbt.
_BLOCK_ENTITY_LEVEL = 3


def _check_readable(root, indices, void_index: int, block_entities, path) -> None:
    """Refuse, before anything is written, a structure whose file voxgen's
    reader would refuse: more than nbt_walk.MAX_TAGS tags (~700 k blocks)
    or NBT nested deeper than it reads."""
    blocks = int(np.count_nonzero(indices != void_index))
    depth, tags = nbt_io.tag_stats(root)
    tags += _TAGS_PER_BLOCK * blocks           # tag_stats counted the root compound itself
    for tag in (block_entities or {}).values():
        be_depth, be_tags = nbt_io.tag_stats(tag, _BLOCK_ENTITY_LEVEL)
        depth, tags = max(depth, be_depth), tags + be_tags
    if tags > nbt_walk.MAX_TAGS:
        raise VoxgenError(f"too large for a structure .nbt ({blocks} listed cells make {tags} NBT tags; "
                          f"voxgen reads at most {nbt_walk.MAX_TAGS}); save it as .schem or "
                          ".litematic instead", path)
    nbt_io.check_loadable(depth, tags, path, "a structure .nbt")


# One listed block without block entity, big-endian NBT compound payload:
# TAG_List "pos" of 3 TAG_Int, TAG_Int "state", TAG_End (36 bytes).
_ENTRY = np.dtype([("pos_head", "S11"), ("pos", ">i4", 3), ("state_head", "S8"),
                   ("state", ">i4"), ("end", "S1")])
_POS_HEAD = b"\x09\x00\x03pos\x03\x00\x00\x00\x03"
_STATE_HEAD = b"\x03\x00\x05state"


def _blocks_tag(indices, void_index: int, block_entities):
    """The `blocks` TAG_List bytes in pieces, encoded with numpy: every
    non-void cell, in the game's order (y, then z, then x), block entities
    as `nbt`."""
    y, z, x = np.nonzero(indices.transpose(1, 2, 0) != void_index)
    entries = np.zeros(len(x), dtype=_ENTRY)
    entries["pos_head"] = _POS_HEAD
    entries["pos"] = np.stack([x, y, z], axis=1)
    entries["state_head"] = _STATE_HEAD
    entries["state"] = indices[x, y, z]
    yield b"\x09\x00\x06blocks\x0a" + struct.pack(">i", len(x))
    done = 0
    nx, _, nz = indices.shape
    keys = (y * nz + z) * nx + x                       # ascending: the order of the list
    wanted = np.array([(py * nz + pz) * nx + px for px, py, pz in block_entities or ()], dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    listed = np.unique(at[keys[at] == wanted]) if len(keys) else []
    for i in listed:
        pos = (int(x[i]), int(y[i]), int(z[i]))
        buf = io.BytesIO()
        block_entities[pos].write(buf, byteorder="big")
        yield from _pieces(entries, done, i)
        yield from (entries[i:i + 1].tobytes()[:-1], b"\x0a\x00\x03nbt", buf.getvalue(), b"\x00")
        done = i + 1
    yield from _pieces(entries, done, len(entries))


def _pieces(entries, start: int, stop: int, size: int = 1 << 20):
    """The bytes of entries[start:stop], `size` entries (36 MB) at a time."""
    for a in range(start, stop, size):
        yield entries[a:min(a + size, stop)].tobytes()


def _file_palettes(structure: Structure):
    """(indices (X, Y, Z) with len(states) for void, states, palettes).

    Kept `structure_palettes` are written back when their first palette
    still names every state the structure uses; otherwise one palette of
    the used states is written."""
    kept = structure.metadata.get("structure_palettes")
    cells = structure.blocks if structure.void is None else structure.blocks[~structure.void]
    used = used_entries(cells, len(structure.palette))
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
    """A structure entity {pos, blockPos, nbt} from Structure's convention
    (vanilla NBT, Pos relative): the inverse of `entity_in`."""
    pos = entity_pos(entity) or (0.0, 0.0, 0.0)
    return nbtlib.Compound({
        "pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(v) for v in pos]),
        "blockPos": nbtlib.List[nbtlib.Int]([nbtlib.Int(v) for v in entity_block(entity) or (0, 0, 0)]),
        "nbt": entity})
