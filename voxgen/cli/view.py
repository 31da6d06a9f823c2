"""`voxgen view`: the interactive 3D viewer for a blueprint or a growth."""

from __future__ import annotations

from pathlib import Path

import click

from voxgen.cli import SEED, GivenPath
from voxgen.errors import VoxgenError
from voxgen.nca.config import MAX_STEPS


def resolve(target: str) -> tuple[str, Path]:
    """('file', path) for an existing file, ('weights', path) for a trained
    structure NAME (structures/NAME.safetensors), ('file', path) for a
    bundled blueprint NAME (blueprints/NAME.toml), from any directory."""
    from voxgen import bundled, grow

    path = Path(target)
    if path.is_file():
        return ("weights" if path.suffix == ".safetensors" else "file"), path
    weights = grow.STRUCTURES / f"{target}.safetensors"
    if "/" not in target and weights.is_file():
        return "weights", weights
    blueprint = bundled.bundled_blueprint(target)
    if blueprint is not None:
        return "file", blueprint
    if path.is_dir():
        raise VoxgenError("is a directory; give a blueprint file, or a trained structure or "
                          "bundled blueprint NAME", target)
    if path.exists():                 # a FIFO, a device: the reader says what is wrong with it
        return "file", path
    raise VoxgenError("no such file, and no trained structure or bundled blueprint of that name", target)


@click.command()
@click.argument("target", metavar="FILE|NAME",
                type=GivenPath("a blueprint or weights file, or a NAME", "tree"))
@click.option("--steps", type=click.IntRange(1, MAX_STEPS), help="NCA steps when growing NAME.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Growth seed.")
@click.option("--reveal", type=click.IntRange(2, 1000),
              help="For a blueprint: scrub through its block-by-block build-up in N steps "
                   "(at most 1000, as a growth shows: the frames are all held at once).")
@click.option("--size", type=click.IntRange(200, 4096), default=900, show_default=True)
def view(target, steps, seed, reveal, size):
    """Open FILE (a blueprint) or NAME (trained weights, else a bundled
    blueprint) in a window: drag to orbit, scroll to zoom, the slider scrubs
    growth steps, checkboxes hide block types, the plane cuts in voxel space;
    space plays/pauses, Left/Right step, u undoes the cut."""
    from voxgen.render.offscreen import require_display

    # The input is read and checked first: a bad file is named as such with or without a display.
    kind, path = resolve(target)
    if kind == "weights":
        from voxgen.render.growth import load_weights

        trained = load_weights(path)
    else:
        from voxgen.cli import load_blueprint

        from voxgen.render.mesh import check_faces, require_blocks

        structure = load_blueprint(path, block_entities=False)   # blocks alone are drawn
        check_faces(structure, path, see_through=True, shapes=True)   # refuse before any mesh is built
        require_blocks(structure, path, "view")
    require_display()
    labels = None
    if kind == "weights":
        from voxgen.render.growth import grow_frames

        growth = grow_frames(trained, steps=steps, seed=seed)
        frames, labels = growth.frames, growth.labels()
    elif reveal:
        from voxgen.render.reveal import reveal_frames

        frames = list(reveal_frames(structure, reveal))
    else:
        frames = [structure]
    from voxgen.render.viewer import open_viewer

    open_viewer(frames, size=size, title=f"voxgen: {path.name}", labels=labels)
