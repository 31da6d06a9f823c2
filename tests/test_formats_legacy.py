"""Legacy MCEdit/WorldEdit .schematic: real samples, layout, AddBlocks, halves, bad input."""

import json

import nbtlib
import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import AIR_IDS, block_id, canonical
from voxgen.errors import VoxgenError
from voxgen.formats import flattening, legacy, nbt_io

# file -> (size, non-air, distinct id:data pairs, types, tile entities, entities), from PROVENANCE.md
SAMPLES = {
    "viking-house1.schematic": ((23, 35, 23), 2492, 34, 14, 0, 0),
    "house.schematic": ((40, 60, 40), 1079, 39, 22, 24, 2),
    "Station.schematic": ((113, 121, 227), 797744, 144, 84, 293, 0),
}
# Station.schematic has 2 cells of id 0 with data 1. The game reads any id-0
# cell as air; the PROVENANCE decoder (no table row for 0:1) counted them as
# non-air cells of one extra type. (cells, types) to subtract:
AIR_WITH_DATA = {"Station.schematic": (2, 1)}


def raw_cells(path):
    """(ids, data) as [x, y, z] arrays, decoded the slow, obvious way."""
    root = nbtlib.load(path)
    w, h, l = (int(root[k]) for k in ("Width", "Height", "Length"))
    blocks = np.asarray(root["Blocks"]).astype(np.int64) & 0xFF
    data = np.asarray(root["Data"]).astype(np.int64) & 0x0F
    ids = np.empty((w, h, l), np.int64)
    values = np.empty((w, h, l), np.int64)
    for y in range(h):
        for z in range(l):
            row = (y * l + z) * w
            ids[:, y, z] = blocks[row:row + w]
            values[:, y, z] = data[row:row + w]
    return ids, values


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_loads_with_provenance_figures(samples, name):
    path = samples / "schematics" / "schematic" / name
    size, non_air, pairs, types, tile_entities, entities = SAMPLES[name]
    s = formats.load(path)
    assert s.metadata["format"] == "legacy"
    assert s.shape == size
    assert s.count_non_air() == non_air - AIR_WITH_DATA.get(name, (0, 0))[0]
    ids, values = raw_cells(path)
    assert len(set(zip(ids.ravel().tolist(), values.ravel().tolist()))) == pairs
    used = [state for state, n in s.counts().items() if n]
    assert len({block_id(state) for state in used} - AIR_IDS) == types - AIR_WITH_DATA.get(name, (0, 0))[1]
    assert len(s.block_entities) == tile_entities and len(s.entities) == entities
    assert s.data_version == flattening.MODERN_DATA_VERSION


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_cells_agree_with_reference_mapping(samples, name):
    """Every cell against the independent ViaVersion table, applied here
    cell by cell, except door/double-plant halves (we complete them from the
    partner cell) and the table differences test_legacy_table accepts."""
    from test_legacy_table import ACCEPTED
    ref = json.loads((samples / "data" / "viaversion_mapping-1.12.json").read_text())["blocks"]
    s = legacy.load(samples / "schematics" / "schematic" / name)
    ids, values = raw_cells(samples / "schematics" / "schematic" / name)
    keys = ids * 16 + values
    ours = s.state_array()
    checked = 0
    for key in np.unique(keys).tolist():
        block, data = divmod(key, 16)
        if block in flattening.DOOR_IDS + (flattening.DOUBLE_PLANT_ID,) or (block, data) in ACCEPTED \
                or str(key) not in ref:               # e.g. 50:0, a data value the game never writes
            continue
        expected = canonical("minecraft:" + ref[str(key)])
        got = set(ours[keys == key].tolist())
        assert got == {expected} or (expected == "minecraft:structure_void" and got == {None}), (block, data)
        checked += 1
    assert checked > 20


def test_blocks_entities_and_offset(samples):
    viking = formats.load(samples / "schematics" / "schematic" / "viking-house1.schematic")
    # WEOrigin: the box's corner in the world (a Sponge Offset); WEOffset: the paste offset
    assert viking.origin == (138, 3, 1030) and viking.metadata["we_offset"] == [-11, -1, -3]
    house = formats.load(samples / "schematics" / "schematic" / "house.schematic")
    for pos, entity in house.block_entities.items():
        assert all(0 <= p < n for p, n in zip(pos, house.shape))
        assert not {"x", "y", "z"} & set(entity)
        if str(entity["id"]) == "Sign":
            assert "sign" in house.state_at(*pos)
    # Doors: both halves know facing and hinge once completed.
    doors = [p for p in house.palette if "_door[" in p]
    assert doors and all("hinge=" in p and "facing=" in p for p in doors)


def test_classic_schematic_is_refused(samples):
    with pytest.raises(VoxgenError, match="Classic"):
        formats.load(samples / "schematics" / "schematic" / "hell.schematic")


# --- synthetic files --------------------------------------------------------------

def write_schematic(path, ids, data, **extra):
    """ids/data: [x, y, z] int arrays; written y-major like MCEdit."""
    w, h, l = ids.shape
    flat_ids = ids.transpose(1, 2, 0).ravel()
    flat_data = data.transpose(1, 2, 0).ravel()
    root = nbtlib.Compound({
        "Width": nbtlib.Short(w), "Height": nbtlib.Short(h), "Length": nbtlib.Short(l),
        "Materials": nbtlib.String("Alpha"),
        "Blocks": nbtlib.ByteArray((flat_ids & 0xFF).astype(np.uint8).view(np.int8)),
        "Data": nbtlib.ByteArray(flat_data.astype(np.int8)),
        "Entities": nbtlib.List[nbtlib.Compound](), "TileEntities": nbtlib.List[nbtlib.Compound](),
    })
    root.update(extra)
    nbt_io.write_nbt(path, root, root_name="Schematic")
    return path


def test_layout_is_x_fastest_then_z_then_y(tmp_path):
    ids = np.zeros((3, 2, 4), np.int64)
    ids[2, 1, 3] = 1                                            # stone
    ids[0, 1, 0] = 35                                           # wool, data 14 = red
    data = np.zeros_like(ids)
    data[0, 1, 0] = 14
    s = formats.load(write_schematic(tmp_path / "a.schematic", ids, data))
    assert s.shape == (3, 2, 4)
    assert s.state_at(2, 1, 3) == "minecraft:stone"
    assert s.state_at(0, 1, 0) == "minecraft:red_wool"
    assert s.count_non_air() == 2


def test_add_blocks_first_cell_in_high_nibble(tmp_path):
    ids = np.array([257, 2, 513], np.int64).reshape(3, 1, 1)
    add = nbtlib.ByteArray(np.array([0x10, 0x20], np.int8))
    s = legacy.load(write_schematic(tmp_path / "add.schematic", ids, np.zeros_like(ids), AddBlocks=add))
    assert [s.state_at(x, 0, 0) for x in range(3)] == [
        "voxgen:legacy_257[data=0]", "minecraft:grass_block[snowy=false]", "voxgen:legacy_513[data=0]"]


def test_door_and_double_plant_halves_are_completed(tmp_path):
    ids = np.array([[64, 64], [175, 175], [64, 0]], np.int64).reshape(3, 2, 1)
    data = np.array([[1, 9], [4, 8], [8, 0]], np.int64).reshape(3, 2, 1)
    s = legacy.load(write_schematic(tmp_path / "d.schematic", ids, data))
    assert s.state_at(0, 0, 0) == "minecraft:oak_door[facing=south,half=lower,hinge=right,open=false,powered=false]"
    assert s.state_at(0, 1, 0) == "minecraft:oak_door[facing=south,half=upper,hinge=right,open=false,powered=false]"
    assert s.state_at(1, 0, 0) == "minecraft:rose_bush[half=lower]"
    assert s.state_at(1, 1, 0) == "minecraft:rose_bush[half=upper]"
    assert s.state_at(2, 0, 0) == "minecraft:oak_door[facing=east,half=upper,hinge=left,open=false,powered=false]"


@pytest.mark.parametrize("change, message", [
    ({"Materials": nbtlib.String("Classic")}, "Materials=Classic"),
    ({"Blocks": nbtlib.ByteArray(np.zeros(5, np.int8))}, "Blocks holds 5 bytes"),
    ({"Data": nbtlib.Int(3)}, "tag 'Data'"),
    ({"Width": nbtlib.Short(0)}, "not positive"),
    ({"Width": nbtlib.Short(-1), "Height": nbtlib.Short(-1), "Length": nbtlib.Short(-1)}, "too large"),
    ({"AddBlocks": nbtlib.ByteArray(np.zeros(1, np.int8))}, "AddBlocks holds 1 bytes"),
    ({"TileEntities": nbtlib.List[nbtlib.Compound]([nbtlib.Compound(
        {"x": nbtlib.Int(9), "y": nbtlib.Int(0), "z": nbtlib.Int(0), "id": nbtlib.String("Chest")})])},
     "outside"),
    ({"TileEntities": nbtlib.List[nbtlib.Int]([nbtlib.Int(1)])}, "other than compounds"),
])
def test_bad_files_get_one_line_errors(tmp_path, change, message):
    ids = np.ones((2, 2, 2), np.int64)
    path = write_schematic(tmp_path / "bad.schematic", ids, np.zeros_like(ids), **change)
    with pytest.raises(VoxgenError, match=message) as err:
        formats.load(path)
    assert "\n" not in str(err.value) and "bad.schematic" in str(err.value)


def test_missing_materials_is_not_a_legacy_file(tmp_path):
    ids = np.ones((2, 2, 2), np.int64)
    path = write_schematic(tmp_path / "m.schematic", ids, np.zeros_like(ids))
    root = nbtlib.load(path)
    del root["Materials"]
    root.save()
    with pytest.raises(VoxgenError):
        legacy.load(path)


def test_a_legacy_schematic_pastes_as_before_once_converted(samples, tmp_path):
    """Written as .schem: the box's corner in the world as its Offset, and
    WorldEdit's paste offset as Metadata.WEOffsetX/Y/Z (it had been 0, with
    the paste offset as Offset: a paste 11 blocks off)."""
    import nbtlib

    viking = formats.load(samples / "schematics" / "schematic" / "viking-house1.schematic")
    formats.save(viking, tmp_path / "v.schem")
    body = nbtlib.load(tmp_path / "v.schem")["Schematic"]
    assert list(body["Offset"]) == [138, 3, 1030]
    assert [int(body["Metadata"][k]) for k in ("WEOffsetX", "WEOffsetY", "WEOffsetZ")] == [-11, -1, -3]
    assert formats.load(tmp_path / "v.schem").origin == (138, 3, 1030)
