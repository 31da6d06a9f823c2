"""bench/nca.py's time-to-exact recipe stays a valid spec, and --set edits it;
bench/prior_targets.py's recipes are valid specs, and its stages chain."""

import importlib.util
import json
from pathlib import Path

import pytest

from voxgen.nca.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent


def load_bench(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_bench("nca")


def test_recipe_parses_as_a_spec_with_its_settings(bench, tmp_path):
    spec = tmp_path / "caterpillar.toml"
    spec.write_text(f'blueprint = "caterpillar"\n{bench.recipe_with(["reseed = 3", "lr=1e-3"])}')
    config = parse_spec(spec).config
    assert (config.verify_needed, config.average_decay, config.batch) == (9, 0.98, 4)
    assert (config.reseed, config.lr) == (3, 1e-3)            # replaced, and added
    assert bench.recipe_with([]).count("reseed") == 1


@pytest.mark.parametrize("setting", ["reseed", "reseed=", "=2"])
def test_a_malformed_setting_is_a_one_line_exit(bench, setting):
    with pytest.raises(SystemExit, match="expected KEY=VALUE"):
        bench.recipe_with([setting])


def test_every_prior_target_stage_parses_as_a_spec(tmp_path):
    prior = load_bench("prior_targets")
    for name, (_, recipes, _) in prior.TARGETS.items():
        for recipe in [recipes] if isinstance(recipes, str) else recipes:
            spec = tmp_path / f"{name}.toml"
            spec.write_text(f'blueprint = "caterpillar"\n{recipe}')
            assert parse_spec(spec).config.iterations > 0


def test_prior_target_stages_train_each_from_the_last(tmp_path, monkeypatch):
    import voxgen.train

    prior = load_bench("prior_targets")
    monkeypatch.setattr(prior, "SAMPLES", ROOT / "blueprints")
    monkeypatch.setattr(prior, "TARGETS", {"fm": ("flying_machine.toml", [
        "iterations = 3\nverify_seeds = 2\nverify_needed = 2\n",
        "iterations = 2\nverify_seeds = 2\nverify_needed = 2\nlr = 1e-4\nlr_schedule = \"constant\"\n"], "-")})
    real, inits, specs = voxgen.train.train, [], []

    def train(spec, **kw):
        inits.append(kw["init"] and Path(kw["init"]).read_bytes())
        specs.append(Path(spec).read_text())
        return real(spec, **kw)
    monkeypatch.setattr(voxgen.train, "train", train)
    r = prior.run("fm", threads=1, fresh=2, keep=tmp_path)
    assert (r["iterations"], r["stages"], r["fresh"]["n"]) == (5, 2, 2)
    for kept in ("fm.safetensors", "fm-stage1.safetensors", "fm-run1/metrics.jsonl", "fm-run2/metrics.jsonl"):
        assert (tmp_path / kept).exists(), kept
    # stage 1 from scratch, stage 2 from stage 1's weights, with its own settings
    assert inits == [None, (tmp_path / "fm-stage1.safetensors").read_bytes()]
    second = [json.loads(line) for line in (tmp_path / "fm-run2" / "metrics.jsonl").read_text().splitlines()]
    assert [m["it"] for m in second] == [0, 1] and second[0]["lr"] == pytest.approx(1e-4)
    # a later stage alone, from the weights given
    inits.clear()
    (tmp_path / "again").mkdir()
    again = prior.run("fm", threads=1, fresh=2, keep=tmp_path / "again", first=2,
                      init=tmp_path / "fm-stage1.safetensors", torch_seed=7)
    assert (again["iterations"], again["first_stage"], again["torch_seed"]) == (2, 2, 7)
    assert "torch_seed" not in specs[0] and specs[-1].endswith("torch_seed = 7\n")
    assert inits == [(tmp_path / "fm-stage1.safetensors").read_bytes()]
    assert not (tmp_path / "again" / "fm-run1").exists() and (tmp_path / "again" / "fm-run2").exists()


@pytest.mark.parametrize("names, first, init, message", [
    (["dark_oak_tree"], 2, None, "needs --init WEIGHTS"),
    (["dark_oak_tree"], 2, "missing.safetensors", "no such file"),
    (["dark_oak_tree"], 9, "weights", "has stages 1-5"),
    (["dark_oak_tree"], 1, "weights", "stage 1 starts from scratch"),
    (["house", "dark_oak_tree"], 2, "weights", "one target"),
])
def test_from_stage_options_are_checked_with_a_one_line_exit(tmp_path, names, first, init, message):
    prior = load_bench("prior_targets")
    (tmp_path / "weights").write_bytes(b"")
    with pytest.raises(SystemExit, match=message):
        prior.check_stage_options(names, first, init and tmp_path / init)
