"""Specs of stages ([[stages]]): each later stage trains from the weights of
the stage before, a stage that grows the blueprint exactly ends them,
--resume goes on with the latest stage begun, and a large blueprint file is
trained in the stages of the larger-structure recipe."""

import json

import numpy as np
import pytest

from conftest import write_tiny
from voxgen.errors import VoxgenError
from voxgen.nca.spec import LARGE_BLOCKS, LARGER, for_blueprint, parse_spec
from voxgen.nca.weights import read_weights

STAGE_2 = '\n[[stages]]\nhidden_channels = 8\nperception = "learned"\nfire_rate = 1.0\niterations = 2000\n'


def _staged(root, first_iterations=5):
    """The tiny spec, its first stage cut to `first_iterations` (too few to
    grow it), then a wider stage with learned perception and every cell firing."""
    write_tiny(root, "grow")
    spec = root / "tiny.toml"
    text = spec.read_text().replace("iterations = 2000", f"iterations = {first_iterations}")
    spec.write_text(text + STAGE_2)
    return spec


def _losses(path):
    return [json.loads(line)["it"] for line in path.read_text().splitlines() if '"loss"' in line]


def test_spec_stages_parse_as_the_stage_befores_keys_changed(tmp_path):
    spec = _staged(tmp_path)
    parsed = parse_spec(spec)
    first, second = parsed.configs
    assert (first.hidden_channels, first.perception, first.fire_rate, first.iterations) == (6, "fixed", 0.5, 5)
    assert (second.hidden_channels, second.perception, second.fire_rate, second.iterations) == (8, "learned", 1.0, 2000)
    assert second.mlp_width == first.mlp_width == 32 and second.lr == first.lr == 4e-3     # kept from the top
    assert parse_spec(tmp_path / "tiny_blueprint.toml").configs == [parse_spec(tmp_path / "tiny_blueprint.toml").config]


@pytest.mark.parametrize("stage, words", [
    ('hidden_channels = 4\n', ["stage 2", "hidden_channels 6 -> 4"]),      # a narrower model
    ('perception = "learned"\n[[stages]]\nperception = "fixed"\n', ["stage 3", "perception"]),
    ('margin = 2\n', ["stage 2", "'margin'"]),                             # another grid
    ('seed_position = "centre"\n', ["stage 2", "'seed_position'"]),
    ('blueprint = "other.toml"\n', ["stage 2", "'blueprint'"]),
    ('lrr = 1e-4\n', ["stage 2 key 'lrr'", "did you mean 'lr'"]),
    ('lr = -1\n', ["stage 2 key 'lr'"]),
    ('iterations = 0\n', ["stage 2 key 'iterations'"]),
])
def test_a_stage_that_cannot_follow_the_one_before_is_refused_before_training(tmp_path, stage, words):
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "\n[[stages]]\n" + stage)
    with pytest.raises(VoxgenError) as err:
        parse_spec(spec)
    assert str(err.value.path) == str(spec) and all(w in err.value.message for w in words), err.value.message


@pytest.mark.parametrize("text", ['stages = 3\n', 'stages = [1, 2]\n', 'stages = "fine"\n'])
def test_stages_that_are_no_tables_are_refused(tmp_path, text):
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(text + spec.read_text())
    with pytest.raises(VoxgenError, match="'stages' must be tables"):
        parse_spec(spec)


def test_too_many_stages_are_refused(tmp_path):
    write_tiny(tmp_path, "grow")
    spec = tmp_path / "tiny.toml"
    spec.write_text(spec.read_text() + "\n[[stages]]\nlr = 1e-3\n" * 16)
    with pytest.raises(VoxgenError, match="16 later stages, at most 15"):
        parse_spec(spec)


def test_a_large_blueprint_file_gets_the_larger_recipe_and_a_spec_keeps_its_own(tmp_path):
    write_tiny(tmp_path, "grow")
    bare = parse_spec(tmp_path / "tiny_blueprint.toml")
    assert for_blueprint(bare, LARGE_BLOCKS) is bare                   # up to the limit: every default
    larger = for_blueprint(bare, LARGE_BLOCKS + 1)
    first, second = larger.configs
    assert first.mlp_width == LARGER[0]["mlp_width"] and first.damage_kinds == [] and first.perception == "fixed"
    assert second.perception == "learned" and second.fire_rate == 1.0 and second.mlp_width == first.mlp_width
    spec = parse_spec(tmp_path / "tiny.toml")                          # a spec says what it wants
    assert for_blueprint(spec, 10 ** 6) is spec


@pytest.fixture(scope="module")
def staged_run(tmp_path_factory):
    """Both stages cut to 3 iterations by `iterations`; then resumed to 6."""
    from voxgen.train import train
    root = tmp_path_factory.mktemp("staged")
    spec = _staged(root)
    first = train(spec, device="cpu", out=root / "run", iterations=3, progress=False)
    stage1_metrics = (root / "run" / "stage1" / "metrics.jsonl").read_text()
    resumed = train(spec, device="cpu", out=root / "run", iterations=6, resume=True, progress=False)
    return root, spec, first, resumed, stage1_metrics


def test_each_stage_runs_in_its_own_folder_from_the_weights_of_the_one_before(staged_run):
    root, spec, first, resumed, _ = staged_run
    run = root / "run"
    assert [s["iterations"] for s in first["stages"]] == [3, 3]            # --iterations: each stage's
    assert not any(s["stopped_early"] for s in first["stages"])
    assert first["started_from"].endswith("weights.safetensors") and first["run"] == str(run)
    for stage in ("stage1", "stage2"):
        assert (run / stage / "checkpoint.safetensors").is_file() and (run / stage / "weights.safetensors").is_file()
    assert _losses(run / "stage1" / "metrics.jsonl") == list(range(3))
    # stage 2: stage 1's model widened by two hidden channels, perception learned
    one, _ = read_weights(run / "stage1" / "weights.safetensors")
    two, two_meta = read_weights(root / "tiny.safetensors")
    assert two["model.fc_in"].shape[1] == one["model.fc_in"].shape[1] + 2 and "model.kernel" in two
    assert two_meta["config"]["perception"] == "learned" and two_meta["config"]["hidden_channels"] == 8
    assert two_meta["record"]["stages"] == resumed["stages"]                     # the weights as resumed
    assert json.loads((run / "stages.json").read_text()) == resumed["stages"]


def test_resume_goes_on_with_the_latest_stage_and_leaves_the_first_alone(staged_run):
    root, _, first, resumed, stage1_metrics = staged_run
    run = root / "run"
    assert resumed["stages"][0] == first["stages"][0] and resumed["stages"][1]["iterations"] == 6
    assert (run / "stage1" / "metrics.jsonl").read_text() == stage1_metrics           # not run again
    assert _losses(run / "stage2" / "metrics.jsonl") == list(range(6))               # 0-2, then 3-5 resumed
    assert not (run / "stage1" / "checkpoint.previous.safetensors").exists()


def test_a_fresh_staged_run_grows_the_tiny_structure_exactly_and_sets_old_checkpoints_aside(staged_run):
    from voxgen.grow import grow, load_trained
    from voxgen.train import train
    root, spec, _, _, _ = staged_run
    run = root / "run"
    record = train(spec, device="cpu", out=run, progress=False)
    assert record["stopped_early"] and record["final"]["exact"] == 10, record["final"]
    assert [s["stopped_early"] for s in record["stages"]] == [False, True]
    for stage in ("stage1", "stage2"):                                 # the run before's, set aside
        assert (run / stage / "checkpoint.previous.safetensors").is_file()
    trained = load_trained(root / "tiny.safetensors")
    assert all(grow(trained, seed=s, device="cpu").metrics["exact"] for s in range(3))


def test_a_stage_that_grows_it_exactly_ends_the_stages(tmp_path):
    """The first stage given the tiny spec's full budget stops early, exact:
    the second (which would need stage 1's weights widened) never runs."""
    from voxgen.train import train
    spec = _staged(tmp_path, first_iterations=2000)
    record = train(spec, device="cpu", out=tmp_path / "run", progress=False)
    assert record["stopped_early"] and len(record["stages"]) == 1
    assert not (tmp_path / "run" / "stage2").exists()
    meta = read_weights(tmp_path / "tiny.safetensors")[1]
    assert meta["config"]["perception"] == "fixed" and meta["record"]["stages"] == record["stages"]


def test_resume_without_the_weights_of_the_stage_before_says_so(tmp_path):
    from voxgen.train import train
    spec = _staged(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stages.json").write_text(json.dumps(
        [{"iterations": 5, "wall_time_s": 1.0, "stopped_early": False}]))
    with pytest.raises(VoxgenError, match="stage 1's weights are missing"):
        train(spec, device="cpu", out=tmp_path / "run", resume=True, progress=False)
    (tmp_path / "run" / "stages.json").write_text("[{")
    with pytest.raises(VoxgenError, match="cannot read the stages done"):
        train(spec, device="cpu", out=tmp_path / "run", resume=True, progress=False)


def test_the_verdict_counts_every_stage_and_does_not_send_a_staged_run_to_the_recipe():
    from voxgen.cli.train import verdict
    final = {"exact": 0, "n": 10, "accuracy": 0.8, "iou": 0.5, "extra": 500, "missing": 90}
    stages = [{"iterations": 1500, "wall_time_s": 900.0}, {"iterations": 2500, "wall_time_s": 2700.0}]
    record = {"final": final, "iterations": 2500, "stopped_early": False, "weights": "w.safetensors",
              "blueprint": "big.nbt", "stages": stages}
    line = verdict("big.nbt", record, None, None, None)
    assert "after 2500 iterations of stage 2 (4000 in all, 60 min)" in line
    assert "--resume --iterations 5000" in line and "A larger structure" not in line
    del record["stages"]
    assert "A larger structure" in verdict("big.nbt", record, None, None, None)


def test_a_blueprint_file_over_the_limit_trains_in_stages(tmp_path, monkeypatch):
    """The tiny blueprint file itself with the limit lowered below its block
    count: two stages, the second with learned perception."""
    import voxgen.nca.spec as spec_module
    from voxgen import formats
    from voxgen.train import train
    write_tiny(tmp_path, "grow")
    blueprint = tmp_path / "tiny_blueprint.toml"
    blocks = int(np.count_nonzero(formats.load(blueprint).state_array() != "minecraft:air"))
    assert blocks > 1
    monkeypatch.setattr(spec_module, "LARGE_BLOCKS", blocks - 1)
    monkeypatch.setattr(spec_module, "LARGER", ({"iterations": 2}, {"perception": "learned", "iterations": 2}))
    record = train(blueprint, device="cpu", out=tmp_path / "run", progress=False)
    assert [s["iterations"] for s in record["stages"]] == [2, 2]
    assert read_weights(tmp_path / "tiny_blueprint.safetensors")[1]["config"]["perception"] == "learned"


def test_a_run_stopped_between_stages_resumes_with_the_next_from_the_weights_kept(tmp_path, monkeypatch):
    import voxgen.train as train_module
    spec = _staged(tmp_path)
    real = train_module._stage

    def stopped_at_stage_2(spec, cfg, dev, target, folder, *rest, **kw):
        if folder.name == "stage2":
            raise KeyboardInterrupt
        return real(spec, cfg, dev, target, folder, *rest, **kw)
    monkeypatch.setattr(train_module, "_stage", stopped_at_stage_2)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(spec, device="cpu", out=tmp_path / "run", iterations=2, progress=False)
    done = json.loads((tmp_path / "run" / "stages.json").read_text())
    assert [s["iterations"] for s in done] == [2] and not (tmp_path / "run" / "stage2").exists()
    monkeypatch.setattr(train_module, "_stage", real)
    record = train_module.train(spec, device="cpu", out=tmp_path / "run", iterations=2, resume=True, progress=False)
    assert record["stages"][0] == done[0] and record["stages"][1]["iterations"] == 2
    assert _losses(tmp_path / "run" / "stage2" / "metrics.jsonl") == [0, 1]


def _fake_stage(calls, stop_at=None):
    """A stage that trains nothing: writes its weights and reports."""
    def run_stage(number, folder, going_on, start, done, starting):
        folder.mkdir(parents=True, exist_ok=True)
        starting()
        weights = folder.parent / "w.safetensors"
        weights.write_bytes(b"stage %d" % number)
        calls.append((number, going_on, start and str(start)))
        record = {"iterations": 1, "wall_time_s": 0.0, "stopped_early": number == stop_at, "final": {},
                  "weights": str(weights)}
        return {**record, "stages": [*done, {"stopped_early": number == stop_at, "iterations": 1,
                                              "wall_time_s": 0.0}]}
    return run_stage


def test_resume_of_a_run_with_more_stages_done_than_the_spec_now_has_goes_on_with_its_last(tmp_path):
    from voxgen.nca.stages import run_stages
    out = tmp_path / "run"
    calls = []
    run_stages("x", 3, out, False, None, _fake_stage(calls), progress=False)
    assert [c[0] for c in calls] == [1, 2, 3] and calls[1][2].endswith("stage1/weights.safetensors")
    assert (out / "stage2" / "weights.safetensors").read_bytes() == b"stage 2"
    calls.clear()
    (out / "stage2" / "checkpoint.safetensors").write_bytes(b"")      # the spec now has two stages
    run_stages("x", 2, out, True, None, _fake_stage(calls), progress=False)
    assert calls == [(2, True, None)]
    assert len(json.loads((out / "stages.json").read_text())) == 2


def test_an_oversized_stages_file_is_refused(tmp_path):
    from voxgen.nca.stages import run_stages
    out = tmp_path / "run"
    out.mkdir()
    (out / "stages.json").write_text("[" + " " * (1 << 20) + "]")
    with pytest.raises(VoxgenError, match="over 1048576 bytes"):
        run_stages("x", 2, out, True, None, _fake_stage([]), progress=False)


def test_the_verdict_of_a_short_staged_run_gives_seconds():
    from voxgen.cli.train import verdict
    final = {"exact": 10, "n": 10, "accuracy": 1.0}
    record = {"final": final, "iterations": 82, "stopped_early": True, "weights": "w.safetensors",
              "blueprint": "b.toml", "stages": [{"iterations": 5, "wall_time_s": 1.2},
                                                {"iterations": 82, "wall_time_s": 0.9}]}
    assert verdict("s.toml", record, None, None, None).endswith("after 82 iterations of stage 2 (87 in all, 2 s)")


def test_a_fresh_run_refused_before_training_leaves_the_last_run_resumable(staged_run):
    """--init weights of another structure are refused before anything of the
    run before is set aside."""
    from voxgen.train import train
    root, spec, _, _, _ = staged_run
    run = root / "run"
    kept = (run / "stages.json").read_text()
    with pytest.raises(VoxgenError, match="grow another structure"):
        train(spec, device="cpu", out=run, init="flying_machine", progress=False)
    assert (run / "stages.json").read_text() == kept
    assert (run / "stage1" / "checkpoint.safetensors").is_file() and (run / "stage2" / "checkpoint.safetensors").is_file()


def test_weights_in_a_stage_folder_are_refused(tmp_path):
    from voxgen.train import train
    spec = _staged(tmp_path)
    with pytest.raises(VoxgenError, match="in the folder of stage 2"):
        train(spec, device="cpu", out=tmp_path / "run", weights_path=tmp_path / "run" / "stage2" / "w.safetensors",
              progress=False)


def test_a_stage_starting_sets_aside_the_checkpoints_of_every_later_stage_folder(tmp_path):
    """Even of a stage the spec no longer has: restored later, it must not
    resume the older run's checkpoint."""
    from voxgen.nca.stages import run_stages
    out = tmp_path / "run"
    run_stages("x", 3, out, False, None, _fake_stage([]), progress=False)
    for n in (2, 3):
        (out / f"stage{n}" / "checkpoint.safetensors").write_bytes(b"old")
    run_stages("x", 2, out, False, None, _fake_stage([]), progress=False)
    assert not (out / "stage3" / "checkpoint.safetensors").exists()
    assert (out / "stage3" / "checkpoint.previous.safetensors").read_bytes() == b"old"


def test_a_stage_whose_final_check_is_exact_ends_the_stages_even_if_it_did_not_stop_early():
    from voxgen.nca.stages import ended
    assert ended({"stopped_early": False, "exact": 10, "n": 10})
    assert not ended({"stopped_early": False, "exact": 9, "n": 10})
    assert ended({"stopped_early": True, "exact": 9, "n": 10})


def test_fine_tuning_a_large_blueprint_file_takes_the_last_stage_alone(tmp_path):
    write_tiny(tmp_path, "grow")
    bare = parse_spec(tmp_path / "tiny_blueprint.toml")
    tuned = for_blueprint(bare, LARGE_BLOCKS + 1, fine_tuning=True)
    assert tuned.stages == [] and tuned.config == for_blueprint(bare, LARGE_BLOCKS + 1).configs[-1]


def test_a_stage_ends_the_stages_only_if_it_showed_the_healing_a_later_stage_trains():
    from voxgen.nca.stages import ended
    grown = {"stopped_early": True, "exact": 10, "n": 10}
    assert ended(grown) and not ended(grown, {"regrowth"})             # growth only: the healing stage runs
    assert ended({**grown, "regrowth": {"n": 120, "exact": 108}}, {"regrowth"})          # 90%
    assert not ended({**grown, "regrowth": {"n": 120, "exact": 107}}, {"regrowth"})
    assert not ended({**grown, "regrowth": {"n": 120, "exact": 120}}, {"regrowth", "sphere_regrowth"})
    assert not ended({**grown, "regrowth": "108/120"}, {"regrowth"})                   # an edited summary
    assert not ended({"stopped_early": False, "exact": 9, "n": 10, "regrowth": {"n": 1, "exact": 1}}, {"regrowth"})


def test_a_growth_only_stage_that_grows_exactly_is_followed_by_the_healing_stage(tmp_path):
    """Stage 1 of 3 stops early, exact: stage 2 (growth only) and stage 3
    (trained on cut halves) still run; resumed after stage 2, the run goes
    on with stage 3. Without a healing stage, stage 1 ends them."""
    from voxgen.nca.stages import run_stages
    calls = []
    heals = [[], [], ["regrowth"]]
    record = run_stages("x", 3, tmp_path / "run", False, None, _fake_stage(calls, stop_at=1), False, heals=heals)
    assert [c[0] for c in calls] == [1, 2, 3] and len(record["stages"]) == 3
    stages = tmp_path / "run" / "stages.json"
    stages.write_text(json.dumps(json.loads(stages.read_text())[:2]))      # stopped before stage 3
    calls.clear()
    run_stages("x", 3, tmp_path / "run", True, None, _fake_stage(calls, stop_at=1), False, heals=heals)
    assert [c[0] for c in calls] == [3] and calls[0][2].endswith("stage2/weights.safetensors")
    calls.clear()
    run_stages("x", 3, tmp_path / "run", False, None, _fake_stage(calls, stop_at=1), False)      # no healing
    assert [c[0] for c in calls] == [1]


def test_the_summary_of_a_stage_keeps_its_regrowth_checks():
    from voxgen.nca.stages import summary
    final = {"exact": 10, "n": 10, "accuracy": 1.0, "iou": 1.0, "long_accuracy": 1.0,
             "regrowth": {"n": 120, "exact": 110}}
    kept = summary({"final": final, "iterations": 5, "wall_time_s": 1.0, "stopped_early": True})
    assert kept["regrowth"] == {"n": 120, "exact": 110} and "long_accuracy" not in kept and "sphere_regrowth" not in kept


def test_train_tells_the_stages_which_healing_each_trains(tmp_path, monkeypatch):
    import voxgen.train as train_module
    spec = _staged(tmp_path)
    spec.write_text(spec.read_text() + '\n[[stages]]\ndamage_kinds = ["halfcut"]\n'
                    '\n[[stages]]\ndamage_kinds = ["sphere", "dropout"]\n')
    seen = {}
    monkeypatch.setattr(train_module, "run_stages", lambda *args, heals, weights: seen.setdefault("heals", heals))
    train_module.train(spec, device="cpu", out=tmp_path / "run", progress=False)
    assert seen["heals"] == [[], [], ["regrowth"], ["sphere_regrowth"]]
