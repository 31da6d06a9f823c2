"""The pyvista scene: one or more panels, each showing one Structure's mesh.

Lighting is off (the mesh carries its own per-direction brightness, so a
pixel's colour is exactly its face's colour; a machine block's front face
carries a darker inset square, see `marks.FRONT_BLOCKS`; stairs, slabs,
fences, torches, plants... are drawn as their boxes, see `shapes.block_shape`) and so is
anti-aliasing (speed, and exact colours). The camera frames a box of blocks from an azimuth and an
elevation in degrees:

    azimuth 0, elevation 0   looking north from the south (+z side)
    azimuth 90               looking west from the east (+x side)
    elevation 90             looking down, north at the top of the image

Headless machines render through EGL (see `offscreen.require_opengl`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from voxgen.render.marks import front_marks
from voxgen.render.mesh import VoxelMesh, build_mesh
from voxgen.render.offscreen import require_opengl
from voxgen.structure import Structure

BACKGROUND = (0.88, 0.91, 0.95)   # pale sky; never black, so empty frames show
TEXT_COLOUR = (0.15, 0.15, 0.2)
EDGE_COLOUR = (0.12, 0.12, 0.14)
VIEW_ANGLE = 30.0                 # degrees, vertical field of view
EDGE_MIN_PIXELS = 14.0            # outline blocks drawn at least this many pixels wide
CLEAR_OPACITY = 0.4               # water, glass, ice: what lies behind them shows
DEFAULT_AZIMUTH = 35.0
DEFAULT_ELEVATION = 30.0


def _solid_box(structure: Structure):
    """(lo, hi) float (3,) corners of the box around the non-air cells, or
    None when the structure is empty."""
    idx = np.nonzero(~structure.air_mask())
    if idx[0].size == 0:
        return None
    return (np.array([i.min() for i in idx], dtype=float),
            np.array([i.max() + 1 for i in idx], dtype=float))


def filled_bounds(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) float (3,) corners of the box around the non-air cells, in block
    units; the whole box when the structure is empty."""
    return joint_bounds([structure])


def joint_bounds(structures, at=None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of the box around the non-air cells of all `structures`, in
    one frame of reference where each one's cell (0, 0, 0) sits at its row
    of `at` (int (N, 3) cells; default: all at the origin); an empty one
    adds nothing, and when all are empty it is the first one's whole box."""
    structures = list(structures)
    at = np.zeros((len(structures), 3)) if at is None else np.asarray(at, dtype=float)
    boxes = [(box[0] + d, box[1] + d) for box, d in zip(map(_solid_box, structures), at)
             if box is not None]
    if not boxes:
        return at[0], at[0] + structures[0].shape
    return np.min([lo for lo, _ in boxes], axis=0), np.max([hi for _, hi in boxes], axis=0)


def camera_pose(lo, hi, azimuth: float = DEFAULT_AZIMUTH, elevation: float = DEFAULT_ELEVATION,
                view_angle: float = VIEW_ANGLE, aspect: float = 1.0):
    """(position, focal_point, view_up) of a camera that fits the box [lo, hi]
    (its bounding sphere) into a window of width/height `aspect`."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    centre = (lo + hi) / 2
    az, el = math.radians(azimuth), math.radians(elevation)
    direction = np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])
    if abs(elevation) > 89.0:
        # Looking straight up or down: "up" on screen is north (-z), turned by azimuth.
        up = np.array([-math.sin(az), 0.0, -math.cos(az)])
    else:
        up = np.array([0.0, 1.0, 0.0])
    right = np.cross(-direction, up)
    right /= np.linalg.norm(right)
    screen_up = np.cross(right, -direction)
    # Back off until every corner of the box is inside the view (plus a margin):
    # a corner at offset v needs distance >= v.direction + |v.axis| / tan(half angle).
    tan_v = math.tan(math.radians(view_angle) / 2)
    tan_h = tan_v * aspect
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])]) - centre
    along = corners @ direction
    distance = max(float(np.max(along + np.abs(corners @ screen_up) / (tan_v / 1.04))),
                   float(np.max(along + np.abs(corners @ right) / (tan_h / 1.04))), 1.0)
    return tuple(centre + distance * direction), tuple(centre), tuple(up)


def mesh_to_polydata(mesh: VoxelMesh, faces: np.ndarray | None = None):
    """pyvista PolyData of the quads (those of the bool (F,) `faces`, or all):
    point array `rgb` (each face's shaded colour on its own four vertices:
    flat, exact, and cheaper for software OpenGL than per-cell colours) and
    cell array `block` (palette index); None when no face is chosen."""
    import pyvista as pv

    chosen = np.arange(mesh.n_faces) if faces is None else np.flatnonzero(faces)
    if len(chosen) == 0:
        return None
    vertices = mesh.vertices.reshape(-1, 4, 3)[chosen].reshape(-1, 3)
    poly = pv.PolyData.from_regular_faces(vertices, np.arange(4 * len(chosen), dtype=np.int32).reshape(-1, 4))
    poly.point_data["rgb"] = np.repeat(mesh.face_colours[chosen], 4, axis=0)
    poly.cell_data["block"] = mesh.face_block[chosen]
    return poly


def marks_to_polydata(mesh: VoxelMesh):
    """pyvista PolyData of `mesh`'s front marks (`front_marks`), or None when
    it has none; point array `rgb` as in `mesh_to_polydata`."""
    import pyvista as pv

    vertices, quads, colours = front_marks(mesh)
    if len(quads) == 0:
        return None
    poly = pv.PolyData.from_regular_faces(vertices, quads)
    poly.point_data["rgb"] = np.repeat(colours, 4, axis=0)
    return poly


class Scene:
    """A window of `panels` side-by-side square panels of `size` pixels.

    `show` puts a structure (optionally cut by `keep`, or with `hidden`
    palette entries) in a panel; `frame` points a panel's camera at a box;
    `label` writes text in a panel's upper-left corner; `snapshot` renders
    and returns the pixels, uint8 (size, panels * size, 3).
    """

    def __init__(self, size: int = 512, panels: int = 1, off_screen: bool = True,
                 plotter=None, fixed_camera: bool = False):
        if plotter is None:
            require_opengl()
            import pyvista as pv

            plotter = pv.Plotter(off_screen=off_screen, window_size=(size * panels, size),
                                 shape=(1, panels), border=False)
        self.plotter = plotter
        self.size = size
        self.panels = panels
        plotter.disable_anti_aliasing()
        self.polydata = [None] * panels      # the PolyData each panel's actor draws
        self.actors = [None] * panels
        self.mark_actors = [None] * panels    # front marks of machine blocks
        self.mark_polydata = [None] * panels
        self.clear_actors = [None] * panels   # see-through blocks (mesh.SEE_THROUGH)
        self.clear_polydata = [None] * panels
        self.meshes: list[VoxelMesh | None] = [None] * panels
        self._labels = [None] * panels
        self._edges = [False] * panels
        # With a camera that stays where `frame` put it (stills, animations),
        # faces turned away from it are not even built.
        self.fixed_camera = fixed_camera
        self._eye = [None] * panels
        for panel in range(panels):
            self._renderer(panel).set_background(BACKGROUND)

    def _renderer(self, panel: int):
        return self.plotter.renderers[panel]

    def show(self, structure: Structure, panel: int = 0, keep=None, hidden=None) -> VoxelMesh:
        """Draw `structure` in `panel`, replacing what was there."""
        mesh = build_mesh(structure, keep=keep, hidden=hidden, see_through=True, shapes=True,
                          eye=self._eye[panel] if self.fixed_camera else None)
        self.meshes[panel] = mesh
        self._show_marks(mesh, panel)
        self._show_clear(mesh, panel)
        poly = mesh_to_polydata(mesh, ~mesh.face_clear)
        if poly is None:                     # nothing to draw (pyvista refuses empty meshes)
            if self.actors[panel] is not None:
                self.actors[panel].SetVisibility(False)
            return mesh
        if self.actors[panel] is None:
            self.plotter.subplot(0, panel)
            self.polydata[panel] = poly
            self.actors[panel] = self.plotter.add_mesh(
                poly, scalars="rgb", rgb=True, lighting=False, show_scalar_bar=False,
                reset_camera=False, edge_color=EDGE_COLOUR, line_width=1)
            self.actors[panel].prop.show_edges = self._edges[panel]
            # The mesh is the closed skin of the blocks, wound outward: faces
            # turned away are hidden anyway, and skipping them saves most of
            # the work of software OpenGL.
            self.actors[panel].prop.backface_culling = True
        else:
            self.polydata[panel].shallow_copy(poly)
            self.actors[panel].SetVisibility(True)
        return mesh

    def _show_clear(self, mesh: VoxelMesh, panel: int) -> None:
        """The see-through faces, blended over what lies behind them (depth
        peeling sorts them; without clear faces VTK does no peeling pass)."""
        poly = mesh_to_polydata(mesh, mesh.face_clear)
        if poly is not None and self.clear_actors[panel] is None:
            self.plotter.subplot(0, panel)
            self.plotter.enable_depth_peeling()
        self._show_layer(poly, self.clear_actors, self.clear_polydata, panel, opacity=CLEAR_OPACITY)

    def _show_marks(self, mesh: VoxelMesh, panel: int) -> None:
        self._show_layer(marks_to_polydata(mesh), self.mark_actors, self.mark_polydata, panel)

    def _show_layer(self, poly, actors: list, polydata: list, panel: int, **style) -> None:
        """Draw `poly` (None: nothing) in `panel` as the layer of actor
        `actors[panel]` and data `polydata[panel]`: the actor is made once,
        then its data replaced in place, frame after frame."""
        actor = actors[panel]
        if poly is None:
            if actor is not None:
                actor.SetVisibility(False)
        elif actor is None:
            self.plotter.subplot(0, panel)
            actors[panel] = actor = self.plotter.add_mesh(
                poly, scalars="rgb", rgb=True, lighting=False, show_scalar_bar=False,
                reset_camera=False, **style)
            actor.prop.backface_culling = True
            polydata[panel] = poly
        else:
            polydata[panel].shallow_copy(poly)
            actor.SetVisibility(True)

    def frame(self, lo, hi, azimuth: float = DEFAULT_AZIMUTH,
              elevation: float = DEFAULT_ELEVATION, panel: int | None = None) -> None:
        """Point the camera of `panel` (all panels if None) at the box [lo, hi]."""
        position, focal, up = camera_pose(lo, hi, azimuth, elevation)
        # Outline each block when blocks are big enough on screen for lines to help.
        distance = float(np.linalg.norm(np.subtract(position, focal)))
        block_pixels = self.size / (2 * distance * math.tan(math.radians(VIEW_ANGLE) / 2))
        for p in range(self.panels) if panel is None else [panel]:
            self._eye[p] = np.asarray(position)
            self._edges[p] = block_pixels >= EDGE_MIN_PIXELS
            if self.actors[p] is not None:
                self.actors[p].prop.show_edges = self._edges[p]
            renderer = self._renderer(p)
            camera = renderer.camera
            camera.view_angle = VIEW_ANGLE
            camera.focal_point = focal
            camera.position = position
            camera.up = up
            renderer.reset_camera_clipping_range()

    def frame_structure(self, structure: Structure, azimuth: float = DEFAULT_AZIMUTH,
                        elevation: float = DEFAULT_ELEVATION, panel: int | None = None) -> None:
        self.frame(*filled_bounds(structure), azimuth, elevation, panel)

    def label(self, text: str, panel: int = 0) -> None:
        """Text in the panel's upper-left corner (replaces the previous one).

        A plain text actor at a fixed size: pyvista's corner annotations refit
        their font on every change, which costs more than drawing the blocks."""
        if self._labels[panel] is None:
            self.plotter.subplot(0, panel)
            font = max(8, self.size // 32)
            self._labels[panel] = self.plotter.add_text(
                text, position=(6, self.size - font - 10), font_size=font, color=TEXT_COLOUR)
            self._labels[panel].GetTextProperty().SetFontSize(font)
        else:
            self._labels[panel].SetInput(text)

    def snapshot(self) -> np.ndarray:
        """Render and return the pixels, uint8 (H, W, 3)."""
        for renderer in self.plotter.renderers:
            renderer.reset_camera_clipping_range()
        if self.plotter._first_time:   # pyvista sets the window up on its first render
            return self.plotter.screenshot(return_img=True)
        from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

        window = self.plotter.render_window
        window.Render()
        width, height = window.GetSize()
        pixels = vtkUnsignedCharArray()
        window.GetPixelData(0, 0, width - 1, height - 1, 0, pixels, 0)
        # OpenGL rows run bottom-up.
        return np.frombuffer(pixels, np.uint8).reshape(height, width, 3)[::-1].copy()

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def render_still(structure: Structure, size: int = 512, azimuth: float = DEFAULT_AZIMUTH,
                 elevation: float = DEFAULT_ELEVATION, compare: Structure | None = None,
                 labels: tuple[str, str] | None = None, compare_at=(0, 0, 0)) -> np.ndarray:
    """uint8 (size, size, 3) picture of `structure`, framed on its blocks; with
    `compare`, two panels (structure | compare) framed on the same box, in
    which compare's cell (0, 0, 0) sits at structure's cell `compare_at`."""
    structures = [structure] if compare is None else [structure, compare]
    at = np.array([(0, 0, 0), compare_at], dtype=float)[:len(structures)]
    lo, hi = joint_bounds(structures, at)
    with Scene(size, panels=len(structures), fixed_camera=True) as scene:
        for panel, s in enumerate(structures):      # each panel's camera moves, not its blocks
            scene.frame(lo - at[panel], hi - at[panel], azimuth, elevation, panel)
            scene.show(s, panel)
            if labels:
                scene.label(labels[panel], panel)
        return scene.snapshot()


def save_png(image: np.ndarray, path) -> None:
    """Write uint8 (H, W, 3) pixels as a PNG; the file appears only when complete."""
    from PIL import Image

    from voxgen.atomic_write import atomic_output

    with atomic_output(Path(path)) as partial:
        Image.fromarray(image).save(partial, format="PNG")
