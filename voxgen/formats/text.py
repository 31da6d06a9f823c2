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
from voxgen.formats import MAX_TEXT_BYTES, nbt_io
from voxgen.formats.file_palette import check_size, flattened_data_version, written_data_version
from voxgen.safe_read import read_capped
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
    except RecursionError:
        raise VoxgenError("TOML nested too deeply", source) from None
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise VoxgenError(f"unknown key(s) {', '.join(sorted(unknown))}", source)
    palette = doc.get("palette")
    layers = doc.get("layers")
    if not isinstance(palette, dict) or not palette:
        raise VoxgenError("missing [palette] table", source)
    if not isinstance(layers, dict) or not layers:
        raise VoxgenError("missing [layers] table", source)
    name, data_version, meta = doc.get("name", ""), doc.get("data_version"), doc.get("meta", {})
    if not isinstance(name, str):
        raise VoxgenError("name must be a string", source)
    if data_version is not None and not is_int32(data_version):
        raise VoxgenError(f"data_version {data_version!r} is not a 32-bit integer", source)
    if not isinstance(meta, dict):
        raise VoxgenError("meta must be a table", source)
    if nbt_io.nesting_depth(meta) > nbt_io.MAX_DEPTH:
        raise VoxgenError(f"[meta] is nested more than {nbt_io.MAX_DEPTH} deep", source)

    keys, states = _palette(palette, source)
    cells = _layers(layers, keys, source)                       # (Y, Z, X) into keys
    used = np.zeros(len(keys), dtype=bool)
    used[cells] = True
    # air first, then the used states sorted: the order Structure.from_states gives
    names = [AIR] + sorted({s for s, u in zip(states, used) if u and s not in (None, AIR)})
    index = {s: i for i, s in enumerate(names)}
    remap = np.array([index.get(s, 0) for s in states], dtype=np.int32)
    is_void = np.array([s is None for s in states])
    meta = dict(meta)
    structure = Structure(remap[cells].transpose(2, 0, 1), tuple(names),
                          void=is_void[cells].transpose(2, 0, 1) if is_void[used].any() else None,
                          name=name, data_version=flattened_data_version(data_version, meta), metadata=meta)
    block_entities = _tables(doc.get("block_entities", []), "block_entities", source)
    entities = _tables(doc.get("entities", []), "entities", source)
    nbt_io.check_snbt_items([e["snbt"] for e in block_entities + entities if isinstance(e.get("snbt"), str)],
                            source, "the block entities and entities")
    structure.block_entities = _parse_block_entities(block_entities, structure.shape, source)
    structure.entities = [_compound(entry, f"entities[{n}]", source) for n, entry in enumerate(entities)]
    return structure


def is_int32(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -2**31 <= value < 2**31


def _palette(palette: dict, source) -> tuple[list[str], list[str | None]]:
    """(one-character keys, their canonical states; None for void)."""
    keys, states = [], []
    for key, state in palette.items():
        if len(key) != 1 or key.isspace():
            raise VoxgenError(f"palette key {key!r} must be one visible character", source)
        if not isinstance(state, str):
            raise VoxgenError(f"palette entry {key!r} must be a block-state string", source)
        try:
            state = canonical(state)
        except ValueError as err:
            raise VoxgenError(f"palette entry {key!r}: {err}", source) from None
        keys.append(key)
        states.append(None if state == STRUCTURE_VOID else state)
    return keys, states


def _layers(layers: dict, keys: list[str], source) -> np.ndarray:
    """int32 (Y, Z, X): each cell's index into `keys`."""
    ys = {}
    for key, body in layers.items():
        if not (key.startswith("y") and key[1:].isdigit()) or not isinstance(body, str):
            raise VoxgenError(f"layer {key!r}: want keys y0, y1, ... holding strings", source)
        y = int(key[1:])
        if y in ys:
            raise VoxgenError(f"layers {ys[y][0]!r} and {key!r} are both layer {y}", source)
        ys[y] = (key, [row.strip() for row in body.strip("\n").splitlines() if row.strip()])
    if sorted(ys) != list(range(len(ys))):
        raise VoxgenError(f"layers must be y0..y{len(ys) - 1} with no gaps", source)
    size_z = len(ys[0][1])
    size_x = len(ys[0][1][0]) if size_z else 0
    if size_x == 0:
        raise VoxgenError("layer y0 is empty", source)
    check_size((size_x, len(ys), size_z), source)
    codes = np.array([ord(k) for k in keys], dtype=np.uint32)
    order = np.argsort(codes)
    known = codes[order]
    cells = np.empty((len(ys), size_z, size_x), dtype=np.int32)
    for y, (_, rows) in ys.items():
        if len(rows) != size_z or any(len(r) != size_x for r in rows):
            raise VoxgenError(f"layer y{y} is not {size_z} rows of {size_x} characters", source)
        chars = np.frombuffer("".join(rows).encode("utf-32-le"), dtype=np.uint32).reshape(size_z, size_x)
        at = np.minimum(np.searchsorted(known, chars), len(known) - 1)
        bad = np.argwhere(known[at] != chars)
        if len(bad):
            z, x = bad[0]
            raise VoxgenError(f"layer y{y} row {z}: character {rows[z][x]!r} is not in the palette", source)
        cells[y] = order[at]
    return cells


def _tables(entries, what: str, source) -> list[dict]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise VoxgenError(f"{what} must be an array of tables", source)
    return entries


def _compound(entry: dict, what: str, source):
    """The compound in `entry`'s `snbt` string (default `{}`)."""
    import nbtlib

    text = entry.get("snbt", "{}")
    if not isinstance(text, str):
        raise VoxgenError(f"{what}.snbt must be a string", source)
    try:
        tag = nbtlib.parse_nbt(text)
    except RecursionError:
        raise VoxgenError(f"{what}.snbt is nested too deeply", source) from None
    except Exception as err:  # nbtlib raises its own InvalidLiteral
        raise VoxgenError(f"bad SNBT in {what} ({err})", source) from None
    if not isinstance(tag, nbtlib.Compound):
        raise VoxgenError(f"{what}.snbt is not a compound", source)
    if nbt_io.nesting_depth(tag) > nbt_io.MAX_DEPTH:
        raise VoxgenError(f"{what}.snbt is nested more than {nbt_io.MAX_DEPTH} deep", source)
    return tag


def _parse_block_entities(entries, shape, source) -> dict:
    result = {}
    for i, entry in enumerate(_tables(entries, "block_entities", source)):
        pos = entry.get("pos")
        if (not isinstance(pos, list) or len(pos) != 3 or not all(is_int32(p) for p in pos)
                or not all(0 <= p < n for p, n in zip(pos, shape))):
            raise VoxgenError(f"block entity position {pos!r} is outside the structure", source)
        result[tuple(pos)] = _compound(entry, f"block_entities[{i}]", source)
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
    if structure.data_version is not None:               # names are flattened: the stamp says so
        lines.append(f"data_version = {written_data_version(structure)}")
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
    # Every section after [layers] opens with its own header: a bare key there
    # would belong to [layers] (tomli_w writes an array of short tables as an
    # inline `entities = [...]`, which the reader then took for a layer).
    sections = []
    meta = {k: v for k, v in structure.metadata.items() if k != "format"}
    if meta:
        sections.append(tomli_w.dumps({"meta": meta}))
    for p, v in sorted(structure.block_entities.items()):
        sections.append("[[block_entities]]\n" + tomli_w.dumps({"pos": list(p), "snbt": v.snbt()}))
    for e in structure.entities:
        sections.append("[[entities]]\n" + tomli_w.dumps({"snbt": e.snbt()}))
    return "\n".join(lines) + "\n" + "".join("\n" + section for section in sections)


def load(path) -> Structure:
    raw = read_capped(path, MAX_TEXT_BYTES, "text blueprint")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VoxgenError("text blueprint is not UTF-8", path) from None
    return parse(text, path)


def save(structure: Structure, path) -> None:
    """Write a text blueprint, refused (nothing written) if `load` would
    refuse it: larger than MAX_TEXT_BYTES, or SNBT nested too deeply or
    holding too many items."""
    if structure.blocks.size > MAX_TEXT_BYTES:  # a character a cell: refused before the text is built
        raise VoxgenError(f"{'x'.join(map(str, structure.shape))} = {structure.blocks.size:,} cells make "
                          f"a text blueprint larger than voxgen reads ({MAX_TEXT_BYTES:,} bytes); "
                          "write .schem or .litematic instead", path)
    for what, tag in [*((f"the block entity at {list(p)}", v) for p, v in structure.block_entities.items()),
                      *((f"entity {n}", e) for n, e in enumerate(structure.entities))]:
        if nbt_io.nesting_depth(tag) > nbt_io.MAX_DEPTH:
            raise VoxgenError(f"{what} is nested too deeply for a text blueprint (more than "
                              f"{nbt_io.MAX_DEPTH} deep, more than voxgen reads); nothing written", path)
    nbt_io.check_snbt_items([tag.snbt() for tag in (*structure.block_entities.values(), *structure.entities)],
                            path, "the block entities and entities", writing=True)
    data = format_text(structure).encode("utf-8")
    if len(data) > MAX_TEXT_BYTES:
        raise VoxgenError(f"a text blueprint of {len(data):,} bytes is larger than voxgen reads "
                          f"({MAX_TEXT_BYTES:,} bytes); write .schem or .litematic instead", path)
    path.write_bytes(data)
