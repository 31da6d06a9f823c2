"""1.12 blocks whose colour, type or contents lived in a block entity: beds,
banners, skulls, flower pots (structure `.nbt` and legacy `.schematic`)."""

from collections import Counter

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import split_state
from voxgen.formats.flattening_block_entities import convert


def kinds(structure) -> Counter:
    """Cells per block name, for beds, banners, skulls/heads and pots."""
    words = ("bed", "banner", "skull", "head", "pot")
    return Counter(name for name, n in ((split_state(s)[0], n) for s, n in structure.counts().items())
                   for _ in range(n) if any(w in name for w in words))


def test_apartment_block_beds_skulls_and_pots(samples):
    s = formats.load(samples / "anchor-nca" / "pixl_apartmentblock.nbt")
    got = kinds(s)
    for colour in ("red", "green", "white", "blue"):               # color 14, 13, 0, 11
        assert got[f"minecraft:{colour}_bed"] == 4, got
    assert s.counts()["minecraft:dragon_head[rotation=15]"] == 1     # SkullType 5, Rot 15
    assert s.counts()["minecraft:skeleton_skull[rotation=10]"] == 1  # SkullType 0, Rot 10
    assert got["minecraft:potted_cactus"] == 2 and got["minecraft:potted_dark_oak_sapling"] == 3
    assert got["minecraft:potted_fern"] == 1 and got["minecraft:potted_dead_bush"] == 2
    assert got["minecraft:potted_blue_orchid"] == 2 and got["minecraft:potted_azure_bluet"] == 1
    assert got["minecraft:flower_pot"] == 0
    for pos, tag in s.block_entities.items():
        name = split_state(s.state_at(*pos))[0]
        assert "potted" not in name and "flower_pot" not in name     # 1.13 pots have no block entity
        assert not {"SkullType", "Rot", "color"} & set(tag), (name, tag)


def test_mini_castle_banners_and_beds(samples):
    got = kinds(formats.load(samples / "anchor-nca" / "mini_castle.nbt"))
    assert got["minecraft:green_banner"] + got["minecraft:green_wall_banner"] == 10   # Base 2: dye green
    assert got["minecraft:light_gray_bed"] == 4                                     # color 8
    assert not any("white_banner" in k or "red_bed" in k for k in got)
    assert got["minecraft:flower_pot"] == 2                                         # Item minecraft:air


def test_colours_survive_a_round_trip_through_every_writer(samples, tmp_path):
    s = formats.load(samples / "anchor-nca" / "pixl_apartmentblock.nbt")
    for target in ("a.nbt", "b.schem", "c.litematic"):
        back = formats.load(formats.save(s, tmp_path / target))
        assert back.same_blocks(s) and back.block_entities == s.block_entities, target


@pytest.mark.parametrize("state,entity,want", [
    ("minecraft:red_bed[facing=west,occupied=false,part=head]", {"color": nbtlib.Int(3)},
     "minecraft:light_blue_bed[facing=west,occupied=false,part=head]"),
    ("minecraft:white_banner[rotation=4]", {"Base": nbtlib.Int(15)}, "minecraft:white_banner[rotation=4]"),
    ("minecraft:white_banner[rotation=4]", {"Base": nbtlib.Int(0)}, "minecraft:black_banner[rotation=4]"),
    ("minecraft:white_wall_banner[facing=east]", {"Base": nbtlib.Int(1)}, "minecraft:red_wall_banner[facing=east]"),
    ("minecraft:skeleton_wall_skull[facing=south]", {"SkullType": nbtlib.Byte(4)},
     "minecraft:creeper_wall_head[facing=south]"),
    ("minecraft:skeleton_skull[rotation=0]", {"SkullType": nbtlib.Byte(1), "Rot": nbtlib.Byte(7)},
     "minecraft:wither_skeleton_skull[rotation=7]"),
    ("minecraft:flower_pot", {"Item": nbtlib.String("minecraft:red_flower"), "Data": nbtlib.Int(8)},
     "minecraft:potted_oxeye_daisy"),
    ("minecraft:flower_pot", {"Item": nbtlib.Int(38), "Data": nbtlib.Int(4)}, "minecraft:potted_red_tulip"),
    ("minecraft:flower_pot", {"Item": nbtlib.String("minecraft:red_flower"), "Data": nbtlib.Int(9)},
     "minecraft:flower_pot"),                                        # the game cannot pot it: empty
    ("minecraft:white_banner[rotation=4]", {}, "minecraft:black_banner[rotation=4]"),   # no Base: 0
    ("minecraft:skeleton_skull[rotation=0]", {"SkullType": nbtlib.Byte(2), "Rot": nbtlib.Byte(16)},
     "minecraft:skeleton_wall_skull[facing=north]"),                 # the fixer's fallback
    ("minecraft:note_block[instrument=harp,note=0,powered=false]",
     {"note": nbtlib.Byte(7), "powered": nbtlib.Byte(1)},
     "minecraft:note_block[instrument=harp,note=7,powered=true]"),
    ("minecraft:note_block[instrument=harp,note=0,powered=false]", {"note": nbtlib.Byte(99)},
     "minecraft:note_block[instrument=harp,note=0,powered=false]"),  # out of range: the default
])
def test_convert(state, entity, want):
    assert convert(state, nbtlib.Compound(entity))[0] == want


def test_banner_patterns_turn_to_the_new_colour_order():
    entity = nbtlib.Compound({"id": nbtlib.String("minecraft:banner"), "Base": nbtlib.Int(15),
                              "Patterns": nbtlib.List[nbtlib.Compound]([nbtlib.Compound(
                                  {"Pattern": nbtlib.String("bo"), "Color": nbtlib.Int(1)})])})
    _, out = convert("minecraft:white_banner[rotation=0]", entity)
    assert "Base" not in out and int(out["Patterns"][0]["Color"]) == 14   # dye 1 (red) is 14 in 1.13


def test_legacy_schematic_reads_tile_entities_too(tmp_path):
    ids = np.array([26, 26, 144, 140], dtype=np.uint8).view(np.int8)   # bed foot, bed head, skull, pot
    data = np.array([3, 11, 1, 0], dtype=np.int8)           # bed facing east; skull on the floor
    tile = [("minecraft:bed", 0, {"color": nbtlib.Int(5)}), ("minecraft:bed", 1, {"color": nbtlib.Int(5)}),
            ("Skull", 2, {"SkullType": nbtlib.Byte(2), "Rot": nbtlib.Byte(9)}),
            ("FlowerPot", 3, {"Item": nbtlib.String("minecraft:sapling"), "Data": nbtlib.Int(2)})]
    root = nbtlib.Compound({
        "Width": nbtlib.Short(4), "Height": nbtlib.Short(1), "Length": nbtlib.Short(1),
        "Materials": nbtlib.String("Alpha"), "Blocks": nbtlib.ByteArray(ids), "Data": nbtlib.ByteArray(data),
        "Entities": nbtlib.List[nbtlib.Compound]([]),
        "TileEntities": nbtlib.List[nbtlib.Compound]([nbtlib.Compound(
            {"id": nbtlib.String(i), "x": nbtlib.Int(x), "y": nbtlib.Int(0), "z": nbtlib.Int(0), **f})
            for i, x, f in tile]),
    })
    nbtlib.File(root, root_name="Schematic").save(tmp_path / "old.schematic", gzipped=True)
    s = formats.load(tmp_path / "old.schematic")
    names = [split_state(s.state_at(x, 0, 0)) for x in range(4)]
    assert [n for n, _ in names] == ["minecraft:lime_bed", "minecraft:lime_bed", "minecraft:zombie_head",
                                     "minecraft:potted_birch_sapling"]
    assert names[2][1] == {"rotation": "9"} and (3, 0, 0) not in s.block_entities


def test_note_blocks_take_their_note_and_lose_their_entity(samples):
    """pixl_apartmentblock.nbt's note blocks hold notes 1 and 2 and one is
    powered in their 1.12 block entities."""
    s = formats.load(samples / "anchor-nca" / "pixl_apartmentblock.nbt")
    notes = {split_state(p)[1].get("note") for p in s.palette if p.startswith("minecraft:note_block")}
    assert {"1", "2"} <= notes
    assert any("powered=true" in p for p in s.palette if p.startswith("minecraft:note_block"))
    assert not any("noteblock" in str(e.get("id", "")) for e in s.block_entities.values())
