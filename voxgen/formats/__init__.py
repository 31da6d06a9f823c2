"""Blueprint formats (layer L2): one module per format, each with `load`
(and `save` where writable); a dispatch table picks by content, not by name.

    load(path) -> Structure          sniffs the content
    save(structure, path, **opts)    picks the writer by the output extension
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import shlex
from pathlib import Path

from voxgen.atomic_write import atomic_output
from voxgen.errors import VoxgenError
from voxgen.safe_read import NOT_REGULAR, open_regular
# Imported here, before `def sniff` below: importing the submodule later would
# rebind the package attribute `sniff` to the module and break `load`.
from voxgen.formats.sniff import looks_like_nbt, sniff_format as _sniff_format
from voxgen.structure import Structure, entity_pos

# format name -> (module, file extensions it writes, human description)
FORMATS = {
    "sponge": ("voxgen.formats.sponge", (".schem",), "Sponge schematic"),
    "legacy": ("voxgen.formats.legacy", (), "MCEdit/WorldEdit legacy schematic"),
    "structure": ("voxgen.formats.structure_nbt", (".nbt",), "vanilla structure"),
    "litematic": ("voxgen.formats.litematic", (".litematic",), "Litematica"),
    "mcstructure": ("voxgen.formats.mcstructure", (), "Bedrock structure"),
    "snbt": ("voxgen.formats.snbt", (), "structure SNBT"),
    "toml": ("voxgen.formats.text", (".toml",), "voxgen text blueprint"),
}

# A declared volume above this is refused before anything is allocated. A
# Sponge, legacy or Litematica loader takes 9.5-11 bytes a cell at its peak
# (the file's int32 indices and the Structure's int32 blocks, 8; the void
# mask; tests/test_load_memory.py): 0.8-0.9 GB of the process at this limit.
# The largest real sample is 256^3 (16 M).
MAX_CELLS = 64 * 1024 * 1024
# Positions this far from the origin or farther are refused (the world border
# lies at 30 M): below it, a position plus an origin fits a 32-bit int.
FARTHEST = 1 << 30
# Text blueprints (.toml) and structure SNBT larger than this are refused:
# their parsers build Python objects (16 MB of TOML: ~0.5 GB and ~4 s).
MAX_TEXT_BYTES = 16 * 1024 * 1024


def _module(fmt: str):
    return importlib.import_module(FORMATS[fmt][0])


def writable_extensions() -> list[str]:
    return [ext for _, exts, _ in FORMATS.values() for ext in exts]


def check_path(path) -> Path:
    """`path` as a Path if it names a regular file; a VoxgenError otherwise
    (a pipe or device is refused: loading reads a file twice)."""
    path = Path(path)
    if not path.exists():
        raise VoxgenError("no such file", path)
    if path.is_dir():
        raise VoxgenError("is a directory, not a blueprint file", path)
    if not path.is_file():
        raise VoxgenError(NOT_REGULAR, path)
    return path


def sniff(path) -> str:
    """The format name of a file, from its content; trained weights given as
    a blueprint are named as such."""
    path = check_path(path)
    try:
        return _sniff_format(path)
    except VoxgenError:
        if _is_weights(path):
            raise VoxgenError(f"a voxgen weights file (safetensors), not a blueprint: grow it with "
                              f"voxgen grow {shlex.quote(str(path))} (or draw it: render --growth)", path) from None
        raise


def _is_weights(path) -> bool:
    """Whether a file begins as safetensors (voxgen's weights) do: the
    header's length, 8 bytes little-endian, that fits the file, then the
    header's JSON '{'."""
    try:
        with open_regular(path) as f:
            head, size = f.read(9), os.fstat(f.fileno()).st_size
    except VoxgenError:
        return False
    return len(head) == 9 and head[8:] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size


def is_blueprint(path, damaged: bool = False) -> bool:
    """Whether a file's bytes are a blueprint voxgen reads (NBT, gzipped, zlib
    or raw; SNBT; voxgen text), whatever its name. With `damaged`, also a
    file whose first byte says NBT but whose data does not parse (its loader
    then names the damage)."""
    try:
        sniff(path)
        return True
    except VoxgenError:
        if not damaged:
            return False
        try:
            with open_regular(path) as f:
                return looks_like_nbt(f.read(2))
        except VoxgenError:
            return False


def load(path, **opts) -> Structure:
    """Read any supported blueprint file into a Structure."""
    path = check_path(path)
    fmt = sniff(path)
    try:
        loader = _module(fmt).load
        # options are hints (e.g. block_entities=False); loaders take those they know
        known = inspect.signature(loader).parameters
        structure = loader(path, **{k: v for k, v in opts.items() if k in known})
    except VoxgenError:
        raise
    except MemoryError:
        raise VoxgenError("file declares a structure too large to load", path) from None
    except RecursionError:
        raise VoxgenError(f"{FORMATS[fmt][2]} file is nested too deeply", path) from None
    except (ValueError, KeyError, IndexError, TypeError, EOFError, OSError,
            UnicodeDecodeError, OverflowError, AttributeError) as err:
        raise VoxgenError(f"corrupt {FORMATS[fmt][2]} file ({type(err).__name__}: {err})", path) from None
    _check_opaque(structure, path)
    if not structure.name:
        structure.name = path.stem
    structure.metadata.setdefault("format", fmt)
    return structure


def _check_opaque(structure: Structure, path) -> None:
    """Refuse, at load time, what the writers could not write back: a
    DataVersion that is not an int32, entities or block entities that are
    not compounds, an origin or entity position that is not finite or lies
    FARTHEST or more away (a writer stores them, or a cell from them, as
    32-bit ints, sometimes after adding the origin)."""
    import nbtlib

    version = structure.data_version
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                or not -2**31 <= version < 2**31):
        raise VoxgenError(f"data version {version!r} is not a 32-bit integer", path)
    if not all(abs(v) < FARTHEST for v in structure.origin):
        raise VoxgenError(f"origin {list(structure.origin)} lies implausibly far away", path)
    if not isinstance(structure.entities, list):
        raise VoxgenError("the entities are not a list", path)
    for n, entity in enumerate(structure.entities):
        if not isinstance(entity, nbtlib.Compound):
            raise VoxgenError(f"entity {n} is not a compound", path)
        pos = entity_pos(entity)
        if pos is not None and not all(math.isfinite(v) and abs(v) < FARTHEST for v in pos):
            raise VoxgenError(f"entity {n} has Pos {list(pos)}, not a position in a world", path)
        tile = [entity.get(key) for key in ("TileX", "TileY", "TileZ")]
        if any(isinstance(v, nbtlib.Int) and abs(int(v)) >= FARTHEST for v in tile):
            raise VoxgenError(f"entity {n} has TileX/Y/Z {[None if v is None else int(v) for v in tile]}, "
                              "not a position in a world", path)
    for pos, tag in structure.block_entities.items():
        if not isinstance(tag, nbtlib.Compound):
            raise VoxgenError(f"the block entity at {list(pos)} is not a compound", path)


def format_for_output(path) -> str:
    ext = Path(path).suffix.lower()
    for fmt, (_, exts, _) in FORMATS.items():
        if ext in exts:
            return fmt
    raise VoxgenError(f"cannot write '{ext or 'no extension'}' files; "
                      f"use one of {', '.join(writable_extensions())}", path)


def save(structure: Structure, path, **opts) -> Path:
    """Write a Structure; the format follows the extension. The file appears
    whole or not at all (written to a temporary name, then renamed)."""
    if str(path).endswith(("/", os.sep)):         # Path() would drop the slash and write a file
        raise VoxgenError("names a folder (it ends in '/'), not a file", path)
    path = Path(path)
    fmt = format_for_output(path)
    if min(structure.shape) < 1:                # (a crop of no cells) no reader takes a size of 0
        raise VoxgenError(f"the structure has no cells (size {list(structure.shape)}); nothing written", path)
    with atomic_output(path) as tmp:            # checks the path first
        try:
            _module(fmt).save(structure, tmp, **opts)
        except RecursionError:  # opaque NBT nested deeper than a loader allows
            raise VoxgenError("the structure's NBT data is nested too deeply to write", path) from None
    return path
