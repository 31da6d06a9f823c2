"""Draw the README's gallery into render/gallery/.

    .venv/bin/python render/gallery.py [--out DIR] [WEIGHTS.safetensors ...]

For every bundled blueprint (blueprints/*.toml): NAME.png, a 512 px still.
For every trained structure (structures/NAME.safetensors): NAME_growth.gif,
the NCA growing it (320 px, at most 2 MB), and NAME_vs_blueprint.png, the
blueprint beside the grown result. Each picture is checked for being mostly
background (nothing drawn) before it is kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "gallery"
sys.path.insert(0, str(ROOT))

from voxgen import formats  # noqa: E402
from voxgen.render.animate import write_animation  # noqa: E402
from voxgen.render.scene import BACKGROUND, render_still, save_png  # noqa: E402

STILL_SIZE = 512
GIF_SIZE = 320
GIF_MAX_BYTES = 2 * 1024 * 1024
GIF_MAX_FRAMES = 64


def drawn_fraction(image: np.ndarray) -> float:
    """Share of pixels that differ from the background."""
    background = np.rint(np.array(BACKGROUND) * 255).astype(int)
    return float((np.abs(image.astype(int) - background).max(axis=2) > 12).mean())


def shown_path(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def keep_still(image: np.ndarray, path: Path) -> None:
    fraction = drawn_fraction(image)
    if fraction < 0.02:
        raise SystemExit(f"{path.name}: only {fraction:.1%} of the picture is drawn")
    save_png(image, path)
    print(f"{shown_path(path)}  ({fraction:.0%} drawn)")


def blueprint_stills(out: Path) -> None:
    for path in sorted((ROOT / "blueprints").glob("*.toml")):
        structure = formats.load(path)
        keep_still(render_still(structure, size=STILL_SIZE), out / f"{path.stem}.png")


def growth_pictures(all_weights: list[Path], out: Path) -> None:
    from voxgen.render.growth import grow_frames

    for weights in all_weights:
        growth = grow_frames(weights, seed=0, device="cpu")
        frames, labels = growth.frames, growth.labels()
        keep = list(range(0, len(frames), max(1, -(-len(frames) // GIF_MAX_FRAMES))))
        if keep[-1] != len(frames) - 1:
            keep.append(len(frames) - 1)
        shown = [frames[i] for i in keep]
        gif = out / f"{weights.stem}_growth.gif"
        write_animation(shown, gif, size=GIF_SIZE, fps=10,
                        labels=[labels[i] for i in keep])
        size = gif.stat().st_size
        print(f"{shown_path(gif)}  ({len(shown)} frames, {size / 1024:.0f} KiB)")
        if size > GIF_MAX_BYTES:
            raise SystemExit(f"{gif.name} is {size / 2**20:.1f} MB, over the 2 MB budget")
        if growth.blueprint is not None:
            image = render_still(growth.blueprint, size=STILL_SIZE // 2 * 2,
                                 compare=frames[-1], labels=("blueprint", "grown"))
            keep_still(image, out / f"{weights.stem}_vs_blueprint.png")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Draw the README gallery.")
    parser.add_argument("weights", nargs="*", type=Path,
                        help="weights to animate (default: structures/*.safetensors)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the pictures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    blueprint_stills(args.out)
    weights = args.weights or sorted((ROOT / "structures").glob("*.safetensors"))
    if weights:
        growth_pictures(weights, args.out)
    else:
        print("no structures/*.safetensors yet: no growth animations")


if __name__ == "__main__":
    main()
