"""`voxgen render`: a blueprint or a growth to PNG, GIF or MP4."""

from __future__ import annotations

from pathlib import Path

import click

from voxgen.cli import BLUEPRINT, SEED, WEIGHTS, FiniteFloat, GivenPath, load_blueprint
from voxgen.errors import VoxgenError
from voxgen.nca.config import MAX_STEPS

SUFFIXES = (".png", ".gif", ".mp4")


@click.command(help="""Render a blueprint or an NCA growth off-screen.

\b
  voxgen render FILE -o out.png                 a still, framed on the blocks
  voxgen render FILE --compare OTHER -o s.png   two panels: FILE | OTHER, blocks lined up
  voxgen render FILE -o build.gif               FILE revealed block by block
  voxgen render --growth NAME -o growth.mp4     one frame per NCA step
  voxgen render --growth NAME --side-by-side -o g.gif   blueprint | grown

Blocks lined up: OTHER is shifted onto FILE (with --growth, onto the last
grown frame) so that the most cells hold the same block, trying per axis the
boxes' low ends or their high ends lined up, give or take 2 cells; a tie, or
structures too big to search quickly, keep the low ends lined up.
""")
@click.argument("file", required=False, metavar="[FILE|NAME]", type=BLUEPRINT)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output .png, .gif or .mp4.")
@click.option("--growth", metavar="NAME|WEIGHTS", type=WEIGHTS,
              help="Grow from trained weights (structures/NAME.safetensors or a path).")
@click.option("--steps", type=click.IntRange(1, MAX_STEPS), help="NCA steps (default: the trained count).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Growth seed.")
@click.option("--device", default="auto", show_default=True, help="Growth device: auto, cpu, cuda.")
@click.option("--compare", type=GivenPath("a blueprint file or a bundled NAME", "tree", dir_okay=False,
                                           path_type=Path),
              help="A second blueprint (file or NAME), blocks lined up: right of FILE, or the left panel "
                   "of a growth.")
@click.option("--side-by-side", is_flag=True, help="Growth: the blueprint beside the grown frames.")
@click.option("--azimuth", type=FiniteFloat(), default=35.0, show_default=True,
              help="Degrees around +y.")
@click.option("--elevation", type=FiniteFloat(-90, 90), default=30.0, show_default=True,
              help="Degrees above.")
@click.option("--size", type=click.IntRange(16, 4096), default=512, show_default=True,
              help="Pixels per panel side.")
@click.option("--fps", type=FiniteFloat(min=0.5, max=120), default=12.0, show_default=True)
@click.option("--frames", "n_frames", type=click.IntRange(1, 10_000), default=60, show_default=True,
              help="Frames of a blueprint's build-up animation.")
def render(file, output, growth, steps, seed, device, compare, side_by_side, azimuth, elevation,
           size, fps, n_frames):
    output = output_file(output)
    suffix = output.suffix.lower()
    if (file is None) == (growth is None):
        raise VoxgenError("give either a blueprint FILE or --growth NAME|WEIGHTS")

    from voxgen.atomic_write import check_output
    from voxgen.bundled import resolve_blueprint

    from voxgen.render.mesh import check_faces

    check_output(output)                        # a missing or read-only folder, before the work
    other = None
    if compare is not None:
        compare_path = resolve_blueprint(compare)
        other = load_blueprint(compare_path, block_entities=False)   # drawn from blocks alone
        check_faces(other, compare_path, see_through=True, shapes=True)   # refuse before any mesh is built
    view = dict(size=size, azimuth=azimuth, elevation=elevation)
    if growth is not None:
        from voxgen.render.growth import grow_frames

        grown = grow_frames(growth, steps=steps, seed=seed, device=device)
        last, blueprint, at = grown.frames[-1], None, (0, 0, 0)
        if other is not None:           # its blocks beside the grid's (margin and all)
            from voxgen.render.align import best_offset

            blueprint, at = other, best_offset(last, other)
        elif side_by_side:              # the trained target: already in the grid
            blueprint = grown.blueprint
            if blueprint is None:
                raise VoxgenError("these weights carry no blueprint; give one with --compare FILE",
                                  growth)
        if suffix == ".png":
            from voxgen.render.scene import render_still, save_png

            if blueprint is None:
                save_png(render_still(last, **view), output)
            else:
                save_png(render_still(blueprint, compare=last, compare_at=[-d for d in at],
                                      labels=_marked(("blueprint", "grown"), blueprint, last),
                                      **view),
                         output)
        else:
            from voxgen.render.animate import write_animation

            write_animation(grown.frames, output, compare=blueprint, compare_at=at, fps=fps,
                            labels=grown.labels(),
                            panel_titles=_marked(("blueprint", "grown"), blueprint, None), **view)
    else:
        from voxgen.render.mesh import require_blocks

        file = resolve_blueprint(file)
        # Only blocks are drawn: decoding block entities took most of the
        # 256^3 sample's load (42k of them, ~3 s).
        structure = load_blueprint(file, block_entities=False)
        check_faces(structure, file, see_through=True, shapes=True)
        if other is None or not other.count_non_air():
            # alone, an empty blueprint is nothing to draw; beside a non-empty one
            # (a growth that grew nothing, saved) it is a result worth showing
            require_blocks(structure, file, "render")
        at = (0, 0, 0)
        if other is not None:        # two files, two frames: line their blocks up, same scale
            from voxgen.render.align import best_offset

            structure, other = structure.trimmed(), other.trimmed()
            at = best_offset(structure, other)
        titles = _marked((file.stem, compare.stem if compare else ""), structure, other)
        if suffix == ".png":
            from voxgen.render.scene import render_still, save_png

            save_png(render_still(structure, compare=other, compare_at=at,
                                  labels=titles if other is not None else None, **view), output)
        else:
            from voxgen.render.animate import write_animation
            from voxgen.render.reveal import reveal_frames

            write_animation(reveal_frames(structure, n_frames), output, final=structure,
                            total=n_frames, compare=other, compare_at=at, compare_right=True, fps=fps,
                            panel_titles=titles, **view)
    click.echo(f"wrote {output}")


def output_file(text: str) -> Path:
    """The -o path (`output_path`), refused (one line) unless it ends in one
    of SUFFIXES."""
    from voxgen.cli import output_path

    path = output_path(text, "picture.png")
    if path.suffix.lower() not in SUFFIXES:
        raise VoxgenError(f"output must be .png, .gif or .mp4, not {path.suffix or 'no extension'!r}",
                          path)
    return path


def _marked(titles, *structures) -> tuple:
    """Panel titles, each followed by "(no blocks)" where its structure is
    empty, so an empty panel reads as a result, not as a failed render."""
    return tuple(title if s is None or s.count_non_air() else f"{title} (no blocks)".strip()
                 for title, s in zip(titles, structures))
