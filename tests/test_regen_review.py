"""Regeneration that cannot claim more than it did: cuts that leave blocks
on both sides, shifts that keep every block, flight recipes from the
weights' own blueprint, and options the command refuses instead of ignoring."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import main as cli
from voxgen.errors import VoxgenError
from voxgen.grow import load_trained
from voxgen.metrics import compare, lost_off_grid, shifted
from voxgen.regen import cut_position, damage_masks, exact_since_step, regenerate
from voxgen.structure import Structure

ROOT = Path(__file__).resolve().parent.parent
FLYING = ROOT / "structures" / "flying_machine.safetensors"
CATERPILLAR = ROOT / "structures" / "caterpillar.safetensors"
needs_flying = pytest.mark.skipif(not FLYING.exists(), reason="flying_machine weights not trained")
needs_caterpillar = pytest.mark.skipif(not CATERPILLAR.exists(), reason="caterpillar weights not trained")


def refused(args, *words):
    """Run `voxgen ARGS`; it must fail with exit 2 and one error line naming `words`."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (args, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# --- a cut leaves blocks on both sides -----------------------------------------------

def test_a_cut_must_leave_blocks_on_both_sides():
    solid = np.zeros((8, 3, 4), bool)
    solid[2:6, 0, 1:3] = True                 # blocks in x 2..5, y 0 only, z 1..2
    rng = np.random.default_rng(0)
    _, info = damage_masks("cut", solid.shape, 1, rng, axis="x", at=3, solid=solid)
    assert info["at"] == 3
    for at in (0, 2, 6, 8):                   # a part with no blocks
        with pytest.raises(VoxgenError, match=f"^at={at}: .* along x .* use 3..5"):
            damage_masks("cut", solid.shape, 1, rng, axis="x", at=at, solid=solid)
    with pytest.raises(VoxgenError, match="^axis='y': "):
        damage_masks("cut", solid.shape, 1, rng, axis="y", solid=solid)
    layers = np.arange(2, 6)
    assert {cut_position("random", 8, rng, 3, layers) for _ in range(200)} == {3, 4, 5}
    assert cut_position("half", 8, rng, 2, np.array([0, 1])) == 1      # half (4) moved to the blocks
    tall = np.zeros((2, 9, 3), bool)
    tall[:, 0, :] = True                      # longest axis y holds one layer: the default skips it
    assert damage_masks("cut", tall.shape, 1, rng, solid=tall)[1]["axis"] in ("x", "z")


@needs_flying
def test_regen_refuses_a_cut_that_leaves_a_part_empty():
    refused(["regen", "flying_machine", "--axis", "y", "--trials", "2"], "--axis y")
    refused(["regen", "flying_machine", "--axis", "z", "--at", "4", "--trials", "2"],
            "--at 4", "along z", "1..3")


@needs_caterpillar
def test_regen_names_at_when_it_is_outside_the_blueprint():
    refused(["regen", "caterpillar", "--at", "9", "--trials", "1"], "--at 9", "along x")


# --- exact up to a shift keeps every block ---------------------------------------------

def test_a_shift_that_pushes_blocks_off_the_grid_is_not_exact():
    """The caterpillar moved +1 in x on its grid with the x = 0 plane filled
    with slime: shifted back by -1 the caterpillar matches, but the slime
    falls off the grid, and every slime block is a wrong cell."""
    target = formats.load(ROOT / "blueprints" / "caterpillar.toml").pad(1)
    palette = tuple(target.palette) + ("minecraft:slime_block",)
    blocks = target.translate((1, 0, 0)).blocks.copy()
    slime_before = int((blocks[0] != 0).sum())
    blocks[0] = len(palette) - 1
    grown = Structure(blocks, palette)
    solid_target = target.count_non_air()
    extra = grown.count_non_air() - solid_target
    assert extra > 0 and slime_before == 0
    m = compare(grown, Structure(target.blocks, target.palette), translate=True, window=1)
    assert not m["exact"] and m["wrong_cells"] >= extra and m["accuracy"] < 1.0
    assert m["iou"] <= solid_target / grown.count_non_air()
    codes = (grown.blocks != 0).astype(np.int16)
    assert lost_off_grid(codes, (-1, 0, 0)) == blocks.shape[1] * blocks.shape[2]
    history = np.stack([grown.blocks, grown.blocks])
    want = target.blocks
    assert (shifted(grown.blocks, (-1, 0, 0))[:-1] == want[:-1]).all()   # the trap: equal on the grid
    assert exact_since_step(history, [0, 1], want, (-1, 0, 0)) is None


def test_a_shift_that_keeps_every_block_is_exact():
    target = formats.load(ROOT / "blueprints" / "caterpillar.toml").pad(1)
    m = compare(target.translate((1, 0, 0)), target, translate=True, window=1)
    assert m["exact"] and m["offset"] == [-1, 0, 0] and m["wrong_cells"] == 0


# --- flight recipes come from the weights' own blueprint ---------------------------------

@needs_flying
@pytest.mark.parametrize("spec, words", [
    ('blueprint = "{root}/blueprints/caterpillar.toml"\n', "is not the structure fm.safetensors grows"),
    ('blueprint = "nonexist.toml"\n', "no bundled blueprint 'nonexist.toml'"),
    ("junk [[[ text\n", "not valid TOML"),
])
def test_a_spec_beside_the_weights_that_does_not_match_is_refused(tmp_path, spec, words):
    weights = tmp_path / "fm.safetensors"
    shutil.copy(FLYING, weights)
    (tmp_path / "fm.toml").write_text(spec.format(root=ROOT))
    line = refused(["regen", str(weights), "--trials", "1", "--steps", "2"], "fm.toml")
    assert words in line and "flight recipe" in line, line


@needs_flying
def test_weights_without_a_spec_use_their_structures_blueprint(tmp_path):
    weights = tmp_path / "fm.safetensors"
    shutil.copy(FLYING, weights)
    report = regenerate(load_trained(weights), axis="z", trials=1, steps=2, ticks=10)
    assert report["machine"] is not None and "flying_machine.toml" in report["flight"]


# --- options refused, not ignored ----------------------------------------------------------

@needs_flying
def test_ticks_zero_is_refused_and_ticks_round_to_whole_cycles():
    refused(["regen", "flying_machine", "--ticks", "0"], "--ticks")
    with pytest.raises(VoxgenError, match="^ticks=0: "):
        regenerate(load_trained(FLYING), trials=1, steps=1, ticks=0)
    help_text = " ".join(CliRunner().invoke(cli, ["regen", "--help"]).output.split())
    assert "whole machine cycles" in help_text
    assert regenerate(load_trained(FLYING), axis="z", trials=1, steps=1, ticks=15)["ticks"] == 20


@needs_flying
@pytest.mark.parametrize("args,word", [(["--damage", "sphere", "--axis", "x"], "--axis"),
                                       (["--damage", "box", "--at", "3"], "--at"),
                                       (["--jitter", "1"], "--jitter"),
                                       (["--at", "half", "--jitter", "3"], "--jitter"),
                                       (["--seed", str(2 ** 63 - 1), "--trials", "2"], "--seed"),
                                       (["--radius", "0.2"], "--radius"),
                                       (["--damage", "random", "--radius", "0.2"], "--radius"),
                                       (["--damage", "sphere", "--rate", "0.1"], "--rate"),
                                       (["--damage", "sphere", "--radius", "1.5"], "--radius"),
                                       (["--damage", "random", "--rate", "-0.1"], "--rate"),
                                       (["--damage", "sphere", "--radius", "0"], "--radius"),
                                       (["--damage", "random", "--rate", "0"], "--rate")])
def test_options_that_would_be_ignored_or_overflow_are_refused(args, word):
    refused(["regen", "flying_machine", *args], word)


@needs_flying
def test_radius_and_rate_size_the_damage():
    def damage(*args):
        result = CliRunner().invoke(cli, ["regen", "flying_machine", "--trials", "1", "--steps", "1",
                                          "--ticks", "10", "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["trials"][0]
    assert damage("--damage", "sphere")["radius"] == pytest.approx(0.3 * 4)      # the default: 0.3 of 4 blocks
    assert damage("--damage", "sphere", "--radius", "0.1")["radius"] == pytest.approx(0.4)
    assert damage("--damage", "random", "--rate", "0.05")["rate"] == 0.05


@needs_flying
def test_the_last_seed_that_fits_is_accepted():
    report = regenerate(load_trained(FLYING), axis="z", trials=2, steps=1, ticks=10,
                        seed=2 ** 63 - 2)
    assert [t["seed"] for t in report["trials"]] == [2 ** 63 - 2, 2 ** 63 - 1]


@needs_flying
def test_a_refused_regen_option_names_the_weights_file():
    line = refused(["regen", "flying_machine", "--at", "99", "--trials", "1"], "--at 99")
    assert line.startswith("voxgen: error: ") and "flying_machine.safetensors: --at 99:" in line
