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
