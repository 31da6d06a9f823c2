"""Structure specs: `structures/NAME.toml` names a blueprint and overrides
NCAConfig defaults.

    blueprint = "../blueprints/tree.toml"   # relative to the spec file, or a bundled NAME ("tree")
    hidden_channels = 16
    steps = [40, 56]

    [[stages]]                  # then, from those weights: these keys changed
    perception = "learned"
    fire_rate = 1.0

Each `[[stages]]` table is a later stage: the stage before's settings with
its keys changed, trained from the stage before's weights (a new run, as
`train --init` starts one) unless the stage before already grows the
blueprint exactly (and, where a later stage trains damage, regrew 90% of
its checks' damaged parts: a growth-only stage is followed by a healing
one). A later stage keeps the grid (`margin`) and the seed,
and may only widen the model (`widen.py`).

Unknown keys and values of the wrong type are VoxgenErrors naming the file
and the key. A blueprint file itself (a schematic in any format voxgen
reads) is a spec of every default, named after the file, and above
LARGE_BLOCKS blocks the two stages of LARGER (`for_blueprint`); a bare NAME
is the shipped structure's spec, `structures/NAME.toml`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from voxgen import formats
from voxgen.bundled import bundled_blueprint, bundled_spec
from voxgen.errors import VoxgenError
from voxgen.nca.config import DAMAGE_KINDS, LR_SCHEDULES, MAX_STEPS, PERCEPTIONS, NCAConfig
from voxgen.safe_read import BadToml, NotText, check_regular, read_toml

# A spec is a few lines; a larger file is read only as a blueprint.
_MAX_SPEC_BYTES = 1 << 20
# key -> allowed values, for string (or list-of-string) fields
_CHOICES = {"perception": PERCEPTIONS, "lr_schedule": LR_SCHEDULES,
            "damage_kinds": DAMAGE_KINDS, "halfcut_axes": ("x", "y", "z"),
            "seed_position": ("bottom-centre", "centre")}
MAX_MLP_LAYERS = 64
MAX_STAGES = 16
# A blueprint file of more blocks than this is trained in the stages of
# LARGER. Measured: with every default, the blacksmith (281 blocks) grew
# exactly from 97 of 100 fresh seeds; the village's big house (374) from
# none of 10 after 4000 iterations (IoU 0.98), cl_house3 (801) reached IoU
# 0.52, the jungle temple (1372) 37 of 100 after 3000 iterations. The two
# stages grew all of the larger ones (and the mini castle, 1273 blocks)
# exactly, the big house in 10 min on one thread (bench/RESULTS.md).
LARGE_BLOCKS = 300
LARGER = ({"hidden_channels": 16, "mlp_width": 96, "damage_kinds": [], "iterations": 1500},
          {"perception": "learned", "fire_rate": 1.0, "lr_schedule": "constant", "lr": 2e-4,
           "iterations": 2500})
"""The recipe for a larger structure (the README's "A larger structure"):
a wider model grows it first, growth only; then learned perception with
every cell firing at every step learns where each block goes (every seed
then grows the same structure)."""
MAX_VERIFY_SEEDS = 10_000
MAX_COUNT = 100_000_000
"""The most iterations (and iteration counts: checkpoint_every, damage_after,
...) a config may give: years of training at the fastest iteration rate."""
# number fields -> (lowest, highest) allowed, both inclusive
_BOUNDS = {"fire_rate": (0.0, 1.0), "alive_threshold": (0.0, 0.99), "lr": (0.0, 1.0),
           "lr_final": (0.0, 1.0), "dropout_rate": (0.0, 1.0), "class_weight_power": (0.0, 4.0),
           "focal_gamma": (0.0, 100.0), "hard_weight": (0.0, 1e6), "alive_weight": (0.0, 1e6),
           "skin_weight": (0.0, 1e6), "average_decay": (0.0, 0.999999), "skip_spikes": (0.0, 1e6),
           "halfcut_range": (0.0, 1.0), "sphere_radius": (0.0, 1.0),
           "steps": (1, MAX_STEPS), "torch_seed": (0, 2 ** 63 - 1),
           # size and count keys: far above any sensible use, low enough that
           # nothing built from them (parameter shapes, the memory estimate,
           # a loop over them) costs unbounded time before the memory check
           "hidden_channels": (0, 1024), "mlp_width": (1, 4096), "mlp_layers": (1, MAX_MLP_LAYERS),
           "perception_filters": (1, 64), "margin": (0, 1024), "pool_size": (1, 100_000),
           "batch": (1, 10_000), "reseed": (0, 10_000), "damage_count": (0, 10_000),
           "verify_seeds": (1, MAX_VERIFY_SEEDS), "verify_needed": (0, MAX_VERIFY_SEEDS),
           "iterations": (0, MAX_COUNT), "checkpoint_every": (1, MAX_COUNT),
           "damage_after": (0, MAX_COUNT), "average_from": (0, MAX_COUNT),
           "average_every": (1, MAX_COUNT), "stop_streak": (1, MAX_COUNT), "verify_gap": (0, MAX_COUNT)}
# keys whose lowest bound is itself refused (by `check_config`, which says
# why): their range reads open there, not as if that value were allowed
_ABOVE_LOWEST = ("fire_rate", "lr", "verify_needed")
# the largest integer any key takes (torch and numpy take 64-bit integers)
_MAX_INT = 2 ** 63 - 1
_PLURALS = {int: "integers", float: "numbers", str: "strings"}
# list fields -> (element type, length or None)
_LISTS = {"steps": (int, 2), "halfcut_range": (float, 2), "sphere_radius": (float, 2),
          "damage_kinds": (str, None), "halfcut_axes": (str, None)}


def allowed_values(key: str) -> str | None:
    """What a spec may give `key`, as `voxgen train --keys` shows it (a
    range, both ends included unless written "(", or the choices); None for
    a key without such a rule."""
    if key in _CHOICES and key != "seed_position":
        return ("any of " if key in _LISTS else "one of ") + ", ".join(_CHOICES[key])
    if key not in _BOUNDS:
        return None
    lo, hi = _BOUNDS[key]
    if key == "iterations":
        lo = 1                                  # a spec's own rule (`parse_spec`)
    if key in _ABOVE_LOWEST:
        low = f"({lo}" if isinstance(lo, float) else f"[{lo + 1}"
    else:
        low = f"[{lo}"
    text = f"{low}, {hi}]"
    return f"[lo, hi], each in {text}, lo <= hi" if key in _LISTS else f"in {text}"


@dataclass
class Spec:
    """A parsed spec: where it came from, its blueprint, the resolved config
    and those of its later stages, each from the stage before's weights.
    `from_file`: a blueprint file itself, not a spec."""
    path: Path
    name: str
    blueprint: Path
    config: NCAConfig
    stages: list = field(default_factory=list)
    from_file: bool = False

    @property
    def configs(self) -> list:
        """Every stage's config, the first one's first."""
        return [self.config, *self.stages]


def for_blueprint(spec: Spec, blocks: int, fine_tuning: bool = False) -> Spec:
    """The spec to train: `spec` itself, or for a blueprint file of more than
    LARGE_BLOCKS `blocks`, the stages of LARGER; `fine_tuning` (from trained
    weights, `train --init`), its last stage alone, which takes the weights
    of either stage or of the defaults."""
    if not spec.from_file or blocks <= LARGE_BLOCKS:
        return spec
    first, *later = _stage_configs(list(LARGER), spec.path)
    if fine_tuning:
        return Spec(spec.path, spec.name, spec.blueprint, later[-1], [], from_file=True)
    return Spec(spec.path, spec.name, spec.blueprint, first, later, from_file=True)


def _stage_configs(tables: list, path) -> list:
    """The configs of stages given as key tables, each table changing the
    stage before's keys (the first: the defaults'), every key checked, and
    each stage one that can start from the weights of the one before."""
    from voxgen.nca.widen import RULE, can_widen, changes_text, model_changes    # (torch: not for --keys)
    configs, values = [], {}
    for number, table in enumerate(tables, 1):
        label = "key" if number == 1 else f"stage {number} key"
        values = {**values, **table}
        config = check_config(values, path, label)
        if config.iterations < 1:       # a weights file's config may hold 0 (older runs): a spec may not
            raise VoxgenError(f"{label} 'iterations' must be at least 1, got 0 (0 iterations train nothing)", path)
        if configs:
            before = configs[-1]
            for key in ("margin", "seed_position"):
                if getattr(config, key) != getattr(before, key):
                    raise VoxgenError(f"stage {number} changes '{key}': every stage grows the same grid from "
                                      f"the same seed, from the weights of the stage before", path)
            if model_changes(before, config) and not can_widen(before, config):
                raise VoxgenError(f"stage {number} cannot start from the weights of stage {number - 1}: it "
                                  f"changes {changes_text(before, config)} ({RULE})", path)
        configs.append(config)
    return configs


def _check(path, key, value, default, label="key"):
    """Raise VoxgenError unless `value` fits field `key` (default shows the
    type) and its bounds; returns the value as the field holds it."""
    def bad(want):
        raise VoxgenError(f"{label} '{key}' must be {want}, got {value!r}", path)

    def number(v, kind):
        ok = isinstance(v, (int, float)) if kind is float else isinstance(v, int)
        if not ok or isinstance(v, bool) or kind is float and not math.isfinite(v):
            return None
        lo, hi = _BOUNDS.get(key, (None, None) if kind is float else (-_MAX_INT, _MAX_INT))
        above = key in _ABOVE_LOWEST
        # a spec's (or stage's) own rule, `parse_spec`'s: iterations >= 1; a weights file's may hold 0
        spec_iterations = key == "iterations" and label.endswith("key") and label != "config key"
        if kind is int and key not in _LISTS and lo in (0, 1) and v < lo:
            positive = lo == 1 or above or spec_iterations
            bad("a positive integer" if positive else "a non-negative integer")   # plainer than the range
        if lo is not None and not lo <= v <= hi:
            one, many = ("a number", "numbers") if kind is float else ("an integer", "integers")
            low = f"[{lo}" if not above else f"({lo}" if kind is float else f"[{lo + 1}"
            if spec_iterations:
                low = "[1"
            bad(f"{f'a list of {many} each' if key in _LISTS else one} in {low}, {hi}]")
        return kind(v)

    if key == "seed_position":
        if isinstance(value, str):
            if value not in _CHOICES[key]:
                bad(f"one of {', '.join(_CHOICES[key])} or [x, y, z]")
        elif not (isinstance(value, list) and len(value) == 3
                  and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _MAX_INT
                          for v in value)):
            bad("a string or [x, y, z] non-negative integers")
        return value
    if key in _LISTS:
        kind, length = _LISTS[key]
        if not isinstance(value, list) or (length and len(value) != length):
            bad(f"a list of {length or 'any number of'} {_PLURALS[kind]}")
        out = []
        for v in value:
            if kind is str:
                if not isinstance(v, str):
                    bad("a list of strings")
                if v not in _CHOICES[key]:
                    bad(f"a list drawn from {', '.join(_CHOICES[key])}")
                out.append(v)
            else:
                v = number(v, kind)
                if v is None:
                    bad(f"a list of {'finite numbers' if kind is float else 'integers'}")
                out.append(v)
        if kind is not str and out[0] > out[1]:
            bad("[lo, hi] with lo <= hi")
        return out
    if isinstance(default, bool):
        if not isinstance(value, bool):
            bad("true or false")
        return value
    if isinstance(default, int):
        checked = number(value, int)
        if checked is None:
            bad("an integer")
        return checked
    if isinstance(default, float):
        checked = number(value, float)
        if checked is None:
            bad("a finite number")
        return checked
    if isinstance(default, str):
        if not isinstance(value, str):
            bad("a string")
        if key in _CHOICES and value not in _CHOICES[key]:
            bad(f"one of {', '.join(_CHOICES[key])}")
        return value
    raise AssertionError(f"no type rule for {key}")


def check_config(values: dict, path, label: str = "key", unknown: bool = False) -> NCAConfig:
    """The NCAConfig of `values` (key -> value, the rest defaults), every key
    and the keys together checked: a VoxgenError naming `path` and the key
    (`label` "key" for a spec, "config key" for a weights file's config)
    otherwise. `unknown`: keys that are no field are left out (a weights
    file written by another version) instead of refused."""
    defaults = NCAConfig()
    known = {f.name for f in fields(NCAConfig)}
    checked = {}
    for key, value in values.items():
        if key not in known:
            if unknown:
                continue
            near = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean '{near[0]}'?" if near else "`voxgen train --keys` lists them"
            raise VoxgenError(f"unknown {label} '{key}' ({hint})", path)
        checked[key] = _check(path, key, value, getattr(defaults, key), label)
    config = NCAConfig(**{**defaults.to_dict(), **checked})

    def refuse(message):
        raise VoxgenError(f"{label} {message}", path)
    if not config.fire_rate > 0:
        refuse(f"'fire_rate' must be in (0, 1], got {config.fire_rate}")
    if not config.lr > 0:
        refuse(f"'lr' must be > 0, got {config.lr}")
    if config.verify_needed < 1:
        refuse("'verify_needed' must be at least 1: with 0 training stops early on any growth")
    if config.verify_needed > config.verify_seeds:
        refuse(f"'verify_needed' ({config.verify_needed}) is more than 'verify_seeds' "
               f"({config.verify_seeds}): training could never stop early")
    if config.batch < 1 or config.pool_size < config.batch:
        raise VoxgenError(f"{label}s 'batch' and 'pool_size' need 1 <= batch <= pool_size", path)
    if "halfcut" in config.damage_kinds and not config.halfcut_axes:
        refuse("'halfcut_axes' is empty but 'damage_kinds' has halfcut")
    for key in ("reseed", "damage_count"):
        if getattr(config, key) > config.batch:
            refuse(f"'{key}' ({getattr(config, key)}) is more than 'batch' ({config.batch})")
    return config


def parse_spec(path) -> Spec:
    """Read and validate a spec file (or take a blueprint file, or a shipped
    structure's NAME); the blueprint path is resolved but not loaded."""
    path = Path(path)
    if not path.is_file():
        path = bundled_spec(path) or path
    if not path.exists():
        raise VoxgenError("no such spec file, blueprint file or shipped structure", path)
    check_regular(path, "spec file")            # a folder, or a pipe (never opened: it could block)
    size = path.stat().st_size
    try:
        doc, bad_toml = (read_toml(path, _MAX_SPEC_BYTES, "spec file") if size <= _MAX_SPEC_BYTES else {}), None
    except BadToml as err:                      # not TOML: perhaps a blueprint file
        doc, bad_toml = {}, err
    if "blueprint" not in doc and formats.is_blueprint(path, damaged=True):
        return Spec(path=path, name=path.stem, blueprint=path.resolve(), config=NCAConfig(), from_file=True)
    if size > _MAX_SPEC_BYTES:
        raise VoxgenError(f"neither a spec ({size} bytes: a spec is a few lines of TOML) "
                          "nor a blueprint voxgen reads", path)
    if bad_toml is not None and path.suffix == ".safetensors":
        raise VoxgenError("is trained weights, not a spec or a blueprint (grow them: voxgen grow "
                          f"{path}; train on from them: voxgen train SPEC --init {path})", path)
    if isinstance(bad_toml, NotText):           # binary: no spec was meant
        raise VoxgenError("neither a spec (TOML text; this is binary) nor a blueprint voxgen reads", path)
    if bad_toml is not None:
        raise bad_toml
    if "blueprint" not in doc:
        raise VoxgenError("missing key 'blueprint'", path)
    blueprint = doc.pop("blueprint")
    if not isinstance(blueprint, str):
        raise VoxgenError(f"key 'blueprint' must be a path string, got {blueprint!r}", path)
    if not blueprint:                           # path.parent / "" is the spec's own folder
        raise VoxgenError("key 'blueprint' is empty: name a blueprint file (a path from the spec's "
                          "folder) or a bundled NAME (tree)", path)
    stages = doc.pop("stages", [])
    if not isinstance(stages, list) or not all(isinstance(t, dict) for t in stages):
        raise VoxgenError("key 'stages' must be tables of keys, each a later stage ([[stages]] then "
                          "key = value lines)", path)
    if len(stages) >= MAX_STAGES:
        raise VoxgenError(f"key 'stages': {len(stages)} later stages, at most {MAX_STAGES - 1}", path)
    for number, table in enumerate(stages, 2):
        for key in ("blueprint", "stages"):
            if key in table:
                raise VoxgenError(f"stage {number} sets '{key}', which only the spec's top sets (every stage "
                                  f"grows its blueprint)", path)
    config, *later = _stage_configs([doc, *stages], path)
    beside = path.parent / blueprint
    if not beside.exists() and path.is_symlink():      # a link to a spec: beside the spec itself
        beside = path.resolve().parent / blueprint
    if not beside.exists():
        beside = bundled_blueprint(blueprint)
    if beside is None:
        raise VoxgenError(f"key 'blueprint': no file {path.parent / blueprint} and no bundled blueprint "
                          f"{blueprint!r}", path)
    _check_blueprint(beside, blueprint, path)
    return Spec(path=path, name=path.stem, blueprint=beside.resolve(), config=config, stages=later)


def _check_blueprint(blueprint: Path, text: str, spec: Path) -> None:
    """Refuse, naming `spec` and its key, a blueprint that is a folder or
    another spec; `text`: the key's value as written. Any other file is
    left for its loader to judge (a small .toml is read, nothing else)."""
    if blueprint.is_dir():
        raise VoxgenError(f"key 'blueprint': {text} is a folder, not a blueprint file", spec)
    if blueprint.suffix != ".toml" or not blueprint.is_file() or blueprint.stat().st_size > _MAX_SPEC_BYTES:
        return
    try:
        doc = read_toml(blueprint, _MAX_SPEC_BYTES, "spec file")
    except VoxgenError:
        return
    trains_on = doc.get("blueprint")
    if isinstance(trains_on, str) and not {"palette", "layers"} & set(doc):
        raise VoxgenError(f"key 'blueprint': {text} is a structure spec, not a blueprint; the "
                          f"blueprint it trains on is {trains_on!r}", spec)
