"""The interactive viewer: orbit/zoom, scrub growth steps, hide block types,
cut the creature with a plane.

The cut happens in voxel space: cells whose centre lies on the side the plane's
normal points to are dropped and the mesh is rebuilt, so the inside shows as
whole blocks (not a clipped surface). Every control calls a plain method
(`set_step`, `step_by`, `toggle_play`, `tick`, `set_type_visible`, `set_cut`,
`clear_cut`), so tests drive them on an off-screen plotter and look at
`scene.meshes[0]` or the pixels.

Keys: space play/pause, Right/Left one step, Home/End first/last step,
u undo the cut.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from voxgen.blocks import block_id
from voxgen.errors import VoxgenError
from voxgen.render.offscreen import require_display
from voxgen.render.scene import Scene, joint_bounds
from voxgen.structure import Structure

MAX_TOGGLES = 16          # block types with a checkbox (the most common ones)


def block_types(frames: Sequence[Structure]) -> list[str]:
    """Block ids present in the last frame (else any frame), most cells first."""
    counts: dict[str, int] = {}
    for frame in (frames[-1],) if frames[-1].count_non_air() else frames:
        for state, n in frame.counts().items():
            if n and state != frame.palette[0]:
                counts[block_id(state)] = counts.get(block_id(state), 0) + n
    return sorted(counts, key=lambda t: (-counts[t], t))


class Viewer:
    """A growth (or one structure) in a pyvista window.

    frames: Structures of one box, e.g. `GrowResult.frames`; the viewer opens
      on the last one. labels: corner text per frame (default "step i/N").
      plotter: an existing pyvista Plotter (tests pass an off-screen one); by
      default a real window is opened.
    """

    def __init__(self, frames: Sequence[Structure], plotter=None, size: int = 800,
                 fps: float = 8.0, title: str = "voxgen", labels: Sequence[str] | None = None):
        if not frames:
            raise VoxgenError("nothing to view: no frames")
        self.frames = list(frames)
        n = len(self.frames)
        self.labels = list(labels) if labels is not None else (
            [f"step {i}/{n - 1}" for i in range(n)] if n > 1 else [self.frames[0].name or ""])
        self.step = len(self.frames) - 1
        self.playing = False
        self.hidden_types: set[str] = set()
        self.cut: tuple[np.ndarray, np.ndarray] | None = None   # (normal, origin), block units
        if plotter is None:
            import pyvista as pv

            from voxgen.render.offscreen import require_opengl

            require_opengl()
            plotter = pv.Plotter(window_size=(size, size), title=title)
        self.plotter = plotter
        self.scene = Scene(size, plotter=plotter)
        self.types = block_types(self.frames)
        self.lo, self.hi = joint_bounds(self.frames)          # every step in view, as in animations
        self.redraw()
        self.scene.frame(self.lo, self.hi)
        self._add_controls(fps)

    # --- state changes (the callbacks) ------------------------------------

    def set_step(self, value) -> None:
        """Show growth step `value` (rounded, clamped to the frames)."""
        self.step = int(np.clip(round(float(value)), 0, len(self.frames) - 1))
        if self.slider is not None:
            self.slider.GetRepresentation().SetValue(self.step)
        self.redraw()

    def step_by(self, delta: int) -> None:
        self.set_step(self.step + delta)

    def toggle_play(self) -> None:
        """Start or stop playing; playing from the last step starts over."""
        self.playing = not self.playing
        if self.playing and self.step == len(self.frames) - 1:
            self.set_step(0)

    def tick(self) -> None:
        """One timer beat: advance a step while playing, stop at the end."""
        if not self.playing:
            return
        self.step_by(1)
        if self.step == len(self.frames) - 1:
            self.playing = False

    def set_type_visible(self, block_type: str, visible: bool) -> None:
        """Show or hide every state of one block id (e.g. `minecraft:observer`)."""
        (self.hidden_types.discard if visible else self.hidden_types.add)(block_type)
        box = getattr(self, "checkboxes", {}).get(block_type)
        if box is not None:                  # keep the checkbox in step when called directly
            box.GetRepresentation().SetState(int(visible))
        self.redraw()

    def set_cut(self, normal, origin) -> None:
        """Drop the cells whose centres lie on the side `normal` points to of the
        plane through `origin` (block units)."""
        self.cut = (np.asarray(normal, float), np.asarray(origin, float))
        self.redraw()

    def clear_cut(self) -> None:
        self.cut = None
        self.redraw()

    # --- drawing ------------------------------------------------------------

    def keep_mask(self, shape) -> np.ndarray | None:
        """bool (X, Y, Z): cells on the kept side of the cut plane, or None."""
        if self.cut is None:
            return None
        normal, origin = self.cut
        centres = np.indices(shape, dtype=float).transpose(1, 2, 3, 0) + 0.5
        return (centres - origin) @ normal <= 0

    def redraw(self) -> None:
        frame = self.frames[self.step]
        hidden = np.array([block_id(s) in self.hidden_types for s in frame.palette])
        self.scene.show(frame, keep=self.keep_mask(frame.shape), hidden=hidden)
        self.scene.label(self.labels[self.step])
        self.plotter.render()

    def _add_controls(self, fps: float) -> None:
        p = self.plotter
        self.slider = None
        if len(self.frames) > 1:
            self.slider = p.add_slider_widget(
                self.set_step, [0, len(self.frames) - 1], value=self.step, title="step",
                pointa=(0.40, 0.93), pointb=(0.95, 0.93), fmt="%.0f",
                interaction_event="always")
        table = {block_id(s): c for f in self.frames
                 for s, c in zip(f.palette, _colours(f.palette))}
        self.checkboxes = {}
        for i, block_type in enumerate(self.types[:MAX_TOGGLES]):
            y = 10 + 28 * i
            self.checkboxes[block_type] = p.add_checkbox_button_widget(
                lambda on, t=block_type: self.set_type_visible(t, on), value=True,
                position=(10, y), size=22, border_size=2,
                color_on=table[block_type], color_off="white")
            p.add_text(block_type.removeprefix("minecraft:"), position=(38, y + 3),
                       font_size=9, color="black")
        # The plane starts on the box's east face pointing east: it cuts nothing
        # until dragged inward.
        bounds = [v for pair in zip(self.lo, self.hi) for v in pair]
        self.plane = p.add_plane_widget(
            lambda normal, origin: self.set_cut(normal, origin), normal="x",
            origin=(self.hi[0], (self.lo[1] + self.hi[1]) / 2, (self.lo[2] + self.hi[2]) / 2),
            bounds=bounds, factor=1.1, outline_translation=False)
        p.add_key_event("space", self.toggle_play)
        p.add_key_event("Right", lambda: self.step_by(1))
        p.add_key_event("Left", lambda: self.step_by(-1))
        p.add_key_event("Home", lambda: self.set_step(0))
        p.add_key_event("End", lambda: self.set_step(len(self.frames) - 1))
        p.add_key_event("u", self.clear_cut)
        if not p.off_screen:
            p.add_timer_event(max_steps=10 ** 7, duration=max(1, int(1000 / fps)),
                              callback=lambda _: self.tick())

    def show(self) -> None:
        """Open the window and block until it is closed."""
        self.plotter.show()


def _colours(palette) -> list[tuple[float, float, float]]:
    from voxgen.blocks import compile_palette

    return [tuple(v / 255.0 for v in c) for c in compile_palette(palette).colour.tolist()]


def open_viewer(frames: Sequence[Structure], size: int = 800, title: str = "voxgen",
                labels: Sequence[str] | None = None) -> None:
    """Open the interactive window; on a machine with no display, say so."""
    require_display()
    Viewer(frames, size=size, title=title, labels=labels).show()
