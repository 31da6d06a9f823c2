"""Findings of a mutation-fuzz campaign against the blueprint readers, and
the writers fed what they accept: each case is built here, small, and must
give one VoxgenError line naming the file (exit 2 in the CLI, nothing
written), or load and write back whole. Memory that a small file could make
the writers take is checked too."""

import copy
import math
import random
import tomllib
import tracemalloc

import nbtlib
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.formats import bitpack, litematic, nbt_io, text, varint
from voxgen.formats.bitpack import pack
from voxgen.formats.varint import encode_varints
from voxgen.structure import Structure

from test_hostile_formats import refused     # the one-line VoxgenError that loading a file gives

I, D, S = nbtlib.Int, nbtlib.Double, nbtlib.String
WRITERS = [("a.nbt", {}), ("b.schem", {"version": 3}), ("c.schem", {"version": 2}),
           ("d.litematic", {}), ("e.toml", {})]
TOML_HEAD = '[palette]\n"." = "minecraft:air"\n"#" = "minecraft:stone"\n[layers]\ny0 = "#"\n'


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("voxgen: error: ") and result.output.count("\n") == 1, result.output
    for needle in needles:
        assert needle in result.output, result.output


def pig(pos, **extra) -> nbtlib.Compound:
    return nbtlib.Compound({"id": S("minecraft:pig"), "Pos": nbtlib.List[D]([D(v) for v in pos]), **extra})


def litematic_file(path, entities=(), regions=1):
    """One-cell regions along x, the first holding `entities`."""
    def region(n):
        return nbtlib.Compound({
            "Position": nbtlib.Compound({"x": I(n), "y": I(0), "z": I(0)}),
            "Size": nbtlib.Compound({a: I(1) for a in "xyz"}),
            "BlockStatePalette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": S("minecraft:stone")})]),
            "BlockStates": nbtlib.LongArray(pack(np.zeros(1), 2)),
            "Entities": nbtlib.List[nbtlib.Compound](list(entities) if n == 0 else [])})
    nbt_io.write_nbt(path, nbtlib.Compound({"Version": I(6), "MinecraftDataVersion": I(3700),
                                            "Regions": nbtlib.Compound({f"r{n}": region(n) for n in range(regions)})}))
    return path


def sponge_v3_file(path, offset=(0, 0, 0), entities=()):
    body = nbtlib.Compound({
        "Version": I(3), "DataVersion": I(3700), "Width": nbtlib.Short(1), "Height": nbtlib.Short(1),
        "Length": nbtlib.Short(1), "Offset": nbtlib.IntArray(list(offset)),
        "Blocks": nbtlib.Compound({"Palette": nbtlib.Compound({"minecraft:stone": I(0)}),
                                   "Data": nbtlib.ByteArray([0])})})
    if entities:
        body["Entities"] = nbtlib.List[nbtlib.Compound](list(entities))
    nbt_io.write_nbt(path, nbtlib.Compound({"Schematic": body}))
    return path


def structure_nbt_file(path, entities=(), data_version=None):
    root = nbtlib.Compound({
        "size": nbtlib.List[I]([I(1), I(1), I(1)]),
        "palette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": S("minecraft:stone")})]),
        "blocks": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"pos": nbtlib.List[I]([I(0)] * 3),
                                                                 "state": I(0)})]),
        "entities": nbtlib.List[nbtlib.Compound](list(entities))})
    if data_version is not None:
        root["DataVersion"] = I(data_version)
    nbt_io.write_nbt(path, root)
    return path


# --- entity positions that a writer cannot store -----------------------------------
# Loaded without complaint, then `convert X out.nbt` died with a traceback
# (OutOfRange, OverflowError, ValueError) in the writer's blockPos.

@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf, 1e300, 3e9])
def test_entity_pos_that_is_no_world_position_is_refused_at_load(tmp_path, x):
    path = litematic_file(tmp_path / "far.litematic", [pig((x, 0.5, 0.5))])
    refused(path, "entity 0 has Pos", "not a position in a world")


def test_convert_of_such_an_entity_is_one_line_and_writes_nothing(tmp_path):
    path = litematic_file(tmp_path / "nan.litematic", [pig((math.nan, 0.5, 0.5))])
    for target in ("out.nbt", "out.schem"):
        one_line_error(run("convert", path, tmp_path / target), str(path), "not a position in a world")
    one_line_error(run("info", path), str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.litematic"]


def test_far_tile_position_is_refused(tmp_path):
    """TileX near 2**31 plus the origin overflowed the Sponge v2 writer's Int."""
    path = sponge_v3_file(tmp_path / "tile.schem", offset=(100, 0, 0),
                          entities=[nbtlib.Compound({"Id": S("minecraft:item_frame"),
                                                     "Pos": nbtlib.List[D]([D(0.5)] * 3),
                                                     "Data": nbtlib.Compound({"TileX": I(2**31 - 50)})})])
    refused(path, "TileX/Y/Z", "not a position in a world")


def test_far_origin_is_refused(tmp_path):
    refused(sponge_v3_file(tmp_path / "origin.schem", offset=(2**31 - 1, 0, 0)), "origin", "far away")


def test_positions_near_the_world_border_still_round_trip(tmp_path):
    path = sponge_v3_file(tmp_path / "border.schem", offset=(29_999_000, -64, -29_999_000),
                          entities=[nbtlib.Compound({"Id": S("minecraft:pig"),
                                                     "Pos": nbtlib.List[D]([D(0.5)] * 3)})])
    source = formats.load(path)
    for target, opts in WRITERS:
        back = formats.load(formats.save(source, tmp_path / target, **opts))
        assert back.entities == source.entities, target


def test_position_keys_kept_in_a_block_entity_do_not_move_it(tmp_path):
    """A structure .nbt block's `nbt` holding x/y/z or Pos: the Litematica
    writer wrote its x over the cell's (the chest's data vanished), the
    Sponge v2 writer its Pos (the data moved to another cell)."""
    def block(x, nbt):
        return nbtlib.Compound({"pos": nbtlib.List[I]([I(x), I(0), I(0)]), "state": I(0), "nbt": nbt})
    chest = {"id": S("minecraft:chest"), "Lock": S("key")}
    path = tmp_path / "keys.nbt"
    nbt_io.write_nbt(path, nbtlib.Compound({
        "DataVersion": I(3700), "size": nbtlib.List[I]([I(3), I(1), I(1)]),
        "palette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": S("minecraft:chest")})]),
        "blocks": nbtlib.List[nbtlib.Compound]([
            block(0, nbtlib.Compound({**chest, "x": I(2), "y": I(0), "z": I(0)})),
            block(1, nbtlib.Compound({**chest, "Pos": nbtlib.IntArray([2, 0, 0])}))]),
        "entities": nbtlib.List[nbtlib.Compound]([])}))
    source = formats.load(path)
    for target, opts in WRITERS:
        back = formats.load(formats.save(source, tmp_path / target, **opts))
        assert sorted(back.block_entities) == [(0, 0, 0), (1, 0, 0)], target
        assert all(str(tag["Lock"]) == "key" for tag in back.block_entities.values()), target


def test_litematic_with_too_many_regions_is_refused(tmp_path, monkeypatch):
    """200 k one-cell regions (a 1 MB file) took ~60 s to place one by one."""
    monkeypatch.setattr(litematic, "MAX_REGIONS", 3)
    assert formats.load(litematic_file(tmp_path / "three.litematic", regions=3)).shape == (3, 1, 1)
    refused(litematic_file(tmp_path / "four.litematic", regions=4), "4 regions, more than voxgen reads (3)")


# --- the text blueprint writer -------------------------------------------------------

def test_structure_nbt_without_data_version_converts_to_text(tmp_path):
    """metadata["source_data_version"] was None, which TOML cannot hold: TypeError."""
    path = structure_nbt_file(tmp_path / "nodv.nbt", entities=[nbtlib.Compound(
        {"pos": nbtlib.List[D]([D(0.5)] * 3), "nbt": pig((0.5, 0.5, 0.5))})])
    assert "source_data_version" not in formats.load(path).metadata
    result = run("convert", path, tmp_path / "nodv.toml")
    assert result.exit_code == 0, result.output
    back = formats.load(tmp_path / "nodv.toml")
    assert back.state_at(0, 0, 0) == "minecraft:stone" and back.entities == formats.load(path).entities


def test_short_entities_and_block_entities_stay_out_of_the_layers(tmp_path):
    """tomli_w wrote a list of short tables inline, `entities = [...]`, right
    after [layers]: the file then failed to load ("layer 'entities': ...")."""
    s = Structure(np.ones((1, 1, 1), np.int32), ("minecraft:air", "minecraft:chest"),
                  block_entities={(0, 0, 0): nbtlib.Compound({"id": S("minecraft:chest")})},
                  entities=[pig((0.5, 0.5, 0.5)), nbtlib.Compound({"id": S("minecraft:bat")})],
                  metadata={"note": "kept"})
    path = formats.save(s, tmp_path / "short.toml")
    doc = tomllib.loads(path.read_text())
    assert list(doc["layers"]) == ["y0"]
    back = formats.load(path)
    assert back.entities == s.entities and back.block_entities == s.block_entities
    assert back.metadata["note"] == "kept"


def test_text_writer_refuses_a_huge_structure_before_building_the_text(tmp_path, monkeypatch):
    """A 126-byte .nbt declaring 64 Mi void cells spent 17 s and 1.1 GB
    building a text it then refused."""
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(text, "format_text", lambda structure: pytest.fail("the text was built"))
    s = Structure(np.zeros((5, 5, 5), np.int32), ("minecraft:air",))
    with pytest.raises(VoxgenError, match="5x5x5 = 125 cells make a text blueprint larger"):
        formats.save(s, tmp_path / "big.toml")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("meta", ['"{"', '"5"', '"{a: [1, 2}"', '"[1, 2]"'])
def test_kept_sponge_metadata_that_is_no_compound_is_refused_by_the_writer(tmp_path, meta):
    """A text blueprint's [meta] sponge_metadata reached nbtlib.parse_nbt in
    the Sponge writer: InvalidLiteral or AttributeError tracebacks."""
    path = tmp_path / "meta.toml"
    path.write_text(TOML_HEAD + f"[meta]\nsponge_metadata = {meta}\n")
    one_line_error(run("convert", path, tmp_path / "meta.schem"), "meta.schem", "sponge_metadata")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.toml"]


def test_kept_sponge_metadata_still_round_trips(tmp_path):
    path = tmp_path / "meta.toml"
    path.write_text(TOML_HEAD + '[meta]\nsponge_metadata = "{Author: \\"me\\"}"\n')
    saved = formats.save(formats.load(path), tmp_path / "meta.schem")
    assert str(nbtlib.load(saved)["Schematic"]["Metadata"]["Author"]) == "me"


# --- SNBT: items, not just bytes ----------------------------------------------------------
# 16 MB of `[0,0,...]` (8 M items) took nbtlib's SNBT parser ~45 s and 1.1 GB.

@pytest.fixture
def few_items(monkeypatch):
    monkeypatch.setattr(nbt_io, "MAX_SNBT_ITEMS", 1000)
    monkeypatch.setattr(nbtlib, "parse_nbt", lambda text: pytest.fail("parsed"))


def test_snbt_file_with_too_many_items_is_refused_before_parsing(tmp_path, few_items):
    path = tmp_path / "many.snbt"
    path.write_text("{size: [1, 1, 1], palette: [], blocks: [], x: [" + ",".join(["0"] * 2000) + "]}")
    refused(path, "SNBT items in the file, more than voxgen reads (1,000)")


def test_text_blueprint_entity_snbt_items_are_counted_together(tmp_path, few_items):
    entity = "[[entities]]\nsnbt = '{x: [" + ",".join(["0"] * 600) + "]}'\n"
    path = tmp_path / "many.toml"
    path.write_text(TOML_HEAD + entity * 2)
    refused(path, "1,200 SNBT items in the block entities and entities")   # 600 each, not over 1000


def test_text_writer_refuses_entities_the_reader_would(tmp_path, monkeypatch):
    monkeypatch.setattr(nbt_io, "MAX_SNBT_ITEMS", 100)
    s = Structure(np.zeros((1, 1, 1), np.int32), ("minecraft:air",),
                  entities=[pig((0.5, 0.5, 0.5), Tags=nbtlib.List[I]([I(0)] * 200))])
    with pytest.raises(VoxgenError, match="SNBT items.*nothing written"):
        formats.save(s, tmp_path / "many.toml")
    assert not list(tmp_path.iterdir())


def test_real_structure_snbt_is_far_below_the_item_cap():
    # a structure SNBT lists ~6 items a block: a full 48^3 box stays under the cap
    entry = "{pos: [10, 20, 30], state: 1}"
    assert (entry.count(",") + entry.count(":") + 1) * 48**3 < nbt_io.MAX_SNBT_ITEMS


# --- writers' memory: encoded in chunks ---------------------------------------------------
# `voxgen convert` of a 126-byte .nbt declaring 1024x256x256 void cells took
# 3.9 GB (encode_varints) or 3.3 GB (bitpack.pack) and ~18 s.

def varints_slow(values) -> bytes:
    out = bytearray()
    for v in values:
        while True:
            out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
            v >>= 7
            if not v:
                break
    return bytes(out)


def pack_slow(values, bits) -> list:
    whole = sum(int(v) << (i * bits) for i, v in enumerate(values))
    n = bitpack.longs_needed(len(values), bits)
    return [int(np.uint64((whole >> (64 * k)) & (2**64 - 1)).view(np.int64)) for k in range(n)]


def test_chunked_encoders_agree_with_slow_twins(monkeypatch):
    monkeypatch.setattr(varint, "ENCODE_CHUNK", 7)
    monkeypatch.setattr(bitpack, "PACK_CHUNK", 128)
    rng = np.random.default_rng(3)
    for n in (0, 1, 6, 7, 8, 127, 128, 129, 300):
        values = rng.integers(0, 2**31, n) >> rng.integers(0, 31, n)
        assert encode_varints(values).tobytes() == varints_slow(values.tolist()), n
        for bits in (2, 5, 13, 31):
            small = rng.integers(0, 2**bits, n)
            assert pack(small, bits).tolist() == pack_slow(small.tolist(), bits), (n, bits)
            assert bitpack.unpack(pack(small, bits), n, bits).tolist() == small.tolist()


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_encoders_take_memory_by_the_chunk_not_the_volume(monkeypatch):
    monkeypatch.setattr(varint, "ENCODE_CHUNK", 1 << 16)
    monkeypatch.setattr(bitpack, "PACK_CHUNK", 64 << 10)
    values = np.zeros(1 << 21, np.int32)               # 2 Mi cells: 8 MB
    assert peak_bytes(lambda: encode_varints(values)) < 12 * 2**20   # was ~100 MB
    assert peak_bytes(lambda: pack(values, 2)) < 8 * 2**20           # was ~85 MB


def test_unpack_takes_about_its_output():
    count = 1 << 21
    longs = np.zeros(bitpack.longs_needed(count, 2), np.int64)
    assert bitpack.unpack(longs, count, 2).dtype == np.int32                       # was int64: 2x the memory
    assert peak_bytes(lambda: bitpack.unpack(longs, count, 2)) < 1.3 * 4 * count  # was 3x its output


# --- a small seeded campaign: tree mutations, then every writer ---------------------------

SAMPLES = ["schematics/schem/ripple_carry_adder_4bit.schem", "schematics/litematic/4x4_sliding_door.litematic",
           "schematics/nbt/cabin.nbt", "schematics/mcstructure/waterlogged.mcstructure",
           "schematics/schematic/viking-house1.schematic", "anchor-nca/caterpillar_short.nbt"]
ODD = [nbtlib.Int(-1), nbtlib.Int(2**31 - 1), nbtlib.Short(-1), nbtlib.Double(math.nan), nbtlib.Double(1e300),
       nbtlib.String(""), nbtlib.String("minecraft:stone[a="), nbtlib.List([]), nbtlib.Compound(),
       nbtlib.List[D]([D(math.inf)] * 3), nbtlib.IntArray([0, 0]), nbtlib.LongArray([-1])]


def mutant(tree, rng):
    """A copy of `tree` with one tag replaced by an odd one, or deleted."""
    tree = copy.deepcopy(tree)
    nodes, stack = [], [(tree, ())]
    while stack:
        tag, where = stack.pop()
        items = tag.items() if isinstance(tag, nbtlib.Compound) else ()
        for key, child in items:
            nodes.append((tag, key))
            stack.append((child, where + (key,)))
    parent, key = rng.choice(nodes)
    if rng.random() < 0.2:
        del parent[key]
    else:
        parent[key] = rng.choice(ODD)
    return tree


def test_tree_mutants_load_cleanly_and_write_back(samples, tmp_path):
    rng = random.Random(11)
    for name in SAMPLES:
        source = samples / name
        little = source.suffix == ".mcstructure"
        file = nbtlib.load(source, byteorder="little" if little else "big")
        for n in range(12):
            path = tmp_path / f"m{n}{source.suffix}"
            nbtlib.File(mutant(file, rng), root_name=file.root_name).save(
                path, gzipped=not little, byteorder="little" if little else "big")
            try:
                structure = formats.load(path)
            except VoxgenError as err:
                assert "\n" not in str(err) and str(path) in str(err)
                continue
            for target, opts in WRITERS:
                try:
                    out = formats.save(structure, tmp_path / target, **opts)
                except VoxgenError:
                    continue
                assert formats.load(out).same_blocks(structure), (name, n, target)
