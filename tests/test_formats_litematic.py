"""Litematica: real samples (regions, negative sizes, gaps), bit packing
(fast vs slow twin), round trips."""

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import AIR_IDS, block_id
from voxgen.formats import nbt_io
from voxgen.formats.bitpack import bits_for, longs_needed, pack, unpack
from voxgen.structure import Structure

# file -> (size, non-air, states incl. air or None, types excl. air or None, void cells), PROVENANCE.md
SAMPLES = {
    "SimpleHouse.litematic": ((5, 6, 5), 78, 21, 16, 0),
    "tree.litematic": ((16, 14, 12), 889, 13, 9, 0),
    "Lite.litematic": ((29, 14, 1), 122, None, None, 123),
    "4x4_sliding_door.litematic": ((16, 9, 4), 287, 60, 21, 0),
    "trencher.litematic": ((15, 378, 21), 4191, None, None, 87713),
    "quarry.litematic": ((102, 114, 81), 26231, 76, 22, 0),
    "wool_palette.litematic": ((1, 1, 16), 16, 16, 16, 0),
}


def unpack_slow(longs, count, bits):
    """The obviously correct twin: one big integer, bit by bit."""
    big = 0
    for i, word in enumerate(int(w) & (2**64 - 1) for w in longs):
        big |= word << (64 * i)
    return [(big >> (i * bits)) & ((1 << bits) - 1) for i in range(count)]


@pytest.mark.parametrize("bits", [2, 3, 5, 7, 13, 31, 33])
def test_bit_packing_agrees_with_slow_twin(bits):
    rng = np.random.default_rng(bits)
    values = rng.integers(0, 1 << bits, 257)
    longs = pack(values, bits)
    assert len(longs) == longs_needed(257, bits)
    assert unpack_slow(longs, 257, bits) == values.tolist()
    assert unpack(longs, 257, bits).tolist() == values.tolist()
    # through nbtlib's big-endian long array as well
    assert unpack(nbtlib.LongArray(longs), 257, bits).tolist() == values.tolist()


def test_bits_for_palette_sizes():
    assert [bits_for(n) for n in (1, 2, 4, 5, 16, 17, 256, 257)] == [2, 2, 2, 3, 4, 5, 8, 9]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_loads_with_documented_counts(samples, name):
    size, non_air, states, types, void = SAMPLES[name]
    s = formats.load(samples / "schematics" / "litematic" / name)
    used = [st for st, n in s.counts().items() if n]
    assert s.shape == size
    assert s.count_non_air() == non_air
    assert (0 if s.void is None else int(s.void.sum())) == void
    if states is not None:
        assert len(used) == states
        assert len({block_id(st) for st in used} - AIR_IDS) == types


def test_entry_spanning_two_longs(samples):
    """wool_palette: 16 wools at bits=5, entry 12 crosses the long boundary."""
    s = formats.load(samples / "schematics" / "litematic" / "wool_palette.litematic")
    row = [s.state_at(0, 0, z) for z in range(16)]
    assert len(set(row)) == 16 and all(r.endswith("_wool") for r in row)
    root = nbt_io.read_nbt(samples / "schematics" / "litematic" / "wool_palette.litematic")
    region = next(iter(root["Regions"].values()))
    names = [str(e["Name"]) for e in region["BlockStatePalette"]]
    stored = unpack_slow(region["BlockStates"], 16, bits_for(len(names)))
    # size z = -16: stored index 0 is the min corner, our z = 0
    assert row == [names[i] for i in stored]


def test_regions_with_negative_sizes_are_placed(samples):
    s = formats.load(samples / "schematics" / "litematic" / "Lite.litematic")
    assert s.origin == (-12, 0, 0)     # region "L" reaches x = -12
    solid = ~s.air_mask()
    # four letters side by side: each x column band holds blocks
    assert solid.any(axis=(1, 2)).sum() > 20


def round_trip_structure():
    rng = np.random.default_rng(5)
    states = np.array([None, "minecraft:air", "minecraft:slime_block", "minecraft:honey_block",
                       "minecraft:observer[facing=up,powered=false]",
                       "minecraft:sticky_piston[extended=false,facing=east]"], dtype=object)
    s = Structure.from_states(rng.choice(states, size=(6, 5, 9)), data_version=3337, name="machine")
    s.block_entities = {(1, 2, 3): nbtlib.parse_nbt('{id: "minecraft:sign", Text1: "hi"}')}
    return s


def test_round_trip_is_loss_free(tmp_path):
    s = round_trip_structure()
    back = formats.load(formats.save(s, tmp_path / "m.litematic"))
    assert back.same_blocks(s)
    assert set(back.palette) == set(s.palette)
    assert back.block_entities == s.block_entities
    assert back.data_version == 3337 and back.name == "machine"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_round_trip(samples, tmp_path, name):
    s = formats.load(samples / "schematics" / "litematic" / name)
    back = formats.load(formats.save(s, tmp_path / "r.litematic"))
    assert back.same_blocks(s)
    assert back.block_entities == s.block_entities


def test_overlapping_regions_later_wins(tmp_path):
    def region(x, block):
        return nbtlib.Compound({
            "Position": nbtlib.Compound({"x": nbtlib.Int(x), "y": nbtlib.Int(0), "z": nbtlib.Int(0)}),
            "Size": nbtlib.Compound({"x": nbtlib.Int(2), "y": nbtlib.Int(1), "z": nbtlib.Int(1)}),
            "BlockStatePalette": nbtlib.List[nbtlib.Compound]([
                nbtlib.Compound({"Name": nbtlib.String("minecraft:air")}),
                nbtlib.Compound({"Name": nbtlib.String(block)})]),
            "BlockStates": nbtlib.LongArray(pack(np.array([1, 1]), 2)),
        })
    root = nbtlib.Compound({"Version": nbtlib.Int(6), "MinecraftDataVersion": nbtlib.Int(3700),
                            "Regions": nbtlib.Compound({"a": region(0, "minecraft:stone"),
                                                        "b": region(1, "minecraft:dirt")})})
    nbt_io.write_nbt(tmp_path / "o.litematic", root)
    s = formats.load(tmp_path / "o.litematic")
    assert [s.state_at(x, 0, 0) for x in range(3)] == ["minecraft:stone", "minecraft:dirt", "minecraft:dirt"]
