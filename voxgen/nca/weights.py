"""Trained-weights files: safetensors tensors plus JSON-string metadata.

A weights file is self-contained: the model parameters ("model.*"), the target
grid ("target.classes", int32 (X, Y, Z)), and metadata (str -> JSON string):
format, name, palette, grid_shape, seed_pos, config, record. Loading never
unpickles. Training checkpoints use the same layout with extra tensors
(optimizer, pool, random states) and metadata.
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from voxgen.atomic_write import atomic_output
from voxgen.blocks import AIR, canonical
from voxgen.errors import VoxgenError
from voxgen.formats import MAX_CELLS
from voxgen.nca.config import NCAConfig
from voxgen.nca.device import memory_available
from voxgen.nca.model import NCA, perception_kernels
from voxgen.nca.safetensors_header import read_header

FORMAT = "voxgen-nca/1"


def parameter_shapes(classes: int, config: NCAConfig, trainable: bool = False) -> dict[str, tuple]:
    """name -> shape of every tensor in the state dict of `NCA(classes,
    config)` (`trainable`: of its parameters only, in the order the optimizer
    numbers them), found by building it on the meta device: no memory (the
    config's checks bound the number of layers)."""
    with torch.device("meta"):
        model = NCA(classes, config)
    items = model.named_parameters() if trainable else model.state_dict().items()
    return {k: tuple(v.shape) for k, v in items}


def save_weights(path, model: NCA, classes, name: str, palette, seed, record: dict,
                 extra_tensors: dict | None = None, extra_meta: dict | None = None,
                 data_version: int | None = None) -> Path:
    """Write atomically (temporary name, then rename); a failure is a
    VoxgenError naming `path`. `classes`: (X, Y, Z) ints; `data_version`:
    the blueprint's DataVersion, kept for what grows from the weights (its
    pictures draw some blocks by it)."""
    path = Path(path)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors["target.classes"] = torch.as_tensor(classes).to(torch.int32).cpu().contiguous()
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra_tensors or {}).items()})
    meta = {"format": FORMAT, "name": name, "palette": list(palette),
            "grid_shape": list(tensors["target.classes"].shape), "seed_pos": list(seed),
            "config": model.config.to_dict(), "record": record, **(extra_meta or {}),
            **({"data_version": int(data_version)} if data_version is not None else {})}
    temps = []
    try:
        with atomic_output(path) as tmp:      # short temporary name; OSErrors name `path`
            temps.append(str(tmp))
            save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
            os.chmod(tmp, 0o644)
    except SafetensorError as err:
        reason = str(err).replace(temps[0], str(path)) if temps else str(err)
        raise VoxgenError(f"cannot write weights ({reason})", path) from None
    return path


def read_weights(path, checkpoint: bool = False) -> tuple[dict, dict]:
    """(tensors, metadata with JSON decoded), the whole file checked
    (`check_weights`; `checkpoint`: a training checkpoint's extra tensors
    and metadata too). Raises VoxgenError on bad files. The header is read
    and its tensors' names, dtypes and shapes checked before any tensor is
    (`read_header`): a file is read whole only when it holds what a model of
    its config does, and fits the memory."""
    path = Path(path)
    if not path.is_file():
        raise VoxgenError("no such weights file", path)
    shapes, raw = read_header(path)
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except (ValueError, RecursionError):
            raise VoxgenError(f"not a voxgen weights file (its metadata {key[:40]!r} is not JSON)", path) from None
    if meta.get("format") != FORMAT:
        raise VoxgenError(f"not a voxgen weights file (format {meta.get('format')!r})", path)
    check_weights(shapes, meta, path, checkpoint)
    need, have = sum(t.nbytes for t in shapes.values()), memory_available(torch.device("cpu"))
    if have is not None and need > have:
        raise VoxgenError(f"its tensors take {need / 1024 ** 3:.1f} GiB, more than the "
                          f"{have / 1024 ** 3:.1f} GiB of memory here", path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError, OverflowError, RecursionError) as err:
        raise VoxgenError(f"not a voxgen weights file ({err})", path) from None
    check_weights(tensors, meta, path, checkpoint)
    return tensors, meta


def check_weights(tensors: dict, meta: dict, path, checkpoint: bool = False) -> None:
    """Check a weights file as a whole, before anything is built from it: its
    keys and their types, the name (a file name), the palette (canonical
    block states, air first), the config (the checks a spec's config gets),
    the target grid (3-D, classes within the palette, wider than the
    margins), the seed inside it, every tensor of the dtype voxgen writes it
    in (`stored_dtypes`), and every model tensor of the shape the config and
    palette give (finite). A VoxgenError naming `path` otherwise. Tensors of
    a header alone (`read_header`) get every check but those of values."""
    from voxgen.nca.spec import check_config

    def bad(message):
        raise VoxgenError(f"bad weights file: {message}", path)

    for key in ("name", "palette", "seed_pos", "config"):
        if key not in meta:
            bad(f"no '{key}' in the metadata")
    check_name(meta["name"], path)
    palette = meta["palette"]
    if not isinstance(palette, list) or not all(isinstance(p, str) for p in palette):
        bad("'palette' must be a list of block states")
    if not palette or palette[0] != AIR:
        bad(f"the palette must start with {AIR}")
    for state in palette:
        try:
            ok = canonical(state) == state
        except ValueError:
            ok = False
        if not ok:
            bad(f"palette entry {state[:80]!r} is not a canonical block state")
    if len(set(palette)) != len(palette):
        bad("the palette repeats a block state")
    if not isinstance(meta["config"], dict):
        bad("'config' must be a table of settings")
    config = check_config(meta["config"], path, label="config key", unknown=True)

    classes = tensors.get("target.classes")
    if classes is None:
        bad("no 'target.classes' tensor")
    if classes.dtype not in (torch.int32, torch.int64) or classes.ndim != 3:
        bad(f"'target.classes' must be 3-D integers, got {classes.dtype} {list(classes.shape)}")
    grid = tuple(classes.shape)
    if math.prod(grid) > MAX_CELLS:
        bad(f"the grid {list(grid)} has more than {MAX_CELLS:,} cells, the most voxgen takes")
    if min(grid) <= 2 * config.margin:
        bad(f"the grid {list(grid)} is no wider than its margins ({config.margin} cells a side)")
    if _anywhere(classes, lambda c: (c < 0) | (c >= len(palette))):
        bad(f"'target.classes' holds classes outside the palette's 0..{len(palette) - 1}")
    if "grid_shape" in meta and meta["grid_shape"] != list(grid):
        bad(f"'grid_shape' {meta['grid_shape']!r} is not the target's {list(grid)}")
    seed = meta["seed_pos"]
    if not (isinstance(seed, list) and len(seed) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in seed)):
        bad(f"'seed_pos' must be [x, y, z] integers, got {seed!r}")
    if not all(0 <= v < n for v, n in zip(seed, grid)):
        bad(f"'seed_pos' {seed} is outside the grid {list(grid)}")
    if not isinstance(meta.get("record", {}), dict):
        bad("'record' must be a table")
    version = meta.get("data_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version < 1 << 31:
        bad(f"'data_version' must be a DataVersion (an integer 0 to 2^31 - 1), got {repr(version)[:40]}")

    for key, t in tensors.items():      # before any arithmetic: torch lacks some for exotic dtypes
        stored = stored_dtypes(key)
        if stored and t.dtype not in stored:
            bad(f"'{key}' is {t.dtype}, voxgen writes it as {' or '.join(map(str, stored))}")
    want = parameter_shapes(len(palette), config)
    have = model_state(tensors)
    for name in sorted(set(want) | set(have)):
        if name not in have:
            bad(f"no 'model.{name}' tensor")
        if name not in want:
            bad(f"unexpected tensor 'model.{name}' for this config")
        if tuple(have[name].shape) != want[name] or not have[name].is_floating_point():
            bad(f"'model.{name}' is {have[name].dtype} {list(have[name].shape)}, the config and palette "
                f"give float {list(want[name])}")
        if _anywhere(have[name], _not_finite):
            bad(f"'model.{name}' holds values that are not finite")
    if config.perception == "fixed" and not have["kernel"].is_meta \
            and not torch.equal(have["kernel"], _fixed_kernel(have["kernel"])):
        # the CPU's kernels apply the fixed filters themselves, torch's (a GPU's) the stored ones
        bad("'model.kernel' is not the fixed perception's filters (identity and Sobel): a fixed "
            "kernel is not trained, so these weights were edited")
    others = set(tensors) - {f"model.{n}" for n in want} - {"target.classes"}
    if checkpoint and "iteration" not in meta and "pool" not in tensors:
        raise VoxgenError("a weights file, not a training checkpoint (no iteration, pool or optimizer "
                          "state): give another --out to train anew", path)
    if checkpoint or "iteration" in meta:          # a checkpoint grows as weights do
        _check_checkpoint(tensors, meta, len(palette) + 1 + config.hidden_channels, grid, bad)
        _check_training_state(tensors, meta, parameter_shapes(len(palette), config, trainable=True), want, bad)
        others -= {"pool", "pool_loss", "rng.sampler", "rng.firing"}
        others = {k for k in others if not k.startswith(("opt.", "mean."))}
    if others:
        bad(f"unexpected tensor {sorted(others)[0]!r}")


def _anywhere(t: torch.Tensor, test) -> bool:
    """Whether `test(t)` (a bool tensor) holds anywhere; never for a tensor
    of a header alone (`read_header`: on the "meta" device, no values yet)."""
    return not t.is_meta and bool(test(t).any())


def _not_finite(t: torch.Tensor) -> torch.Tensor:
    return ~torch.isfinite(t)


def _fixed_kernel(like: torch.Tensor) -> torch.Tensor:
    """Fixed perception's (C, 4, 27) filters, as `NCA` makes them, in `like`'s shape."""
    return perception_kernels().to(like.dtype).expand(like.shape).contiguous()


def stored_dtypes(key: str) -> tuple:
    """The dtypes voxgen writes tensor `key` of a weights file or checkpoint
    in (and so reads it in): the model, its Adam moments and the pool as
    float32, the weight average's sums as float64, Adam's step count as
    float32 (int64 from torch before 1.12), the random states as bytes, the
    target as int32 (int64 read too). () for a key voxgen never writes
    (refused by name elsewhere)."""
    if key.startswith("model.") or key in ("pool", "pool_loss"):
        return (torch.float32,)
    if key.startswith("opt."):
        return (torch.float32, torch.int64) if key.endswith(".step") else (torch.float32,)
    if key.startswith("mean."):
        return (torch.float64,)
    if key.startswith("rng."):
        return (torch.uint8,)
    if key == "target.classes":
        return (torch.int32, torch.int64)
    return ()


def _check_checkpoint(tensors: dict, meta: dict, channels: int, grid: tuple, bad) -> None:
    """A training checkpoint's own metadata and pool; the optimizer's and the
    weight average's tensors ("opt.*", "mean.*") are checked as they are
    loaded."""
    from voxgen.nca.spec import MAX_COUNT
    for key in ("iteration", "streak", "averaged"):
        value = meta.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
            bad(f"'{key}' must be an integer in [0, {MAX_COUNT}] (a spec's iterations at most), got {value!r}")
    anchor = meta.get("lr_anchor")           # where a resume changed the budget (`config.lr_at`)
    if anchor is not None and not (
            isinstance(anchor, list) and len(anchor) == 2 and isinstance(anchor[0], int)
            and not isinstance(anchor[0], bool) and 0 <= anchor[0] <= MAX_COUNT
            and isinstance(anchor[1], (int, float)) and not isinstance(anchor[1], bool) and 0 <= anchor[1] <= 1):
        bad(f"'lr_anchor' must be [iteration, fraction of the schedule done], got {repr(anchor)[:40]}")
    origin = meta.get("started_from")        # the weights a fine-tuning run began from, for its record
    if origin is not None and not (isinstance(origin, str) and 0 < len(origin) <= 4096 and origin.isprintable()):
        bad(f"'started_from' must be a path, got {repr(origin)[:40]}")
    if meta.get("device", "cpu") not in ("cpu", "cuda"):     # the device type it was trained on
        bad(f"'device' must be \"cpu\" or \"cuda\", got {repr(meta['device'])[:40]}")
    elapsed = meta.get("elapsed_s")
    if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool) or not 0 <= elapsed < float("inf"):
        bad(f"'elapsed_s' must be a number of seconds, got {elapsed!r}")
    for key in ("pool", "pool_loss", "rng.sampler", "rng.firing"):
        if key not in tensors:
            bad(f"no '{key}' tensor: not a training checkpoint")
    pool, loss = tensors["pool"], tensors["pool_loss"]
    if pool.ndim != 5 or tuple(pool.shape[1:]) != (channels, *grid) or not pool.is_floating_point():
        bad(f"'pool' is {list(pool.shape)}, not (N, {channels}, {', '.join(map(str, grid))})")
    if tuple(loss.shape) != (pool.shape[0],) or not loss.is_floating_point():
        bad(f"'pool_loss' is {list(loss.shape)}, not ({pool.shape[0]},)")
    if _anywhere(pool, _not_finite):
        bad("'pool' holds values that are not finite")
    if _anywhere(loss, lambda t: t.isnan() | (t < 0)):         # +inf: a state not yet scored
        bad("'pool_loss' holds NaN or negative losses")


def _check_training_state(tensors: dict, meta: dict, params: dict, shapes: dict, bad) -> None:
    """A checkpoint's optimizer state ("opt.I.step", "opt.I.exp_avg",
    "opt.I.exp_avg_sq" for parameter I of `params`, name -> shape in the
    optimizer's order): present for every parameter once an iteration has run,
    of the parameter's shape, finite, exp_avg_sq >= 0 and step a finite
    non-negative count; and the weight average's sums ("mean.NAME") finite."""
    names = list(params)
    seen = {}
    for key in tensors:
        if not key.startswith("opt."):
            continue
        parts = key.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(names) \
                or parts[2] not in ("step", "exp_avg", "exp_avg_sq"):
            bad(f"unexpected optimizer tensor {key!r}")
        seen.setdefault(int(parts[1]), set()).add(parts[2])
    if not seen and meta.get("iteration", 0) > 0:
        bad(f"no optimizer state ('opt.*' tensors) at iteration {meta['iteration']}: not a whole training checkpoint")
    for i in range(len(names)) if seen else ():
        if seen.get(i) != {"step", "exp_avg", "exp_avg_sq"}:
            missing = sorted({"step", "exp_avg", "exp_avg_sq"} - seen.get(i, set()))
            bad(f"no 'opt.{i}.{missing[0]}' tensor: the optimizer state is incomplete")
        step = tensors[f"opt.{i}.step"]
        if step.numel() != 1 or step.ndim > 1:
            bad(f"'opt.{i}.step' must be one number, got {step.dtype} {list(step.shape)}")
        if not step.is_meta and not (math.isfinite(float(step)) and float(step) >= 0):
            bad(f"'opt.{i}.step' must be a finite non-negative count, got {float(step)}")
        for moment in ("exp_avg", "exp_avg_sq"):
            t = tensors[f"opt.{i}.{moment}"]
            if tuple(t.shape) != params[names[i]] or not t.is_floating_point():
                bad(f"'opt.{i}.{moment}' is {t.dtype} {list(t.shape)}, the parameter '{names[i]}' is "
                    f"float {list(params[names[i]])}")
            if _anywhere(t, _not_finite):
                bad(f"'opt.{i}.{moment}' holds values that are not finite")
        if _anywhere(tensors[f"opt.{i}.exp_avg_sq"], lambda t: t < 0):
            bad(f"'opt.{i}.exp_avg_sq' holds negative values (squared gradients are >= 0)")
    for key, t in tensors.items():
        if key.startswith("mean."):
            name = key[len("mean."):]
            if name not in shapes or not t.is_floating_point():
                bad(f"unexpected tensor {key!r}")
            if _anywhere(t, _not_finite):
                bad(f"'{key}' holds values that are not finite")


def check_name(name, path) -> str:
    """A structure name from a file, refused unless it can name output files
    as it is: a string of 1 to 100 characters, no path separators or control
    characters (C0, C1, or format characters such as bidi overrides), not
    "." or ".."."""
    if not isinstance(name, str) or not 1 <= len(name) <= 100 or name in (".", "..") \
            or any(c in "/\\" or unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise VoxgenError(f"bad weights file: 'name' {repr(name)[:40]} is not a plain structure name", path)
    return name


def plain_name(text: str) -> str:
    """`text` (a spec's or blueprint's file name) as a structure name that
    `check_name` takes: path separators and control or format characters
    become "_", and it is cut to 100 characters ("structure" for one that is
    left empty, "." or "..")."""
    name = "".join("_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cf") else c for c in text)[:100]
    return "structure" if name in ("", ".", "..") else name


def model_state(tensors: dict) -> dict:
    """The model's state dict among a weights or checkpoint file's tensors
    (stored under "model.")."""
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def build_model(tensors: dict, meta: dict, device="cpu") -> NCA:
    """An NCA with the stored config and parameters (`read_weights` checked
    that they fit)."""
    config = NCAConfig.from_dict(meta["config"])
    model = NCA(len(meta["palette"]), config)
    model.load_state_dict(model_state(tensors))
    return model.to(device).eval()
