"""Structure specs: `structures/NAME.toml` names a blueprint and overrides
NCAConfig defaults.

    blueprint = "../blueprints/tree.toml"   # relative to the spec file, or a bundled NAME ("tree")
    hidden_channels = 16
    steps = [40, 56]

Unknown keys and values of the wrong type are VoxgenErrors naming the file
and the key. A blueprint file itself (a schematic in any format voxgen
reads) is a spec of every default, named after the file; a bare NAME is
the shipped structure's spec, `structures/NAME.toml`.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from voxgen import formats
from voxgen.bundled import bundled_blueprint, bundled_spec
from voxgen.errors import VoxgenError
from voxgen.nca.config import DAMAGE_KINDS, LR_SCHEDULES, PERCEPTIONS, NCAConfig

# A spec is a few lines; a larger file is read only as a blueprint.
_MAX_SPEC_BYTES = 1 << 20
# key -> allowed values, for string (or list-of-string) fields
_CHOICES = {"perception": PERCEPTIONS, "lr_schedule": LR_SCHEDULES,
            "damage_kinds": DAMAGE_KINDS, "halfcut_axes": ("x", "y", "z"),
            "seed_position": ("bottom-centre", "centre")}
# integer fields that must be at least 1
_POSITIVE = ("mlp_width", "mlp_layers", "perception_filters", "checkpoint_every", "verify_seeds",
             "stop_streak", "average_every")
# list fields -> (element type, length or None)
_LISTS = {"steps": (int, 2), "halfcut_range": (float, 2), "sphere_radius": (float, 2),
          "damage_kinds": (str, None), "halfcut_axes": (str, None)}


@dataclass
class Spec:
    """A parsed spec: where it came from, its blueprint, and the resolved config."""
    path: Path
    name: str
    blueprint: Path
    config: NCAConfig


def _check(path, key, value, default):
    """Raise VoxgenError unless `value` fits field `key` (default shows the type)."""
    def bad(want):
        raise VoxgenError(f"key '{key}' must be {want}, got {value!r}", path)

    if key == "seed_position":
        if isinstance(value, str):
            if value not in _CHOICES[key]:
                bad(f"one of {', '.join(_CHOICES[key])} or [x, y, z]")
        elif not (isinstance(value, list) and len(value) == 3
                  and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            bad("a string or [x, y, z] integers")
        return value
    if key in _LISTS:
        kind, length = _LISTS[key]
        if not isinstance(value, list) or (length and len(value) != length):
            bad(f"a list of {length or 'any number of'} {kind.__name__}s")
        out = []
        for v in value:
            ok = isinstance(v, (int, float)) if kind is float else isinstance(v, kind)
            if not ok or isinstance(v, bool):
                bad(f"a list of {kind.__name__}s")
            if key in _CHOICES and v not in _CHOICES[key]:
                bad(f"a list drawn from {', '.join(_CHOICES[key])}")
            out.append(kind(v))
        if key == "steps" and not 1 <= out[0] <= out[1]:
            bad("[lo, hi] with 1 <= lo <= hi")
        return out
    if isinstance(default, bool):
        if not isinstance(value, bool):
            bad("true or false")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool):
            bad("an integer")
        if key in _POSITIVE and value < 1:
            bad("a positive integer")
        if value < 0:
            bad("a non-negative integer")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            bad("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            bad("a string")
        if key in _CHOICES and value not in _CHOICES[key]:
            bad(f"one of {', '.join(_CHOICES[key])}")
        return value
    raise AssertionError(f"no type rule for {key}")


def parse_spec(path) -> Spec:
    """Read and validate a spec file (or take a blueprint file, or a shipped
    structure's NAME); the blueprint path is resolved but not loaded."""
    path = Path(path)
    if not path.is_file():
        path = bundled_spec(path) or path
    if not path.is_file():
        raise VoxgenError("no such spec file, blueprint file or shipped structure", path)
    size = path.stat().st_size
    try:
        doc, bad_toml = (tomllib.loads(path.read_text()) if size <= _MAX_SPEC_BYTES else {}), None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        doc, bad_toml = {}, err
    if "blueprint" not in doc and formats.is_blueprint(path, damaged=True):
        return Spec(path=path, name=path.stem, blueprint=path.resolve(), config=NCAConfig())
    if size > _MAX_SPEC_BYTES:
        raise VoxgenError(f"neither a spec ({size} bytes: a spec is a few lines of TOML) "
                          "nor a blueprint voxgen reads", path)
    if bad_toml is not None:
        raise VoxgenError(f"not valid TOML ({bad_toml})", path)
    if "blueprint" not in doc:
        raise VoxgenError("missing key 'blueprint'", path)
    blueprint = doc.pop("blueprint")
    if not isinstance(blueprint, str):
        raise VoxgenError(f"key 'blueprint' must be a path string, got {blueprint!r}", path)
    defaults = NCAConfig()
    known = {f.name for f in fields(NCAConfig)}
    values = {}
    for key, value in doc.items():
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean '{near[0]}'?" if near else "`voxgen train --keys` lists them"
            raise VoxgenError(f"unknown key '{key}' ({hint})", path)
        values[key] = _check(path, key, value, getattr(defaults, key))
    config = NCAConfig(**{**defaults.to_dict(), **values})
    if not 0 < config.fire_rate <= 1:
        raise VoxgenError(f"key 'fire_rate' must be in (0, 1], got {config.fire_rate}", path)
    if not config.lr > 0:
        raise VoxgenError(f"key 'lr' must be > 0, got {config.lr}", path)
    if config.verify_needed > config.verify_seeds:
        raise VoxgenError(f"key 'verify_needed' ({config.verify_needed}) is more than "
                          f"'verify_seeds' ({config.verify_seeds}): training could never stop early", path)
    for key in ("focal_gamma", "hard_weight", "skin_weight", "alive_weight"):
        if getattr(config, key) < 0:
            raise VoxgenError(f"key '{key}' must be >= 0, got {getattr(config, key)}", path)
    if not 0 <= config.average_decay < 1:
        raise VoxgenError(f"key 'average_decay' must be in [0, 1), got {config.average_decay}", path)
    if config.batch < 1 or config.pool_size < config.batch:
        raise VoxgenError("keys 'batch' and 'pool_size' need 1 <= batch <= pool_size", path)
    beside = path.parent / blueprint
    if not beside.exists():
        beside = bundled_blueprint(blueprint)
    if beside is None:
        raise VoxgenError(f"key 'blueprint': no file {path.parent / blueprint} and no bundled blueprint "
                          f"{blueprint!r}", path)
    return Spec(path=path, name=path.stem, blueprint=beside.resolve(), config=config)
