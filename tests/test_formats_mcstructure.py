"""Bedrock .mcstructure: samples, both layers, Bedrock -> Java names."""

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.formats import nbt_io
from voxgen.formats.bedrock_names import to_java


def test_dirt_house(samples):
    s = formats.load(samples / "schematics" / "mcstructure" / "dirt_house.mcstructure")
    used = {st for st, n in s.counts().items() if n}
    assert s.shape == (5, 4, 5)
    assert s.count_non_air() == 74
    assert used == {
        "minecraft:air", "minecraft:dirt", "minecraft:grass_block[snowy=false]",
        "minecraft:brown_stained_glass", "minecraft:crafting_table",
        "minecraft:oak_door[facing=east,half=lower,hinge=left,open=false,powered=false]",
        "minecraft:oak_door[facing=east,half=upper,hinge=left,open=false,powered=false]",
    }
    # the door's halves are stacked
    lower = np.argwhere(s.blocks == s.palette.index(
        "minecraft:oak_door[facing=east,half=lower,hinge=left,open=false,powered=false]"))[0]
    assert s.state_at(lower[0], lower[1] + 1, lower[2]).startswith("minecraft:oak_door[facing=east,half=upper")


def test_second_layer_water_becomes_waterlogged(samples):
    s = formats.load(samples / "schematics" / "mcstructure" / "waterlogged.mcstructure")
    assert s.shape == (2, 1, 1)
    assert [s.state_at(x, 0, 0) for x in range(2)] == [
        "minecraft:birch_stairs[facing=south,half=bottom,shape=straight,waterlogged=false]",
        "minecraft:birch_stairs[facing=south,half=bottom,shape=straight,waterlogged=true]"]


@pytest.mark.parametrize("name,states,java", [
    ("minecraft:wool", {"color": "silver"}, "minecraft:light_gray_wool"),
    ("minecraft:concrete", {"color": "lime"}, "minecraft:lime_concrete"),
    ("minecraft:planks", {"wood_type": "dark_oak"}, "minecraft:dark_oak_planks"),
    ("minecraft:dirt", {"dirt_type": "coarse"}, "minecraft:coarse_dirt"),
    ("minecraft:grass", {}, "minecraft:grass_block[snowy=false]"),
    ("minecraft:slime", {}, "minecraft:slime_block"),
    ("minecraft:log", {"old_log_type": "birch", "pillar_axis": "x"}, "minecraft:birch_log[axis=x]"),
    ("minecraft:oak_stairs", {"weirdo_direction": 3, "upside_down_bit": 1},
     "minecraft:oak_stairs[facing=north,half=top,shape=straight,waterlogged=false]"),
    ("minecraft:wooden_door", {"direction": 1, "upper_block_bit": 0, "door_hinge_bit": 1, "open_bit": 0},
     "minecraft:oak_door[facing=south,half=lower,hinge=right,open=false,powered=false]"),
    ("minecraft:observer", {"facing_direction": 1, "powered_bit": 0},
     "minecraft:observer[facing=up,powered=false]"),
    ("minecraft:sticky_piston", {"facing_direction": 5}, "minecraft:sticky_piston[extended=false,facing=east]"),
    ("minecraft:water", {"liquid_depth": 0}, "minecraft:water[level=0]"),
    ("minecraft:stained_hardened_clay", {"color": "green"}, "minecraft:green_terracotta"),
    ("minecraft:some_future_block", {"glow_bit": 1, "odd": "a b"}, "minecraft:some_future_block[glow_bit=1]"),
    ("addon:thing", {"level": 3}, "addon:thing[level=3]"),
])
def test_bedrock_names_map_to_java(name, states, java):
    assert to_java(name, states) == java


def write_mcstructure(path, size, layers, palette, positions=None):
    entries = [nbtlib.Compound({"name": nbtlib.String(n), "states": nbtlib.Compound(s),
                                "version": nbtlib.Int(17959425)}) for n, s in palette]
    root = nbtlib.Compound({
        "format_version": nbtlib.Int(1),
        "size": nbtlib.List[nbtlib.Int](size),
        "structure": nbtlib.Compound({
            "block_indices": nbtlib.List[nbtlib.List]([nbtlib.List[nbtlib.Int](l) for l in layers]),
            "entities": nbtlib.List([]),
            "palette": nbtlib.Compound({"default": nbtlib.Compound({
                "block_palette": nbtlib.List[nbtlib.Compound](entries),
                "block_position_data": nbtlib.Compound(positions or {})})}),
        }),
        "structure_world_origin": nbtlib.List[nbtlib.Int]([0, 0, 0]),
    })
    nbt_io.write_nbt(path, root, gzipped=False, byteorder="little")


def test_order_void_unknown_and_block_entities(tmp_path):
    # size (2, 1, 3): index = (x * 1 + y) * 3 + z
    palette = [("minecraft:stone", {}), ("minecraft:chest", {"facing_direction": nbtlib.Int(2)}),
               ("minecraft:mystery", {})]
    layer0 = [0, -1, 2, 1, 0, 0]
    be = {"3": nbtlib.Compound({"block_entity_data": nbtlib.Compound(
        {"id": nbtlib.String("Chest"), "x": nbtlib.Int(9), "y": nbtlib.Int(9), "z": nbtlib.Int(9)})})}
    write_mcstructure(tmp_path / "t.mcstructure", [2, 1, 3], [layer0, [-1] * 6], palette, be)
    s = formats.load(tmp_path / "t.mcstructure")
    assert s.state_at(0, 0, 0) == "minecraft:stone"
    assert s.state_at(0, 0, 1) is None                       # -1 = structure void
    assert s.state_at(0, 0, 2) == "minecraft:mystery"        # unknown: kept by name
    assert s.state_at(1, 0, 0) == "minecraft:chest[facing=north]"
    assert s.block_entities == {(1, 0, 0): nbtlib.Compound({"id": nbtlib.String("Chest")})}
