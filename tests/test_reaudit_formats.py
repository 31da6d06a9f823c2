"""A 1.12 structure `.nbt` names both halves of a door or tall plant with
properties the game never read there: a door's lower half holds its facing
and open, the upper half its hinge and powered, and a plant's kind is its
lower half's. They are paired as the legacy `.schematic` reader pairs them."""

import nbtlib
import numpy as np

from voxgen import formats

def _state(name, **props):
    entry = nbtlib.Compound({"Name": nbtlib.String(name)})
    if props:
        entry["Properties"] = nbtlib.Compound({k: nbtlib.String(v) for k, v in props.items()})
    return entry

def _structure_112(path, cells):
    """A DataVersion 819 structure file of `cells`: {(x, y, z): state compound}."""
    palette = list({repr(s): s for s in cells.values()}.values())
    blocks = [nbtlib.Compound({"pos": nbtlib.List[nbtlib.Int]([nbtlib.Int(v) for v in pos]),
                               "state": nbtlib.Int(palette.index(state))}) for pos, state in cells.items()]
    size = [max(p[a] for p in cells) + 1 for a in range(3)]
    root = nbtlib.Compound({"DataVersion": nbtlib.Int(819),
                            "size": nbtlib.List[nbtlib.Int]([nbtlib.Int(v) for v in size]),
                            "palette": nbtlib.List[nbtlib.Compound](palette),
                            "blocks": nbtlib.List[nbtlib.Compound](blocks),
                            "entities": nbtlib.List[nbtlib.Compound]([])})
    nbtlib.File(root, gzipped=True).save(path)

def test_door_and_tall_plant_halves_of_a_112_structure_file_are_paired(tmp_path):
    door = dict(open="false", powered="false")
    cells = {(0, 0, 0): _state("minecraft:wooden_door", facing="south", half="lower", hinge="right", **door),
             (0, 1, 0): _state("minecraft:wooden_door", facing="east", half="upper", hinge="left", **door),
             (1, 0, 0): _state("minecraft:double_plant", half="lower", variant="double_fern", facing="north"),
             (1, 1, 0): _state("minecraft:double_plant", half="upper", variant="paeonia", facing="north"),
             (2, 0, 0): _state("minecraft:iron_door", facing="west", half="upper", hinge="left", **door),
             (2, 1, 0): _state("minecraft:stone")}
    _structure_112(tmp_path / "old.nbt", cells)
    s = formats.load(tmp_path / "old.nbt")
    assert s.state_at(0, 0, 0) == "minecraft:oak_door[facing=south,half=lower,hinge=left,open=false,powered=false]"
    assert s.state_at(0, 1, 0) == "minecraft:oak_door[facing=south,half=upper,hinge=left,open=false,powered=false]"
    assert s.state_at(1, 0, 0) == "minecraft:large_fern[half=lower]"
    assert s.state_at(1, 1, 0) == "minecraft:large_fern[half=upper]"
    assert s.state_at(2, 0, 0).startswith("minecraft:iron_door[facing=west,half=upper")   # no partner: as stored
    assert len(s.palette) == len(set(s.palette)) and np.all(s.blocks < len(s.palette))

def test_the_prior_works_village_doors_are_whole(samples):
    import nbtlib as nbt

    path = samples / "anchor-nca" / "village" / "plain_village_bighouse.nbt"
    assert int(nbt.load(path)["DataVersion"]) == 819
    s = formats.load(path)
    lower, upper = s.state_at(6, 1, 1), s.state_at(6, 2, 1)
    assert lower.replace("half=lower", "") == upper.replace("half=upper", "")     # one door


def test_a_sponge_block_entity_id_that_is_not_a_string_is_refused(tmp_path):
    from conftest import one_line_error, run

    run("convert", "cottage", tmp_path / "c.schem")
    root = nbtlib.load(tmp_path / "c.schem")
    body = root["Schematic"]
    body["Blocks"]["BlockEntities"] = nbtlib.List[nbtlib.Compound]([nbtlib.Compound({
        "Pos": nbtlib.IntArray([0, 0, 0]), "Id": nbtlib.Int(5), "Data": nbtlib.Compound()})])
    root.save(tmp_path / "bad.schem")
    one_line_error(run("info", tmp_path / "bad.schem"), "bad.schem", "Id is not a string tag (Int)")


def test_a_paste_offset_that_is_not_three_numbers_is_refused_when_writing(tmp_path):
    import pytest

    import voxgen
    from voxgen.errors import VoxgenError

    s = voxgen.load(voxgen.resolve_blueprint("flying_machine"))
    s.metadata["we_offset"] = [1, 2]
    with pytest.raises(VoxgenError, match="we_offset"):
        formats.save(s, tmp_path / "x.schem")
    assert list(tmp_path.iterdir()) == []
