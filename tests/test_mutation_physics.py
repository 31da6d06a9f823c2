"""Tests that a hand mutation audit found missing: each fails on a small
plausible bug in the physics kernels (named in its docstring) that the
scenarios and the engine-vs-twin comparisons let through. Run on both
backends, the slow twin and the numba engine, as the scenarios are."""

from physics_scenarios import Run, backend  # noqa: F401  (backend: the fixture)

from voxgen.blocks import canonical

PISTON_NORTH = "minecraft:piston[extended=false,facing=north]"
HEAD_EAST = "minecraft:piston_head[facing=east,short=false,type=normal]"
MOVING_NORTH = "minecraft:moving_piston[facing=north,type=normal]"


def test_a_stray_head_breaks_when_a_block_moving_another_way_arrives_behind_it(backend):  # noqa: F811
    """kernels.head_survives: a head stands on its own base or on a moving
    piston (block 36) of its own facing (PistonHeadBlock.isFittingBase).
    A piston facing north pushes stone into the cell behind a lone head
    facing east: the moving block there faces north, so the head breaks on
    the push's tick (`return True` for any moving block kept it until the
    stone landed, two ticks later)."""
    run = Run(backend, {(0, 0, 2): canonical(PISTON_NORTH), (0, 0, 1): "minecraft:stone",
                        (1, 0, 0): canonical(HEAD_EAST)})
    assert run.snapshot()[(1, 0, 0)] == canonical(HEAD_EAST)      # quiet placement: the lone head stays
    run.place((0, 0, 3), "minecraft:redstone_block")
    run.tick(1)
    world = run.snapshot()
    assert world[(0, 0, 0)] == canonical(MOVING_NORTH)
    assert (1, 0, 0) not in world, world
    run.tick(2)
    assert run.snapshot()[(0, 0, 0)] == "minecraft:stone" and (1, 0, 0) not in run.snapshot()


def test_a_scheduled_placement_near_any_face_of_the_box_gets_room_first():
    """ticking.has_room: a placement due within MARGIN cells of a face of
    the machine's box asks the engine to grow the box first (NEED_ROOM).
    Without the check against the +x face, a piston placed near it
    extended its head out of the box: "a block was set outside the
    engine's box". Placed at every distance along +x (and -x) from a lone
    stone, so whatever the box's size, some placement lands in the margin."""
    from voxgen.physics.simulate import simulate
    from voxgen.structure import Structure

    import numpy as np

    stone = Structure(np.ones((1, 1, 1), np.int32), ("minecraft:air", "minecraft:stone"))
    for x in list(range(2, 25)) + list(range(-24, -1)):
        facing = "east" if x > 0 else "west"
        placements = [(0, (x, 0, 0), f"minecraft:piston[extended=false,facing={facing}]"),
                      (0, (x, 1, 0), "minecraft:redstone_block")]
        result = simulate(stone, 4, placements)
        head = (x + (1 if x > 0 else -1), 0, 0)
        lo = result.origin
        at = tuple(p - o for p, o in zip(head, lo))
        assert result.final.state_at(*at).startswith("minecraft:piston_head"), (x, result.events)
