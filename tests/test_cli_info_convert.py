"""`voxgen info` and `voxgen convert` through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_info_json_keys_and_counts(samples):
    result = run("info", samples / "schematics" / "litematic" / "Lite.litematic", "--json")
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)
    assert facts["format"] == "litematic" and facts["version"] == 5
    assert facts["size"] == [29, 14, 1]
    assert facts["blocks"] == 122 and facts["void"] == 123
    assert facts["air"] == 29 * 14 - 122 - 123
    assert facts["data_version"] == 2586
    assert facts["states"] == len(facts["palette"]) == len(facts["counts"])
    assert sum(facts["counts"].values()) == 29 * 14 - 123


def test_info_counts_cave_air_as_air(samples):
    facts = json.loads(run("info", samples / "schematics" / "schem" / "2x2_chunk_vert.schem", "--json").output)
    assert "minecraft:cave_air" in facts["palette"]
    assert facts["blocks"] == 101763 and facts["states"] == 82


def test_info_text(samples):
    result = run("info", samples / "schematics" / "schem" / "Evaluator.schem")
    assert result.exit_code == 0
    assert "Sponge schematic (sponge) v2" in result.output
    assert "25 x 27 x 37" in result.output and "5957 non-air" in result.output


@pytest.mark.parametrize("args", [("info", "missing.schem"), ("info", "."),
                                  ("convert", "missing.schem", "out.litematic")])
def test_missing_or_directory_is_exit_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "error" in result.output
    assert not (tmp_path / "out.litematic").exists()


@pytest.mark.parametrize("ext,version", [(".schem", None), (".schem", "2"), (".litematic", None),
                                         (".toml", None)])
def test_convert_round_trip(samples, tmp_path, ext, version):
    src = samples / "schematics" / "litematic" / "4x4_sliding_door.litematic"
    out = tmp_path / f"door{ext}"
    args = ["convert", src, out] + (["--schem-version", version] if version else [])
    result = run(*args)
    assert result.exit_code == 0, result.output
    a, b = formats.load(src), formats.load(out)
    assert b.same_blocks(a) and set(b.palette) == set(a.palette)
    if version:
        assert b.metadata["format_version"] == int(version)


def test_convert_refuses_bad_targets(samples, tmp_path):
    src = samples / "schematics" / "schem" / "trefoil.schem"
    for args in (["convert", src, tmp_path / "x.obj"],
                 ["convert", src, tmp_path / "x.litematic", "--schem-version", "2"],
                 ["convert", src, tmp_path / "no" / "dir.schem"]):
        result = run(*args)
        assert result.exit_code == 2 and result.output.startswith("voxgen: error:")
    assert list(tmp_path.iterdir()) == []


def test_convert_bad_input_writes_nothing(tmp_path):
    bad = tmp_path / "bad.schem"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03broken")
    result = run("convert", bad, tmp_path / "out.schem")
    assert result.exit_code == 2 and str(bad) in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.schem"]


@pytest.mark.parametrize("src", ["schem/trefoil.schem", "schem/ripple_carry_adder_4bit.schem",
                                 "litematic/Lite.litematic", "litematic/trencher.litematic",
                                 "mcstructure/dirt_house.mcstructure", "mcstructure/waterlogged.mcstructure"])
def test_every_writable_format_round_trips(samples, tmp_path, src):
    """blocks, void, palette and block entities survive .schem v2/v3, .litematic and .toml."""
    s = formats.load(samples / "schematics" / src)
    for name, opts in (("a.schem", {"version": 2}), ("b.schem", {"version": 3}),
                       ("c.litematic", {}), ("d.toml", {})):
        back = formats.load(formats.save(s, tmp_path / name, **opts))
        assert back.same_blocks(s), name
        assert set(back.palette) == {p for p, n in s.counts().items() if n} | {"minecraft:air"}, name
        assert back.block_entities == s.block_entities, name


def test_commands_take_a_bundled_blueprint_name_from_any_directory(tmp_path, monkeypatch):
    """info, simulate and export (like cut and view) take NAME for
    blueprints/NAME.toml, also where a folder of that name is in the way;
    a path to a folder is refused in one line."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "temple").mkdir()
    facts = json.loads(run("info", "temple", "--json").output)
    assert facts["size"] == [21, 20, 21] and facts["file"].endswith("blueprints/temple.toml")
    result = run("simulate", "flying_machine", "--ticks", "12", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["moved"]
    result = run("export", "cottage", "-o", tmp_path / "c.ply")
    assert result.exit_code == 0 and (tmp_path / "c.ply").stat().st_size > 1000
    for args in (["info", "./temple"], ["simulate", "no_such_blueprint"]):
        result = run(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "is a directory" in result.output or "no such file or bundled blueprint" in result.output
