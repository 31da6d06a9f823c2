"""Bad input of every kind: a one-line VoxgenError naming the file (exit code 2
in the CLI), never another exception, a hang, a huge allocation, or a file
written half-way. The mutation test feeds hundreds of damaged samples."""

import gzip
import random
import tracemalloc

import nbtlib
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io
from voxgen.formats.bitpack import pack
from voxgen.formats.varint import encode_varints


def expect_error(path, match=None):
    with pytest.raises(VoxgenError) as err:
        formats.load(path)
    text = str(err.value)
    assert str(path) in text and "\n" not in text
    if match:
        assert match in text, text
    return text


def schem_root(width=2, height=1, length=2, palette=None, cells=None):
    palette = palette or {"minecraft:air": 0, "minecraft:stone": 1}
    cells = np.zeros(width * height * length, np.int64) if cells is None else np.asarray(cells)
    return nbtlib.Compound({
        "Version": nbtlib.Int(2), "DataVersion": nbtlib.Int(3700),
        "Width": nbtlib.Short(width), "Height": nbtlib.Short(height), "Length": nbtlib.Short(length),
        "PaletteMax": nbtlib.Int(len(palette)),
        "Palette": nbtlib.Compound({k: nbtlib.Int(v) for k, v in palette.items()}),
        "BlockData": nbtlib.ByteArray(encode_varints(cells).view(np.int8)),
    })


def write_schem(tmp_path, root, name="bad.schem"):
    path = tmp_path / name
    nbt_io.write_nbt(path, root, root_name="Schematic")
    return path


def test_good_schem_helper_loads(tmp_path):
    assert formats.load(write_schem(tmp_path, schem_root(cells=[1, 0, 0, 1]))).count_non_air() == 2


@pytest.mark.parametrize("change,match", [
    (lambda r: r.__setitem__("Width", nbtlib.Int(2)), "expected Short"),
    (lambda r: r.pop("Palette"), "missing tag 'Palette'"),
    (lambda r: r.pop("BlockData"), "missing tag 'BlockData'"),
    (lambda r: r.__setitem__("Width", nbtlib.Short(0)), "not positive"),
    (lambda r: r.__setitem__("BlockData", nbtlib.ByteArray(encode_varints([0, 5, 0, 0]).view(np.int8))),
     "out of range"),
    (lambda r: r.__setitem__("BlockData", nbtlib.ByteArray(np.array([0x80] * 6 + [1, 0, 0], np.uint8).view(np.int8))),
     "overflow"),
    (lambda r: r.__setitem__("BlockData", nbtlib.ByteArray(np.array([0, 0, 0, 0, 0], np.int8))),
     "after the last value"),
    (lambda r: r.__setitem__("Palette", nbtlib.Compound({"minecraft:air": nbtlib.Int(0),
                                                          "minecraft:stone[facing=": nbtlib.Int(1)})),
     "malformed"),
    (lambda r: r.__setitem__("Version", nbtlib.Int(9)), "version 9"),
])
def test_schem_defects(tmp_path, change, match):
    root = schem_root(cells=[1, 1, 0, 1])
    change(root)
    expect_error(write_schem(tmp_path, root), match)


def test_unknown_block_ids_are_kept(tmp_path):
    root = schem_root(palette={"minecraft:air": 0, "somemod:gizmo[charge=3]": 1}, cells=[1, 0, 0, 0])
    assert formats.load(write_schem(tmp_path, root)).state_at(0, 0, 0) == "somemod:gizmo[charge=3]"


def test_absurd_declared_sizes_are_refused_before_allocating(tmp_path):
    big = schem_root()
    big.update(Width=nbtlib.Short(-1), Height=nbtlib.Short(-1), Length=nbtlib.Short(-1))  # 65535^3
    fits = schem_root()
    fits.update(Width=nbtlib.Short(1000), Height=nbtlib.Short(1000), Length=nbtlib.Short(60))
    region = nbtlib.Compound({
        "Position": nbtlib.Compound({a: nbtlib.Int(0) for a in "xyz"}),
        "Size": nbtlib.Compound({"x": nbtlib.Int(-60000), "y": nbtlib.Int(60000), "z": nbtlib.Int(3)}),
        "BlockStatePalette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": nbtlib.String("minecraft:air")})]),
        "BlockStates": nbtlib.LongArray(pack(np.zeros(4), 2)),
    })
    lite = nbtlib.Compound({"Version": nbtlib.Int(6), "MinecraftDataVersion": nbtlib.Int(3700),
                            "Regions": nbtlib.Compound({"r": region})})
    paths = [write_schem(tmp_path, big, "big.schem"), write_schem(tmp_path, fits, "fits.schem")]
    nbt_io.write_nbt(tmp_path / "big.litematic", lite)
    paths.append(tmp_path / "big.litematic")
    region["Size"] = nbtlib.Compound({"x": nbtlib.Int(100), "y": nbtlib.Int(100), "z": nbtlib.Int(100)})
    nbt_io.write_nbt(tmp_path / "short.litematic", lite)
    paths.append(tmp_path / "short.litematic")
    tracemalloc.start()
    try:
        messages = [expect_error(p) for p in paths]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    assert "too large" in messages[0] and "bytes for" in messages[1]
    assert "too large" in messages[2] and "longs" in messages[3]


def test_negative_and_zero_sizes(tmp_path):
    region = nbtlib.Compound({
        "Position": nbtlib.Compound({a: nbtlib.Int(0) for a in "xyz"}),
        "Size": nbtlib.Compound({"x": nbtlib.Int(0), "y": nbtlib.Int(1), "z": nbtlib.Int(1)}),
        "BlockStatePalette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": nbtlib.String("minecraft:air")})]),
        "BlockStates": nbtlib.LongArray([0]),
    })
    nbt_io.write_nbt(tmp_path / "zero.litematic", nbtlib.Compound({
        "Version": nbtlib.Int(6), "Regions": nbtlib.Compound({"r": region})}))
    expect_error(tmp_path / "zero.litematic", "size")
    bedrock = nbtlib.Compound({"format_version": nbtlib.Int(1), "size": nbtlib.List[nbtlib.Int]([2, -1, 1]),
                               "structure": nbtlib.Compound()})
    nbt_io.write_nbt(tmp_path / "neg.mcstructure", bedrock, gzipped=False, byteorder="little")
    expect_error(tmp_path / "neg.mcstructure", "not positive")


def test_litematic_index_out_of_range(tmp_path):
    region = nbtlib.Compound({
        "Position": nbtlib.Compound({a: nbtlib.Int(0) for a in "xyz"}),
        "Size": nbtlib.Compound({"x": nbtlib.Int(2), "y": nbtlib.Int(1), "z": nbtlib.Int(1)}),
        "BlockStatePalette": nbtlib.List[nbtlib.Compound]([nbtlib.Compound({"Name": nbtlib.String("minecraft:air")})]),
        "BlockStates": nbtlib.LongArray(pack(np.array([0, 3]), 2)),
    })
    nbt_io.write_nbt(tmp_path / "idx.litematic", nbtlib.Compound({
        "Version": nbtlib.Int(6), "Regions": nbtlib.Compound({"r": region})}))
    expect_error(tmp_path / "idx.litematic", "out of range")


def test_gzip_and_nbt_damage(tmp_path, samples):
    raw = (samples / "schematics" / "schem" / "smallhouse1.schem").read_bytes()
    payload = gzip.decompress(raw)
    cases = {
        "truncated_gzip.schem": raw[: len(raw) // 2],
        "bad_gzip.schem": raw[:10] + bytes(b ^ 0x55 for b in raw[10:40]) + raw[40:],
        "truncated_nbt.schem": gzip.compress(payload[: len(payload) // 3]),
        "end_list.schem": gzip.compress(b"\x0a\x00\x09Schematic\x09\x00\x01L\x00\x7f\xff\xff\xff\x00"),
        "bad_tag.schem": gzip.compress(b"\x0a\x00\x00\x03\x00\x07Version\x00\x00\x00\x02\x0f\x00\x01q\x00"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        expect_error(tmp_path / name)


def test_missing_path_and_directory(tmp_path):
    expect_error(tmp_path / "nope.schem", "no such file")
    expect_error(tmp_path, "directory")


def mutations(data: bytes, rng: random.Random, count: int):
    """`count` damaged copies of `data`: truncations, bit flips, byte shuffles."""
    for i in range(count):
        kind = i % 4
        if kind == 0:
            yield data[: rng.randrange(len(data))]
            continue
        b = bytearray(data)
        if kind == 1:
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif kind == 2:
            at, n = rng.randrange(len(b)), rng.randint(2, 64)
            piece = b[at:at + n]
            rng.shuffle(piece)
            b[at:at + n] = piece
        else:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.choice([0, 0x7F, 0x80, 0xFF])
        yield bytes(b)


FUZZ_FILES = [
    "schematics/schem/smallhouse1.schem", "schematics/schem/1_20_1_read_fail.schem",
    "schematics/schem/Evaluator.schem", "schematics/schem/ripple_carry_adder_4bit.schem",
    "schematics/litematic/wool_palette.litematic", "schematics/litematic/Lite.litematic",
    "schematics/litematic/4x4_sliding_door.litematic", "schematics/litematic/trencher.litematic",
    "schematics/mcstructure/dirt_house.mcstructure", "schematics/mcstructure/waterlogged.mcstructure",
    "schematics/nbt/cabin.nbt", "schematics/nbt/warped_tree_05.nbt", "anchor-nca/caterpillar_short.nbt",
    "anchor-nca/fontaine1-1558127552.nbt", "schematics/schematic/viking-house1.schematic",
    "schematics/schematic/house.schematic",
]


@pytest.mark.parametrize("name", FUZZ_FILES)
def test_mutated_samples_fail_cleanly(samples, tmp_path, name):
    source = samples / name
    raw = source.read_bytes()
    gzipped = raw[:2] == b"\x1f\x8b"
    payload = gzip.decompress(raw) if gzipped else raw
    rng = random.Random(f"voxgen-{name}")
    damaged = [(gzip.compress(d, mtime=0) if gzipped else d) for d in mutations(payload, rng, 36)]
    damaged += list(mutations(raw, rng, 8)) if gzipped else []
    for n, data in enumerate(damaged):
        path = tmp_path / f"m{n}{source.suffix}"
        path.write_bytes(data)
        try:
            structure = formats.load(path)
        except VoxgenError as err:
            assert "\n" not in str(err) and str(path) in str(err)
            continue
        # a mutation may still be a valid file: it must then be a sane Structure
        assert structure.blocks.ndim == 3 and structure.palette[0] == "minecraft:air"


def test_cli_reports_mutations_with_exit_2(samples, tmp_path):
    raw = (samples / "schematics" / "litematic" / "Lite.litematic").read_bytes()
    runner = CliRunner()
    rng = random.Random(5)
    failures = 0
    for n, data in enumerate(mutations(gzip.decompress(raw), rng, 24)):
        src = tmp_path / f"m{n}.litematic"
        src.write_bytes(gzip.compress(data))
        out = tmp_path / f"out{n}.schem"
        result = runner.invoke(main, ["convert", str(src), str(out)])
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            failures += 1
            assert result.output.startswith("voxgen: error:") and result.output.count("\n") == 1
            assert not out.exists()
        else:
            assert out.exists()
        info = runner.invoke(main, ["info", str(src)])
        assert info.exit_code == result.exit_code
    assert failures > 5


def test_damaged_large_file_through_the_fast_path(samples, tmp_path):
    raw = (samples / "schematics" / "schem" / "large_schematic.schem").read_bytes()
    payload = gzip.decompress(raw)
    rng = random.Random(9)
    cases = [payload[: len(payload) - 1000], payload[: len(payload) // 2]]
    flipped = bytearray(payload)
    for _ in range(20):
        flipped[rng.randrange(200, 4000)] ^= 0xFF      # the header and palette region
    cases.append(bytes(flipped))
    for n, data in enumerate(cases):
        path = tmp_path / f"large{n}.schem"
        path.write_bytes(data)     # uncompressed: sniffing must still work
        try:
            formats.load(path, block_entities=False)
        except VoxgenError as err:
            assert "\n" not in str(err)


def test_compiled_validator_agrees_with_python_walk(samples):
    """The numba NBT validator (large payloads) and the Python walk (small
    ones, its slow twin) accept and refuse the same damaged payloads."""
    from voxgen.formats import nbt_walk
    from voxgen.formats._nbt_kernel import validate as compiled

    rng = random.Random(17)
    checked = 0
    for name in FUZZ_FILES[:10]:
        data, _ = nbt_io.read_bytes(samples / name)
        order = "little" if name.endswith(".mcstructure") else "big"
        for damaged in [data] + list(mutations(data, rng, 30)):
            try:
                mark = ">" if order == "big" else "<"
                if nbt_walk.byte(damaged, 0) != 10:
                    raise ValueError("not a compound")
                nbt_walk.skip(damaged, 3 + nbt_walk.u16(damaged, 1, mark), 10, mark, 0)
                python_ok = True
            except (nbt_walk.Truncated, ValueError):
                python_ok = False
            assert (compiled(np.frombuffer(damaged, np.uint8), order == "little") == 0) == python_ok
            checked += 1
    assert checked > 300



@pytest.mark.parametrize("args", [
    ["cut", "blueprints/tree.toml", "--axis", "x", "--at", "3", "-o", "{bad}"],
    ["grow", "flying_machine", "--steps", "2", "--frames", "{bad}"],
    ["train", "structures/flying_machine.toml", "--iterations", "1", "--out", "{bad}"],
])
def test_output_folder_that_cannot_be_made(tmp_path, args):
    """A folder to write into whose parent is a file: one line naming it, exit 2."""
    (tmp_path / "file").write_text("x")
    bad = tmp_path / "file" / "sub"
    result = CliRunner().invoke(main, [a.replace("{bad}", str(bad)) for a in args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"voxgen: error: {bad}: cannot create directory")
    assert result.output.count("\n") == 1


def test_options_that_would_fill_the_disk_or_memory_are_refused(tmp_path):
    """grow --frames writes a file a step and view --reveal holds every frame
    at once: a mistyped count is one line and exit 2, before anything is
    written (the frames folder is not made)."""
    frames = tmp_path / "frames"
    result = CliRunner().invoke(main, ["grow", "flying_machine", "--steps", "10001", "--frames", str(frames)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"voxgen: error: {frames}: --frames writes a file a step: at most 10,000")
    assert result.output.count("\n") == 1 and not frames.exists()
    result = CliRunner().invoke(main, ["view", "blueprints/tree.toml", "--reveal", "1001"])
    assert result.exit_code == 2 and "1001 is not in the range 2<=x<=1000" in result.output


def test_os_errors_are_one_line(tmp_path, monkeypatch):
    """The machine's trouble (here a refused write) is reported, not a traceback."""
    def refuse(structure, path, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(formats, "save", refuse)
    out = tmp_path / "tree.schem"
    result = CliRunner().invoke(main, ["convert", "blueprints/tree.toml", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == f"voxgen: error: {out}: Permission denied\n"


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`voxgen simulate ... --trace | head -1`: no error line, no traceback."""
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "voxgen", "simulate", "flying_machine", "--ticks", "3000",
                             "--trace"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()                       # as head does after its first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.startswith(b"tick")
    assert err == "" and proc.returncode == 1
