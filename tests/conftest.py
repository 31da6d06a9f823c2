"""Shared fixtures. Sample files live in ../shared/samples beside the project
(third-party test data, never copied here); tests that need them skip cleanly
when that folder is absent, as on a user's machine."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
STRUCTURES = ROOT / "structures"
SAMPLES = ROOT.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is absent")
    return SAMPLES


def write_tiny(root: Path, variant: str) -> None:
    """Write a tiny blueprint and its NCA spec (tests/nca_fixtures/tiny_VARIANT_*)
    into `root` as tiny_blueprint.toml and tiny.toml, for training in a test."""
    fixtures = Path(__file__).parent / "nca_fixtures"
    (root / "tiny_blueprint.toml").write_text((fixtures / f"tiny_{variant}_blueprint.toml").read_text())
    (root / "tiny.toml").write_text((fixtures / f"tiny_{variant}_spec.toml").read_text())


def run(*args):
    """`voxgen ARGS...` in-process (click's runner); each arg str()-ed."""
    from click.testing import CliRunner

    from voxgen.cli import main
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *needles):
    """Exit 2 and exactly one line "voxgen: error: ..." holding every needle."""
    assert result.exit_code == 2, result.output
    assert result.output.startswith("voxgen: error: "), result.output
    assert result.output.count("\n") == 1, result.output
    for needle in needles:
        assert str(needle) in result.output, result.output
