"""`voxgen train` and `voxgen grow` through click's CliRunner."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voxgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
FLYING = ROOT / "structures" / "flying_machine.safetensors"

TINY_BLUEPRINT = '''
[palette]
"." = "minecraft:air"
"s" = "minecraft:stone"
[layers]
y0 = """
ss
"""
'''


def test_grow_json_reports_the_metrics(tmp_path):
    if not FLYING.exists():
        pytest.skip("flying_machine weights are not committed")
    out = tmp_path / "grown.toml"
    result = CliRunner().invoke(main, ["grow", "flying_machine", "--seed", "1", "--json",
                                       "--out", str(out), "--frames", str(tmp_path / "frames"),
                                       "--device", "cpu"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"exact", "accuracy", "iou", "steps", "seed", "per_class"} <= set(report)
    assert report["exact"] is True and report["seed"] == 1 and report["accuracy"] == 1.0
    assert out.exists()
    assert len(list((tmp_path / "frames").glob("step_*.toml"))) == report["steps"] + 1    # and the seed
    from voxgen import formats
    last = formats.load(tmp_path / "frames" / f"step_{report['steps']:04d}.toml")
    assert (last.blocks == formats.load(out).blocks).all()          # the last frame is the result


def test_streamed_frames_are_the_kept_ones():
    if not FLYING.exists():
        pytest.skip("flying_machine weights are not committed")
    from voxgen.grow import grow, load_trained
    seen = []
    kept = grow(load_trained("flying_machine"), steps=5, seed=3, device="cpu", keep_frames=True,
                on_frame=lambda i, s: seen.append((i, s)))
    assert [i for i, _ in seen] == [1, 2, 3, 4, 5]
    assert all((a.blocks == s.blocks).all() for a, (_, s) in zip(kept.frames, seen))
    assert not all((seen[0][1].blocks == s.blocks).all() for _, s in seen[1:])   # it grows


def test_grow_by_weights_path_and_text_output():
    if not FLYING.exists():
        pytest.skip("flying_machine weights are not committed")
    result = CliRunner().invoke(main, ["grow", str(FLYING), "--steps", "3"])
    assert result.exit_code == 0, result.output
    assert "flying_machine: not exact" in result.output and "steps 3" in result.output
    wrong = result.output.splitlines()[1:]          # 3 steps grow a part: the states not all right
    shares = [float(line.split()[0]) for line in wrong]
    assert wrong and all(" right: minecraft:" in line for line in wrong) and shares == sorted(shares)
    assert all(share < 1 for share in shares)
    exact = CliRunner().invoke(main, ["grow", str(FLYING)])
    assert "flying_machine: exact" in exact.output and len(exact.output.splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["grow", "no_such_structure"], "no trained structure 'no_such_structure'"),
    (["grow", "flying_machine", "--out", "x.xyz"], "cannot write '.xyz'"),
    (["grow", "flying_machine", "--device", "tpu"], "unknown device"),
])
def test_grow_errors_are_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_folder_named_like_a_structure_does_not_hide_it(tmp_path, monkeypatch):
    if not FLYING.exists():
        pytest.skip("flying_machine weights are not committed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flying_machine").mkdir()
    result = CliRunner().invoke(main, ["grow", "flying_machine", "--steps", "3"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["grow", "./flying_machine"])
    assert result.exit_code == 2 and "is a folder, not a weights file" in result.output


def test_train_then_grow(tmp_path):
    (tmp_path / "pair_blueprint.toml").write_text(TINY_BLUEPRINT)
    (tmp_path / "pair.toml").write_text(
        'blueprint = "pair_blueprint.toml"\nhidden_channels = 6\nmlp_width = 32\nbatch = 4\n'
        'pool_size = 16\nsteps = [6, 10]\nlr = 4e-3\ndamage_kinds = []\nverify_gap = 10\n')
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(tmp_path / "pair.toml"), "--iterations", "400",
                                  "--device", "cpu", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["iterations"] <= 400 and record["device"] == "cpu"
    from voxgen.nca.model import DEFAULT_THREADS
    assert record["threads"] == DEFAULT_THREADS >= 1       # no --threads: torch's own count
    weights, told = tmp_path / "pair.safetensors", result.stderr
    assert weights.exists()
    result = runner.invoke(main, ["grow", str(weights), "--json", "--seed", "2"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert record["stopped_early"] and report["exact"] is True
    assert told.splitlines()[-1].startswith(f"voxgen: wrote {weights}: 10 of 10 seeds grow ")
    assert "to train on" not in told


def test_train_a_blueprint_file_with_every_default(tmp_path):
    """`voxgen train house.nbt`: a schematic is a spec of every default, named
    after the file, its weights beside it; grow then takes those weights."""
    from voxgen import formats
    from voxgen.grow import load_trained
    from voxgen.nca.config import NCAConfig

    (tmp_path / "pair.toml").write_text(TINY_BLUEPRINT)
    formats.save(formats.load(tmp_path / "pair.toml"), tmp_path / "pair.nbt")
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(tmp_path / "pair.nbt"), "--iterations", "2", "--device", "cpu",
                                  "--threads", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["iterations"] == 2 and record["blueprint"] == "pair.nbt"
    assert record["weights"] == str(tmp_path / "pair.safetensors") and record["run"] == str(tmp_path / "run")
    verdict = result.stderr.splitlines()[-1]        # not exact after 2 iterations: how to go on
    assert verdict.startswith(f"voxgen: wrote {tmp_path / 'pair.safetensors'}: 0 of 10 seeds grow pair.nbt exactly")
    assert verdict.endswith(f"after 2 iterations; to train on: voxgen train {tmp_path / 'pair.nbt'} --resume "
                            f"--iterations 4 --out {tmp_path / 'run'} --threads 1")
    trained = load_trained(tmp_path / "pair.safetensors")
    assert trained.name == "pair" and trained.config == NCAConfig(iterations=2)
    result = runner.invoke(main, ["grow", str(tmp_path / "pair.safetensors"), "--steps", "2"])
    assert result.exit_code == 0, result.output


def test_train_a_damaged_blueprint_names_the_damage(tmp_path):
    from voxgen import formats

    (tmp_path / "pair.toml").write_text(TINY_BLUEPRINT)
    formats.save(formats.load(tmp_path / "pair.toml"), tmp_path / "pair.nbt")
    damaged = tmp_path / "damaged.nbt"
    damaged.write_bytes((tmp_path / "pair.nbt").read_bytes()[:20])
    result = CliRunner().invoke(main, ["train", str(damaged), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "damaged.nbt" in result.output and "truncated" in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "run").exists()


def test_train_spec_errors(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('blueprint = "nothing.toml"\nbatchsize = 3\n')
    result = CliRunner().invoke(main, ["train", str(spec)])
    assert result.exit_code == 2 and "bad.toml" in result.output and "batchsize" in result.output


def test_train_keys_lists_every_spec_key_with_its_default(tmp_path):
    """`voxgen train --keys` needs no spec; its `key = default` lines are TOML
    that, given a blueprint, parse as a spec equal to the defaults."""
    from voxgen.nca.config import NCAConfig
    from voxgen.nca.spec import parse_spec

    result = CliRunner().invoke(main, ["train", "--keys"])
    assert result.exit_code == 0, result.output
    settings = [line for line in result.output.splitlines() if not line.startswith(" ")]
    assert settings.pop() == "[[stages]]"                       # then how later stages are given
    assert [line.split(" = ")[0] for line in settings] == ["blueprint", *NCAConfig().to_dict()]
    assert "Required" in result.output.splitlines()[1]         # the one key without a default
    assert all(line.startswith("    ") and len(line) <= 82 for line in result.output.splitlines()
               if line not in settings and line != "[[stages]]")
    spec = tmp_path / "all.toml"
    spec.write_text('blueprint = "flying_machine"\n' + "\n".join(settings[1:]) + "\n")
    assert parse_spec(spec).config == NCAConfig()


def test_grow_of_a_toml_says_what_to_do(tmp_path):
    spec = tmp_path / "thing.toml"
    spec.write_text('blueprint = "b.toml"\n')
    result = CliRunner().invoke(main, ["grow", str(spec)])
    assert result.exit_code == 2 and f"voxgen train {spec}" in result.output
    result = CliRunner().invoke(main, ["grow", "blueprints/tree.toml"])
    assert result.exit_code == 2 and "is a blueprint, not trained weights" in result.output
    assert "voxgen train blueprints/tree.toml" in result.output and result.output.count("\n") == 1


def test_grow_of_a_schematic_says_what_to_do(tmp_path):
    from voxgen import formats

    house = tmp_path / "house.schem"
    formats.save(formats.load(ROOT / "blueprints" / "cottage.toml"), house)
    result = CliRunner().invoke(main, ["grow", str(house)])
    assert result.exit_code == 2 and f"is a blueprint, not trained weights; train it first: voxgen train {house}" \
        in result.output


def test_train_writes_weights_into_the_run_folder_it_makes(tmp_path):
    (tmp_path / "pair.toml").write_text(TINY_BLUEPRINT)
    out, weights = tmp_path / "rx", tmp_path / "rx" / "pair.safetensors"
    result = CliRunner().invoke(main, ["train", str(tmp_path / "pair.toml"), "--iterations", "1", "--device", "cpu",
                                       "--threads", "1", "--out", str(out), "--weights", str(weights)])
    assert result.exit_code == 0, result.output
    assert weights.is_file() and (out / "checkpoint.safetensors").is_file()
    deeper = tmp_path / "ry" / "sub" / "pair.safetensors"       # a folder inside it train does not make
    result = CliRunner().invoke(main, ["train", str(tmp_path / "pair.toml"), "--out", str(tmp_path / "ry"),
                                       "--weights", str(deeper)])
    assert result.exit_code == 2 and f"output folder {deeper.parent} does not exist" in result.output
    assert not (tmp_path / "ry").exists()


def test_grow_frames_start_at_the_seed_and_replace_an_earlier_runs(tmp_path):
    from voxgen import formats
    frames = tmp_path / "frames"
    frames.mkdir()
    for name in ("step_0009.toml", "step_00001.toml", "notes.txt", "step_x.toml"):
        (frames / name).write_text("an earlier file")
    (frames / "step_0010.toml").mkdir()                     # not a frame file: left alone
    result = CliRunner().invoke(main, ["grow", "caterpillar", "--steps", "3", "--frames", str(frames)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in frames.iterdir()) == [
        "notes.txt", "step_0000.toml", "step_0001.toml", "step_0002.toml", "step_0003.toml",
        "step_0010.toml", "step_x.toml"]
    from voxgen.grow import decode, load_trained, seed_state
    trained = load_trained("caterpillar")
    seed = decode(trained, seed_state(trained))[0]
    assert (formats.load(frames / "step_0000.toml").blocks == seed.blocks).all()
    result = CliRunner().invoke(main, ["grow", "caterpillar", "--steps", "0", "--frames", str(tmp_path / "f0")])
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "f0").iterdir()] == ["step_0000.toml"]


def test_the_verdict_of_a_stalled_run_does_not_suggest_resuming():
    from voxgen.cli.train import verdict
    record = {"weights": "one.safetensors", "blueprint": "one.toml", "iterations": 60, "stopped_early": False,
              "final": {"exact": 0, "n": 10, "accuracy": 0.963}, "loss_stalled_at": 10}
    told = verdict("one.toml", record, "run", None, 1)
    assert told.startswith("voxgen: wrote one.safetensors: 0 of 10 seeds grow one.toml exactly")
    assert "the loss has not changed since iteration 10" in told and "--resume --iterations" not in told
    del record["loss_stalled_at"]
    assert verdict("one.toml", record, "run", None, 1).endswith("--resume --iterations 120 --out run --threads 1")


def test_grow_frames_into_an_unreadable_folder_is_one_line(tmp_path, monkeypatch):
    from pathlib import Path

    from click.testing import CliRunner

    from voxgen.cli import main

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    result = CliRunner().invoke(main, ["grow", "caterpillar", "--frames", str(tmp_path / "f")])
    assert result.exit_code == 2 and "Permission denied" in result.output, result.output
    assert "Traceback" not in result.output


def test_the_verdict_of_a_run_far_from_its_structure_points_to_the_larger_recipe():
    """A house of 801 blocks trained with every default ended at IoU 0.52
    (about 560 blocks too many): --resume alone is not the advice. Near
    it (IoU 0.97), or after a short run, resuming is."""
    from voxgen.cli.train import verdict
    record = {"weights": "h.safetensors", "blueprint": "h.nbt", "iterations": 2000, "stopped_early": False,
              "final": {"exact": 0, "n": 10, "accuracy": 0.834, "iou": 0.52, "extra": 562.2, "missing": 94.9}}
    told = verdict("h.nbt", record, None, None, 1)
    assert "--resume --iterations 4000 --threads 1; far from it (IoU 0.52: 562 blocks too many, 95 missing)" in told
    assert told.endswith("see the README's 'A larger structure'")
    record["iterations"] = 999                  # short: far off because it is short
    assert verdict("h.nbt", record, None, None, 1).endswith("--resume --iterations 1998 --threads 1")
    record["iterations"] = 2000
    record["final"].update(iou=0.97, extra=3.0, missing=2.0)
    assert verdict("h.nbt", record, None, None, 1).endswith("--resume --iterations 4000 --threads 1")
