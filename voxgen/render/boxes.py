"""Helpers that write and place the boxes of a block's shape (`shapes`,
`fixtures`): boxes are int tuples `x0, y0, z0, x1, y1, z1` in model
pixels, 16 to a block, written facing north and turned to the block's
`facing` (`turn`)."""

from __future__ import annotations

# Horizontal sides in clockwise order seen from above: one quarter turn
# (`turn`) takes each to the next.
SIDES = ("north", "east", "south", "west")


def turn(boxes, facing: str) -> list[tuple]:
    """Boxes written facing north, turned to face `facing` (a quarter turn
    clockwise from above per step: (x, z) -> (16 - z, x))."""
    out = []
    for x0, y0, z0, x1, y1, z1 in boxes:
        for _ in range(SIDES.index(facing)):
            x0, z0, x1, z1 = 16 - z1, x0, 16 - z0, x1
        out.append((x0, y0, z0, x1, y1, z1))
    return out


def flip(boxes) -> list[tuple]:
    """Boxes mirrored top to bottom (the upper-half stair, the top trapdoor)."""
    return [(x0, 16 - y1, z0, x1, 16 - y0, z1) for x0, y0, z0, x1, y1, z1 in boxes]


def facing_of(props, default: str = "north") -> str:
    facing = props.get("facing", default)
    return facing if facing in SIDES else default


def cross(height: int) -> list[tuple]:
    """Two thin crossing walls (the second in two pieces, so none overlap)."""
    return [(7, 0, 2, 9, height, 14), (2, 0, 7, 7, height, 9), (9, 0, 7, 14, height, 9)]


def faced(*boxes):
    """The maker of `boxes` (written facing north) turned to the block's `facing`."""
    return lambda props: turn(boxes, facing_of(props))


def rotated(*boxes):
    """The maker of `boxes` (written facing north) turned to the side nearest
    a standing block's `rotation` (sixteenths of a turn from south)."""
    def make(props):
        rotation = int(props["rotation"]) if props.get("rotation", "").isdigit() else 0
        return turn(boxes, SIDES[(2 + (rotation + 2) // 4) % 4])    # 0 south, 4 west, 8 north, 12 east
    return make


def attached(props, boxes) -> list[tuple]:
    """`boxes` written lying on the floor facing north, placed by the block's
    `face`: on the floor, hung from the ceiling, or stood up against the
    side opposite `facing` on a wall (the floor's y = 0 becoming z = 16)."""
    face = props.get("face", "wall")
    if face == "wall":
        boxes = [(x0, z0, 16 - y1, x1, z1, 16 - y0) for x0, y0, z0, x1, y1, z1 in boxes]
    elif face == "ceiling":
        boxes = flip(boxes)
    return turn(boxes, facing_of(props))


def flat(height: int, inset: int = 0):
    return lambda props: [(inset, 0, inset, 16 - inset, height, 16 - inset)]
