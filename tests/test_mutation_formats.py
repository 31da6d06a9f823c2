"""Tests that a hand mutation audit found missing: each fails on a small
plausible bug in the file readers (named in its docstring) that the rest of
the suite let through."""

import numpy as np
import pytest

from voxgen.formats.varint import VarintError, decode_varints


def varints(data: bytes, count: int = 1) -> list:
    return decode_varints(np.frombuffer(data, np.uint8), count).tolist()


def test_a_varint_padded_to_six_bytes_is_refused_even_when_its_value_is_small():
    """_varint_kernel.decode_into: `shift >= 7 * max_bytes` read as `>` let a
    sixth byte through; the old six-byte case (all bits set) was refused by
    the value check anyway."""
    assert varints(b"\x80\x80\x80\x80\x00") == [0]          # five bytes: the longest allowed
    with pytest.raises(VarintError, match="longer than 5 bytes"):
        varints(b"\x80\x80\x80\x80\x80\x00")                # six bytes, value 0


def test_a_five_byte_varint_past_int32_is_refused_not_wrapped():
    """_varint_kernel.decode_into: without `value > 0x7FFFFFFF` a palette
    index of 2**32 - 1 was stored into int32 as -1."""
    assert varints(b"\xff\xff\xff\xff\x07") == [2**31 - 1]
    with pytest.raises(VarintError, match="overflow"):
        varints(b"\xff\xff\xff\xff\x0f")                    # 2**32 - 1
    with pytest.raises(VarintError, match="overflow"):
        varints(b"\x80\x80\x80\x80\x08")                    # 2**31


def test_a_sponge_schematic_wider_than_a_signed_short_round_trips(tmp_path):
    """sponge.load: Width/Height/Length are unsigned shorts; without the
    `& 0xFFFF` a width of 33,000 (stored as the short -32,536) was refused."""
    from voxgen import formats
    from voxgen.structure import Structure

    blocks = np.zeros((33_000, 1, 2), np.int32)
    blocks[::7, 0, 1] = 1
    blocks[-1, 0, 0] = 1
    wide = Structure(blocks, ("minecraft:air", "minecraft:stone"))
    formats.save(wide, tmp_path / "wide.schem")
    back = formats.load(tmp_path / "wide.schem")
    assert back.shape == (33_000, 1, 2) and back.same_blocks(wide)


def test_a_legacy_data_byte_keeps_only_its_low_nibble(tmp_path):
    """legacy._cell_arrays: Data holds 4 bits a cell; a writer may leave the
    high nibble set. Unmasked, data 0x25 under stone (id 1) became id 3
    data 5 (`(id << 4) | data` overlapped)."""
    from test_formats_legacy import write_schematic
    from voxgen.formats import legacy

    ids = np.array([1, 1, 35], np.int64).reshape(3, 1, 1)
    data = np.array([0x25, 0x05, 0xFE], np.int64).reshape(3, 1, 1)
    s = legacy.load(write_schematic(tmp_path / "nibble.schematic", ids, data))
    assert s.state_at(0, 0, 0) == s.state_at(1, 0, 0) == "minecraft:andesite"   # stone, data 5
    assert s.state_at(2, 0, 0) == "minecraft:red_wool"              # wool, data 14


def test_a_litematic_palette_index_equal_to_the_palette_size_is_refused(tmp_path):
    """litematic._decode_region: index 3 of a 3-entry palette is out of
    range (`>= len(states)`, not `>`). (build_structure refuses it too, but
    without naming the region: only the region's own check says which.)"""
    import nbtlib

    from voxgen import formats
    from voxgen.errors import VoxgenError
    from voxgen.formats import bitpack, nbt_io
    from voxgen.structure import Structure

    blocks = np.array([0, 1, 2, 1], np.int32).reshape(4, 1, 1)
    s = Structure(blocks, ("minecraft:air", "minecraft:stone", "minecraft:dirt"))
    path = tmp_path / "s.litematic"
    formats.save(s, path)
    assert formats.load(path).same_blocks(s)
    root = nbt_io.parse_root(nbt_io.read_bytes(path)[0], path)
    ((name, region),) = root["Regions"].items()
    assert len(region["BlockStatePalette"]) == 3 and bitpack.bits_for(3) == 2
    region["BlockStates"] = nbtlib.LongArray(bitpack.pack(np.array([0, 1, 3, 1]), 2))
    nbt_io.write_nbt(path, root, root_name="")
    with pytest.raises(VoxgenError, match=f"region '{name}': palette index 3 out of range"):
        formats.load(path)


def test_a_lower_door_half_in_the_top_layer_corner_loads_without_a_partner(tmp_path):
    """legacy._complete_halves: the partner of a lower half in the top
    layer lies past the cells; at the top layer's first cell it is exactly
    len(ids) (`partner <= len(ids)` then indexed past the end)."""
    from test_formats_legacy import write_schematic
    from voxgen.formats import legacy

    for shape in ((1, 1, 1), (2, 2, 3)):
        ids, data = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        ids[0, -1, 0], data[0, -1, 0] = 64, 1                  # oak door, lower half, facing south
        s = legacy.load(write_schematic(tmp_path / "top.schematic", ids, data))
        state = s.state_at(0, shape[1] - 1, 0)
        assert state.startswith("minecraft:oak_door[") and "half=lower" in state, state
        assert s.count_non_air() == 1
