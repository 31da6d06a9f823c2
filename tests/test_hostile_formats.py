"""Hostile blueprint files (the CLI audit's findings A2, A3, A7, B1, B7, C, D):
each is refused with a one-line VoxgenError naming the file, before anything
large is allocated, and structures that load can be written back."""

import os
import tracemalloc
import zlib

import nbtlib
import numpy as np
import pytest

from voxgen import formats, safe_read
from voxgen.errors import VoxgenError
from voxgen.formats import file_palette, nbt_io, nbt_walk, text
from voxgen.formats.bitpack import pack
from voxgen.structure import Structure

TOML_HEAD = '[palette]\n"." = "minecraft:air"\n"#" = "minecraft:stone"\n'


def refused(path, *words):
    """The one-line VoxgenError that loading `path` gives; it names the file and `words`."""
    with pytest.raises(VoxgenError) as err:
        formats.load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def write(tmp_path, name, content):
    path = tmp_path / name
    (path.write_text if isinstance(content, str) else path.write_bytes)(content)
    return path


def small_peak(refuse, limit=20 * 2**20):
    """Run `refuse` and check its peak Python allocation."""
    tracemalloc.start()
    try:
        refuse()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, peak


def structure_nbt(size, blocks=(), entities=()):
    return nbtlib.Compound({
        "DataVersion": nbtlib.Int(3700),
        "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(n) for n in size]),
        "palette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": nbtlib.String("minecraft:stone")})]),
        "blocks": nbtlib.List[nbtlib.Compound](list(blocks)),
        "entities": nbtlib.List[nbtlib.Compound](list(entities)),
    })


def nested(depth):
    tag = nbtlib.Compound({"leaf": nbtlib.Int(1)})
    for _ in range(depth):
        tag = nbtlib.Compound({"a": tag})
    return tag


def litematic(regions, **root):
    def region(pos):
        return nbtlib.Compound({
            "Position": nbtlib.Compound({a: nbtlib.Int(v) for a, v in zip("xyz", pos)}),
            "Size": nbtlib.Compound({a: nbtlib.Int(1) for a in "xyz"}),
            "BlockStatePalette": nbtlib.List[nbtlib.Compound](
                [nbtlib.Compound({"Name": nbtlib.String("minecraft:stone")})]),
            "BlockStates": nbtlib.LongArray(pack(np.zeros(1), 2))})
    return nbtlib.Compound({"Version": nbtlib.Int(6), "MinecraftDataVersion": nbtlib.Int(3700),
                            "Regions": nbtlib.Compound({f"r{i}": region(p) for i, p in enumerate(regions)}),
                            **root})


# --- A2: compressed data ----------------------------------------------------------

def test_zlib_bomb_is_capped_like_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(nbt_io, "MAX_NBT_BYTES", 10_000)
    bomb = write(tmp_path, "bomb.schem", zlib.compress(b"\x0a\x00\x00" + bytes(100_000)))
    refused(bomb, "decompressed data is larger than voxgen accepts")


def test_bomb_is_refused_with_about_the_cap_in_memory(tmp_path, monkeypatch):
    """Decompressed a chunk at a time: a bomb stops a chunk past the cap
    (one call with the cap as its limit grew its buffer to twice the cap)."""
    monkeypatch.setattr(nbt_io, "MAX_NBT_BYTES", 4 * 2**20)
    monkeypatch.setattr(nbt_io, "_CHUNK", 2**20)
    bomb = write(tmp_path, "bomb.nbt", zlib.compress(b"\x0a\x00\x00" + bytes(64 * 2**20), 9))
    small_peak(lambda: refused(bomb, "decompressed data is larger than voxgen accepts"), 7 * 2**20)


@pytest.mark.parametrize("chunk", [1, 7, 1000, 2**24])
def test_decompressed_in_chunks_is_the_whole_payload(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(nbt_io, "_CHUNK", chunk)
    payload = nbt_io_bytes(structure_nbt((3, 2, 4)))
    for name, data in (("a.nbt", zlib.compress(payload)), ("b.nbt", gzip_bytes(payload))):
        nbt_io._LAST_READ.clear()
        assert nbt_io.read_bytes(write(tmp_path, name, data)) == (payload, True)
        nbt_io._LAST_READ.clear()
        refused(write(tmp_path, "cut_" + name, data[:len(data) - 9]), "stream is truncated")


def gzip_bytes(payload):
    import gzip
    return gzip.compress(payload)


def test_truncated_zlib_is_named(tmp_path):
    data = zlib.compress(nbt_io_bytes(structure_nbt((1, 1, 1))))
    refused(write(tmp_path, "cut.nbt", data[:len(data) // 2]), "zlib stream is truncated")


def nbt_io_bytes(root):
    import io
    buf = io.BytesIO()
    nbtlib.File(root, root_name="").write(buf)
    return buf.getvalue()


# --- A3: pipes, devices, FIFOs ------------------------------------------------------

def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.schem"
    os.mkfifo(fifo)                       # no writer: opening it for a blocking read would hang
    refused(fifo, "not a regular file")
    with pytest.raises(VoxgenError, match="not a regular file"):
        nbt_io.read_bytes(fifo)
    assert not formats.is_blueprint(fifo, damaged=True)


def test_a_pipe_holding_a_valid_file_is_refused_not_misread(tmp_path):
    valid = nbt_io_bytes(structure_nbt((1, 1, 1)))
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, valid)
        refused(f"/dev/fd/{read_end}", "not a regular file")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_device_is_refused(tmp_path):
    with pytest.raises(VoxgenError, match="not a regular file"):
        safe_read.read_capped("/dev/zero", 100)


def test_reads_stop_one_byte_past_the_limit(tmp_path):
    path = write(tmp_path, "big.toml", TOML_HEAD + "[layers]\ny0 = '#'\n" + "#" * 5000)
    with pytest.raises(VoxgenError, match="larger than voxgen accepts"):
        safe_read.read_capped(path, 1000)
    assert len(safe_read.read_capped(path, 10_000)) == path.stat().st_size


# --- A7: small files that declare huge structures --------------------------------------

def test_huge_declared_structure_nbt_is_refused_before_allocating(tmp_path):
    path = tmp_path / "hugesize.nbt"
    nbt_io.write_nbt(path, structure_nbt((640, 640, 640)))      # 115 bytes, 262 M void cells
    small_peak(lambda: refused(path, "too large"))


def test_far_apart_litematic_regions_are_refused_before_allocating(tmp_path):
    path = tmp_path / "far.litematic"
    nbt_io.write_nbt(path, litematic([(0, 0, 0), (630, 630, 630)]))
    small_peak(lambda: refused(path, "enclosing box", "too large"))


def test_sponge_volume_above_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(file_palette, "MAX_CELLS", 1000)
    root = nbtlib.Compound({
        "Version": nbtlib.Int(2), "Width": nbtlib.Short(20), "Height": nbtlib.Short(10), "Length": nbtlib.Short(10),
        "Palette": nbtlib.Compound({"minecraft:air": nbtlib.Int(0)}),
        "BlockData": nbtlib.ByteArray(np.zeros(2000, np.int8))})
    path = tmp_path / "zeros.schem"
    nbt_io.write_nbt(path, root, root_name="Schematic")
    refused(path, "too large", "over 1000 cells")


def test_the_cell_cap_keeps_a_loader_under_two_gigabytes():
    # ~20 bytes a cell at a loader's peak (measured: 0.35-1.9 GB at 64 Mi cells)
    assert formats.MAX_CELLS * 20 < 2 * 2**30 * 1.2


def test_too_many_tags_are_refused_before_nbtlib_builds_them(tmp_path, monkeypatch):
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", 10_000)
    ints = nbtlib.List[nbtlib.Int]([nbtlib.Int(0)] * 20_000)    # 80 KB: the compiled validator
    root = nbtlib.Compound({"format_version": nbtlib.Int(1),
                            "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(100), nbtlib.Int(20), nbtlib.Int(10)]),
                            "structure": nbtlib.Compound({"block_indices": nbtlib.List[nbtlib.List]([ints])})})
    path = tmp_path / "big.mcstructure"
    nbt_io.write_nbt(path, root, gzipped=False, byteorder="little")
    refused(path, "more than 10000 tags")


def test_many_listed_blocks_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", 10_000)
    entry = nbtlib.Compound({"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(0)] * 3), "state": nbtlib.Int(0)})
    path = tmp_path / "manyblocks.nbt"
    nbt_io.write_nbt(path, structure_nbt((1, 1, 1), blocks=[entry] * 3000))   # 18k tags, 108 KB
    refused(path, "more than 10000 tags")


def test_text_blueprint_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 1000)
    path = write(tmp_path, "big.toml", TOML_HEAD + "[layers]\ny0 = '''\n" + ("#" * 60 + "\n") * 60 + "'''\n")
    refused(path, "text blueprint of", "is larger than voxgen accepts (1,000 bytes)")


def test_text_blueprint_volume_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(file_palette, "MAX_CELLS", 100)
    path = write(tmp_path, "wide.toml", TOML_HEAD + "[layers]\ny0 = '''\n" + ("#" * 20 + "\n") * 20 + "'''\n")
    refused(path, "too large")


def test_large_text_blueprint_loads_fast(tmp_path):
    rows = ("#." * 250 + "\n") * 500                            # 250 k cells
    path = write(tmp_path, "wide.toml", TOML_HEAD + f'"~" = "minecraft:structure_void"\n[layers]\n'
                 f"y0 = '''\n{rows}'''\ny1 = '''\n{rows.replace('.', '~')}'''\n")
    s = formats.load(path)
    assert s.shape == (500, 2, 500) and s.palette == ("minecraft:air", "minecraft:stone")
    assert s.count_non_air() == 250_000 and int(s.void.sum()) == 125_000


# --- B1: deep nesting -----------------------------------------------------------------

def test_deep_sponge_metadata_is_refused(tmp_path):
    root = nbtlib.Compound({
        "Version": nbtlib.Int(2), "Width": nbtlib.Short(1), "Height": nbtlib.Short(1), "Length": nbtlib.Short(1),
        "Palette": nbtlib.Compound({"minecraft:stone": nbtlib.Int(0)}),
        "BlockData": nbtlib.ByteArray(np.zeros(1, np.int8)), "Metadata": nested(300)})
    path = tmp_path / "deepmeta.schem"
    nbt_io.write_nbt(path, root, root_name="Schematic")
    refused(path, f"nested more than {nbt_walk.MAX_DEPTH} deep")


def test_depth_allowed_by_the_reader_can_be_written(tmp_path):
    entry = nbtlib.Compound({"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(0)] * 3), "state": nbtlib.Int(0),
                             "nbt": nested(nbt_walk.MAX_DEPTH - 10)})
    path = tmp_path / "deepbe.nbt"
    nbt_io.write_nbt(path, structure_nbt((1, 1, 1), blocks=[entry]))
    s = formats.load(path)
    for ext in (".toml", ".schem", ".litematic", ".nbt"):
        formats.save(s, tmp_path / f"out{ext}")
        assert formats.load(tmp_path / f"out{ext}").block_entities.keys() == {(0, 0, 0)}


def test_deep_block_entity_is_refused(tmp_path):
    entry = nbtlib.Compound({"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(0)] * 3), "state": nbtlib.Int(0),
                             "nbt": nested(300)})
    path = tmp_path / "deepbe.nbt"
    nbt_io.write_nbt(path, structure_nbt((1, 1, 1), blocks=[entry]))
    refused(path, "nested more than")


def test_deep_toml_is_refused(tmp_path):
    refused(write(tmp_path, "deep.toml", TOML_HEAD + "[layers]\ny0 = '#'\n[meta]\nx = " + "[" * 5000 + "]" * 5000 + "\n"),
            "nested too deeply")
    refused(write(tmp_path, "deep2.toml", TOML_HEAD + "[layers]\ny0 = '#'\n[meta]\nx = " + "[" * 150 + "]" * 150 + "\n"),
            "[meta] is nested more than")


def test_deep_snbt_in_a_blueprint_is_refused(tmp_path):
    snbt = "{a:" * 150 + "1" + "}" * 150
    path = write(tmp_path, "deep.toml", TOML_HEAD + f"[layers]\ny0 = '#'\n[[block_entities]]\npos = [0, 0, 0]\n"
                 f"snbt = '{snbt}'\n")
    refused(path, "block_entities[0].snbt is nested more than")
    path = write(tmp_path, "deep.snbt", "{size: [1, 1, 1], palette: [], blocks: [], meta: " + snbt + "}")
    refused(path, "SNBT nested more than")


def test_writing_too_deep_a_structure_is_an_error_not_a_traceback(tmp_path):
    s = Structure(np.zeros((1, 1, 1), np.int32), ("minecraft:air",), block_entities={(0, 0, 0): nested(400)})
    with pytest.raises(VoxgenError, match="nested too deeply"):
        formats.save(s, tmp_path / "out.toml")
    assert list(tmp_path.iterdir()) == []


# --- B7: loaded structures the writers could not write -------------------------------------

@pytest.mark.parametrize("name, content, words", [
    ("dv.toml", 'data_version = "abc"\n' + TOML_HEAD
     + "[layers]\ny0 = '#'\n", "data_version 'abc' is not a 32-bit integer"),
    ("dvf.toml", "data_version = 1e300\n" + TOML_HEAD + "[layers]\ny0 = '#'\n", "is not a 32-bit integer"),
    ("dvbig.toml", "data_version = 4294967296\n" + TOML_HEAD + "[layers]\ny0 = '#'\n", "is not a 32-bit integer"),
    ("ent.toml", TOML_HEAD + "[layers]\ny0 = '#'\n[[entities]]\nsnbt = '5'\n", "entities[0].snbt is not a compound"),
    ("ent.snbt", "{size: [1, 1, 1], palette: [], blocks: [], entities: [5]}", "entities[0] is not a compound"),
    ("entstr.snbt", '{size: [1, 1, 1], palette: [], blocks: [], entities: "abc"}', "'entities' is not a list"),
    ("benbt.snbt", '{size: [1, 1, 1], palette: [{Name: "stone"}], blocks: [{pos: [0, 0, 0], state: 0, nbt: 5}]}',
     "blocks[0].nbt is not a compound"),
    ("dv.snbt", '{size: [1, 1, 1], palette: [], blocks: [], DataVersion: "x"}', "DataVersion"),
])
def test_unwritable_opaque_data_is_refused_at_load(tmp_path, name, content, words):
    refused(write(tmp_path, name, content), words)


def test_litematic_entities_must_be_compounds(tmp_path):
    root = litematic([(0, 0, 0)])
    root["Regions"]["r0"]["Entities"] = nbtlib.List[nbtlib.Int]([nbtlib.Int(5)])
    nbt_io.write_nbt(tmp_path / "ent.litematic", root)
    refused(tmp_path / "ent.litematic", "entity 0 is not a compound")


# --- C: zero-size SNBT ---------------------------------------------------------------------

def test_zero_size_snbt_is_refused_like_the_binary_formats(tmp_path):
    refused(write(tmp_path, "zero.snbt", "{size: [0, 0, 0], palette: [], blocks: []}"), "is not positive")


# --- D: silent oddities and leaked exception text --------------------------------------------

@pytest.mark.parametrize("top, rest, words", [
    ("", "y00 = '.'\n", "layers 'y0' and 'y00' are both layer 0"),
    ("meta = 5\n", "", "meta must be a table"),
    ("block_entities = [5]\n", "", "block_entities must be an array of tables"),
    ("", "[[block_entities]]\npos = [0, 0, 0]\nsnbt = 5\n", "block_entities[0].snbt must be a string"),
    ("name = [1]\n", "", "name must be a string"),
])
def test_text_blueprint_mistakes_are_named(tmp_path, top, rest, words):
    message = refused(write(tmp_path, "bad.toml", top + TOML_HEAD + "[layers]\ny0 = '#'\n" + rest), words)
    assert "Error" not in message


def test_duplicate_property_is_refused(tmp_path):
    path = write(tmp_path, "dup.toml", '[palette]\n"#" = "minecraft:stone[a=b,a=c]"\n[layers]\ny0 = "#"\n')
    refused(path, "property 'a' given twice")


def test_litematic_version_of_the_wrong_type_is_named(tmp_path):
    nbt_io.write_nbt(tmp_path / "v.litematic", litematic([(0, 0, 0)], Version=nbtlib.String("6")))
    assert "Error" not in refused(tmp_path / "v.litematic", "tag 'Version' in root is String, expected Int")


@pytest.mark.parametrize("key, value, words", [
    ("format_version", nbtlib.String("1"), "tag 'format_version' in root is String, expected Int"),
    ("structure_world_origin", nbtlib.List[nbtlib.String]([nbtlib.String("a")] * 3), "not a list of 3 ints"),
])
def test_mcstructure_header_of_the_wrong_type_is_named(tmp_path, key, value, words):
    root = nbtlib.Compound({
        "format_version": nbtlib.Int(1),
        "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(1)] * 3),
        "structure": nbtlib.Compound({
            "block_indices": nbtlib.List[nbtlib.List]([nbtlib.List[nbtlib.Int]([nbtlib.Int(0)])]),
            "palette": nbtlib.Compound({"default": nbtlib.Compound({"block_palette": nbtlib.List[nbtlib.Compound](
                [nbtlib.Compound({"name": nbtlib.String("minecraft:stone")})])})})})})
    root[key] = value
    nbt_io.write_nbt(tmp_path / "h.mcstructure", root, gzipped=False, byteorder="little")
    assert "Error" not in refused(tmp_path / "h.mcstructure", words)


# --- real files still load --------------------------------------------------------------------

def test_largest_real_samples_still_load(samples):
    big = formats.load(samples / "schematics" / "schem" / "large_schematic.schem", block_entities=False)
    assert big.shape == (256, 256, 256)
    for folder in ("litematic", "nbt", "mcstructure", "schematic"):
        files = sorted((samples / "schematics" / folder).iterdir(), key=lambda p: p.stat().st_size)
        assert formats.load(files[-1]).count_non_air() > 0
