"""Sniffing decides by content, never by the file name."""

import gzip
import shutil

import pytest

from voxgen import formats
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io

KINDS = {"schem": "sponge", "litematic": "litematic", "mcstructure": "mcstructure",
         "nbt": "structure", "schematic": "legacy"}


@pytest.mark.parametrize("folder", sorted(KINDS))
def test_every_sample_is_recognised(samples, folder):
    files = sorted((samples / "schematics" / folder).glob(f"*.{folder}"))
    assert files
    for path in files:
        assert formats.sniff(path) == KINDS[folder], path.name


def test_anchor_structures_are_recognised(samples):
    for path in sorted((samples / "anchor-nca").rglob("*.nbt"))[:20]:
        assert formats.sniff(path) == "structure", path.name


@pytest.mark.parametrize("src,fmt", [("schem/Evaluator.schem", "sponge"),
                                     ("litematic/Lite.litematic", "litematic"),
                                     ("mcstructure/waterlogged.mcstructure", "mcstructure")])
def test_name_does_not_matter(samples, tmp_path, src, fmt):
    target = tmp_path / "misleading.toml"
    shutil.copy(samples / "schematics" / src, target)
    assert formats.sniff(target) == fmt


def test_raw_and_gzipped_nbt(samples, tmp_path):
    data, was_gzipped = nbt_io.read_bytes(samples / "schematics" / "schem" / "2x2_chunk_vert.schem")
    assert was_gzipped
    (tmp_path / "raw").write_bytes(data)
    (tmp_path / "again.gz").write_bytes(gzip.compress(data))
    assert formats.sniff(tmp_path / "raw") == formats.sniff(tmp_path / "again.gz") == "sponge"


def test_text_formats(tmp_path):
    (tmp_path / "a").write_text('[palette]\n"." = "minecraft:air"\n[layers]\ny0 = """\n.\n"""\n')
    (tmp_path / "b").write_text('  {DataVersion: 3700, size: [1, 1, 1]}')
    assert formats.sniff(tmp_path / "a") == "toml"
    assert formats.sniff(tmp_path / "b") == "snbt"


@pytest.mark.parametrize("content", [b"", b"hello world", b"\x0a\x00\x00\x00",
                                     b"\x1f\x8b\x08\x00garbage", gzip.compress(b"\x0a\x00\x00\x03\x00\x01xabcd\x00", mtime=0)])
def test_unreadable_content_is_a_clean_error(tmp_path, content):
    path = tmp_path / "thing.schem"
    path.write_bytes(content)
    with pytest.raises(VoxgenError) as err:
        formats.sniff(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_sniffing_then_loading_decompresses_once(samples, monkeypatch):
    path = samples / "schematics" / "schem" / "uss-texas.schem"
    calls = []
    real = nbt_io._read_bytes
    monkeypatch.setattr(nbt_io, "_read_bytes", lambda p: calls.append(p) or real(p))
    nbt_io._LAST_READ.clear()
    formats.load(path)
    assert len(calls) == 1
