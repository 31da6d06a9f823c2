"""Review of `voxgen train` and `voxgen grow` as a demanding user: run folders,
seeds, damage on thin structures, bad devices, and grow's figures checked
against an independent count."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import BLUEPRINTS, write_tiny
from voxgen.cli import main
from voxgen.errors import VoxgenError

ONE_BLOCK = '[palette]\n"." = "minecraft:air"\n"s" = "minecraft:stone"\n[layers]\ny0 = """\ns\n"""\n'


def _train(spec, tmp_path, **kw):
    from voxgen.train import train
    kw = {"device": "cpu", "out": tmp_path / "run", "iterations": 1,
          "weights_path": tmp_path / "w.safetensors", "progress": False, **kw}
    return train(spec, **kw)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny blueprint (2 x 2 x 1) and its spec, trained 2 iterations."""
    root = tmp_path_factory.mktemp("review")
    write_tiny(root, "grow")
    _train(root / "tiny.toml", root, iterations=2)
    return root


@pytest.mark.parametrize("init", ["missing.safetensors", "other.safetensors"])
def test_a_refused_init_makes_no_run_folder(tiny, tmp_path, init):
    """--init's weights are checked before the run folder is made."""
    (tmp_path / "one.toml").write_text(ONE_BLOCK)
    _train(tmp_path / "one.toml", tmp_path, out=tmp_path / "other_run", weights_path=tmp_path / "other.safetensors")
    with pytest.raises(VoxgenError, match=init):
        _train(tiny / "tiny.toml", tmp_path, out=tmp_path / "runs" / "new", init=tmp_path / init)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "w.safetensors").exists()


def test_a_seed_position_on_air_is_refused(tiny, tmp_path):
    """The tiny blueprint's cell [1, 1, 0] is air: growth starts from a block."""
    spec = tmp_path / "air_seed.toml"
    spec.write_text((tiny / "tiny.toml").read_text().replace("tiny_blueprint.toml", str(tiny / "tiny_blueprint.toml"))
                    + "seed_position = [1, 1, 0]\n")
    with pytest.raises(VoxgenError, match=r"air_seed.toml: seed_position \[1, 1, 0\] is air in the blueprint"):
        _train(spec, tmp_path)
    assert not (tmp_path / "run").exists()
    spec.write_text(spec.read_text().replace("[1, 1, 0]", "[0, 1, 0]"))      # the log: a block
    assert _train(spec, tmp_path)["iterations"] == 1


def test_halfcut_damage_never_cuts_across_a_one_block_thick_axis(tiny, tmp_path, monkeypatch):
    """Across an axis one block thick a half-cut keeps all or nothing: training
    on such cuts wiped whole samples. The 2 x 2 x 1 blueprint is cut across x
    and y only; cut across z alone, it is not cut at all."""
    import voxgen.train as training
    cuts = []
    real = training.apply_damage

    def spy(state, kind, config, box, generator, axes=None):
        cuts.append((kind, axes))
        return real(state, kind, config, box, generator, axes)
    monkeypatch.setattr(training, "apply_damage", spy)
    base = (tiny / "tiny.toml").read_text().replace("tiny_blueprint.toml", str(tiny / "tiny_blueprint.toml"))
    base = base.replace("damage_kinds = []", 'damage_kinds = ["halfcut"]\ndamage_after = 0')
    spec = tmp_path / "cut.toml"
    spec.write_text(base + 'halfcut_axes = ["x", "z"]\n')
    _train(spec, tmp_path, iterations=4)
    assert cuts and all(cut == ("halfcut", ["x"]) for cut in cuts)
    cuts.clear()
    spec.write_text(base.replace('["halfcut"]', '["halfcut", "dropout"]') + 'halfcut_axes = ["z"]\n')
    _train(spec, tmp_path, iterations=4)
    assert cuts and all(kind == "dropout" for kind, _ in cuts)


def test_a_second_run_in_a_held_run_folder_is_refused(tiny, tmp_path):
    """Two runs in one folder: the second would set the first's checkpoint
    aside and both would write over each other's."""
    from voxgen.nca.train_run import hold_run_folder
    out = tmp_path / "run"
    _train(tiny / "tiny.toml", tmp_path, out=out)
    before = (out / "checkpoint.safetensors").read_bytes()
    with hold_run_folder(out):
        with pytest.raises(VoxgenError, match="another training run is using this run folder"):
            _train(tiny / "tiny.toml", tmp_path, out=out, weights_path=tmp_path / "second.safetensors")
    assert (out / "checkpoint.safetensors").read_bytes() == before
    assert not (out / "checkpoint.previous.safetensors").exists() and not (tmp_path / "second.safetensors").exists()
    _train(tiny / "tiny.toml", tmp_path, out=out)              # released: the next run goes ahead
    assert (out / "checkpoint.previous.safetensors").exists()


@pytest.mark.parametrize("name", ["checkpoint.safetensors", "metrics.jsonl", "curve.png"])
def test_run_files_that_cannot_be_written_are_refused_before_training(tiny, tmp_path, name):
    """A folder named like one of the run's files failed only once training
    was done (the curve: after the weights were written)."""
    (tmp_path / "run" / name).mkdir(parents=True)
    with pytest.raises(VoxgenError, match=f"{name}: is a directory"):
        _train(tiny / "tiny.toml", tmp_path)
    assert not (tmp_path / "w.safetensors").exists() and not (tmp_path / "run" / "metrics.jsonl").is_file()


def test_train_of_weights_or_a_binary_file_says_what_it_is(tiny, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(tiny / "w.safetensors")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "is trained weights, not a spec or a blueprint" in result.output
    assert "--init" in result.output and len(result.output.strip().splitlines()) == 1
    (tmp_path / "noise.bin").write_bytes(bytes(range(256)) * 4)
    result = runner.invoke(main, ["train", str(tmp_path / "noise.bin")])
    assert result.exit_code == 2 and "noise.bin: neither a spec (TOML text; this is binary)" in result.output


def test_a_linked_spec_finds_its_blueprint_beside_the_spec(tiny, tmp_path):
    """A symbolic link to a spec (say to structures/tree.toml) names its
    blueprint relative to the spec it links to."""
    link = tmp_path / "linked.toml"
    link.symlink_to(tiny / "tiny.toml")
    from voxgen.nca.spec import parse_spec
    assert parse_spec(link).blueprint == (tiny / "tiny_blueprint.toml").resolve()


def test_grow_with_a_bad_device_leaves_the_frames_folder_alone(tiny, tmp_path):
    """The device (and the memory) are checked before --frames removes an
    earlier run's frames and writes the seed's."""
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "step_0003.toml").write_text("earlier")
    for device in ("bogus", "cuda:99"):
        for folder in (frames, tmp_path / "new_frames"):
            result = CliRunner().invoke(main, ["grow", str(tiny / "w.safetensors"), "--frames", str(folder),
                                               "--device", device])
            assert result.exit_code == 2 and "device" in result.output and "Traceback" not in result.output
    assert [p.name for p in frames.iterdir()] == ["step_0003.toml"]
    assert not (tmp_path / "new_frames").exists()


def _names(structure):
    """Block state name per cell, void and air-like as air (an independent
    reading of a Structure)."""
    from voxgen.blocks import AIR_IDS, block_id
    palette = np.array(["minecraft:air" if block_id(p) in AIR_IDS else p for p in structure.palette], dtype=object)
    names = palette[structure.blocks]
    if structure.void is not None:
        names[structure.void] = "minecraft:air"
    return names


@pytest.mark.parametrize("name, steps, seed", [("caterpillar", 12, 3), ("caterpillar", None, 0)])
def test_grow_figures_match_an_independent_count(tmp_path, name, steps, seed):
    """exact, accuracy, iou, wrong cells and per-class accuracy of `grow --json`
    against the --out file and the blueprint padded by the trained margin,
    counted here; at the training horizon the shipped structure is exact."""
    from voxgen import formats
    out = tmp_path / "grown.schem"
    args = ["grow", name, "--seed", str(seed), "--out", str(out), "--json"]
    result = CliRunner().invoke(main, args + (["--steps", str(steps)] if steps else []))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"exact", "accuracy", "iou", "steps", "seed", "per_class", "wrong_cells"} <= set(report)
    grown, blueprint = _names(formats.load(out)), _names(formats.load(BLUEPRINTS / f"{name}.toml"))
    margin = [(g - b) // 2 for g, b in zip(grown.shape, blueprint.shape)]
    assert margin == [1, 1, 1]
    want = np.full(grown.shape, "minecraft:air", dtype=object)
    want[tuple(slice(m, m + n) for m, n in zip(margin, blueprint.shape))] = blueprint
    right = grown == want
    solid, wanted = grown != "minecraft:air", want != "minecraft:air"
    assert report["accuracy"] == pytest.approx(right.mean())
    assert report["iou"] == pytest.approx((solid & wanted).sum() / (solid | wanted).sum())
    assert report["wrong_cells"] == int((~right).sum()) and report["exact"] == bool(right.all())
    assert report["per_class"] == pytest.approx({c: right[want == c].mean() for c in set(want.flat)})
    assert report["seed"] == seed and report["steps"] == (steps or 36)
    assert report["exact"] == (steps is None)


def test_a_checkpoint_trained_on_cuda_resumes_on_the_cpu(tiny, tmp_path, capsys):
    """A GPU run's checkpoint holds CUDA's 16-byte firing generator state,
    which the CPU's generator refused as a "corrupt checkpoint": the run goes
    on, its firing masks from a new seed, and says so. The checkpoint records
    the device it was trained on."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(tiny / "run" / "checkpoint.safetensors"), "pt") as f:
        tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())
    assert json.loads(meta["device"]) == "cpu"
    tensors["rng.firing"] = torch.zeros(16, dtype=torch.uint8)        # CUDA's Philox seed and offset
    for stored, words in [(None, "trained on cuda, resumed on cpu"), ('"cuda"', "trained on cuda, resumed on cpu")]:
        out = tmp_path / f"run_{stored is None}"
        out.mkdir()
        meta.pop("device", None)
        if stored:
            meta["device"] = stored
        save_file(tensors, str(out / "checkpoint.safetensors"), metadata=meta)
        record = _train(tiny / "tiny.toml", tmp_path, out=out, resume=True, iterations=4, progress=True)
        assert record["iterations"] == 4 and words in capsys.readouterr().err
    meta["device"] = '"tpu"'
    save_file(tensors, str(out / "checkpoint.safetensors"), metadata=meta)
    with pytest.raises(VoxgenError, match="'device' must be \"cpu\" or \"cuda\", got 'tpu'"):
        _train(tiny / "tiny.toml", tmp_path, out=out, resume=True, iterations=5)


@pytest.mark.parametrize("stem, name", [("x" * 120, "x" * 100), ("a\tb", "a_b")])
def test_weights_of_any_file_name_are_read_back(tmp_path, stem, name):
    """The structure name came from the file name as it was: one longer than
    100 characters or holding a control character made weights (and a
    checkpoint) that grow and --resume refused."""
    from voxgen.grow import grow, load_trained
    (tmp_path / f"{stem}.toml").write_text(ONE_BLOCK)
    _train(tmp_path / f"{stem}.toml", tmp_path)
    trained = load_trained(tmp_path / "w.safetensors")
    assert trained.name == name and grow(trained, steps=1).steps == 1
    assert _train(tmp_path / f"{stem}.toml", tmp_path, resume=True, iterations=2)["iterations"] == 2


def test_resuming_on_an_edited_blueprint_says_so(tiny, tmp_path, capsys):
    """An edit that keeps the palette and the box (two blocks swapped) is no
    other structure, so --resume goes on, but it says the target moved."""
    import shutil
    shutil.copytree(tiny / "run", tmp_path / "run")
    (tmp_path / "tiny_blueprint.toml").write_text((tiny / "tiny_blueprint.toml").read_text().replace("sE\n", "Es\n"))
    (tmp_path / "tiny.toml").write_text((tiny / "tiny.toml").read_text())
    _train(tmp_path / "tiny.toml", tmp_path, resume=True, iterations=3, progress=True)
    assert "the blueprint differs from the checkpoint's in 2 cells" in capsys.readouterr().err


def test_init_takes_a_shipped_structure_name(tmp_path):
    """`train --init NAME` starts from structures/NAME.safetensors, as `grow
    NAME` grows it; a name with no trained weights is one line naming them."""
    from voxgen.train import train
    record = train("flying_machine", device="cpu", out=tmp_path / "run", weights_path=tmp_path / "w.safetensors",
                   progress=False, init="flying_machine", iterations=1)
    assert record["started_from"].endswith("flying_machine.safetensors")
    result = CliRunner().invoke(main, ["train", "flying_machine", "--init", "no_such_structure",
                                       "--out", str(tmp_path / "run2")])
    assert result.exit_code == 2 and "no trained structure 'no_such_structure'" in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "run2").exists()


def test_grow_tells_each_step_without_changing_the_growth():
    """`on_step_done` (the CLI's progress bar for long growths) hears every
    step, and the growth is the one grown without it."""
    from voxgen.grow import grow, load_trained
    heard = []
    told = grow(load_trained("flying_machine"), steps=30, seed=4, on_step_done=heard.append)
    plain = grow(load_trained("flying_machine"), steps=30, seed=4)
    assert heard == list(range(1, 31))
    assert np.array_equal(told.structure.blocks, plain.structure.blocks) and told.metrics == plain.metrics
