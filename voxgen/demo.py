"""`make demo`: the main job on bundled data.

Until the regeneration harness lands this shows blueprint import: every bundled
blueprint is loaded and summarised.
"""

from pathlib import Path

from voxgen import formats

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    for path in sorted((ROOT / "blueprints").glob("*.toml")):
        s = formats.load(path)
        print(f"{path.name:24s} size {list(s.shape)}  blocks {s.count_non_air():5d}  "
              f"states {len(s.palette)}")


if __name__ == "__main__":
    main()
