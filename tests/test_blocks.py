import numpy as np
import pytest

from voxgen.blocks import PHYSICS, block_info, canonical, compile_palette, is_air, split_state


def test_canonical_adds_namespace_and_sorts_properties():
    assert canonical("observer[powered=false, facing=north]") == \
        "minecraft:observer[facing=north,powered=false]"
    assert canonical("minecraft:stone") == "minecraft:stone"
    assert canonical("betternether:black_vine") == "betternether:black_vine"


@pytest.mark.parametrize("bad", ["stone[", "stone[facing]", "sto ne", "stone[a=b]x", ""])
def test_canonical_rejects_malformed(bad):
    with pytest.raises(ValueError):
        canonical(bad)


def test_split_state():
    assert split_state("minecraft:piston[facing=up,extended=true]") == \
        ("minecraft:piston", {"facing": "up", "extended": "true"})


def test_air_like_ids():
    assert is_air("minecraft:cave_air") and is_air("void_air") and not is_air("minecraft:stone")


def test_registry_physics_classes_for_machine_blocks():
    assert block_info("minecraft:slime_block").physics == "slime"
    assert block_info("minecraft:sticky_piston[facing=east]").physics == "sticky_piston"
    assert block_info("minecraft:obsidian").physics == "immovable"
    assert block_info("minecraft:chest[facing=north]").physics == "immovable"
    assert block_info("minecraft:lime_glazed_terracotta").physics == "glazed"


def test_fallback_by_name_and_unknown():
    assert block_info("minecraft:weird_oak_planks").physics == "solid"
    assert block_info("mod:thing").physics == "unknown"


def test_compile_palette_arrays():
    table = compile_palette(["minecraft:air", "minecraft:observer[facing=up]", "minecraft:stone"])
    assert table.colour.shape == (3, 3) and table.colour.dtype == np.uint8
    assert list(table.physics) == [PHYSICS["air"], PHYSICS["observer"], PHYSICS["solid"]]


@pytest.mark.parametrize("standing, hung", [("minecraft:oak_sign", "minecraft:oak_wall_sign"),
                                            ("minecraft:birch_sign", "minecraft:birch_wall_sign"),
                                            ("minecraft:red_banner", "minecraft:red_wall_banner"),
                                            ("minecraft:soul_torch", "minecraft:soul_wall_torch")])
def test_a_block_hung_on_a_wall_moves_as_the_standing_one(standing, hung):
    # the by-name fallback matched `_wall` first: wall signs were "unknown", standing ones "immovable"
    assert block_info(hung).physics == block_info(standing).physics != "unknown"
