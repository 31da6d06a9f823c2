"""Bedrock block names and states -> Java block states, for the common blocks.

Bedrock still encodes many blocks as one name plus a "type" state (the
pre-1.13 Java way: `wool[color=red]`, `planks[wood_type=spruce]`) and uses
its own property names (`weirdo_direction`, `upside_down_bit`,
`facing_direction`, `pillar_axis`). `to_java(name, states)` maps what it
knows and keeps anything else by name, with its states as strings.
"""

from __future__ import annotations

import re

from voxgen.blocks import join_state

_TOKEN = re.compile(r"^[a-z0-9_]+$|^-?[0-9]+$")

COLOURS = ("white", "orange", "magenta", "light_blue", "yellow", "lime", "pink", "gray",
           "light_gray", "cyan", "purple", "blue", "brown", "green", "red", "black")
_COLOUR_ALIASES = {"silver": "light_gray"}

# Bedrock name whose type lives in one state -> (state, Java name pattern, {value: Java value}).
_BY_STATE = {
    "wool": ("color", "{}_wool", {}),
    "carpet": ("color", "{}_carpet", {}),
    "concrete": ("color", "{}_concrete", {}),
    "concrete_powder": ("color", "{}_concrete_powder", {}),
    "concretepowder": ("color", "{}_concrete_powder", {}),
    "stained_glass": ("color", "{}_stained_glass", {}),
    "stained_glass_pane": ("color", "{}_stained_glass_pane", {}),
    "stained_hardened_clay": ("color", "{}_terracotta", {}),
    "shulker_box": ("color", "{}_shulker_box", {}),
    "planks": ("wood_type", "{}_planks", {}),
    "wooden_slab": ("wood_type", "{}_slab", {}),
    "fence": ("wood_type", "{}_fence", {}),
    "log": ("old_log_type", "{}_log", {}),
    "log2": ("new_log_type", "{}_log", {}),
    "leaves": ("old_leaf_type", "{}_leaves", {}),
    "leaves2": ("new_leaf_type", "{}_leaves", {}),
    "sapling": ("sapling_type", "{}_sapling", {}),
    "stone": ("stone_type", "{}", {"granite_smooth": "polished_granite",
                                    "diorite_smooth": "polished_diorite",
                                    "andesite_smooth": "polished_andesite"}),
    "dirt": ("dirt_type", "{}", {"normal": "dirt", "coarse": "coarse_dirt"}),
    "sand": ("sand_type", "{}", {"normal": "sand", "red": "red_sand"}),
    "sandstone": ("sand_stone_type", "{}", {"default": "sandstone", "heiroglyphs": "chiseled_sandstone",
                                            "cut": "cut_sandstone", "smooth": "smooth_sandstone"}),
    "red_sandstone": ("sand_stone_type", "{}", {"default": "red_sandstone",
                                                "heiroglyphs": "chiseled_red_sandstone",
                                                "cut": "cut_red_sandstone",
                                                "smooth": "smooth_red_sandstone"}),
    "stonebrick": ("stone_brick_type", "{}", {"default": "stone_bricks", "mossy": "mossy_stone_bricks",
                                              "cracked": "cracked_stone_bricks",
                                              "chiseled": "chiseled_stone_bricks",
                                              "smooth": "stone_bricks"}),
    "quartz_block": ("chisel_type", "{}", {"default": "quartz_block", "chiseled": "chiseled_quartz_block",
                                           "lines": "quartz_pillar", "smooth": "smooth_quartz"}),
    "prismarine": ("prismarine_block_type", "{}", {"default": "prismarine", "dark": "dark_prismarine",
                                                   "bricks": "prismarine_bricks"}),
    "red_flower": ("flower_type", "{}", {"poppy": "poppy", "orchid": "blue_orchid", "allium": "allium",
                                         "houstonia": "azure_bluet", "tulip_red": "red_tulip",
                                         "tulip_orange": "orange_tulip", "tulip_white": "white_tulip",
                                         "tulip_pink": "pink_tulip", "oxeye": "oxeye_daisy",
                                         "cornflower": "cornflower",
                                         "lily_of_the_valley": "lily_of_the_valley"}),
    "tallgrass": ("tall_grass_type", "{}", {"tall": "short_grass", "default": "short_grass",
                                            "fern": "fern", "snow": "short_grass"}),
}

# Plain renames.
_RENAMES = {
    "grass": "grass_block", "wooden_door": "oak_door", "slime": "slime_block",
    "brick_block": "bricks", "hardened_clay": "terracotta", "snow_layer": "snow",
    "web": "cobweb", "lit_pumpkin": "jack_o_lantern", "yellow_flower": "dandelion",
    "stone_stairs": "cobblestone_stairs", "normal_stone_stairs": "stone_stairs",
    "oak_stairs": "oak_stairs", "trapdoor": "oak_trapdoor", "wooden_button": "oak_button",
    "wooden_pressure_plate": "oak_pressure_plate", "fence_gate": "oak_fence_gate",
    "standing_sign": "oak_sign", "wall_sign": "oak_wall_sign", "golden_rail": "powered_rail",
    "waterlily": "lily_pad", "reeds": "sugar_cane", "melon_block": "melon",
    "invisiblebedrock": "barrier", "mob_spawner": "spawner", "noteblock": "note_block",
    "monster_egg": "infested_stone", "magma": "magma_block", "nether_brick": "nether_bricks",
    "red_nether_brick": "red_nether_bricks", "end_bricks": "end_stone_bricks",
    "seaLantern": "sea_lantern", "sealantern": "sea_lantern", "unpowered_repeater": "repeater",
    "powered_repeater": "repeater", "unpowered_comparator": "comparator",
    "powered_comparator": "comparator", "redstone_wire": "redstone_wire",
    "lit_redstone_lamp": "redstone_lamp", "lit_furnace": "furnace", "flowing_water": "water",
    "flowing_lava": "lava", "concrete_powder": "white_concrete_powder",
}

_FACING_6 = ("down", "up", "north", "south", "west", "east")       # facing_direction
_DOOR_FACING = ("east", "south", "west", "north")                   # doors' direction
_STAIRS_FACING = ("east", "west", "south", "north")                 # weirdo_direction
_CARDINAL = ("south", "west", "north", "east")                      # direction, most blocks
_BOOL_STATES = {"open_bit": "open", "powered_bit": "powered", "attached_bit": "attached",
                "in_wall_bit": "in_wall", "occupied_bit": "occupied", "hanging": "hanging"}


def to_java(name: str, states: dict) -> str:
    """A Java block-state string for a Bedrock `name` (namespaced) and its
    `states` ({str: int | str}). Unknown blocks keep their name; properties
    whose values are not plain tokens are dropped."""
    namespace, _, base = name.partition(":") if ":" in name else ("minecraft", "", name)
    states = dict(states)
    if namespace != "minecraft":
        return _keep(name, states)
    colour = states.get("color")
    if isinstance(colour, str):
        states["color"] = _COLOUR_ALIASES.get(colour, colour)
    if base in _BY_STATE:
        key, pattern, values = _BY_STATE[base]
        if key in states:
            kind = str(states.pop(key))
            base = pattern.format(values.get(kind, kind))
    elif base in _RENAMES:
        base = _RENAMES[base]
    props = {}
    if "pillar_axis" in states:
        props["axis"] = str(states.pop("pillar_axis"))
    if base.endswith("_stairs"):
        props.update(facing=_pick(_STAIRS_FACING, states.pop("weirdo_direction", 0)),
                     half="top" if states.pop("upside_down_bit", 0) else "bottom",
                     shape="straight", waterlogged="false")
    elif base.endswith("_door"):
        props.update(facing=_pick(_DOOR_FACING, states.pop("direction", 0)),
                     half="upper" if states.pop("upper_block_bit", 0) else "lower",
                     hinge="right" if states.pop("door_hinge_bit", 0) else "left",
                     open="true" if states.pop("open_bit", 0) else "false", powered="false")
    elif base.endswith("_slab") and "top_slot_bit" in states:
        props.update(type="top" if states.pop("top_slot_bit") else "bottom", waterlogged="false")
    elif base.endswith("_trapdoor"):
        props.update(facing=_pick(("east", "west", "south", "north"), states.pop("direction", 0)),
                     half="top" if states.pop("upside_down_bit", 0) else "bottom",
                     open="true" if states.pop("open_bit", 0) else "false",
                     powered="false", waterlogged="false")
    elif base in ("water", "lava"):
        props["level"] = str(states.pop("liquid_depth", 0))
    elif base == "grass_block":
        props["snowy"] = "false"
    if "facing_direction" in states:
        props["facing"] = _pick(_FACING_6, states.pop("facing_direction"))
    if "minecraft:facing_direction" in states:
        props["facing"] = str(states.pop("minecraft:facing_direction"))
    if "minecraft:cardinal_direction" in states:
        props["facing"] = str(states.pop("minecraft:cardinal_direction"))
    if "direction" in states and base.endswith(("_fence_gate", "_bed", "repeater", "comparator")):
        props["facing"] = _pick(_CARDINAL, states.pop("direction"))
    for bedrock, java in _BOOL_STATES.items():
        if bedrock in states:
            props[java] = "true" if states.pop(bedrock) else "false"
    if base in ("piston", "sticky_piston"):
        props.setdefault("extended", "false")
    for key in ("color", "stripped_bit", "age_bit", "update_bit", "persistent_bit",
                "dead_bit", "infiniburn_bit", "deprecated"):
        states.pop(key, None)
    if base.endswith(("_wool", "_concrete", "_stained_glass", "_terracotta", "_planks",
                      "_carpet", "_concrete_powder", "_leaves", "_sapling")) or base in _JAVA_PLAIN:
        states.clear()
    return join_state(f"minecraft:{base}", {**_plain(states), **props})


# Java blocks that have no properties: whatever Bedrock states remain are dropped.
_JAVA_PLAIN = frozenset({
    "dirt", "coarse_dirt", "sand", "red_sand", "stone", "granite", "polished_granite", "diorite",
    "polished_diorite", "andesite", "polished_andesite", "sandstone", "chiseled_sandstone",
    "cut_sandstone", "smooth_sandstone", "stone_bricks", "mossy_stone_bricks", "cracked_stone_bricks",
    "chiseled_stone_bricks", "quartz_block", "chiseled_quartz_block", "smooth_quartz", "prismarine",
    "dark_prismarine", "prismarine_bricks", "crafting_table", "cobblestone", "bricks", "terracotta",
    "cobweb", "dandelion", "poppy", "slime_block", "honey_block", "redstone_block", "obsidian",
    "glass", "short_grass", "fern", "bedrock", "gravel", "clay", "glowstone", "netherrack",
})


def _pick(names, value) -> str:
    try:
        return names[int(value) % len(names)]
    except (TypeError, ValueError):
        return names[0]


def _plain(states: dict) -> dict:
    """Remaining Bedrock states as Java-style string properties."""
    out = {}
    for key, value in states.items():
        key = str(key).replace("minecraft:", "").lower()
        text = str(int(value)) if isinstance(value, int) and not isinstance(value, bool) else str(value)
        if _TOKEN.match(key) and _TOKEN.match(text):
            out[key] = text
    return out


def _keep(name: str, states: dict) -> str:
    return join_state(name, _plain(states))
