"""Our flattening table against the independent ViaVersion 1.12 mapping.

The table is generated from our own family rules (make_legacy_table.py); the
ViaVersion file is only read here, as a check.
"""

import json

import pytest

from voxgen.blocks import canonical
from voxgen.formats import flattening, make_legacy_table

# Differences we accept, and why. Key: (id, data).
ACCEPTED = {
    # 1.13 TNT has an `unstable` property (1.12's `explode`); the reference omits it.
    (46, 0): "reference omits tnt[unstable=false]",
    (46, 1): "reference omits tnt[unstable=true]",
    # The upper half of a double plant stores only a facing, not the plant:
    # any name is a placeholder. Our reader takes the plant from the lower
    # half below it (pair_state); the reference says peony, we say sunflower.
    (175, 8): "upper double-plant half: placeholder plant",
    (175, 9): "upper double-plant half: placeholder plant",
    (175, 10): "upper double-plant half: placeholder plant",
    (175, 11): "upper double-plant half: placeholder plant",
}


@pytest.fixture(scope="module")
def reference(samples):
    path = samples / "data" / "viaversion_mapping-1.12.json"
    blocks = json.loads(path.read_text())["blocks"]
    return {(int(k) >> 4, int(k) & 15): canonical("minecraft:" + v) for k, v in blocks.items()}


def test_table_agrees_with_reference_on_99_percent(reference):
    ours = flattening.table().by_key
    differ = {key for key, state in reference.items() if ours.get(key[0] * 16 + key[1]) != state}
    agreement = 1 - len(differ) / len(reference)
    print(f"agreement {agreement:.2%} ({len(reference) - len(differ)}/{len(reference)})")
    assert agreement >= 0.99
    assert differ == set(ACCEPTED), f"unexpected differences: {sorted(differ - set(ACCEPTED))}"


def test_every_reference_key_is_in_our_table(reference):
    ours = flattening.table().by_key
    assert all(b * 16 + d in ours for b, d in reference)


def test_committed_table_is_what_the_generator_writes():
    rows = make_legacy_table.build()
    lines = [line for line in flattening.TABLE_PATH.read_text().splitlines() if not line.startswith("#")]
    assert lines == ["\t".join(r) for r in rows]


def test_table_states_are_canonical():
    for state in flattening.table().by_key.values():
        assert canonical(state) == state


@pytest.mark.parametrize("name, props, expected", [
    ("minecraft:stained_hardened_clay", {"color": "green"}, "minecraft:green_terracotta"),
    ("minecraft:slime", {}, "minecraft:slime_block"),
    ("minecraft:sticky_piston", {"extended": "false", "facing": "south"},
     "minecraft:sticky_piston[extended=false,facing=south]"),
    ("minecraft:log", {"axis": "y", "variant": "oak"}, "minecraft:oak_log[axis=y]"),
    ("minecraft:log2", {"axis": "none", "variant": "dark_oak"}, "minecraft:dark_oak_wood[axis=y]"),
    ("minecraft:wool", {"color": "silver"}, "minecraft:light_gray_wool"),
    ("minecraft:planks", {"variant": "spruce"}, "minecraft:spruce_planks"),
    ("minecraft:stone", {"variant": "smooth_andesite"}, "minecraft:polished_andesite"),
    ("minecraft:oak_stairs", {"facing": "west", "half": "top", "shape": "outer_right"},
     "minecraft:oak_stairs[facing=west,half=top,shape=outer_right,waterlogged=false]"),
    ("minecraft:wooden_door", {"facing": "south", "half": "lower", "hinge": "right", "open": "false",
                               "powered": "false"},
     "minecraft:oak_door[facing=south,half=lower,hinge=right,open=false,powered=false]"),
    ("minecraft:wooden_door", {"facing": "east", "half": "upper", "hinge": "left", "open": "true",
                               "powered": "false"},
     "minecraft:oak_door[facing=east,half=upper,hinge=left,open=true,powered=false]"),
    ("minecraft:stone_slab", {"half": "top", "variant": "quartz"}, "minecraft:quartz_slab[type=top,waterlogged=false]"),
    ("minecraft:double_stone_slab", {"seamless": "true", "variant": "stone"}, "minecraft:smooth_stone"),
    ("minecraft:leaves", {"check_decay": "false", "decayable": "false", "variant": "jungle"},
     "minecraft:jungle_leaves[distance=1,persistent=true]"),
    ("minecraft:torch", {"facing": "up"}, "minecraft:torch"),
    ("minecraft:torch", {"facing": "east"}, "minecraft:wall_torch[facing=east]"),
    ("minecraft:observer", {"facing": "down", "powered": "false"}, "minecraft:observer[facing=down,powered=false]"),
    ("minecraft:piston_head", {"facing": "up", "short": "false", "type": "sticky"},
     "minecraft:piston_head[facing=up,short=false,type=sticky]"),
    ("minecraft:lever", {"facing": "up_z", "powered": "true"}, "minecraft:lever[face=floor,facing=north,powered=true]"),
    ("minecraft:stone_button", {"facing": "north", "powered": "false"},
     "minecraft:stone_button[face=wall,facing=north,powered=false]"),
    ("minecraft:unpowered_repeater", {"delay": "2", "facing": "east", "locked": "false"},
     "minecraft:repeater[delay=2,facing=east,locked=false,powered=false]"),
    ("minecraft:double_plant", {"facing": "south", "half": "upper", "variant": "paeonia"},
     "minecraft:peony[half=upper]"),
    ("minecraft:grass", {"snowy": "false"}, "minecraft:grass_block[snowy=false]"),
    ("minecraft:spruce_fence", {"east": "true", "north": "false", "south": "false", "west": "true"},
     "minecraft:spruce_fence[east=true,north=false,south=false,waterlogged=false,west=true]"),
    ("betternether:black_vine", {}, "betternether:black_vine"),     # unknown names pass through
])
def test_112_names_map_to_modern_states(name, props, expected):
    assert flattening.modern_state(name, props) == expected


def test_unknown_and_unused_numeric_ids():
    assert flattening.numeric_state(253, 0) == "voxgen:legacy_253[data=0]"
    assert flattening.numeric_state(1000, 7) == "voxgen:legacy_1000[data=7]"
    assert flattening.numeric_state(1, 9) == "minecraft:stone"          # unused data: the id's first row
    assert canonical(flattening.unknown_state(4095, 15)) == "voxgen:legacy_4095[data=15]"


def test_pair_state_completes_doors_and_double_plants():
    # Lower half 64:1 (facing south, closed), upper half 64:9 (hinge right).
    assert flattening.pair_state(64, 1, 9, "lower") == \
        "minecraft:oak_door[facing=south,half=lower,hinge=right,open=false,powered=false]"
    assert flattening.pair_state(64, 5, 8, "upper") == \
        "minecraft:oak_door[facing=south,half=upper,hinge=left,open=true,powered=false]"
    assert flattening.pair_state(175, 4, 8, "upper") == "minecraft:rose_bush[half=upper]"
    assert flattening.pair_state(175, None, 8, "upper") == "minecraft:sunflower[half=upper]"
