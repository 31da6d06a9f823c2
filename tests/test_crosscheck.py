"""Files voxgen writes read back identically in independent readers
(litemapy for .litematic, mcschematic for Sponge v2 .schem), and files those
libraries write read correctly in voxgen."""

import numpy as np
import pytest

from voxgen import formats
from voxgen.blocks import canonical
from voxgen.structure import Structure

litemapy = pytest.importorskip("litemapy")
mcschematic = pytest.importorskip("mcschematic")


def litemapy_grid(path):
    """{(x, y, z) world position: canonical state} as litemapy sees the file;
    regions applied in file order (later ones win where they overlap)."""
    cells = {}
    for region in litemapy.Schematic.load(str(path)).regions.values():
        for x in region.range_x():
            for y in region.range_y():
                for z in region.range_z():
                    state = region[x, y, z].to_block_state_identifier()
                    cells[(region.x + x, region.y + y, region.z + z)] = canonical(state)
    return cells


def assert_same_as_litemapy(structure, path):
    cells = litemapy_grid(path)
    assert len(cells) == structure.blocks.size - (0 if structure.void is None else int(structure.void.sum()))
    ox, oy, oz = structure.origin if path.suffix == ".litematic" and structure.origin else (0, 0, 0)
    for (x, y, z), state in cells.items():
        assert structure.state_at(x - ox, y - oy, z - oz) == state, (x, y, z)


@pytest.mark.parametrize("name", ["Lite.litematic", "trencher.litematic", "quarry.litematic",
                                  "4x4_sliding_door.litematic", "wool_palette.litematic"])
def test_litematic_samples_agree_with_litemapy(samples, name):
    path = samples / "schematics" / "litematic" / name
    assert_same_as_litemapy(formats.load(path), path)


@pytest.mark.parametrize("src", ["schem/Evaluator.schem", "litematic/trencher.litematic",
                                 "mcstructure/dirt_house.mcstructure"])
def test_voxgen_litematic_reads_in_litemapy(samples, tmp_path, src):
    s = formats.load(samples / "schematics" / src)
    out = formats.save(s, tmp_path / "out.litematic")
    s.origin = (0, 0, 0)     # the written file's region sits at 0, 0, 0
    cells = litemapy_grid(out)
    assert len(cells) == s.blocks.size
    states = s.state_array()
    for (x, y, z), state in cells.items():
        want = states[x, y, z]
        assert state == ("minecraft:structure_void" if want is None else want)


def test_litemapy_written_file_reads_in_voxgen(tmp_path):
    region = litemapy.Region(0, 0, 0, -4, 3, 5)     # negative width, as litemapy allows
    stone = litemapy.BlockState("minecraft:stone")
    stairs = litemapy.BlockState("minecraft:oak_stairs", facing="east", half="bottom",
                                 shape="straight", waterlogged="false")
    rng = np.random.default_rng(11)
    for x in region.range_x():
        for y in region.range_y():
            for z in region.range_z():
                pick = rng.integers(3)
                if pick:
                    region[x, y, z] = stone if pick == 1 else stairs
    path = tmp_path / "lm.litematic"
    region.as_schematic(name="lm", author="test").save(str(path))
    s = formats.load(path)
    assert s.shape == (4, 3, 5)
    assert_same_as_litemapy(s, path)


def mcschematic_state(schem, pos):
    return canonical(schem.getBlockStateAt(pos))


@pytest.mark.parametrize("src", ["schem/smallhouse1.schem", "schem/Evaluator.schem",
                                 "litematic/4x4_sliding_door.litematic"])
def test_voxgen_schem_v2_reads_in_mcschematic(samples, tmp_path, src):
    s = formats.load(samples / "schematics" / src)
    s.metadata.pop("sponge_metadata", None)   # WEOffset 0: mcschematic positions = our indices
    out = formats.save(s, tmp_path / "out.schem", version=2)
    theirs = mcschematic.MCSchematic(str(out))
    states = s.state_array()
    for x, y, z in np.ndindex(*s.shape):
        assert mcschematic_state(theirs, (x, y, z)) == states[x, y, z], (x, y, z)


def test_mcschematic_written_file_reads_in_voxgen(tmp_path):
    theirs = mcschematic.MCSchematic()
    rng = np.random.default_rng(2)
    placed = {}
    blocks = ["minecraft:slime_block", "minecraft:observer[facing=up,powered=false]",
              "minecraft:sticky_piston[extended=false,facing=east]"]
    # > 127 states so the file needs multi-byte varints
    blocks += [f"minecraft:note_block[instrument=harp,note={n},powered=false]" for n in range(25)]
    blocks += [f"minecraft:redstone_wire[east=side,north=none,power={p},south=none,west=side]"
               for p in range(16)] * 1
    blocks += [f"minecraft:repeater[delay={d},facing={f},locked=false,powered=false]"
               for d in (1, 2, 3, 4) for f in ("north", "south", "east", "west")]
    blocks += [f"minecraft:oak_leaves[distance={d},persistent=false,waterlogged=false]" for d in range(1, 8)]
    blocks += [f"minecraft:{c}_wool" for c in range(0)] + [f"minecraft:test_block_{i}" for i in range(90)]
    for i in range(600):
        pos = tuple(int(v) for v in rng.integers(0, 12, 3))
        placed[pos] = blocks[i % len(blocks)]
        theirs.setBlock(pos, placed[pos])
    theirs.save(str(tmp_path), "mcs", mcschematic.Version.JE_1_20_1)
    s = formats.load(tmp_path / "mcs.schem")
    assert len(s.palette) > 128
    lo = np.min(list(placed), axis=0)
    for pos, state in placed.items():
        assert s.state_at(*(np.array(pos) - lo)) == canonical(state)
    assert s.count_non_air() == len(placed)


def test_mcschematic_reads_structures_built_in_voxgen(tmp_path):
    grid = np.full((3, 2, 2), "minecraft:air", dtype=object)
    grid[0, 0, 0] = "minecraft:slime_block"
    grid[2, 1, 1] = "minecraft:observer[facing=west,powered=false]"
    s = Structure.from_states(grid)
    theirs = mcschematic.MCSchematic(str(formats.save(s, tmp_path / "tiny.schem", version=2)))
    assert theirs.getBlockStateAt((0, 0, 0)) == "minecraft:slime_block"
    assert canonical(theirs.getBlockStateAt((2, 1, 1))) == "minecraft:observer[facing=west,powered=false]"
