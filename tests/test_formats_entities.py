"""Entities: one convention in memory (vanilla NBT, Pos relative to the box),
each format's own layout in its files (checked raw with nbtlib), and `cut`
sending each entity to the part it stands in."""

import nbtlib
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.structure import Structure, entity_block

WRITERS = [("a.nbt", {}), ("b.schem", {"version": 3}), ("c.schem", {"version": 2}),
           ("d.litematic", {}), ("e.toml", {})]


def inside(entity, shape) -> bool:
    pos = [float(v) for v in entity["Pos"]]
    return all(0 <= p <= n for p, n in zip(pos, shape))


@pytest.fixture
def evaluator(samples):
    return samples / "schematics" / "schem" / "Evaluator.schem"


def test_sponge_v2_world_positions_become_relative(evaluator):
    s = formats.load(evaluator)
    raw = nbtlib.load(evaluator)["Entities"][0]
    assert s.origin == (-163, 16, -177) and [float(v) for v in raw["Pos"]] == [-160.0, 26.0, -164.0]
    first = s.entities[0]
    assert [float(v) for v in first["Pos"]] == [3.0, 10.0, 13.0]
    assert (int(first["TileX"]), int(first["TileY"]), int(first["TileZ"])) == (3, 10, 13)
    assert str(first["id"]) == "minecraft:glow_item_frame"
    assert len(s.entities) == 8 and all(inside(e, s.shape) for e in s.entities)


@pytest.mark.parametrize("source", ["schematics/schem/Evaluator.schem", "anchor-nca/pixl_apartmentblock.nbt"])
def test_entities_survive_every_writer_and_chains_of_them(samples, tmp_path, source):
    s = formats.load(samples / source)
    assert s.entities and all(inside(e, s.shape) and "id" in e for e in s.entities)
    for target, opts in WRITERS:
        if target.endswith(".toml") and len(s.palette) > 80:       # Evaluator: 234 states
            continue
        back = formats.load(formats.save(s, tmp_path / target, **opts))
        assert back.entities == s.entities, target
    # the reviewer's chain: .schem -> .nbt -> .schem / .litematic
    chain = formats.load(tmp_path / "a.nbt")
    for target, opts in WRITERS[1:4]:
        assert formats.load(formats.save(chain, tmp_path / f"chain_{target}", **opts)).entities == s.entities


def test_each_file_holds_its_own_layout(evaluator, tmp_path):
    s = formats.load(evaluator)
    for target, opts in WRITERS[:4]:
        formats.save(s, tmp_path / target, **opts)
    nbt = nbtlib.load(tmp_path / "a.nbt")["entities"][0]
    assert set(nbt) == {"pos", "blockPos", "nbt"} and "id" in nbt["nbt"]
    assert [float(v) for v in nbt["pos"]] == [3.0, 10.0, 13.0] and [int(v) for v in nbt["blockPos"]] == [3, 10, 13]
    v3 = nbtlib.load(tmp_path / "b.schem")["Schematic"]["Entities"][0]
    assert str(v3["Id"]) == "minecraft:glow_item_frame" and [float(v) for v in v3["Pos"]] == [3.0, 10.0, 13.0]
    assert "TileX" in v3["Data"] and not {"pos", "nbt", "Pos", "id"} & set(v3["Data"])
    v2 = nbtlib.load(tmp_path / "c.schem")["Entities"][0]              # absolute, as WorldEdit writes v2
    assert [float(v) for v in v2["Pos"]] == [-160.0, 26.0, -164.0] and int(v2["TileZ"]) == -164
    lite = nbtlib.load(tmp_path / "d.litematic")["Regions"]
    (region,) = lite.values()
    assert [float(v) for v in region["Entities"][0]["Pos"]] == [3.0, 10.0, 13.0]


def test_structure_nbt_entities_unwrap_to_relative_positions(samples, tmp_path):
    path = samples / "anchor-nca" / "pixl_apartmentblock.nbt"
    raw = nbtlib.load(path)["entities"]
    s = formats.load(path)
    assert len(s.entities) == len(raw) == 36
    for entry, entity in zip(raw, s.entities):
        assert entity["Pos"] == entry["pos"] and entity["id"] == entry["nbt"]["id"]
        assert "nbt" not in entity and "blockPos" not in entity
    frame = s.entities[1]                              # saved at world (4.03, 13.5, 42.5), Tile (4, 13, 42)
    assert entity_block(frame) == (5, 3, 11) == tuple(int(v) for v in raw[1]["blockPos"])
    written = nbtlib.load(formats.save(s, tmp_path / "again.nbt"))["entities"]
    assert [e["pos"] for e in written] == [e["pos"] for e in raw]
    assert [e["blockPos"] for e in written] == [e["blockPos"] for e in raw]


def test_litematica_entities_are_relative_to_their_region_position(tmp_path):
    """Litematica subtracts a region's Position (its first corner), which for
    a negative size is not the minimum corner."""
    s = Structure.from_states(np.full((2, 3, 1), "minecraft:stone", dtype=object))
    formats.save(s, tmp_path / "r.litematic")
    root = nbtlib.load(tmp_path / "r.litematic")
    (region,) = root["Regions"].values()
    region["Position"] = nbtlib.Compound({"x": nbtlib.Int(1), "y": nbtlib.Int(2), "z": nbtlib.Int(0)})
    region["Size"] = nbtlib.Compound({"x": nbtlib.Int(-2), "y": nbtlib.Int(-3), "z": nbtlib.Int(1)})
    region["Entities"] = nbtlib.List[nbtlib.Compound]([nbtlib.Compound({
        "id": nbtlib.String("minecraft:pig"),
        "Pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(-0.5), nbtlib.Double(-1.0), nbtlib.Double(0.5)])})])
    root.save(tmp_path / "r.litematic", gzipped=True)
    back = formats.load(tmp_path / "r.litematic")
    assert [float(v) for v in back.entities[0]["Pos"]] == [0.5, 1.0, 0.5]


def test_cut_sends_each_entity_to_its_part(evaluator, tmp_path):
    result = CliRunner().invoke(main, ["cut", str(evaluator), "--axis", "z", "--at", "20",
                                       "-o", str(tmp_path), "--format", "schem"])
    assert result.exit_code == 0, result.output
    whole = formats.load(evaluator)
    parts = [formats.load(tmp_path / f"Evaluator_part{i}.schem") for i in range(2)]
    assert len(parts[0].entities) + len(parts[1].entities) == len(whole.entities) == 8
    assert parts[0].entities and parts[1].entities
    assert all(entity_block(e)[2] < 20 for e in parts[0].entities)
    assert all(entity_block(e)[2] >= 20 for e in parts[1].entities)
    assert sorted(e.snbt() for p in parts for e in p.entities) == sorted(e.snbt() for e in whole.entities)


def test_crop_and_pad_move_entities_with_the_blocks():
    s = Structure.from_states(np.full((4, 4, 4), "minecraft:stone", dtype=object))
    pig = nbtlib.Compound({"id": nbtlib.String("minecraft:pig"),
                           "Pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(2.5), nbtlib.Double(1.0),
                                                              nbtlib.Double(3.5)])})
    s.entities = [pig]
    assert [float(v) for v in s.pad(2).entities[0]["Pos"]] == [4.5, 3.0, 5.5]
    assert [float(v) for v in s.crop((1, 0, 2), (4, 4, 4)).entities[0]["Pos"]] == [1.5, 1.0, 1.5]
    assert s.crop((0, 0, 0), (2, 4, 4)).entities == []


def test_crop_keeps_a_painting_whose_wall_block_lies_outside(samples):
    """house.schematic (MCEdit, before 1.8): a painting's TileZ names the wall
    block behind it, one past the box; its Pos lies inside, so it stays."""
    s = formats.load(samples / "schematics" / "schematic" / "house.schematic")
    assert len(s.entities) == 2
    assert len(s.crop((0, 0, 0), s.shape).entities) == 2
