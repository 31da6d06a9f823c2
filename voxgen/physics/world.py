"""The game's world around a machine: where a blueprint lies in it, and its
limits (the world border and the build height, PHYSICS.md §2.2), as the
engine's public face checks positions against them. The kernels apply the
same limits to pushes (`resolver.is_pushable`, from `cells`).
"""

from __future__ import annotations

from voxgen.errors import VoxgenError
from voxgen.physics import cells as C

MAX_COORD = 30_000_000      # the game's world border; keeps positions far from int64 limits
DEFAULT_ORIGIN = (0, 64, 0)  # where a blueprint's (0, 0, 0) lies in the world: just above sea level


def check_pos(pos, what: str = "position") -> tuple[int, int, int]:
    """`pos` as 3 ints inside the world border (|v| <= MAX_COORD), or a VoxgenError."""
    pos = tuple(int(v) for v in pos)
    if len(pos) != 3 or any(abs(v) > MAX_COORD for v in pos):
        raise VoxgenError(f"{what} {pos} is outside the world (3 coordinates, each within "
                          f"±{MAX_COORD})")
    return pos


def world_limits(version: str) -> tuple[tuple[int, int], ...]:
    """((x lo, x hi), (y lo, y hi), (z lo, z hi)): the blocks of the game's
    world, inside its border and build height, for `version`."""
    border = (C.BORDER_LO, C.BORDER_HI)
    return border, (C.HEIGHT_112 if version == "1.12" else C.HEIGHT_MODERN), border


def check_in_world(pos, origin, version: str, what: str = "position") -> tuple[int, int, int]:
    """`pos` (the blueprint's coordinates) as 3 ints, or a VoxgenError if it
    lies outside the game's world with the blueprint's (0, 0, 0) at `origin`."""
    pos = check_pos(pos, what)
    if any(not lo <= p + o <= hi for p, o, (lo, hi) in zip(pos, origin, world_limits(version))):
        world = tuple(p + o for p, o in zip(pos, origin))
        raise VoxgenError(f"{what} {pos} is outside the world (at {world}, with the blueprint's "
                          f"corner at {tuple(origin)}): {describe_world(version)}")
    return pos


def describe_world(version: str) -> str:
    (xlo, xhi), (ylo, yhi), _ = world_limits(version)
    world = "the overworld of 1.18 and later" if version == "modern" else version
    return f"x and z in {xlo:,}..{xhi:,}, y in {ylo}..{yhi} ({world})"


def check_origin(origin, shapes, version: str) -> tuple[int, int, int]:
    """`origin` as 3 ints, or a VoxgenError unless every blueprint of
    `shapes` lies in the world with its (0, 0, 0) there."""
    origin = check_pos(origin, "origin")
    for shape in shapes:
        for o, e, (lo, hi) in zip(origin, shape, world_limits(version)):
            if not lo <= o <= o + max(1, int(e)) - 1 <= hi:
                size = "x".join(str(int(v)) for v in shape)
                raise VoxgenError(f"a {size} blueprint with its corner at {origin} does not fit "
                                  f"in the world: {describe_world(version)} (simulate --origin "
                                  "X,Y,Z places it elsewhere)")
    return origin
