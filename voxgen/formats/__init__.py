"""Blueprint formats (layer L2): one module per format, each with `load`
(and `save` where writable); a dispatch table picks by content, not by name.

    load(path) -> Structure          sniffs the content
    save(structure, path, **opts)    picks the writer by the output extension
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from voxgen.atomic_write import atomic_output
from voxgen.errors import VoxgenError
# Imported here, before `def sniff` below: importing the submodule later would
# rebind the package attribute `sniff` to the module and break `load`.
from voxgen.formats.sniff import NBT_FIRST_BYTES, sniff_format as _sniff_format
from voxgen.structure import Structure

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

# A declared volume above this is refused before anything is allocated.
MAX_CELLS = 256 * 1024 * 1024


def _module(fmt: str):
    return importlib.import_module(FORMATS[fmt][0])


def writable_extensions() -> list[str]:
    return [ext for _, exts, _ in FORMATS.values() for ext in exts]


def check_path(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise VoxgenError("no such file", path)
    if path.is_dir():
        raise VoxgenError("is a directory, not a blueprint file", path)
    return path


def sniff(path) -> str:
    """The format name of a file, from its content."""
    return _sniff_format(check_path(path))


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
        with open(path, "rb") as f:
            return f.read(1) in NBT_FIRST_BYTES


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
    except (ValueError, KeyError, IndexError, TypeError, EOFError, OSError,
            UnicodeDecodeError, OverflowError, AttributeError) as err:
        raise VoxgenError(f"corrupt {FORMATS[fmt][2]} file ({type(err).__name__}: {err})", path) from None
    if not structure.name:
        structure.name = path.stem
    structure.metadata.setdefault("format", fmt)
    return structure


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
    path = Path(path)
    fmt = format_for_output(path)
    if path.is_dir():
        raise VoxgenError("is a directory", path)
    if not path.parent.exists():
        raise VoxgenError("output directory does not exist", path)
    with atomic_output(path) as tmp:
        _module(fmt).save(structure, tmp, **opts)
    return path
