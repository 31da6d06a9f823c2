"""Bundled blueprints, `blueprints/NAME.toml`, and the specs of the shipped
structures, `structures/NAME.toml`: found by NAME from any directory."""

from __future__ import annotations

from pathlib import Path

from voxgen.errors import VoxgenError

BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
STRUCTURES = Path(__file__).resolve().parent.parent / "structures"


def _bundled(folder: Path, name) -> Path | None:
    """folder/NAME.toml for a bare NAME (no '/') when it exists, else None."""
    if "/" in str(name):
        return None
    path = folder / f"{name}.toml"
    return path if path.is_file() else None


def bundled_blueprint(name) -> Path | None:
    """blueprints/NAME.toml for a bare NAME (no '/') of a bundled blueprint, else None."""
    return _bundled(BLUEPRINTS, name)


def bundled_spec(name) -> Path | None:
    """structures/NAME.toml for a bare NAME (no '/') of a shipped structure, else None."""
    return _bundled(STRUCTURES, name)


def resolve_blueprint(file_or_name) -> Path:
    """A file path as it is; a bare NAME -> blueprints/NAME.toml. A folder
    named like no bundled blueprint comes back as it is, for formats to say
    it is a folder."""
    path = Path(file_or_name)
    if (path.exists() and not path.is_dir()) or "/" in str(file_or_name):   # a pipe too, for formats to refuse
        return path
    bundled = bundled_blueprint(file_or_name)
    if bundled is not None:
        return bundled
    if path.is_dir():
        return path
    raise VoxgenError("no such file or bundled blueprint", file_or_name)
