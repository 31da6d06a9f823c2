"""Tests that a hand mutation audit found missing: each fails on a small
plausible bug in the block-state strings, Structure, the metrics or the
regeneration harness (named in its docstring) that the rest of the suite
let through."""

import nbtlib
import numpy as np
import pytest

from voxgen.blocks import canonical, split_state

from voxgen.structure import Structure

STONE, DIRT = "minecraft:stone", "minecraft:dirt"


def pig(x, y, z) -> nbtlib.Compound:
    return nbtlib.Compound({"id": nbtlib.String("minecraft:pig"),
                            "Pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(v) for v in (x, y, z)])})


def row(n=4) -> Structure:
    """n cells along x: stone, dirt, stone, ... ."""
    blocks = np.array([1 + i % 2 for i in range(n)], np.int32).reshape(n, 1, 1)
    return Structure(blocks, ("minecraft:air", STONE, DIRT))


def test_block_ids_are_folded_to_lower_case():
    """blocks.split_state: ids are lower case (without `.lower()`,
    "Minecraft:Stone" was a block of its own, unknown to the registry and
    unequal to minecraft:stone in every comparison)."""
    assert canonical("Minecraft:STONE") == canonical("stone") == "minecraft:stone"
    assert canonical("OBSERVER[facing=up]") == "minecraft:observer[facing=up]"


def test_a_property_given_twice_is_refused():
    """blocks.split_state: `[facing=up,facing=down]` names no one state
    (without the check the last value silently won)."""
    with pytest.raises(ValueError, match="given twice"):
        split_state("minecraft:observer[facing=up,facing=down]")


def test_translate_drops_a_block_entity_moved_just_past_the_box():
    """Structure.translate: a block entity moved to x == width lies outside
    (`0 <= p <= n` kept it, a key no cell has)."""
    s = row(3)
    s.block_entities = {(1, 0, 0): nbtlib.Compound({"id": nbtlib.String("minecraft:chest")}),
                        (2, 0, 0): nbtlib.Compound({"id": nbtlib.String("minecraft:barrel")})}
    moved = s.translate((1, 0, 0))
    assert set(moved.block_entities) == {(2, 0, 0)}
    assert moved.block_entities[(2, 0, 0)]["id"] == "minecraft:chest"
    back = s.translate((-2, 0, 0))
    assert set(back.block_entities) == {(0, 0, 0)}


def test_crop_moves_the_origin_to_the_crops_corner():
    """Structure.crop: blocks[0, 0, 0] of the crop sits at origin + lo
    (`o - a` moved it the wrong way; only a non-zero lo shows it)."""
    s = Structure(np.ones((4, 3, 5), np.int32), ("minecraft:air", STONE), origin=(10, 20, 30))
    assert s.crop((1, 2, 3), (3, 3, 5)).origin == (11, 22, 33)
    solid = np.zeros((4, 3, 5), np.int32)
    solid[2, 1, 4] = 1
    assert Structure(solid, ("minecraft:air", STONE), origin=(10, 20, 30)).trimmed().origin == (12, 21, 34)


def test_cut_along_puts_an_entity_on_the_plane_in_the_second_part():
    """Structure.cut_along: cells with coordinate < at go first, the rest
    second, and an entity goes with its cell (`<= at` sent an entity in
    the plane's own layer to the first part, apart from its cell)."""
    s = row(4)
    s.entities = [pig(1.5, 0.5, 0.5), pig(2.5, 0.5, 0.5), pig(2.0, 0.0, 0.0), pig(3.9, 0.5, 0.5)]
    first, second = s.cut_along("x", 2)
    assert [float(e["Pos"][0]) for e in first.entities] == [1.5]
    assert [float(e["Pos"][0]) for e in second.entities] == [2.5, 2.0, 3.9]
    assert (first.blocks[2:] == 0).all() and (second.blocks[:2] == 0).all()


def test_compacted_keeps_air_first_when_no_cell_is_air():
    """Structure.compacted: air stays palette[0] even when unused (without
    `used[0] = True` a box full of blocks dropped air and was refused)."""
    s = Structure(np.full((2, 1, 2), 2, np.int32), ("minecraft:air", DIRT, STONE))
    c = s.compacted()
    assert c.palette == ("minecraft:air", STONE)
    assert (c.blocks == 1).all() and c.count_non_air() == 4 and c.same_blocks(s)


def test_compare_reports_no_shift_when_every_shift_scores_alike():
    """metrics.compare(translate=True): among equally good shifts the
    smallest wins (`wrong <= best_wrong` took the last one tried, a shift
    of 3 cells, for a growth that died or a box of air)."""
    from voxgen.metrics import compare

    target = row(4)
    dead = Structure(np.zeros((4, 1, 1), np.int32), ("minecraft:air",))
    m = compare(dead, target, translate=True)
    assert m["offset"] == [0, 0, 0] and m["wrong_cells"] == 4
    assert compare(dead, dead, translate=True)["offset"] == [0, 0, 0]
    grown = target.translate((0, 0, 0))
    assert compare(grown, target, translate=True, window=2)["offset"] == [0, 0, 0]


def test_compare_counts_air_like_states_as_air():
    """metrics.state_codes: cave_air and void_air are air to the scores (coded
    as states of their own, a cave_air cell grown where the blueprint has
    air was a wrong cell and a block to iou)."""
    from voxgen.metrics import compare

    target = row(4)
    blocks = target.blocks.copy()
    blocks[3] = 0
    target = Structure(blocks, target.palette)
    grown_blocks = blocks.copy()
    grown_blocks[3] = 3
    grown = Structure(grown_blocks, target.palette + ("minecraft:cave_air",))
    m = compare(grown, target)
    assert m["exact"] and m["wrong_cells"] == 0 and m["iou"] == 1.0 and m["accuracy"] == 1.0


def test_sphere_damage_removes_the_cells_on_its_surface():
    """regen.sphere_mask: the ball is closed, a cell at exactly `radius`
    from the centre is damaged (`d2 >= radius ** 2` kept it: a radius of
    one cell then removed the centre alone)."""
    from voxgen.regen import sphere_mask

    (keep,) = sphere_mask((5, 1, 1), (2, 0, 0), 1.0)
    assert keep[:, 0, 0].tolist() == [True, False, False, False, True]
    (keep,) = sphere_mask((3, 3, 3), (1, 1, 1), 2 ** 0.5)
    assert int((~keep).sum()) == 1 + 6 + 12                # the centre, its faces' and edges' neighbours
