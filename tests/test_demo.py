"""`make demo` (voxgen/demo.py): the whole story, and a true line about what it wrote."""

import re

import pytest

from conftest import ROOT


@pytest.mark.skipif(not (ROOT / "structures" / "caterpillar.safetensors").exists(),
                    reason="caterpillar weights not trained")
def test_demo_regrows_flies_and_says_what_it_wrote(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from voxgen import demo
    from voxgen.render.offscreen import opengl_problem

    monkeypatch.setattr(demo, "OUT", tmp_path)
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "part 0: exact 2/2" in out and "part 1: exact 2/2" in out and "flies 2/2" in out
    if opengl_problem():
        assert "demo: no pictures" in out
        return
    said = re.search(r"caterpillar_regen\.gif \((\d+) frames, ([\d.]+) s\)", out)
    assert said, out
    with Image.open(tmp_path / "caterpillar_regen.gif") as gif:
        frames = gif.n_frames
        total_ms = 0
        for i in range(frames):
            gif.seek(i)
            total_ms += gif.info["duration"]
    assert int(said.group(1)) == frames
    assert abs(float(said.group(2)) - total_ms / 1000) < 0.05
    assert (tmp_path / "caterpillar_regen.png").exists()
