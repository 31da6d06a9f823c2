"""Sponge .schem: real samples, v1/v2/v3, varints (fast vs slow twin), round trips."""

import json

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import AIR_IDS, block_id, canonical
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io
from voxgen.formats.file_palette import written_data_version
from voxgen.formats.varint import VarintError, decode_varints, encode_varints
from voxgen.structure import Structure

# file -> (size, non-air, states incl. air, types excl. air, block entities), from PROVENANCE.md
SAMPLES = {
    "smallhouse1.schem": ((21, 28, 20), 3201, 173, 56, 72),
    "2x2_chunk_vert.schem": ((32, 384, 32), 101763, 82, 47, 12),
    "1_20_1_read_fail.schem": ((15, 16, 20), 889, 112, 31, 6),
    "uss-texas.schem": ((175, 53, 31), 54273, 365, 94, 0),
    "Evaluator.schem": ((25, 27, 37), 5957, 234, 36, 497),
    "ripple_carry_adder_4bit.schem": ((25, 8, 93), 3362, 47, 6, 0),
    "trefoil.schem": ((65, 61, 27), 8056, 24, 23, 0),
}


def used_states(structure):
    return [s for s, n in structure.counts().items() if n]


def types_of(states):
    return {block_id(s) for s in states} - AIR_IDS


def decode_slow(data: bytes, count: int) -> list:
    """The obviously correct twin of decode_varints."""
    values, pos = [], 0
    for _ in range(count):
        value = shift = 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        values.append(value)
    assert pos == len(data)
    return values


def test_varints_agree_with_slow_twin():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.integers(0, 128, 500), rng.integers(0, 1 << 14, 300),
                             rng.integers(0, 1 << 21, 200), rng.integers(0, 1 << 31, 50),
                             [0, 127, 128, 16383, 16384, 2**31 - 1]])
    rng.shuffle(values)
    packed = encode_varints(values)
    assert decode_slow(packed.tobytes(), len(values)) == values.tolist()
    assert decode_varints(packed, len(values)).tolist() == values.tolist()


@pytest.mark.parametrize("data,count", [
    (b"\x80\x80", 1),                       # ends inside a value
    (b"\x01\x02\x03", 2),                   # a byte left over
    (b"\xff\xff\xff\xff\xff\x01", 1),       # six bytes: overflow
    (b"\x01", 2),                           # too few values
])
def test_bad_varints_are_refused(data, count):
    with pytest.raises(VarintError):
        decode_varints(np.frombuffer(data, np.uint8), count)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_loads_with_documented_counts(samples, name):
    size, non_air, states, types, n_be = SAMPLES[name]
    s = formats.load(samples / "schematics" / "schem" / name)
    used = used_states(s)
    assert s.shape == size
    assert s.count_non_air() == non_air
    assert len(used) == states
    assert len(types_of(used)) == types
    assert len(s.block_entities) == n_be
    assert s.void is None


def test_golden_palette_of_v3_file(samples):
    folder = samples / "schematics" / "schem"
    golden = json.loads((folder / "2x2_chunk_vert_palett.json").read_text())
    want = {canonical("[".join([e["key"], ",".join(f"{k}={v}" for k, v in e["properties"].items()) + "]"])
                      if e["properties"] else e["key"]) for e in golden}
    s = formats.load(folder / "2x2_chunk_vert.schem")
    assert set(used_states(s)) == want


def test_multibyte_varints_and_block_entity_positions(samples):
    s = formats.load(samples / "schematics" / "schem" / "Evaluator.schem")
    assert len(s.palette) > 128        # indices >= 128 need two bytes
    for pos, tag in s.block_entities.items():
        assert "id" in tag and "Pos" not in tag
        # a block entity sits on a block that can hold one (not air)
        assert block_id(s.state_at(*pos)) not in AIR_IDS
    assert s.metadata["format_version"] == 2
    assert s.data_version == 3700
    assert len(s.entities) == 8 and all("id" in e and "Pos" in e for e in s.entities)


def test_skipping_block_entities_keeps_blocks(samples):
    path = samples / "schematics" / "schem" / "smallhouse1.schem"
    full, lean = formats.load(path), formats.load(path, block_entities=False)
    assert lean.same_blocks(full) and lean.palette == full.palette
    assert lean.block_entities == {} and len(full.block_entities) == 72


def sample_structure():
    rng = np.random.default_rng(7)
    states = [f"minecraft:{c}_wool" for c in ("red", "blue", "lime")] + \
             [f"minecraft:repeater[delay={d},facing=north,locked=false,powered=false]" for d in (1, 2, 3, 4)] + \
             ["minecraft:stone_slab[type=bottom,waterlogged=false]"] + \
             [f"minecraft:note_block[instrument={i},note={n},powered=false]"
              for i in ("harp", "bass", "snare", "hat", "bell", "flute") for n in range(25)]
    grid = rng.choice(np.array([None, "minecraft:air"] + states, dtype=object), size=(9, 7, 11))
    grid[2, 3, 4] = "minecraft:chest[facing=north,type=single,waterlogged=false]"
    s = Structure.from_states(grid, data_version=3700, origin=(5, -3, 2),
                              metadata={"sponge_metadata": '{Name: "t", WEOffsetX: -1, WEOffsetY: 0, WEOffsetZ: 2}'})
    s.block_entities = {(2, 3, 4): nbtlib.parse_nbt('{id: "minecraft:chest", Items: [{Slot: 0b, id: "minecraft:stone", Count: 3b}]}')}
    return s


@pytest.mark.parametrize("version", [2, 3])
def test_round_trip_is_loss_free(tmp_path, version):
    s = sample_structure()
    assert len(s.palette) > 128                    # multi-byte varints on the way out too
    path = formats.save(s, tmp_path / "t.schem", version=version)
    back = formats.load(path)
    assert back.same_blocks(s)
    assert set(back.palette) == {p for p in s.palette if s.counts()[p] or p == "minecraft:air"}
    assert back.block_entities == s.block_entities
    assert back.origin == s.origin and back.data_version == 3700
    assert back.metadata["format_version"] == version
    assert nbtlib.parse_nbt(back.metadata["sponge_metadata"]) == nbtlib.parse_nbt(s.metadata["sponge_metadata"])
    root = nbt_io.read_nbt(path)
    assert ("Schematic" in root) == (version == 3)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_round_trip_through_both_versions(samples, tmp_path, name):
    s = formats.load(samples / "schematics" / "schem" / name)
    for version in (2, 3):
        back = formats.load(formats.save(s, tmp_path / f"v{version}.schem", version=version))
        assert back.same_blocks(s) and set(back.palette) == set(used_states(s)) | {"minecraft:air"}
        assert back.block_entities == s.block_entities and back.entities == s.entities
        assert back.origin == s.origin and back.data_version == written_data_version(s) >= 1451


def test_reads_version_1(tmp_path):
    """v1 (WorldEdit 6 era): no DataVersion, TileEntities instead of BlockEntities."""
    palette = {"minecraft:air": 0, "minecraft:stone": 1, "minecraft:chest[facing=west]": 2}
    cells = np.zeros((2, 3, 4), dtype=np.int64)    # (Y, Z, X) storage order
    cells[0, 0, 0], cells[1, 2, 3], cells[0, 1, 2] = 1, 1, 2
    root = nbtlib.Compound({
        "Version": nbtlib.Int(1), "Width": nbtlib.Short(4), "Height": nbtlib.Short(2),
        "Length": nbtlib.Short(3), "PaletteMax": nbtlib.Int(3),
        "Palette": nbtlib.Compound({k: nbtlib.Int(v) for k, v in palette.items()}),
        "BlockData": nbtlib.ByteArray(encode_varints(cells.ravel()).view(np.int8)),
        "TileEntities": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({
            "Pos": nbtlib.IntArray([2, 0, 1]), "Id": nbtlib.String("minecraft:chest")})]),
    })
    path = tmp_path / "old.schem"
    nbt_io.write_nbt(path, root, root_name="Schematic")
    s = formats.load(path)
    assert s.shape == (4, 2, 3) and s.data_version is None
    assert s.state_at(0, 0, 0) == s.state_at(3, 1, 2) == "minecraft:stone"
    assert s.state_at(2, 0, 1) == "minecraft:chest[facing=west]"
    assert s.count_non_air() == 3
    assert s.block_entities == {(2, 0, 1): nbtlib.Compound({"id": nbtlib.String("minecraft:chest")})}


def test_void_survives_as_structure_void(tmp_path):
    grid = np.array([[["minecraft:stone", None], ["minecraft:air", "minecraft:dirt"]]], dtype=object)
    s = Structure.from_states(grid)
    back = formats.load(formats.save(s, tmp_path / "v.schem"))
    assert back.same_blocks(s) and back.void is not None and back.void.sum() == 1


def test_schem_version_option_is_checked(tmp_path):
    with pytest.raises(VoxgenError, match="version 2 or 3"):
        formats.save(sample_structure(), tmp_path / "x.schem", version=1)
    assert not (tmp_path / "x.schem").exists()


def test_uncompressed_schem_is_read(tmp_path, samples):
    data, _ = nbt_io.read_bytes(samples / "schematics" / "schem" / "trefoil.schem")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(data)
    assert formats.load(raw).count_non_air() == 8056


def test_large_sample_counts_without_block_entities(samples):
    """The 256^3 performance fixture: 930934 non-air cells, 617 states (PROVENANCE.md)."""
    s = formats.load(samples / "schematics" / "schem" / "large_schematic.schem", block_entities=False)
    assert s.shape == (256, 256, 256)
    assert s.count_non_air() == 930934
    assert sum(1 for n in s.counts().values() if n) == 617
