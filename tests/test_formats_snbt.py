"""Structure SNBT reader: the real-game gametest structures and bad input."""

import pytest

from voxgen.errors import VoxgenError
from voxgen.formats import snbt
from voxgen.formats.sniff import sniff_format


def test_every_physics_sample_structure_loads(samples):
    paths = sorted((samples / "physics" / "structures").glob("*.snbt"))
    assert paths
    for path in paths:
        s = snbt.load(path)
        assert s.data_version == 4903
        assert s.palette[0] == "minecraft:air"
        assert s.count_non_air() > 0


def test_flying_machine_cells_and_sorted_properties(samples):
    s = snbt.load(samples / "physics" / "structures" / "flying_machine_east.snbt")
    assert s.shape == (30, 1, 2)
    assert s.state_at(1, 0, 0) == "minecraft:observer[facing=west,powered=false]"
    assert s.state_at(3, 0, 0) == "minecraft:sticky_piston[extended=false,facing=west]"
    assert s.state_at(4, 0, 1) == "minecraft:observer[facing=east,powered=false]"
    assert s.state_at(0, 0, 0) == "minecraft:air"   # unlisted cells are air, not void
    assert s.void is None
    assert s.count_non_air() == 6


def test_duplicate_position_takes_the_last_entry(tmp_path):
    path = tmp_path / "dup.snbt"
    path.write_text('{DataVersion: 1, size: [2, 1, 1], palette: [{Name: "minecraft:stone"}, '
                    '{Name: "minecraft:slime_block"}], blocks: [{pos: [0, 0, 0], state: 0}, '
                    '{pos: [0, 0, 0], state: 1}], entities: []}')
    assert sniff_format(path) == "snbt"
    s = snbt.load(path)
    assert s.state_at(0, 0, 0) == "minecraft:slime_block"
    assert s.state_at(1, 0, 0) == "minecraft:air"


def test_block_entity_nbt_is_kept(tmp_path):
    path = tmp_path / "chest.snbt"
    path.write_text('{size: [1, 1, 1], palette: [{Name: "chest", Properties: {facing: "north"}}], '
                    'blocks: [{pos: [0, 0, 0], state: 0, nbt: {id: "minecraft:chest"}}]}')
    s = snbt.load(path)
    assert s.state_at(0, 0, 0) == "minecraft:chest[facing=north]"
    assert str(s.block_entities[(0, 0, 0)]["id"]) == "minecraft:chest"


@pytest.mark.parametrize("text, words", [
    ("{size: [1, 1", "not valid SNBT"),
    ("{palette: [], blocks: []}", "no 'size'"),
    ('{size: [1, 1, 1], palette: [{Name: "stone"}], blocks: [{pos: [1, 0, 0], state: 0}]}', "outside size"),
    ('{size: [1, 1, 1], palette: [{Name: "stone"}], blocks: [{pos: [0, 0, 0], state: 3}]}', "palette index"),
    ('{size: [1, 1, 1], palette: [{Nom: "stone"}], blocks: []}', "no 'Name'"),
    ('{size: [1, 1], palette: [], blocks: []}', "3 integers"),
    ('{size: [-1, 1, 1], palette: [], blocks: []}', "not positive"),
    ('{size: [1, 1, 1], palette: [{Name: "Bad Name!"}], blocks: []}', "palette[0]"),
])
def test_bad_input_is_a_one_line_voxgen_error(tmp_path, text, words):
    path = tmp_path / "bad.snbt"
    path.write_text(text)
    with pytest.raises(VoxgenError) as err:
        snbt.load(path)
    assert words in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_dispatching_load_reads_snbt_more_than_once(samples):
    """formats.load sniffs the content; a second call must work too."""
    from voxgen.formats import load
    for name in ("piston_qc", "slime_drag"):
        s = load(samples / "physics" / "structures" / f"{name}.snbt")
        assert s.metadata["format"] == "snbt"
