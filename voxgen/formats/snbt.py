"""Structure SNBT (the text form of a vanilla structure, as gametests write it).

    { DataVersion: 4903, size: [sx, sy, sz],
      palette: [ {Name: "minecraft:piston", Properties: {facing: "east"}}, ... ],
      blocks:  [ {pos: [x, y, z], state: <palette index>, nbt?: {...}}, ... ],
      entities: [] }

Cells the file does not list are air (the gametest convention; a binary
vanilla structure would treat them as void). A position listed twice takes its
last entry. `nbt` compounds become opaque block entities, and entities
`{pos, blockPos, nbt}` their `nbt` with Pos relative, as in `.nbt`. The names
are taken as flattened whatever DataVersion says (SNBT structures came
after 1.13). Read-only: voxgen writes structures as binary `.nbt` instead.
"""

from __future__ import annotations

import numpy as np

from voxgen.blocks import canonical, join_state
from voxgen.errors import VoxgenError
from voxgen.formats import MAX_TEXT_BYTES, nbt_io
from voxgen.formats.file_palette import check_size, flattened_data_version
from voxgen.formats.text import is_int32
from voxgen.safe_read import read_capped
from voxgen.structure import Structure


def load(path, **_opts) -> Structure:
    """Read a structure SNBT file into a Structure. Raises VoxgenError."""
    raw = read_capped(path, MAX_TEXT_BYTES, "SNBT file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VoxgenError("SNBT file is not UTF-8 text", path) from None
    return from_snbt(text, path)


def from_snbt(text: str, path=None) -> Structure:
    """Parse SNBT text (see the module docstring) into a Structure."""
    import nbtlib

    nbt_io.check_snbt_items([text], path, "the file")
    try:
        root = nbtlib.parse_nbt(text)
    except RecursionError:
        raise VoxgenError("SNBT nested too deeply", path) from None
    except Exception as err:  # nbtlib raises its own InvalidLiteral and friends
        raise VoxgenError(f"not valid SNBT ({type(err).__name__}: {err})", path) from None
    if not isinstance(root, dict):
        raise VoxgenError("SNBT root is not a compound", path)
    if nbt_io.nesting_depth(root) > nbt_io.MAX_DEPTH + 1:
        raise VoxgenError(f"SNBT nested more than {nbt_io.MAX_DEPTH} deep", path)
    for key in ("size", "palette", "blocks"):
        if key not in root:
            raise VoxgenError(f"structure SNBT has no '{key}'", path)

    size = check_size(_int_triple(root["size"], "size", path), path)  # like the binary formats: > 0

    palette = _list(root["palette"], "palette", path)
    states = ["minecraft:air"] + [_palette_state(entry, i, path) for i, entry in enumerate(palette)]
    blocks = np.zeros(size, dtype=np.int32)  # 0 = air (index into `states`)
    block_entities = {}
    for n, entry in enumerate(_list(root["blocks"], "blocks", path)):
        if not isinstance(entry, dict) or "pos" not in entry or "state" not in entry:
            raise VoxgenError(f"blocks[{n}] needs 'pos' and 'state'", path)
        pos = _int_triple(entry["pos"], f"blocks[{n}].pos", path)
        if not all(0 <= p < s for p, s in zip(pos, size)):
            raise VoxgenError(f"blocks[{n}] position {list(pos)} outside size {list(size)}", path)
        state = _int(entry["state"], f"blocks[{n}].state", path)
        if not 0 <= state < len(states) - 1:
            raise VoxgenError(f"blocks[{n}] state {state} is not a palette index", path)
        blocks[pos] = state + 1
        block_entities.pop(pos, None)  # last entry wins, block entity included
        if "nbt" in entry:
            if not isinstance(entry["nbt"], nbtlib.Compound):
                raise VoxgenError(f"blocks[{n}].nbt is not a compound", path)
            block_entities[pos] = entry["nbt"]

    from voxgen.formats.structure_nbt import entity_in

    entities = [entity_in(e, f"entities[{n}]", path)
                for n, e in enumerate(_list(root.get("entities", []), "entities", path))]
    data_version = root.get("DataVersion")
    if data_version is not None and not (isinstance(data_version, nbtlib.Int) and is_int32(int(data_version))):
        raise VoxgenError(f"DataVersion {data_version.snbt()} is not an Int", path)
    metadata = {}
    data_version = flattened_data_version(None if data_version is None else int(data_version), metadata)
    return Structure.from_indices(blocks, states, block_entities=block_entities, entities=entities,
                                  data_version=data_version, metadata=metadata)


def _palette_state(entry, i: int, path) -> str:
    if not isinstance(entry, dict) or "Name" not in entry:
        raise VoxgenError(f"palette[{i}] has no 'Name'", path)
    props = entry.get("Properties", {})
    if not isinstance(props, dict):
        raise VoxgenError(f"palette[{i}] Properties is not a compound", path)
    try:
        return canonical(join_state(str(entry["Name"]), {str(k): str(v) for k, v in props.items()}))
    except ValueError as err:
        raise VoxgenError(f"palette[{i}]: {err}", path) from None


def _list(value, what: str, path) -> list:
    if not isinstance(value, list):
        raise VoxgenError(f"'{what}' is not a list", path)
    return value


def _int(value, what: str, path) -> int:
    if isinstance(value, (str, bytes, list, dict)) or isinstance(value, float):
        raise VoxgenError(f"{what} is not an integer", path)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise VoxgenError(f"{what} is not an integer", path) from None


def _int_triple(value, what: str, path) -> tuple[int, int, int]:
    if not isinstance(value, (list, np.ndarray)) or len(value) != 3:
        raise VoxgenError(f"{what} is not a list of 3 integers", path)
    return tuple(_int(v, what, path) for v in value)
