"""Round trips of real samples through every writable format: DataVersion
stamps, block-entity nesting after each format's wrapping, entity layouts and
positions, `cut` with entities. Raw files are cross-checked with nbtlib."""

import json

import nbtlib
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io
from voxgen.structure import Structure

QUIRKY = ["uss-texas.schem", "ripple_carry_adder_4bit.schem", "trefoil.schem"]  # DataVersion 1343, modern names
WRITERS = [("a.nbt", {}), ("b.schem", {"version": 3}), ("c.schem", {"version": 2}),
           ("d.litematic", {}), ("e.toml", {})]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def raw_data_version(path) -> int:
    root = nbtlib.load(path)
    body = root.get("Schematic", root)
    return int(body.get("DataVersion", root.get("MinecraftDataVersion", -1)))


# --- item 1: a Structure holds modern names, every writer says so ---------------

@pytest.mark.parametrize("name", QUIRKY)
def test_pre_flattening_sponge_samples_round_trip_every_format_cell_for_cell(samples, tmp_path, name):
    source = formats.load(samples / "schematics" / "schem" / name)
    assert source.data_version is None and source.metadata["source_data_version"] == 1343
    written = 0
    for target, opts in WRITERS:
        try:
            path = formats.save(source, tmp_path / target, **opts)
        except VoxgenError as err:
            assert target.endswith(".toml") and "do not fit a text blueprint" in str(err)  # uss-texas: 365 states
            continue
        back = formats.load(path)
        assert back.same_blocks(source), target
        assert set(back.palette) == set(source.palette), target
        if not target.endswith(".toml"):
            assert raw_data_version(path) >= 1451, target                # read with nbtlib
        written += 1
    assert written >= 4


def test_adder_to_nbt_keeps_its_torches(samples, tmp_path):
    """The reviewer's case: redstone_torch[lit=...] came back as redstone_wall_torch."""
    source = samples / "schematics" / "schem" / "ripple_carry_adder_4bit.schem"
    assert run("convert", source, tmp_path / "adder.nbt").exit_code == 0
    facts = json.loads(run("info", tmp_path / "adder.nbt", "--json").output)
    before = json.loads(run("info", source, "--json").output)
    assert facts["counts"] == before["counts"] and facts["data_version"] == 3700
    assert before["data_version"] is None and before["source_data_version"] == 1343
    assert any(s.startswith("minecraft:redstone_torch[") for s in facts["counts"])


@pytest.mark.parametrize("fmt", ["nbt", "schem", "litematic"])
def test_cut_of_a_pre_flattening_sponge_sample_keeps_its_blocks(samples, tmp_path, fmt):
    source = samples / "schematics" / "schem" / "trefoil.schem"
    result = run("cut", source, "--axis", "x", "--at", "30", "-o", tmp_path, "--format", fmt)
    assert result.exit_code == 0, result.output
    whole = formats.load(source).state_array()
    parts = [formats.load(tmp_path / f"trefoil_part{i}.{fmt}").state_array() for i in range(2)]
    assert (parts[0][:30] == whole[:30]).all() and (parts[1][30:] == whole[30:]).all()


def test_a_structure_claiming_an_old_data_version_is_written_with_a_modern_one(tmp_path):
    grid = np.array([[["minecraft:stone_stairs[facing=east,half=bottom,shape=straight,waterlogged=false]",
                       "minecraft:white_glazed_terracotta[facing=north]"]]], dtype=object)
    s = Structure.from_states(grid, data_version=1343)
    for target, opts in WRITERS:
        back = formats.load(formats.save(s, tmp_path / target, **opts))
        assert back.same_blocks(s), target
        assert back.data_version == 3700, target


# --- item 2: what a writer writes, voxgen reads back ----------------------------

def nested(depth: int) -> nbtlib.Compound:
    tag = nbtlib.Compound({"leaf": nbtlib.Int(1)})
    for _ in range(depth - 1):
        tag = nbtlib.Compound({"a": tag})
    return tag


def deep_nbt(path, depth: int):
    root = nbtlib.Compound({
        "DataVersion": nbtlib.Int(3700), "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(1)] * 3),
        "palette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": nbtlib.String("minecraft:chest")})]),
        "blocks": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({
            "pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(0)] * 3), "state": nbtlib.Int(0),
            "nbt": nbtlib.Compound({"id": nbtlib.String("minecraft:chest"), "deep": nested(depth)})})]),
        "entities": nbtlib.List[nbtlib.Compound]([]),
    })
    nbt_io.write_nbt(path, root)
    return path


def test_a_deep_block_entity_is_refused_by_the_sponge_v3_writer_not_by_its_reader(tmp_path):
    source = deep_nbt(tmp_path / "deep95.nbt", 95)
    assert run("info", source).exit_code == 0
    result = run("convert", source, tmp_path / "deep95.schem")
    assert result.exit_code == 2 and "nest" in result.output and "deep95.schem" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "deep95.schem").exists()
    result = run("cut", source, "--axis", "x", "--at", "1", "-o", tmp_path / "parts", "--format", "schem")
    assert result.exit_code == 2 and not (tmp_path / "parts").exists()
    for target in ("v2.schem", "d.litematic", "e.toml", "f.nbt"):
        opts = ["--schem-version", "2"] if target == "v2.schem" else []
        assert run("convert", source, tmp_path / target, *opts).exit_code == 0, target
        assert formats.load(tmp_path / target).block_entities == formats.load(source).block_entities


@pytest.mark.parametrize("target,opts", WRITERS)
def test_every_writer_refuses_or_writes_what_voxgen_reads(tmp_path, target, opts):
    s = Structure.from_states(np.array([[["minecraft:chest[facing=north,type=single,waterlogged=false]"]]],
                                       dtype=object))
    outcomes = set()
    for depth in range(92, 102):
        s.block_entities = {(0, 0, 0): nbtlib.Compound({"id": nbtlib.String("minecraft:chest"),
                                                        "deep": nested(depth)})}
        path = tmp_path / f"{depth}{target}"
        try:
            formats.save(s, path, **opts)
        except VoxgenError as err:
            assert "nest" in str(err) and "deep" in str(err) and not path.exists()
            outcomes.add("refused")
            continue
        assert formats.load(path).block_entities == s.block_entities, depth
        outcomes.add("read back")
    assert outcomes == {"refused", "read back"}


def test_sponge_v3_writer_refuses_more_tags_than_voxgen_reads(tmp_path, monkeypatch):
    from voxgen.formats import nbt_walk

    s = Structure.from_states(np.array([[["minecraft:stone"]]], dtype=object))
    s.entities = [nbtlib.Compound({"id": nbtlib.String("minecraft:pig"),
                                   "Pos": nbtlib.List[nbtlib.Double]([nbtlib.Double(0.5)] * 3),
                                   "junk": nbtlib.List[nbtlib.Int]([nbtlib.Int(1)] * 200)})]
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", 150)
    with pytest.raises(VoxgenError, match="NBT tags"):
        formats.save(s, tmp_path / "many.schem")
    assert not (tmp_path / "many.schem").exists()


# --- item 6: limits refused early, and named ------------------------------------

def test_cut_refuses_an_oversized_schematic_from_its_header(tmp_path):
    import tracemalloc

    x, y, z = 257, 256, 256                                  # 1 cell over cut's 16.7 M: all air
    body = nbtlib.Compound({
        "Version": nbtlib.Int(2), "DataVersion": nbtlib.Int(3700), "Width": nbtlib.Short(x),
        "Height": nbtlib.Short(y), "Length": nbtlib.Short(z), "PaletteMax": nbtlib.Int(1),
        "Palette": nbtlib.Compound({"minecraft:air": nbtlib.Int(0)}),
        "BlockData": nbtlib.ByteArray(np.zeros(x * y * z, dtype=np.int8)),
    })
    nbt_io.write_nbt(tmp_path / "big.schem", body, root_name="Schematic")
    del body
    tracemalloc.start()
    try:
        result = run("cut", tmp_path / "big.schem", "-o", tmp_path / "parts", "--format", "schem")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2 and "too large to cut: 257x256x256" in result.output
    assert "limit 16,777,216" in result.output
    assert peak < 200 * 2**20, peak      # the file and its NBT (~115 MB), not its cells decoded (0.6 GB)


@pytest.mark.parametrize("name,words", [("big.toml", "text blueprint"), ("big.snbt", "SNBT file")])
def test_text_size_refusals_name_the_limit(tmp_path, monkeypatch, name, words):
    # imported before formats.MAX_TEXT_BYTES is patched: imported after, the first
    # time, they bound the patched 100 as their own and kept it for the session
    from voxgen.formats import snbt, text

    monkeypatch.setattr(formats, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 100)
    monkeypatch.setattr(snbt, "MAX_TEXT_BYTES", 100)
    path = tmp_path / name
    path.write_text(("[palette]\n" if name.endswith(".toml") else "{size: [1, 1, 1]}") + " " * 200)
    loader = text.load if name.endswith(".toml") else snbt.load
    with pytest.raises(VoxgenError) as err:
        loader(path)
    assert words in str(err.value) and "(100 bytes)" in str(err.value)


def test_text_writer_refuses_what_its_reader_would(tmp_path, monkeypatch):
    from voxgen.formats import text

    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 200)
    s = Structure.from_states(np.full((20, 4, 20), "minecraft:stone", dtype=object))
    with pytest.raises(VoxgenError, match="larger than voxgen reads"):
        formats.save(s, tmp_path / "big.toml")
    assert not (tmp_path / "big.toml").exists()
