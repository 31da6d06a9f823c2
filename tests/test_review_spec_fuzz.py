"""Review of the training configuration space at its documented edges: specs
drawn at the limits `voxgen train --keys` allows (halfcut_range [0, 1], ...)
on tiny blueprints, each bug a fuzzer found kept here as one small case."""

import pytest
import torch

from voxgen.nca.damage import halfcut


def test_checks_of_regrowth_at_halfcut_range_0_1_cut_only_where_blocks_lie_on_both_sides():
    """halfcut_range [0, 1] is documented valid, but its cuts at 0 and 1 left
    a part with no block, which can never regrow: even the shipped flying
    machine, which regrows every other cut, scored 33 of 48 and a run with
    such a spec could never stop early (it needs 90%)."""
    from voxgen.grow import load_trained
    from voxgen.nca.evaluate import check_regrowth
    trained = load_trained("flying_machine")
    cfg = trained.config
    classes = torch.as_tensor(trained.target.blocks, dtype=torch.int64)
    for at_range in ([0.0, 1.0], [0.0, 0.0], [1.0, 1.0]):
        result = check_regrowth(trained.model, classes, trained.seed_pos, trained.steps, range(2),
                                ["x", "y", "z"], at_range)
        assert result["n"] > 0 and result["exact"] == result["n"], (at_range, result)


def test_checks_of_regrowth_skip_an_axis_whose_blocks_fill_one_layer():
    """A block alone in the middle of air: no cut leaves blocks on both sides
    (`voxgen regen` refuses it), so none is tried, rather than every part
    without the block counted as a failure."""
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.evaluate import check_regrowth
    from voxgen.nca.model import NCA
    classes = torch.zeros((5, 4, 5), dtype=torch.int64)
    classes[2, 1, 2] = 1
    model = NCA(2, NCAConfig(hidden_channels=2, mlp_width=4))
    result = check_regrowth(model, classes, (2, 1, 2), 2, range(1), ["x", "y", "z"], [0.0, 1.0])
    assert result == {"n": 0, "exact": 0}


@pytest.mark.parametrize("at_range", [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
def test_training_half_cuts_at_the_ends_of_halfcut_range_keep_part_of_the_box(at_range):
    """A cut at the box's edge kept all of a sample or none of it (a wiped
    sample: nothing to heal); each part now keeps at least one layer."""
    box = ((1, 1, 1), (5, 3, 4))             # a 4 x 2 x 3 blueprint in a margin of 1
    inside = torch.zeros((1, 1, 6, 4, 5))
    inside[:, :, 1:5, 1:3, 1:4] = 1
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        for axis in "xyz":
            kept = halfcut(inside, box, [axis], at_range, generator).sum()
            assert 0 < kept < inside.sum(), (axis, at_range)


def test_a_refused_widening_counts_fixed_perceptions_filters_as_four():
    """Fixed perception has 4 filters whatever `perception_filters` says: a
    spec turning it learned with 2 loses filters and is refused, but the
    refusal read "perception_filters 1 -> 2", a growth the rule allows."""
    from voxgen.errors import VoxgenError
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.model import NCA
    from voxgen.nca.widen import fit_parameters
    old = NCAConfig(hidden_channels=2, mlp_width=4, perception="fixed", perception_filters=1)
    new = NCA(2, NCAConfig(hidden_channels=2, mlp_width=4, perception="learned", perception_filters=2))
    with pytest.raises(VoxgenError, match=r"w.safetensors: cannot start from these weights: the spec changes "
                                          r"perception 'fixed' -> 'learned', perception_filters "
                                          r"4 \(fixed perception\) -> 2 \("):
        fit_parameters(NCA(2, old).state_dict(), old, new, "w.safetensors")


def _keys_ranges():
    """key -> (open_low, lo, hi, is_list) for every range `voxgen train --keys` prints."""
    import re

    from click.testing import CliRunner

    from voxgen.cli import main
    text = CliRunner().invoke(main, ["train", "--keys"]).output
    ranges = {}
    for block in re.split(r"\n(?=\S)", text):
        key = block.split(" = ")[0]
        found = re.search(r"Allowed: (\[lo, hi\], each )?in ([\[(])(\S+), (\S+)\]", " ".join(block.split()))
        if found:
            lo, hi = (float(v) if "." in v else int(v) for v in found.group(3, 4))
            ranges[key] = (found.group(2) == "(", lo, hi, bool(found.group(1)))
    return ranges


def test_keys_prints_a_range_for_every_number_key():
    from voxgen.nca.config import NCAConfig
    numbers = [k for k, v in NCAConfig().to_dict().items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) or k in ("steps", "halfcut_range",
                                                                                   "sphere_radius")]
    assert sorted(_keys_ranges()) == sorted(numbers)


def test_every_range_keys_prints_is_exactly_what_a_spec_may_give(tmp_path):
    """Both ends of each printed range are taken, the values just outside
    refused, naming the file and the key; fire_rate and lr printed "[0.0, 1.0]"
    in their refusals though 0 is refused too."""
    from voxgen.errors import VoxgenError
    from voxgen.nca.spec import parse_spec
    spec = tmp_path / "edge.toml"
    # the keys that bound others, wide open, so that each key's own range is what is tried
    room = {"pool_size": 100_000, "batch": 10_000, "verify_seeds": 10_000, "verify_needed": 1}

    def parse(key, value):
        values = {**room, key: value}
        if key == "pool_size":
            values["batch"] = 1
        body = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items())
        spec.write_text('blueprint = "flying_machine"\n' + body)
        return parse_spec(spec).config

    for key, (open_low, lo, hi, is_list) in _keys_ranges().items():
        def pair(v):
            return [v, v] if is_list else v
        step = 1 if isinstance(lo, int) else 1e-9
        taken = [hi] if open_low else [lo, hi]
        refused = [lo if open_low else lo - step, hi + step]
        for v in taken:
            assert getattr(parse(key, pair(v)), key) == pair(v), (key, v)
        for v in refused:
            with pytest.raises(VoxgenError, match=f"edge.toml: key '{key}' must") as err:
                parse(key, pair(v))
            assert "\n" not in str(err.value)
            if v == hi + step:      # the range a refusal gives is the one printed
                shown = f"{'(' if open_low else '['}{lo}, {hi}]"
                assert shown in str(err.value), (key, str(err.value))


LINE_Y = ('[palette]\n"." = "minecraft:air"\n"S" = "minecraft:stone"\n[layers]\n'
          + "".join(f"y{y} = '''\nS\n'''\n" for y in range(5)))
DIVERGES = """blueprint = "line.toml"
mlp_layers = 8
perception = "learned"
perception_filters = 2
fire_rate = 1
steps = [4, 4]
pool_size = 8
batch = 4
lr = LR
reseed = 4
damage_after = 0
class_weight_power = 4
hard_weight = 5.0
checkpoint_every = 1
verify_seeds = 1
verify_needed = 1
"""


def test_a_run_diverging_right_at_its_checkpoint_says_resuming_cannot_help(tmp_path):
    """lr 1 blows this run up at iteration 2, just after the checkpoint of
    iteration 2: the error said to lower lr and that the last good checkpoint
    was kept, but --resume with a lower lr meets the same batch from the same
    weights and diverges again before the lr acts."""
    from voxgen.errors import VoxgenError
    from voxgen.train import train
    (tmp_path / "line.toml").write_text(LINE_Y)
    spec = tmp_path / "spec.toml"
    spec.write_text(DIVERGES.replace("LR", "1.0"))
    run = {"device": "cpu", "out": tmp_path / "run", "iterations": 4, "progress": False,
           "weights_path": tmp_path / "w.safetensors", "threads": 1}
    with pytest.raises(VoxgenError, match="diverged at iteration 2 .*is kept, but at this iteration, so --resume "
                                          "with a lower lr diverges again") as err:
        train(spec, **run)
    assert "\n" not in str(err.value)
    spec.write_text(DIVERGES.replace("LR", "1e-4"))
    with pytest.raises(VoxgenError, match="diverged at iteration 2 .*at this iteration"):
        train(spec, resume=True, **run)
    assert not (tmp_path / "w.safetensors").exists()


def test_training_damage_lies_on_the_blocks_not_the_air_saved_around_them(tmp_path, monkeypatch):
    """A schematic saved with air around its blocks: the half-cuts and
    spheres of training are placed on the blocks' own box. On the
    blueprint's box a cut could keep only air layers (a wiped sample,
    nothing to heal), and an axis along which the blocks lie in one layer
    (here y, in a blueprint 3 high) was cut all-or-nothing."""
    import voxgen.train as training
    from voxgen.nca.damage import blocks_box

    (tmp_path / "roomy.toml").write_text('name = "roomy"\n[palette]\n"." = "minecraft:air"\n'
                                         '"s" = "minecraft:stone"\n"E" = "minecraft:observer[facing=east]"\n'
                                         '[layers]\ny0 = """\n.....\n.....\n.....\n"""\n'
                                         'y1 = """\n.....\n.sEs.\n.....\n"""\ny2 = """\n.....\n.....\n.....\n"""\n')
    (tmp_path / "spec.toml").write_text('blueprint = "roomy.toml"\nhidden_channels = 4\nmlp_width = 8\n'
                                        'batch = 2\npool_size = 4\nsteps = [2, 3]\ndamage_after = 0\n'
                                        'damage_kinds = ["halfcut", "sphere"]\nhalfcut_range = [0.0, 1.0]\n'
                                        'iterations = 30\ncheckpoint_every = 50\n')
    seen, original = [], training.apply_damage

    def recording(state, kind, cfg, box, generator, axes=None):
        seen.append((kind, box, tuple(axes)))
        return original(state, kind, cfg, box, generator, axes)

    monkeypatch.setattr(training, "apply_damage", recording)
    training.train(tmp_path / "spec.toml", device="cpu", out=tmp_path / "run", progress=False,
                   weights_path=tmp_path / "w.safetensors")
    margin = training.parse_spec(tmp_path / "spec.toml").config.margin
    one = torch.zeros((4, 4, 4), dtype=torch.int64)
    one[1, 2, 3] = 5
    assert blocks_box(one) == ((1, 2, 3), (2, 3, 4))
    # x 1..3 of the 5 x 3 x 3 blueprint hold the blocks, y and z only layer 1
    assert seen and {s[1] for s in seen} == {((margin + 1, margin + 1, margin + 1), (margin + 4, margin + 2, margin + 2))}
    assert {s[2] for s in seen} == {("x",)}          # y and z: one layer of blocks each
    assert any(s[0] == "halfcut" for s in seen)
