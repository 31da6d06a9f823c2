"""The viewer driven through its widgets and keys on an off-screen plotter."""

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voxgen.render import offscreen
from voxgen.render.shapes import DIRECTIONS
from voxgen.structure import Structure

needs_gl = pytest.mark.skipif(offscreen.opengl_problem() is not None,
                              reason=f"no OpenGL: {offscreen.opengl_problem()}")

PALETTE = ["minecraft:air", "minecraft:stone", "minecraft:gold_block",
           "minecraft:observer[facing=up,powered=false]",
           "minecraft:observer[facing=down,powered=false]"]


def cube_with_gold_heart():
    """3x3x3 stone, gold in the centre, two observers on top."""
    blocks = np.ones((3, 4, 3), np.int32)
    blocks[:, 3, :] = 0
    blocks[1, 1, 1] = 2
    blocks[0, 3, 0], blocks[2, 3, 2] = 3, 4
    return Structure(blocks, PALETTE)


@pytest.fixture
def viewer():
    import pyvista as pv

    from voxgen.render.reveal import reveal_frames
    from voxgen.render.viewer import Viewer

    offscreen.require_opengl()
    frames = list(reveal_frames(cube_with_gold_heart(), 5))
    plotter = pv.Plotter(off_screen=True, window_size=(300, 300))
    v = Viewer(frames, plotter=plotter, size=300)
    yield v
    plotter.close()


def press(plotter, keysym):
    """A key press as the window delivers it (an off-screen interactor is
    never enabled, so the event is invoked directly)."""
    interactor = plotter.iren.interactor
    interactor.SetKeySym(keysym)
    interactor.InvokeEvent("KeyPressEvent")


def blocks_drawn(viewer):
    return set(viewer.scene.meshes[0].face_block.tolist())


@needs_gl
def test_opens_on_the_last_step_with_a_checkbox_per_block_type(viewer):
    assert viewer.step == 4
    assert viewer.types == ["minecraft:stone", "minecraft:observer", "minecraft:gold_block"]
    assert set(viewer.checkboxes) == set(viewer.types)
    assert blocks_drawn(viewer) == {1, 3, 4}          # gold is inside, not visible
    assert viewer.scene.polydata[0].n_cells == viewer.scene.meshes[0].n_faces


@needs_gl
def test_slider_scrubs_growth_steps(viewer):
    from vtkmodules.vtkCommonCore import vtkCommand

    viewer.slider.GetRepresentation().SetValue(0.2)
    viewer.slider.InvokeEvent(vtkCommand.InteractionEvent)
    assert viewer.step == 0
    assert viewer.scene.meshes[0].n_faces == 6           # the seed block alone
    viewer.slider.GetRepresentation().SetValue(2.6)
    viewer.slider.InvokeEvent(vtkCommand.InteractionEvent)
    assert viewer.step == 3


@needs_gl
def test_keys_step_and_play(viewer):
    press(viewer.plotter, "Home")
    assert viewer.step == 0
    press(viewer.plotter, "Right")
    press(viewer.plotter, "Right")
    assert viewer.step == 2
    press(viewer.plotter, "Left")
    assert viewer.step == 1
    assert viewer.slider.GetRepresentation().GetValue() == 1
    press(viewer.plotter, "space")
    assert viewer.playing
    for _ in range(10):
        viewer.tick()
    assert viewer.step == 4 and not viewer.playing          # stops at the end
    press(viewer.plotter, "space")                          # from the end: starts over
    assert viewer.playing and viewer.step == 0


@needs_gl
def test_checkbox_hides_a_block_type_and_shows_what_was_behind(viewer):
    from vtkmodules.vtkCommonCore import vtkCommand

    box = viewer.checkboxes["minecraft:stone"]
    box.GetRepresentation().SetState(0)
    box.InvokeEvent(vtkCommand.StateChangedEvent)
    # With stone hidden, the gold heart is exposed on all six sides.
    mesh = viewer.scene.meshes[0]
    assert blocks_drawn(viewer) == {2, 3, 4}
    assert (mesh.face_block == 2).sum() == 6
    box.GetRepresentation().SetState(1)
    box.InvokeEvent(vtkCommand.StateChangedEvent)
    assert blocks_drawn(viewer) == {1, 3, 4}


@needs_gl
def test_plane_cut_happens_in_voxel_space(viewer):
    from vtkmodules.vtkCommonCore import vtkCommand

    before = viewer.scene.meshes[0].n_faces
    viewer.plane.SetNormal(1.0, 0.0, 0.0)
    viewer.plane.SetOrigin(1.9, 1.5, 1.5)
    viewer.plane.InvokeEvent(vtkCommand.EndInteractionEvent)
    mesh = viewer.scene.meshes[0]
    # Cells with x centre > 1.9 are gone: the cut face shows whole blocks, the
    # gold heart among them, facing east, and every vertex is on the grid.
    assert viewer.scene.meshes[0].n_faces != before
    assert mesh.vertices[:, 0].max() == 2.0
    gold_faces = mesh.face_direction[mesh.face_block == 2]
    assert [DIRECTIONS[d] for d in gold_faces] == ["east"]
    assert (mesh.vertices == np.round(mesh.vertices)).all()
    image = viewer.scene.snapshot()
    assert image.shape == (300, 300, 3)
    assert viewer.cut is not None
    press(viewer.plotter, "u")
    assert viewer.cut is None and 2 not in blocks_drawn(viewer)


def test_view_without_display_suggests_render(monkeypatch):
    from voxgen.cli import main

    monkeypatch.setattr(offscreen.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(main, ["view", "blueprints/flying_machine.toml"])
    assert result.exit_code == 2
    assert "no display" in result.output and "voxgen render" in result.output


def test_view_resolves_files_weights_and_bundled_names(tmp_path, monkeypatch):
    from voxgen import bundled, grow
    from voxgen.cli.view import resolve
    from voxgen.errors import VoxgenError

    assert resolve("blueprints/tree.toml") == ("file", Path("blueprints/tree.toml"))
    assert resolve("caterpillar") == ("weights", grow.STRUCTURES / "caterpillar.safetensors")
    monkeypatch.chdir(tmp_path)                        # names resolve from any directory
    assert resolve("caterpillar")[0] == "weights"
    (tmp_path / "caterpillar").mkdir()                 # and a folder of that name does not hide them
    assert resolve("caterpillar")[0] == "weights"
    monkeypatch.setattr(bundled, "BLUEPRINTS", tmp_path / "blueprints")
    monkeypatch.setattr(grow, "STRUCTURES", tmp_path / "structures")
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "structures").mkdir()
    (tmp_path / "blueprints" / "bug.toml").write_text("")
    assert resolve("bug")[0] == "file"
    (tmp_path / "structures" / "bug.safetensors").write_bytes(b"")
    assert resolve("bug")[0] == "weights"                 # trained weights win
    with pytest.raises(VoxgenError, match="no such file"):
        resolve("nothing")


def no_display(monkeypatch):
    monkeypatch.setattr(offscreen.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1, result.output
    return result.output


def test_view_reads_the_input_before_asking_for_a_display(tmp_path, monkeypatch):
    """A bad input is named for what it is, with or without a display."""
    from voxgen.cli import main
    from voxgen.formats.text import save

    no_display(monkeypatch)
    garbage = tmp_path / "g.nbt"
    garbage.write_bytes(bytes(range(256)) * 2)
    empty = tmp_path / "empty.toml"
    save(Structure(np.zeros((2, 2, 2), np.int32), PALETTE), empty)
    weights = tmp_path / "w.safetensors"
    weights.write_text("not weights")
    for target, words in [(tmp_path, "is a directory"), (garbage, "g.nbt: not a blueprint"),
                          (empty, "empty.toml: nothing to view: the structure has no blocks"),
                          (weights, "w.safetensors: not a voxgen weights file")]:
        output = one_line_error(CliRunner().invoke(main, ["view", str(target)]))
        assert words in output and "no display" not in output, (target, output)
    # A good file gets as far as the display.
    output = one_line_error(CliRunner().invoke(main, ["view", "blueprints/flying_machine.toml"]))
    assert "no display" in output


def test_a_directory_is_not_mistaken_for_a_missing_file(tmp_path):
    from voxgen.cli.view import resolve
    from voxgen.errors import VoxgenError

    with pytest.raises(VoxgenError, match="is a directory"):
        resolve(str(tmp_path))
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert resolve(str(fifo)) == ("file", fifo)          # its reader refuses it, by name
