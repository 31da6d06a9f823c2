"""What loading a large blueprint costs in memory, a cell at a time. A small
file may declare the most cells voxgen takes (64 M, a 400^3 box), so each
byte a cell is 64 MB there. Measured with tracemalloc, which sees numpy's
arrays: at 200^3, before the loaders took no int64 copies of the cells,
Sponge took 17, legacy 26 and Litematica 22 bytes a cell; now 9.5-11 (the
file's decoded indices and the Structure's int32 blocks, 8, and the rest)."""

import tracemalloc

import nbtlib
import numpy as np
import pytest
from nbtlib import ByteArray, Compound, Int, Short, String

from voxgen import formats
from voxgen.structure import Structure, entry_counts, looked_up, used_entries

N = 160                                     # 4 M cells: a few seconds for all three


def sponge(path):
    nbtlib.File(Compound({
        "Version": Int(2), "DataVersion": Int(3465), "Width": Short(N), "Height": Short(N), "Length": Short(N),
        "PaletteMax": Int(2), "Palette": Compound({"minecraft:air": Int(0), "minecraft:stone": Int(1)}),
        "BlockData": ByteArray(np.tile(np.array([0, 1], np.int8), N ** 3 // 2))}), root_name="Schematic").save(path)


def legacy(path):
    nbtlib.File(Compound({
        "Width": Short(N), "Height": Short(N), "Length": Short(N), "Materials": String("Alpha"),
        "Blocks": ByteArray(np.tile(np.array([0, 1], np.int8), N ** 3 // 2)),
        "Data": ByteArray(np.zeros(N ** 3, np.int8))}), root_name="Schematic").save(path)


def litematic(path):
    sponge(path.with_suffix(".schem"))
    formats.save(formats.load(path.with_suffix(".schem")), path)


@pytest.mark.parametrize("suffix, write", [(".schem", sponge), (".schematic", legacy), (".litematic", litematic)])
def test_loading_takes_at_most_14_bytes_a_cell(tmp_path, suffix, write):
    path = tmp_path / f"big{suffix}"
    write(path)
    formats.load(path)                      # imports and compiles outside the measurement
    tracemalloc.start()
    try:
        structure = formats.load(path)
        counts = structure.counts()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts["minecraft:stone"] == N ** 3 // 2 and structure.blocks.flags.c_contiguous
    assert peak / N ** 3 < 14, f"{peak / N ** 3:.1f} bytes a cell"


def test_the_index_helpers_agree_with_numpy_and_copy_no_cells():
    rng = np.random.default_rng(0)
    flat = rng.integers(0, 9, 48 * 40 * 50).astype(np.int32)
    view = flat.reshape(40, 50, 48).transpose(2, 0, 1)         # a file's (Y, Z, X) seen as (X, Y, Z)
    table = rng.integers(0, 100, 9).astype(np.int16)
    assert np.array_equal(used_entries(view, 12), np.bincount(view.ravel(), minlength=12) > 0)
    assert np.array_equal(entry_counts(view, 12), np.bincount(view.ravel(), minlength=12))
    out = looked_up(table, view)
    assert np.array_equal(out, table[view]) and out.flags.c_contiguous and out.dtype == np.int16
    big = np.zeros((200, 200, 200), np.int32)
    tracemalloc.start()
    try:
        used_entries(big, 2)
        entry_counts(big, 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * big.nbytes          # np.bincount alone copies the cells to int64: 2x


def test_counts_leave_void_cells_out():
    blocks = np.array([[[0, 1], [1, 1]]], np.int32)
    s = Structure(blocks, ("minecraft:air", "minecraft:stone"), void=np.array([[[True, False], [False, True]]]))
    assert s.counts() == {"minecraft:air": 0, "minecraft:stone": 2}
