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
