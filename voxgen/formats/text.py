"""voxgen's own text blueprint (`.toml`): readable, diffable, hand-authored.

    name = "tree"                       # optional
    data_version = 3953                 # optional
    [palette]                           # one character -> block state
    "." = "minecraft:air"
    "#" = "minecraft:oak_log[axis=y]"
    "~" = "minecraft:structure_void"    # void cells
    [layers]                            # one per y, bottom first
    y0 = '''
    .....                               # rows north (z=0) to south,
    ..#..                               # columns west (x=0) to east
    '''
    [meta]                              # optional, kept as Structure.metadata
    [[block_entities]]                  # optional, opaque: pos + SNBT
    pos = [2, 0, 2]
    snbt = '{id:"minecraft:chest"}'

Every layer has the same number of rows (Z) and columns (X).
"""

from __future__ import annotations

import tomllib

import numpy as np

from voxgen.blocks import AIR, STRUCTURE_VOID, canonical
from voxgen.errors import VoxgenError
from voxgen.structure import Structure

_TOP_KEYS = {"name", "data_version", "palette", "layers", "meta", "block_entities", "entities"}
# Characters tried in order when writing a palette.
_KEY_CHARS = (".#ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
              "@$%&*+=-!?/<>^|:;,()_{}")


def parse(text: str, source="<text>") -> Structure:
    """Parse text-blueprint TOML into a Structure. Raises VoxgenError."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise VoxgenError(f"not valid TOML ({err})", source) from None
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise VoxgenError(f"unknown key(s) {', '.join(sorted(unknown))}", source)
    palette = doc.get("palette")
    layers = doc.get("layers")
    if not isinstance(palette, dict) or not palette:
        raise VoxgenError("missing [palette] table", source)
    if not isinstance(layers, dict) or not layers:
        raise VoxgenError("missing [layers] table", source)

    states: dict[str, str | None] = {}
    for key, state in palette.items():
        if len(key) != 1 or key.isspace():
            raise VoxgenError(f"palette key {key!r} must be one visible character", source)
        if not isinstance(state, str):
            raise VoxgenError(f"palette entry {key!r} must be a block-state string", source)
        try:
            state = canonical(state)
        except ValueError as err:
            raise VoxgenError(f"palette entry {key!r}: {err}", source) from None
        states[key] = None if state == STRUCTURE_VOID else state

    ys = {}
    for key, body in layers.items():
        if not (key.startswith("y") and key[1:].isdigit()) or not isinstance(body, str):
            raise VoxgenError(f"layer {key!r}: want keys y0, y1, ... holding strings", source)
        ys[int(key[1:])] = [row.strip() for row in body.strip("\n").splitlines() if row.strip()]
    if sorted(ys) != list(range(len(ys))):
        raise VoxgenError(f"layers must be y0..y{len(ys) - 1} with no gaps", source)
    size_z = len(ys[0])
    size_x = len(ys[0][0]) if size_z else 0
    if size_x == 0:
        raise VoxgenError("layer y0 is empty", source)
    grid = np.empty((size_x, len(ys), size_z), dtype=object)
    for y, rows in ys.items():
        if len(rows) != size_z or any(len(r) != size_x for r in rows):
            raise VoxgenError(f"layer y{y} is not {size_z} rows of {size_x} characters", source)
        for z, row in enumerate(rows):
            for x, ch in enumerate(row):
                if ch not in states:
                    raise VoxgenError(f"layer y{y} row {z}: character {ch!r} is not in the palette", source)
                grid[x, y, z] = states[ch]

    structure = Structure.from_states(grid, name=str(doc.get("name", "")),
                                      data_version=doc.get("data_version"),
                                      metadata=dict(doc.get("meta", {})))
    structure.block_entities = _parse_block_entities(doc.get("block_entities", []), structure.shape, source)
    structure.entities = [_snbt(e.get("snbt", ""), source) for e in doc.get("entities", [])]
    return structure


def _snbt(text: str, source):
    import nbtlib
    try:
        return nbtlib.parse_nbt(text)
    except Exception as err:  # nbtlib raises its own InvalidLiteral
        raise VoxgenError(f"bad SNBT in blueprint ({err})", source) from None


def _parse_block_entities(entries, shape, source) -> dict:
    result = {}
    for entry in entries:
        pos = entry.get("pos")
        if (not isinstance(pos, list) or len(pos) != 3 or not all(isinstance(p, int) for p in pos)
                or not all(0 <= p < n for p, n in zip(pos, shape))):
            raise VoxgenError(f"block entity position {pos!r} is outside the structure", source)
        result[tuple(pos)] = _snbt(entry.get("snbt", "{}"), source)
    return result


def format_text(structure: Structure) -> str:
    """Serialise a Structure as text-blueprint TOML."""
    import tomli_w

    states = structure.state_array()
    used = [structure.palette[i] for i in np.unique(structure.blocks)]
    if AIR not in used:
        used.insert(0, AIR)
    if len(used) + (structure.void is not None) > len(_KEY_CHARS):
        raise VoxgenError(f"{len(used)} block states do not fit a text blueprint "
                          f"(at most {len(_KEY_CHARS) - 1}); use .schem or .litematic")
    keys = {state: _KEY_CHARS[i] for i, state in enumerate(used)}
    lines = []
    if structure.name:
        lines.append(f"name = {tomli_w.dumps({'n': structure.name})[4:].strip()}")
    if structure.data_version is not None:
        lines.append(f"data_version = {int(structure.data_version)}")
    lines += ["", "[palette]"]
    for state, key in keys.items():
        lines.append(f'"{key}" = "{state}"')
    if structure.void is not None:
        lines.append(f'"~" = "{STRUCTURE_VOID}"')
        keys[None] = "~"
    lines += ["", "[layers]"]
    size_x, size_y, size_z = structure.shape
    for y in range(size_y):
        rows = ["".join(keys[states[x, y, z]] for x in range(size_x)) for z in range(size_z)]
        lines.append(f"y{y} = '''\n" + "\n".join(rows) + "\n'''")
    text = "\n".join(lines) + "\n"
    extra = {}
    meta = {k: v for k, v in structure.metadata.items() if k != "format"}
    if meta:
        extra["meta"] = meta
    if structure.block_entities:
        extra["block_entities"] = [{"pos": list(p), "snbt": v.snbt()}
                                   for p, v in sorted(structure.block_entities.items())]
    if structure.entities:
        extra["entities"] = [{"snbt": e.snbt()} for e in structure.entities]
    if extra:
        text += "\n" + tomli_w.dumps(extra)
    return text


def load(path) -> Structure:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise VoxgenError("text blueprint is not UTF-8", path) from None
    return parse(text, path)


def save(structure: Structure, path) -> None:
    path.write_text(format_text(structure), encoding="utf-8")
