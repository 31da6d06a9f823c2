"""`make demo`: the whole story on bundled data.

Grow the caterpillar from its seed, cut it in half across its length, let
each half regrow alone, fly both regrown caterpillars in the physics, print
the report and write out/demo/NAME_regen.gif (+ a montage PNG). Without the
caterpillar's weights it falls back to the best trained structure there is
(machines first), and says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "demo"
PREFERRED = ("caterpillar", "flying_machine", "tree", "cottage", "temple")


def pick_structure() -> str | None:
    """The first of PREFERRED with weights in structures/, else any weights."""
    have = {p.stem for p in (ROOT / "structures").glob("*.safetensors")}
    for name in PREFERRED:
        if name in have:
            return name
    return min(have) if have else None


def main() -> int:
    import torch

    torch.set_num_threads(2)
    from voxgen.cli.regen import render_montage, render_story, table
    from voxgen.grow import load_trained
    from voxgen.regen import regenerate

    name = pick_structure()
    if name is None:
        print("demo: no trained structures in structures/*.safetensors; train one with "
              "`voxgen train structures/caterpillar.toml`")
        return 0
    if name != PREFERRED[0]:
        print(f"demo: structures/caterpillar.safetensors is not trained yet; "
              f"showing '{name}' instead")
    trained = load_trained(name, device="cpu")
    print(f"demo: grow {name} from its seed, cut it in half, regrow both halves alone"
          f"{', fly both' if _is_machine(trained) else ''}")
    report = regenerate(trained, at="half", trials=2, seed=0, keep_frames=True)
    print(table(report))

    from voxgen.render.offscreen import opengl_problem
    problem = opengl_problem()
    if problem:
        print(f"demo: no pictures ({problem})")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    render_montage(report, OUT / f"{name}_regen.png")
    n, seconds = render_story(report, trained, OUT / f"{name}_regen.gif", size=320)
    print(f"demo: wrote {OUT / f'{name}_regen.gif'} ({n} frames, {seconds:.1f} s) and {OUT / f'{name}_regen.png'}")
    return 0


def _is_machine(trained) -> bool:
    from voxgen.regen_flight import flight_recipe
    return flight_recipe(trained)[0] is not None


if __name__ == "__main__":
    sys.exit(main())
