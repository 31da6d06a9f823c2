"""Animations (GIF, MP4) of a sequence of Structures, e.g. NCA growth frames.

Frames are rendered and handed to the encoder one at a time: an MP4 streams
into ffmpeg (imageio-ffmpeg) and never sits in memory; a GIF keeps each frame
only as an 8-bit paletted image (width x height bytes) because Pillow writes
a GIF in one go. The camera is fixed on one box (around the blocks of every
frame, so that a growth overshooting its final shape stays in view), a step
counter sits in the upper-left corner, and a progress bar counts frames.
The file appears only when complete (written beside, then renamed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from voxgen.atomic_write import atomic_output
from voxgen.errors import VoxgenError
from voxgen.render.scene import DEFAULT_AZIMUTH, DEFAULT_ELEVATION, Scene, joint_bounds
from voxgen.structure import Structure

ANIMATION_SUFFIXES = (".gif", ".mp4")
GIF_MAX_BYTES = 1 << 30
"""A GIF's frames stay in memory until Pillow writes the file (a byte a
pixel): at most this much of them (an MP4 streams its frames to ffmpeg)."""


GIF_MAX_FPS = 50
"""A GIF frame lasts a whole number of hundredths of a second, and viewers
show one of under 2 as 10: 50 frames a second at most."""


class _GifWriter:
    """Collects paletted frames; Pillow writes the GIF on `close`.

    A frame identical to the one before is not stored again: the one before
    is shown longer instead (Pillow would merge them itself, silently), so
    `written` is the GIF's true frame count. Delays are whole centiseconds
    (GIF's unit), rounded on the running clock so the total stays
    frames / fps however the delays round."""

    def __init__(self, path: Path, fps: float):
        self.path, self.frame_ms = path, 1000.0 / fps
        self.frames, self.repeats = [], []      # repeats[i]: rendered frames GIF frame i shows
        self._last = None                       # uint8 (H, W, 3) of the last stored frame

    @property
    def written(self) -> int:
        return len(self.frames)

    def append(self, image: np.ndarray) -> None:
        from PIL import Image

        if (len(self.frames) + 1) * image.shape[0] * image.shape[1] > GIF_MAX_BYTES:
            raise VoxgenError(_too_long_gif(len(self.frames) + 1, image.shape[1], image.shape[0]), self.path)
        frame = Image.fromarray(image).quantize(256, method=Image.Quantize.FASTOCTREE)
        pixels = np.asarray(frame.convert("RGB"))        # what a viewer shows, as Pillow compares
        if self._last is not None and np.array_equal(pixels, self._last):
            self.repeats[-1] += 1
            return
        self.frames.append(frame)
        self.repeats.append(1)
        self._last = pixels

    def durations(self) -> list[int]:
        """Milliseconds each GIF frame shows, multiples of 10."""
        ends = np.cumsum(self.repeats) * self.frame_ms
        ticks = np.rint(np.concatenate([[0.0], ends]) / 10).astype(int)
        return (np.diff(ticks) * 10).tolist()

    def abort(self) -> None:
        self.frames = []

    def close(self) -> None:
        first, *rest = self.frames
        first.save(self.path, format="GIF", save_all=True, append_images=rest,
                   duration=self.durations(), loop=0, disposal=1)


class _Mp4Writer:
    """Streams raw RGB frames into ffmpeg (H.264, yuv420p)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import imageio_ffmpeg

        self._gen = imageio_ffmpeg.write_frames(
            str(path), size, fps=fps, codec="libx264", macro_block_size=2, quality=None,
            pix_fmt_out="yuv420p", ffmpeg_log_level="error", output_params=[
                "-preset", "veryfast", "-crf", "20", "-f", "mp4"])
        self._gen.send(None)
        self.written = 0

    def append(self, image: np.ndarray) -> None:
        self._gen.send(np.ascontiguousarray(image))
        self.written += 1

    def close(self) -> None:
        self._gen.close()

    def abort(self) -> None:
        self._gen.close()               # waits for ffmpeg, so the file can then be removed


def _too_long_gif(frames: int, width: int, height: int) -> str:
    return (f"a GIF of {frames} frames of {width} x {height} pixels holds more than "
            f"{GIF_MAX_BYTES >> 20} MB in memory while it is made: give fewer --frames or --steps, "
            "a smaller --size, or write .mp4")


def check_animation_path(path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_SUFFIXES:
        raise VoxgenError(f"animation must be .gif or .mp4, not {path.suffix or 'no extension'!r}",
                          path)
    return path


def write_animation(frames: Iterable[Structure], path, *, final: Structure | None = None,
                    size: int = 512, fps: float = 12.0, azimuth: float = DEFAULT_AZIMUTH,
                    elevation: float = DEFAULT_ELEVATION, labels: Iterable[str] | None = None,
                    total: int | None = None, compare: Structure | None = None,
                    compare_at=(0, 0, 0), compare_right: bool = False,
                    panel_titles: Sequence[str] = ("blueprint", "grown"),
                    progress: bool = True, shown_as: str | None = None) -> int:
    """Render `frames` into `path` (.gif or .mp4); returns the number of
    frames in the file. A GIF stores identical consecutive frames once,
    shown for their summed time, so it may hold fewer than were rendered.

    final: the structure whose blocks the camera frames (default: the blocks
      of every frame, which needs `frames` to be a sequence).
    labels: per-frame corner text (default "step i/N").
    compare: if given, two panels: `compare` (static, e.g. the blueprint) on
      the left and the frames on the right (the other way round with
      `compare_right`), both framed on the same box, in which compare's
      cell (0, 0, 0) sits at the frames' cell `compare_at`.
    panel_titles: the left and the right panel's titles (with `compare`).
    size: pixels per panel side (an MP4's rounded up to even, as H.264 needs).
    shown_as: the file's name on the progress bar (default: `path`'s; a
      temporary file's is not the user's).
    """
    path = check_animation_path(path)
    if final is None and (not isinstance(frames, Sequence) or not frames):
        raise VoxgenError("no frames to animate", path)
    if total is None and isinstance(frames, Sequence):
        total = len(frames)
    suffix = path.suffix.lower()
    if suffix == ".mp4":
        size += size % 2
    panels = 1 if compare is None else 2
    if suffix == ".gif" and total and total * size * size * panels > GIF_MAX_BYTES:
        raise VoxgenError(_too_long_gif(total, size * panels, size), path)      # before any rendering
    if suffix == ".gif" and fps > GIF_MAX_FPS:     # shorter delays: viewers slow them to 0.1 s
        raise VoxgenError(f"a GIF shows at most {GIF_MAX_FPS} frames a second (a frame lasts 2 "
                          f"hundredths at least), not {fps:g}: lower --fps, or write .mp4", path)
    framed = [*(frames if final is None else [final]), *([] if compare is None else [compare])]
    at = np.zeros((len(framed), 3))
    if compare is not None:
        at[-1] = compare_at
    lo, hi = joint_bounds(framed, at)

    from tqdm import tqdm

    count = 0
    with atomic_output(path) as partial:
        writer = (_GifWriter(partial, fps) if suffix == ".gif"
                  else _Mp4Writer(partial, fps, (size * panels, size)))
        done = False
        try:
            with Scene(size, panels=panels, fixed_camera=True) as scene:
                beside = 1 if compare_right else 0             # compare's panel
                grown = 0 if compare is None else 1 - beside    # the frames' panel
                scene.frame(lo, hi, azimuth, elevation, grown)
                if compare is not None:             # the camera moves, not the blocks
                    scene.frame(lo - at[-1], hi - at[-1], azimuth, elevation, beside)
                    scene.show(compare, beside)
                    scene.label(panel_titles[beside], beside)
                labels = iter(labels) if labels is not None else None
                for frame in tqdm(frames, total=total, desc=f"render {shown_as or path.name}", unit="frame",
                                  disable=not progress, leave=False):
                    scene.show(frame, grown)
                    text = next(labels) if labels is not None else (
                        f"step {count}/{total - 1}" if total else f"step {count}")
                    if compare is not None:
                        text = f"{panel_titles[grown]}  {text}"
                    scene.label(text, grown)
                    writer.append(scene.snapshot())
                    count += 1
            if count == 0:
                raise VoxgenError("no frames to animate", path)
            writer.close()
            done = True
        finally:
            if not done:
                writer.abort()
    return writer.written
