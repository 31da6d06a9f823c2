"""Vanilla structure .nbt: real samples (modern and 1.12), void vs air, round trips, bad input."""

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import AIR_IDS, block_id
from voxgen.errors import VoxgenError
from voxgen.formats import file_palette, flattening, nbt_io
from voxgen.structure import Structure

# file -> (size, non-air, void, states incl. listed air, types excl. air, block entities), PROVENANCE.md
SAMPLES = {
    "warped_tree_05.nbt": ((15, 20, 15), 599, 3747, None, None, 0),
    "red_mushroom_04.nbt": ((14, 20, 13), 930, 2710, 103, 4, 0),
    "jungle_temple_2.nbt": ((15, 18, 11), 1306, 592, 72, 27, 4),
    "cabin.nbt": ((7, 7, 8), 197, 157, 37, 16, 3),
    "creative_motor_mojang.nbt": ((15, 5, 15), 308, 817, 41, 19, 46),
}
# The anchor's targets (anchor-nca/PROVENANCE.md): non-air counts. Its
# "classes" column counts the anchor's own merged block types, not states.
ANCHOR = {
    "caterpillar_short.nbt": 137,
    "village/plain_village_house.nbt": 84,
    "village/plain_village_blacksmith.nbt": 281,
    "temples/jungle_temple.nbt": 1372,
    "mini_castle.nbt": 1273,
    "village/Extra_dark_oak.nbt": 1623,
    "pixl_apartmentblock.nbt": 3187,
    "village/Extra_cathedral.nbt": 3610,
}


def used_states(structure):
    return [s for s, n in structure.counts().items() if n]


def void_count(structure):
    return 0 if structure.void is None else int(structure.void.sum())


def anchor_files(samples):
    return sorted((samples / "anchor-nca").rglob("*.nbt"))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_loads_with_provenance_figures(samples, name):
    size, non_air, void, states, types, block_entities = SAMPLES[name]
    s = formats.load(samples / "schematics" / "nbt" / name)
    assert s.metadata["format"] == "structure"
    assert s.shape == size
    assert s.count_non_air() == non_air
    assert void_count(s) == void
    if states is not None:
        assert len(used_states(s)) == states
        assert len({block_id(p) for p in used_states(s)} - AIR_IDS) == types
    assert len(s.block_entities) == block_entities


def test_explicit_air_is_not_void(samples):
    s = formats.load(samples / "schematics" / "nbt" / "warped_tree_05.nbt")
    assert s.counts()["minecraft:air"] == 154                    # listed air; 3747 unlisted cells are void
    assert int(s.void.sum()) == 3747 and s.state_at(0, 0, 0) is None     # an unlisted cell: void, not air


def test_every_anchor_target_loads(samples):
    files = anchor_files(samples)
    assert len(files) > 50
    legacy_only = set(flattening.table().by_name) - {block_id(s) for s in flattening.table().by_key.values()}
    for path in files:
        s = formats.load(path)
        assert s.metadata["format"] == "structure" and min(s.shape) > 0
        assert s.data_version >= flattening.FLATTENING_DATA_VERSION
        leftover = {block_id(p) for p in s.palette} & legacy_only
        assert not leftover, f"{path.name} keeps 1.12 names {leftover}"


@pytest.mark.parametrize("name", sorted(ANCHOR))
def test_anchor_targets_non_air(samples, name):
    assert formats.load(samples / "anchor-nca" / name).count_non_air() == ANCHOR[name]


def test_caterpillar_imports_with_its_real_states(samples):
    s = formats.load(samples / "anchor-nca" / "caterpillar_short.nbt")
    assert s.metadata["source_data_version"] == 1343
    assert s.data_version == flattening.MODERN_DATA_VERSION
    assert {k: v for k, v in s.counts().items() if v} == {
        "minecraft:air": 1591,
        "minecraft:slime_block": 55,
        "minecraft:green_terracotta": 55,
        "minecraft:black_wool": 2,
        "minecraft:redstone_block": 12,
        "minecraft:piston[extended=false,facing=north]": 12,
        "minecraft:sticky_piston[extended=false,facing=south]": 1,
    }


def test_mini_castle_keeps_orientations(samples):
    s = formats.load(samples / "anchor-nca" / "mini_castle.nbt")
    palette = set(s.palette)
    assert "minecraft:cobblestone_stairs[facing=south,half=bottom,shape=outer_right,waterlogged=false]" in palette
    assert "minecraft:spruce_door[facing=south,half=upper,hinge=right,open=false,powered=false]" in palette
    assert "minecraft:wall_torch[facing=west]" in palette


def round_trip(structure, tmp_path):
    path = formats.save(structure, tmp_path / "out.nbt")
    return path, formats.load(path)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_is_loss_free(samples, tmp_path, name):
    s = formats.load(samples / "schematics" / "nbt" / name)
    _, back = round_trip(s, tmp_path)
    assert back.same_blocks(s)
    assert void_count(back) == void_count(s)
    assert back.block_entities == s.block_entities
    assert back.entities == s.entities
    assert back.data_version == s.data_version


def test_round_trip_of_flattened_anchor_target(samples, tmp_path):
    s = formats.load(samples / "anchor-nca" / "mini_castle.nbt")
    _, back = round_trip(s, tmp_path)
    assert back.same_blocks(s) and back.block_entities == s.block_entities
    assert back.data_version == flattening.MODERN_DATA_VERSION      # names are not flattened twice


def test_written_file_reads_in_nbtlib(samples, tmp_path):
    s = formats.load(samples / "schematics" / "nbt" / "jungle_temple_2.nbt")
    path, _ = round_trip(s, tmp_path)
    root = nbtlib.load(path)
    assert isinstance(root["DataVersion"], nbtlib.Int) and int(root["DataVersion"]) == 2565
    assert [int(v) for v in root["size"]] == [15, 18, 11]
    palette = root["palette"]
    assert all(isinstance(e["Name"], nbtlib.String) for e in palette)
    blocks = root["blocks"]
    assert len(blocks) == 15 * 18 * 11 - 592                      # void cells are not listed
    with_nbt = [b for b in blocks if "nbt" in b]
    assert len(with_nbt) == 4
    for entry in blocks[:50]:
        x, y, z = (int(v) for v in entry["pos"])
        name = str(palette[int(entry["state"])]["Name"])
        assert s.state_at(x, y, z).startswith(name)


@pytest.mark.parametrize("name", ["creative_motor_mojang.nbt", "jungle_temple_2.nbt"])
def test_numpy_block_list_matches_a_plain_nbtlib_one(samples, tmp_path, name):
    """The slow twin of `_blocks_tag`: the blocks list built compound by
    compound with nbtlib, in the game's order (y, z, x), void left out."""
    s = formats.load(samples / "schematics" / "nbt" / name)
    path, _ = round_trip(s, tmp_path)
    root = nbtlib.load(path)
    names = [str(e["Name"]) + ("[" + ",".join(f"{k}={v}" for k, v in sorted(e["Properties"].items())) + "]"
                               if "Properties" in e else "") for e in root["palette"]]
    expected = []
    sx, sy, sz = s.shape
    for y in range(sy):
        for z in range(sz):
            for x in range(sx):
                if s.void is not None and s.void[x, y, z]:
                    continue
                entry = nbtlib.Compound({"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(x), nbtlib.Int(y), nbtlib.Int(z)]),
                                         "state": nbtlib.Int(names.index(s.state_at(x, y, z)))})
                if (x, y, z) in s.block_entities:
                    entry["nbt"] = s.block_entities[(x, y, z)]
                expected.append(entry)
    assert list(root["blocks"]) == expected
    assert sum("nbt" in e for e in expected) == len(s.block_entities) > 0


def write_structure(path, palette, blocks, size=(2, 2, 2), data_version=3700, **extra):
    """palette: [(name, {props})]; blocks: [((x, y, z), state index)]."""
    root = nbtlib.Compound({
        "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(v) for v in size]),
        "palette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound(
            {"Name": nbtlib.String(n), **({"Properties": nbtlib.Compound(
                {k: nbtlib.String(v) for k, v in p.items()})} if p else {})}) for n, p in palette]),
        "blocks": nbtlib.List[nbtlib.Compound]([nbtlib.Compound(
            {"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(v) for v in pos]), "state": nbtlib.Int(i)})
            for pos, i in blocks]),
        "entities": nbtlib.List[nbtlib.Compound](),
    })
    if data_version is not None:
        root["DataVersion"] = nbtlib.Int(data_version)
    root.update(extra)
    nbt_io.write_nbt(path, root)
    return path


@pytest.mark.parametrize("data_version, expected", [
    (3700, "minecraft:grass"),                      # modern: the short grass plant
    (1343, "minecraft:grass_block[snowy=false]"),   # 1.12: the grass block
    (None, "minecraft:grass_block[snowy=false]"),   # no DataVersion: written before 1.13
])
def test_names_follow_the_data_version(tmp_path, data_version, expected):
    path = write_structure(tmp_path / "g.nbt", [("minecraft:grass", {"snowy": "false"} if data_version != 3700
                                                 else {})], [((0, 0, 0), 0)], data_version=data_version)
    assert formats.load(path).state_at(0, 0, 0) == expected


def test_structure_void_entry_and_unlisted_cells_are_void(tmp_path):
    path = write_structure(tmp_path / "v.nbt", [("minecraft:stone", {}), ("minecraft:structure_void", {}),
                                                ("minecraft:air", {})],
                           [((0, 0, 0), 0), ((1, 0, 0), 1), ((0, 1, 0), 2)])
    s = formats.load(path)
    assert s.state_at(0, 0, 0) == "minecraft:stone"
    assert s.state_at(1, 0, 0) is None and s.state_at(1, 1, 1) is None
    assert s.state_at(0, 1, 0) == "minecraft:air"
    assert void_count(s) == 6


def test_several_palettes_survive_a_round_trip(tmp_path):
    def entry(name):
        return nbtlib.Compound({"Name": nbtlib.String(name)})
    palettes = nbtlib.List[nbtlib.List]([
        nbtlib.List[nbtlib.Compound]([entry("minecraft:oak_planks"), entry("minecraft:air")]),
        nbtlib.List[nbtlib.Compound]([entry("minecraft:spruce_planks"), entry("minecraft:air")])])
    path = write_structure(tmp_path / "p.nbt", [], [((0, 0, 0), 0), ((1, 0, 0), 1)])
    root = nbtlib.load(path)
    del root["palette"]
    root["palettes"] = palettes
    root.save()
    s = formats.load(path)
    assert s.state_at(0, 0, 0) == "minecraft:oak_planks"
    out = formats.save(s, tmp_path / "p2.nbt")
    back = nbtlib.load(out)
    assert "palette" not in back
    assert [[str(e["Name"]) for e in p] for p in back["palettes"]] == \
        [["minecraft:oak_planks", "minecraft:air"], ["minecraft:spruce_planks", "minecraft:air"]]
    assert formats.load(out).same_blocks(s)


def test_structure_from_other_format_writes_and_reads(tmp_path):
    states = np.full((2, 3, 2), "minecraft:air", dtype=object)
    states[0, 0, 0] = "minecraft:observer[facing=up,powered=false]"
    states[1, 2, 1] = None
    s = Structure.from_states(states)
    _, back = round_trip(s, tmp_path)
    assert back.same_blocks(s) and back.data_version == file_palette.DEFAULT_DATA_VERSION


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(size=nbtlib.List[nbtlib.Int]([nbtlib.Int(2), nbtlib.Int(-2), nbtlib.Int(2)])),
     "not positive"),
    (lambda r: r.update(size=nbtlib.List[nbtlib.Int]([nbtlib.Int(100000)] * 3)), "too large"),
    (lambda r: r.update(size=nbtlib.List[nbtlib.Int]([nbtlib.Int(2)] * 2)), "list of 3 integers"),
    (lambda r: r["blocks"][0].update(pos=nbtlib.List[nbtlib.Int]([nbtlib.Int(5), nbtlib.Int(0), nbtlib.Int(0)])),
     "outside"),
    (lambda r: r["blocks"][0].update(state=nbtlib.Int(7)), "out of range"),
    (lambda r: r["blocks"][0].update(state=nbtlib.String("x")), "state: Int"),
    (lambda r: r["palette"][0].update(Properties=nbtlib.Compound({"a": nbtlib.Int(1)})), "not a string"),
    (lambda r: r["palette"][0].update(Name=nbtlib.String("not a name!")), "malformed"),
    (lambda r: r.pop("blocks"), "not a blueprint|missing tag 'blocks'"),
])
def test_bad_files_get_one_line_errors(tmp_path, edit, message):
    path = write_structure(tmp_path / "bad.nbt", [("minecraft:stone", {})], [((0, 0, 0), 0)])
    root = nbtlib.load(path)
    edit(root)
    root.save()
    with pytest.raises(VoxgenError, match=message) as err:
        formats.load(path)
    assert "\n" not in str(err.value) and "bad.nbt" in str(err.value)
