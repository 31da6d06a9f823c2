"""bench/nca.py's time-to-exact recipe stays a valid spec, and --set edits it."""

import importlib.util
from pathlib import Path

import pytest

from voxgen.nca.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_nca", ROOT / "bench" / "nca.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
