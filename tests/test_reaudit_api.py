"""The Python library's edges: Structure equality and copies, arguments
refused rather than truncated or wrapped, a regeneration window or step
count that could not end, simulate's argument errors, a structure of no
cells, and the caller's torch thread count kept."""

import subprocess
import sys
import time

import numpy as np
import pytest

import voxgen
from voxgen.errors import ParameterError, VoxgenError
from voxgen.structure import Structure


def _two_stones() -> Structure:
    return Structure(np.array([[[1, 0]], [[0, 1]]]), ("minecraft:air", "minecraft:stone"),
                     void=np.array([[[False, True]], [[False, False]]]), metadata={"k": 1})


def test_structures_compare_as_objects_without_raising():
    a, b = _two_stones(), _two_stones()
    assert a == a and a != b and b not in [a] and [a, b].index(b) == 1
    assert a.same_blocks(b)                        # contents are compared so
    assert len({a, b}) == 2


def test_a_derived_structure_shares_nothing_with_its_source():
    a = _two_stones()
    a.block_entities[(0, 0, 0)] = {"id": "x"}
    for part in (*a.cut_along("x", 1), a.crop((0, 0, 0), (2, 1, 2)), a.compacted(), a.pad(1),
                 a.translate((0, 0, 0)), a.trimmed()):
        part.metadata["new"] = 2
        part.block_entities.clear()
        part.entities.append({"id": "y"})
        if part.void is not None:
            part.void[...] = False
    assert a.metadata == {"k": 1} and a.block_entities == {(0, 0, 0): {"id": "x"}} and a.entities == []
    assert a.void is not None and a.void.sum() == 1


@pytest.mark.parametrize("offset, error", [((1.7, 0, 0), TypeError), ((True, 0, 0), TypeError),
                                           ((1, 0), ValueError), ((0, 0, 0, 5), ValueError)])
def test_translate_refuses_what_it_would_truncate_or_misread(offset, error):
    with pytest.raises(error):
        _two_stones().translate(offset)


@pytest.mark.parametrize("indices, error", [([[[-1, 1]]], ValueError), ([[[0, 1.9]]], TypeError),
                                            ([[[0, 3]]], ValueError)])
def test_from_indices_refuses_what_it_would_wrap_or_truncate(indices, error):
    with pytest.raises(error):
        Structure.from_indices(np.array(indices), ["minecraft:air", "minecraft:stone", "minecraft:dirt"])


def test_a_huge_comparison_window_is_the_grids_own():
    from voxgen.metrics import compare

    grown = _two_stones()
    target = grown.translate((1, 0, 0))
    start = time.perf_counter()
    wide = compare(grown, target, translate=True, window=10 ** 6)
    assert time.perf_counter() - start < 30          # (10**6 had taken all memory)
    assert wide == compare(grown, target, translate=True, window=2)


def test_regenerate_refuses_steps_and_radii_past_their_limits():
    trained = voxgen.load_trained("caterpillar")
    with pytest.raises(ParameterError, match="steps=10000000: must be <= 40000"):
        voxgen.regenerate(trained, trials=1, steps=10 ** 7)
    with pytest.raises(ParameterError, match="radius"):
        voxgen.regenerate(trained, trials=1, damage="sphere", radius=1e308)


@pytest.mark.parametrize("args, kwargs, name", [((10, None), {}, "placements"),
                                               ((10,), {"placement": "bogus"}, "placement"),
                                               ((10,), {"version": "bogus"}, "version"),
                                               ((10 ** 6,), {"record_changes": True}, "ticks")])
def test_simulate_names_each_bad_argument(args, kwargs, name):
    machine = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    with pytest.raises(ParameterError, match=f"^{name}="):
        voxgen.simulate(machine, *args, **kwargs)


@pytest.mark.parametrize("suffix", [".schem", ".nbt", ".litematic", ".toml"])
def test_a_structure_of_no_cells_is_not_written(tmp_path, suffix):
    empty = _two_stones().crop((0, 0, 0), (0, 1, 2))
    with pytest.raises(VoxgenError, match="no cells"):
        voxgen.save(empty, tmp_path / f"e{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_the_callers_torch_thread_count_is_kept_by_the_first_kernels():
    """numba's thread pool, started by the first parallel kernel, had put
    torch's count back to the cores'. A fresh process: the pool starts once."""
    script = ("import torch, voxgen\ntorch.set_num_threads(1)\n"
              "fm = voxgen.load(voxgen.resolve_blueprint('flying_machine'))\n"
              "voxgen.simulate(fm, 10, voxgen.machine_spec(fm).start)\n"
              "voxgen.grow.grow(voxgen.load_trained('caterpillar'), steps=2)\n"
              "print(torch.get_num_threads())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1"]


@pytest.mark.parametrize("kwargs, name", [({"axis": "x"}, "axis"), ({"at": 3}, "at")])
def test_regenerate_refuses_a_cut_place_for_other_damage(kwargs, name):
    with pytest.raises(ParameterError, match=f"^{name}=.*does not use it"):
        voxgen.regenerate(voxgen.load_trained("caterpillar"), damage="sphere", trials=1, **kwargs)


def test_same_blocks_takes_a_structure_only():
    with pytest.raises(TypeError):
        _two_stones().same_blocks(None)
