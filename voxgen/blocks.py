"""Block states and the block registry (layer L0).

A block state is a canonical string, `namespace:name[key=value,...]` with the
namespace always written and properties sorted by key. `canonical` is the only
function that makes one; everything else compares canonical strings.

The registry is data (`blocks.tsv` beside this file): per block id a colour
(our own RGB choice) and a physics class. `compile_palette` turns a palette
into lookup arrays that kernels index by palette entry; block names never
reach a kernel.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AIR = "minecraft:air"
AIR_IDS = frozenset({"minecraft:air", "minecraft:cave_air", "minecraft:void_air"})
STRUCTURE_VOID = "minecraft:structure_void"

# Physics classes, defined once by name. The value is the code stored in
# `BlockTable.physics`.
PHYSICS_CLASSES = (
    "air", "solid", "immovable", "slime", "honey", "glazed", "destroy",
    "piston", "sticky_piston", "piston_head", "moving_piston", "observer",
    "redstone_block", "unknown",
)
PHYSICS = {name: code for code, name in enumerate(PHYSICS_CLASSES)}

_ID_RE = re.compile(r"^[a-z0-9_.\-]+(:[a-z0-9_.\-/]+)?$")
_PROP_RE = re.compile(r"^[a-z0-9_]+$")
_VALUE_RE = re.compile(r"^[A-Za-z0-9_.\-+]+$")


def split_state(state: str) -> tuple[str, dict[str, str]]:
    """Split `ns:name[k=v,...]` into (`ns:name`, {k: v}). Raises ValueError
    for a malformed string, TypeError for anything not a str."""
    if not isinstance(state, str):          # a palette index or bytes passed by mistake
        raise TypeError(f"a block state is a str, not {type(state).__name__}: {state!r}")
    text = state.strip()
    props: dict[str, str] = {}
    if "[" in text:
        if not text.endswith("]"):
            raise ValueError(f"malformed block state {state!r}")
        text, _, inner = text[:-1].partition("[")
        for part in filter(None, (p.strip() for p in inner.split(","))):
            key, eq, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not _PROP_RE.match(key) or not _VALUE_RE.match(value):
                raise ValueError(f"malformed property {part!r} in block state {state!r}")
            if key in props:
                raise ValueError(f"property {key!r} given twice in block state {state!r}")
            props[key] = value
    name = text.strip().lower()
    if ":" not in name:
        name = "minecraft:" + name
    if not _ID_RE.match(name):
        raise ValueError(f"malformed block id {text!r}")
    return name, props


def join_state(name: str, props: dict[str, str] | None = None) -> str:
    """The canonical string for a block id and its properties."""
    if ":" not in name:
        name = "minecraft:" + name
    if not props:
        return name
    return name + "[" + ",".join(f"{k}={props[k]}" for k in sorted(props)) + "]"


@functools.lru_cache(maxsize=65536)
def canonical(state: str) -> str:
    """Canonical block-state string: namespace written, properties sorted."""
    name, props = split_state(state)
    return join_state(name, props)


def block_id(state: str) -> str:
    """`minecraft:observer[facing=up]` -> `minecraft:observer`."""
    return state.partition("[")[0]


def properties(state: str) -> dict[str, str]:
    return split_state(state)[1]


def is_air(state: str) -> bool:
    return block_id(canonical(state)) in AIR_IDS


# --- registry ---------------------------------------------------------------

@dataclass(frozen=True)
class BlockInfo:
    colour: tuple[int, int, int]
    physics: str


def _parse_registry(text: str) -> dict[str, BlockInfo]:
    table = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ValueError(f"blocks.tsv:{lineno}: want 'id colour physics', got {line!r}")
        name, colour, physics = fields
        if physics not in PHYSICS:
            raise ValueError(f"blocks.tsv:{lineno}: unknown physics class {physics!r}")
        rgb = tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
        table[canonical(name)] = BlockInfo(rgb, physics)
    return table


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, BlockInfo]:
    """Block id -> BlockInfo, from the data file `blocks.tsv`."""
    return _parse_registry((Path(__file__).with_name("blocks.tsv")).read_text())


# Fallback by name for ids the table does not list: first matching suffix or
# substring wins. Colours are ours; physics is conservative ("unknown" unless
# the family is certain), so the physics engine refuses what it cannot model.
_FALLBACK = (
    ("glazed_terracotta", (0x6A, 0x9B, 0xB0), "glazed"),
    ("_terracotta", (0x9A, 0x60, 0x48), "solid"),
    ("_concrete_powder", (0xB8, 0xB8, 0xB0), "unknown"),
    ("_concrete", (0x80, 0x80, 0x88), "solid"),
    ("_wool", (0xE0, 0xE0, 0xE0), "solid"),
    ("_planks", (0xA8, 0x87, 0x54), "solid"),
    ("_log", (0x6B, 0x51, 0x32), "solid"),
    ("_wood", (0x6B, 0x51, 0x32), "solid"),
    ("_stem", (0x3A, 0x6E, 0x6E), "solid"),
    ("_hyphae", (0x3A, 0x6E, 0x6E), "solid"),
    ("_leaves", (0x3C, 0x8C, 0x2C), "unknown"),
    ("_stairs", (0x9C, 0x9C, 0x9C), "unknown"),
    ("_slab", (0xA0, 0xA0, 0xA0), "unknown"),
    # before _wall: a wall sign, banner or torch is the standing one's block, hung on a wall
    ("_torch", (0xF0, 0xC0, 0x40), "destroy"),
    ("_sign", (0xB0, 0x90, 0x60), "immovable"),
    ("_banner", (0xE0, 0xE0, 0xE0), "immovable"),
    ("_wall", (0x80, 0x80, 0x80), "unknown"),
    ("_fence_gate", (0xA0, 0x80, 0x50), "unknown"),
    ("_fence", (0xA0, 0x80, 0x50), "unknown"),
    ("_door", (0x9A, 0x78, 0x48), "destroy"),
    ("_trapdoor", (0x9A, 0x78, 0x48), "unknown"),
    ("_glass_pane", (0xC0, 0xE0, 0xE8), "unknown"),
    ("_glass", (0xC8, 0xE4, 0xEC), "unknown"),
    ("_carpet", (0xD0, 0xD0, 0xD0), "destroy"),
    ("_button", (0x90, 0x90, 0x90), "destroy"),
    ("_pressure_plate", (0x90, 0x90, 0x90), "destroy"),
    ("_sapling", (0x48, 0x90, 0x30), "destroy"),
    ("_flower", (0xD8, 0x40, 0x40), "destroy"),
    ("_tulip", (0xE0, 0x60, 0x40), "destroy"),
    ("_bed", (0xC0, 0x30, 0x30), "immovable"),
    ("_ore", (0x88, 0x88, 0x88), "solid"),
    ("_bricks", (0x90, 0x58, 0x48), "solid"),
    ("_block", (0xA0, 0xA0, 0xA0), "unknown"),
    ("stone", (0x7D, 0x7D, 0x7D), "unknown"),
    ("shulker_box", (0x90, 0x60, 0x90), "immovable"),
    ("coral", (0xD0, 0x60, 0x90), "unknown"),
    ("vine", (0x30, 0x70, 0x20), "destroy"),
)
_UNKNOWN_COLOUR = (0xD0, 0x30, 0xD0)  # loud magenta: "we do not know this block"


# Colour only (physics keeps the by-name fallback above): most ids the table
# does not list are a listed block's dye or shape variant, and its colour
# beats a family grey (an oak roof of stairs drawn as stone, every bed red).
DYES = ("white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray",
        "light_gray", "cyan", "purple", "blue", "brown", "green", "red", "black")
# dyed family -> (the listed block giving the dye's colour, colour mixed in, its share)
_DYED = {
    "stained_glass_pane": ("wool", (0xC0, 0xDD, 0xE2), 0.4),
    "stained_glass": ("wool", (0xC0, 0xDD, 0xE2), 0.4),
    "concrete_powder": ("concrete", (0xE8, 0xE8, 0xE8), 0.25),
    "glazed_terracotta": ("wool", None, 0.0),
    "wall_banner": ("wool", None, 0.0),
    "banner": ("wool", None, 0.0),
    "carpet": ("wool", None, 0.0),
    "bed": ("wool", None, 0.0),
    "candle": ("wool", None, 0.0),
    "shulker_box": ("wool", None, 0.0),
}
# Shapes cut from a material (longest first, so `_wall_sign` is not `_wall`).
_SHAPES = ("_wall_hanging_sign", "_hanging_sign", "_wall_sign", "_sign", "_stairs", "_slab",
           "_fence_gate", "_fence", "_wall", "_trapdoor", "_door", "_button",
           "_pressure_plate")
_PREFIXES = ("infested_", "waxed_", "chiseled_", "cut_")
_MATERIAL_ALIASES = {"heavy_weighted": "iron_block", "light_weighted": "gold_block"}


def _mix(colour, other, share):
    if other is None:
        return colour
    return tuple(round(c * (1 - share) + o * share) for c, o in zip(colour, other))


def _variant_colour(path: str, table, depth: int = 0):
    """The colour of the listed block that `path` (an id without namespace) is
    a dye, shape or prefix variant of; None if none is found."""
    def listed(p):
        info = table.get("minecraft:" + p)
        return info.colour if info is not None else None
    if depth > 2:
        return None
    if (colour := listed(path)) is not None:
        return colour
    if path.startswith("potted_") and (colour := listed("flower_pot")) is not None:
        return colour                      # the pot is most of the cube
    for dye in DYES:
        family = path[len(dye) + 1:] if path.startswith(dye + "_") else None
        if family in _DYED and (colour := listed(f"{dye}_{_DYED[family][0]}")) is not None:
            return _mix(colour, *_DYED[family][1:])
    for shape in _SHAPES:
        if path.endswith(shape) and len(path) > len(shape):
            base = path[:-len(shape)]
            base = _MATERIAL_ALIASES.get(base, base)
            for material in (base, base + "s", base + "_planks", base + "_block"):
                if (colour := _variant_colour(material, table, depth + 1)) is not None:
                    return colour
            return None
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            return _variant_colour(path[len(prefix):], table, depth + 1)
    for suffix, listed_suffix in (("_wood", "_log"), ("_hyphae", "_stem")):
        if path.endswith(suffix):
            return _variant_colour(path[:-len(suffix)] + listed_suffix, table, depth + 1)
    return None


@functools.lru_cache(maxsize=65536)
def block_info(state: str) -> BlockInfo:
    """Registry entry for a state (by its id), with the by-name fallback:
    physics from `_FALLBACK`, colour from the block it is a variant of
    (`_variant_colour`), else from `_FALLBACK`, else magenta."""
    name = block_id(canonical(state))
    table = registry()
    if name in table:
        return table[name]
    path = name.partition(":")[2]
    colour, physics = _UNKNOWN_COLOUR, "unknown"
    for pattern, fallback_colour, fallback_physics in _FALLBACK:
        if pattern in path:
            colour, physics = fallback_colour, fallback_physics
            break
    return BlockInfo(_variant_colour(path, table) or colour, physics)


def is_known(state: str) -> bool:
    """True if the registry lists this block id (no fallback used)."""
    return block_id(canonical(state)) in registry()


@dataclass(frozen=True)
class BlockTable:
    """Lookup arrays for one palette, indexed by palette entry.

    colour: uint8 (K, 3); physics: int8 (K,) codes of PHYSICS_CLASSES.
    """

    palette: tuple[str, ...]
    colour: np.ndarray
    physics: np.ndarray


def compile_palette(palette) -> BlockTable:
    """Compile a palette (sequence of canonical states) into lookup arrays."""
    infos = [block_info(s) for s in palette]
    colour = np.array([i.colour for i in infos], dtype=np.uint8).reshape(-1, 3)
    physics = np.array([PHYSICS[i.physics] for i in infos], dtype=np.int8)
    return BlockTable(tuple(palette), colour, physics)
