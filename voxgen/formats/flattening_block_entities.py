"""The part of the 1.13 flattening that reads block entities.

In 1.12 a bed's colour, a banner's base colour, a skull's type and floor
rotation, and a flower pot's plant lived in the block entity, not the block.
The game's data fixer (ChunkPalettedStorageFix, then
BlockEntityBannerColorFix) moves them into the block state; the flattening
table (`voxgen.formats.flattening`) alone cannot, so it gives `red_bed`,
`white_banner`, `skeleton_skull`, `flower_pot`. `apply` finishes the job
for a structure read from a 1.12 file (structure `.nbt`, legacy
`.schematic`), as the game does:

- bed `color` (wool order, 0 white .. 14 red .. 15 black) -> `<colour>_bed`;
  the field is dropped (a 1.13 bed entity holds nothing).
- banner `Base` (1.12 dye order: 15 white .. 0 black) -> `<colour>_banner` /
  `<colour>_wall_banner`; `Base` is dropped and each pattern's `Color` is
  turned into 1.13's wool order (15 - Color, BlockEntityBannerColorFix).
- skull `SkullType` (0 skeleton, 1 wither skeleton, 2 zombie, 3 player,
  4 creeper, 5 dragon) and, on the floor, `Rot` (0-15) -> e.g.
  `dragon_head[rotation=Rot]`, `zombie_wall_head[facing=...]`; `SkullType`
  and `Rot` are dropped, the rest (a player head's `Owner`) kept.
- flower pot `Item` + `Data` -> `potted_<plant>`; the block entity is
  removed (1.13 pots have none). A plant the game cannot pot leaves the pot
  empty, as in the game.
- note block `note` (0-24) and `powered` -> its state; the block entity is
  removed (1.13 note blocks have none).

Does not convert items inside containers, signs' text or anything else.
"""

from __future__ import annotations

import nbtlib

from voxgen.blocks import join_state, split_state
from voxgen.structure import Structure

# Wool / 1.13 dye order.
COLOURS = ("white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray",
           "light_gray", "cyan", "purple", "blue", "brown", "green", "red", "black")
# SkullType -> (floor block, wall block)
SKULLS = (("skeleton_skull", "skeleton_wall_skull"), ("wither_skeleton_skull", "wither_skeleton_wall_skull"),
          ("zombie_head", "zombie_wall_head"), ("player_head", "player_wall_head"),
          ("creeper_head", "creeper_wall_head"), ("dragon_head", "dragon_wall_head"))
# 1.12 pot contents "item:data" -> the potted block (the game's FLOWER_POT_MAP).
POTTED = {
    **{f"minecraft:sapling:{d}": f"minecraft:potted_{w}_sapling"
       for d, w in enumerate(("oak", "spruce", "birch", "jungle", "acacia", "dark_oak"))},
    **{f"minecraft:red_flower:{d}": f"minecraft:potted_{f}"
       for d, f in enumerate(("poppy", "blue_orchid", "allium", "azure_bluet", "red_tulip", "orange_tulip",
                              "white_tulip", "pink_tulip", "oxeye_daisy"))},
    "minecraft:yellow_flower:0": "minecraft:potted_dandelion",
    "minecraft:red_mushroom:0": "minecraft:potted_red_mushroom",
    "minecraft:brown_mushroom:0": "minecraft:potted_brown_mushroom",
    "minecraft:deadbush:0": "minecraft:potted_dead_bush",
    "minecraft:tallgrass:2": "minecraft:potted_fern",
    "minecraft:cactus:0": "minecraft:potted_cactus",
}
# Numeric item ids some older files store in a pot's `Item`.
_ITEM_IDS = {6: "sapling", 31: "tallgrass", 32: "deadbush", 37: "yellow_flower", 38: "red_flower",
             39: "brown_mushroom", 40: "red_mushroom", 81: "cactus"}
# The states the flattening table gives these blocks without their entity.
_DEFAULTS = {"minecraft:red_bed", "minecraft:white_banner", "minecraft:white_wall_banner",
             "minecraft:skeleton_skull", "minecraft:skeleton_wall_skull", "minecraft:flower_pot",
             "minecraft:note_block"}


def _int(tag, key, default=None):
    value = tag.get(key)
    if isinstance(value, (nbtlib.Byte, nbtlib.Short, nbtlib.Int, nbtlib.Long)):
        return int(value)
    return default


def convert(state: str, entity: nbtlib.Compound) -> tuple[str, nbtlib.Compound | None]:
    """(modern state, block entity or None) for one 1.12 block given the
    state the table gave it and its block entity."""
    name, props = split_state(state)
    entity = nbtlib.Compound(entity)
    if name == "minecraft:red_bed":
        color = _int(entity, "color")
        entity.pop("color", None)
        if color is not None and 0 <= color < 16:
            name = f"minecraft:{COLOURS[color]}_bed"
    elif name in ("minecraft:white_banner", "minecraft:white_wall_banner"):
        base = _int(entity, "Base", 0)              # none: 0, black, in 1.12 and in the fixer
        entity.pop("Base", None)
        if 0 <= base < 16:
            name = name.replace("white", COLOURS[15 - base], 1)
        if isinstance(entity.get("Patterns"), nbtlib.List):
            entity["Patterns"] = nbtlib.List[nbtlib.Compound]([_pattern(p) for p in entity["Patterns"]
                                                               if isinstance(p, nbtlib.Compound)])
    elif name in ("minecraft:skeleton_skull", "minecraft:skeleton_wall_skull"):
        kind, rot = _int(entity, "SkullType", 0), _int(entity, "Rot", 0)
        entity.pop("SkullType", None)
        entity.pop("Rot", None)
        floor, wall = SKULLS[kind] if 0 <= kind < len(SKULLS) else SKULLS[0]
        if name == "minecraft:skeleton_skull" and 0 <= rot < 16:
            name, props = f"minecraft:{floor}", {**props, "rotation": str(rot)}
        elif name == "minecraft:skeleton_skull":     # the fixer's fallback for a rotation it lacks
            name, props = "minecraft:skeleton_wall_skull", {"facing": "north"}
        else:
            name = f"minecraft:{wall}"
    elif name == "minecraft:flower_pot":
        item, data = entity.get("Item"), _int(entity, "Data", 0)
        if isinstance(item, (nbtlib.Short, nbtlib.Int)):
            item = _ITEM_IDS.get(int(item), "")
        item = str(item or "")
        item = item if ":" in item or not item else "minecraft:" + item
        return POTTED.get(f"{item}:{data}", "minecraft:flower_pot"), None
    elif name == "minecraft:note_block":
        note, powered = _int(entity, "note", 0), _int(entity, "powered", 0)
        props = {**props, "note": str(note if 0 <= note <= 24 else 0),
                 "powered": "true" if powered else "false"}
        return join_state(name, props), None
    return join_state(name, props), entity


def _pattern(pattern: nbtlib.Compound) -> nbtlib.Compound:
    color = _int(pattern, "Color")
    if color is None or not 0 <= color < 16:
        return pattern
    return nbtlib.Compound({**pattern, "Color": nbtlib.Int(15 - color)})


def apply(structure: Structure) -> None:
    """Move 1.12 block-entity facts into the block states, in place (see the
    module docstring). Cells whose state is not one of the table's defaults
    for these blocks are left alone."""
    if not any(split_state(s)[0] in _DEFAULTS for s in structure.palette):
        return
    index = {s: i for i, s in enumerate(structure.palette)}
    palette = list(structure.palette)
    for pos, entity in list(structure.block_entities.items()):
        state = palette[structure.blocks[pos]]
        if split_state(state)[0] not in _DEFAULTS:
            continue
        new_state, new_entity = convert(state, entity)
        if new_state not in index:
            index[new_state] = len(palette)
            palette.append(new_state)
        structure.blocks[pos] = index[new_state]
        if new_entity is None:
            del structure.block_entities[pos]
        else:
            structure.block_entities[pos] = new_entity
    structure.palette = tuple(palette)
    compact = structure.compacted()                 # e.g. red_bed, when no bed stayed red
    structure.blocks, structure.palette = compact.blocks, compact.palette
