"""Review of what the regeneration report claims: damage positions a reader
can redo on the blueprint, parts the damage never touched, and a montage
that shows every block of every panel."""

from pathlib import Path

import numpy as np
import pytest

from voxgen.cli.regen import render_montage, table
from voxgen.grow import load_trained
from voxgen.regen import RegenFrames, damage_masks, regenerate
from voxgen.structure import Structure

ROOT = Path(__file__).resolve().parent.parent
FLYING = ROOT / "structures" / "flying_machine.safetensors"
needs_flying = pytest.mark.skipif(not FLYING.exists(), reason="flying_machine weights not trained")


def test_sphere_and_box_are_reported_in_blueprint_coordinates():
    shape, margin = (6, 4, 5), 2
    grid = np.indices(tuple(n + 2 * margin for n in shape))
    rng = np.random.default_rng(3)
    for _ in range(20):
        (keep,), info = damage_masks("sphere", shape, margin, rng, radius=0.3)
        assert all(0 <= c <= n - 1 for c, n in zip(info["centre"], shape))
        d2 = sum((grid[k] - (info["centre"][k] + margin)) ** 2 for k in range(3))
        assert (keep == (d2 > info["radius"] ** 2)).all()
        (keep,), info = damage_masks("box", shape, margin, rng)
        assert all(0 <= a < b <= n for a, b, n in zip(info["lo"], info["hi"], shape))
        inside = np.ones(keep.shape, bool)
        for k in range(3):
            inside &= (grid[k] >= info["lo"][k] + margin) & (grid[k] < info["hi"][k] + margin)
        assert (keep == ~inside).all()


@needs_flying
def test_a_part_the_damage_took_nothing_from_is_counted_as_untouched():
    t = load_trained(FLYING)
    report = regenerate(t, damage="random", rate=0.0, trials=2, steps=2, ticks=10)
    parts = [p for tr in report["trials"] for p in tr["parts"]]
    assert [p["blocks_removed"] for p in parts] == [0, 0]
    assert report["summary"]["untouched"] == 2 and report["summary"]["exact"] == 2
    assert "2 of 2 parts lost no block to the damage" in table(report)

    report = regenerate(t, damage="cut", axis="z", at=2, trials=1, steps=2, ticks=10)
    a, b = report["trials"][0]["parts"]
    assert a["blocks_removed"] == b["blocks_after_damage"] > 0     # the grown machine is exact
    assert b["blocks_removed"] == a["blocks_after_damage"] > 0
    assert report["summary"]["untouched"] == 0
    assert "lost no block" not in table(report)


def test_the_montage_frames_every_panel_and_names_the_damage(monkeypatch):
    import voxgen.render.scene as scene_module
    seen = {}

    class Recorder:
        def __init__(self, size, panels):
            seen["labels"] = [None] * panels

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def show(self, structure, panel):
            pass

        def label(self, text, panel):
            seen["labels"][panel] = text

        def frame(self, lo, hi):
            seen["box"] = (np.asarray(lo), np.asarray(hi))

        def snapshot(self):
            return None

    monkeypatch.setattr(scene_module, "Scene", Recorder)
    monkeypatch.setattr(scene_module, "save_png", lambda image, path: None)
    palette = ("minecraft:air", "minecraft:stone")
    small = np.zeros((12, 3, 3), np.int32)
    small[0:2, 0, 0] = 1
    overgrown = small.copy()
    overgrown[11, 2, 2] = 1                 # a block far outside the grown whole
    frames = RegenFrames(grown=Structure(small, palette), damaged=[Structure(small, palette)],
                         regrowing=[[Structure(overgrown, palette)]], steps=[0])
    report = {"frames": frames, "trials": [{"damage": "sphere", "parts": [{"exact": False}]}]}
    render_montage(report, "unused.png")
    lo, hi = seen["box"]
    assert (hi >= [12, 3, 3]).all() and (lo <= 0).all()
    assert seen["labels"] == ["grown", "part 0 after sphere", "part 0 regrown"]
