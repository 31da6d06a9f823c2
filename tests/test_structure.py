import numpy as np
import pytest

from voxgen.structure import Structure


def small():
    states = np.full((3, 2, 4), "minecraft:air", dtype=object)
    states[0, 0, 0] = "minecraft:stone"
    states[2, 1, 3] = "minecraft:oak_log[axis=x]"
    states[1, 0, 2] = None
    return Structure.from_states(states)


def test_from_states_puts_air_first_and_keeps_void():
    s = small()
    assert s.palette[0] == "minecraft:air"
    assert s.state_at(0, 0, 0) == "minecraft:stone"
    assert s.state_at(1, 0, 2) is None
    assert s.count_non_air() == 2


def test_cut_along_puts_every_cell_in_exactly_one_part():
    s = small()
    a, b = s.cut_along("x", 1)
    assert a.count_non_air() + b.count_non_air() == s.count_non_air()
    assert a.state_at(0, 0, 0) == "minecraft:stone" and b.state_at(0, 0, 0) == "minecraft:air"
    with pytest.raises(ValueError):
        s.cut_along("x", 9)


def test_crop_pad_translate():
    s = small()
    t = s.trimmed()
    assert t.shape == (3, 2, 4)
    p = s.pad(2)
    assert p.shape == (7, 6, 8) and p.origin == (-2, -2, -2)
    assert p.state_at(2, 2, 2) == "minecraft:stone"
    m = s.translate((1, 0, 0))
    assert m.state_at(1, 0, 0) == "minecraft:stone" and m.state_at(0, 0, 0) == "minecraft:air"


def test_compacted_drops_unused_entries():
    s = small().masked(np.zeros((3, 2, 4), bool))
    assert s.compacted().palette == ("minecraft:air",)
