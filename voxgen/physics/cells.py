"""The packed per-cell encoding and the per-machine table layouts.

A cell is an int32: bits 0-3 kind, bits 4-6 facing (D0 U1 N2 S3 W4 E5, the
game's 3-D data value), bit 7 a flag, bits 8.. a material index (which exact
block state a solid/slime/glazed/... cell shows; 0 for parametric kinds).

flag: observer `powered`, piston `extended`, head/moving `type=sticky`;
for solid, immovable, glazed and destroy cells: "is a redstone conductor".
facing bit 0 of a destroy cell: "fragile" (needs support the engine does
not model; any shape update reaching it stops the simulation).

Levers and doors are destroy-on-push kinds of their own. Lever: facing = the
direction from its support to it (floor: up), flag = powered, material = the
exact state with powered=false. Door: facing = its facing, flag = upper half,
material = DOOR_OPEN | DOOR_POWERED | DOOR_HINGE bits, then the material index
of the door's block id from bit DOOR_ID on (so two halves match by id).

Coordinates in every table are the structure's own (its blueprint's), not
the game's world ones (those add meta[WOX:WOZ+1]); the grid index of cell p
is p - offset (meta[OX:OZ+1]).
"""

import numpy as np

AIR, SOLID, IMMOVABLE, SLIME, HONEY, GLAZED, DESTROY, REDSTONE = 0, 1, 2, 3, 4, 5, 6, 7
OBSERVER, PISTON, STICKY, HEAD, MOVING, LEVER, DOOR = 8, 9, 10, 11, 12, 13, 14

# door material bits (of the material field, i.e. cell >> 8)
DOOR_POWERED, DOOR_OPEN, DOOR_HINGE, DOOR_ID = 1, 2, 4, 3

DOWN, UP, NORTH, SOUTH, WEST, EAST = 0, 1, 2, 3, 4, 5
FACINGS = ("down", "up", "north", "south", "west", "east")
DX = np.array([0, 0, 0, 0, -1, 1], dtype=np.int64)
DY = np.array([-1, 1, 0, 0, 0, 0], dtype=np.int64)
DZ = np.array([0, 0, -1, 1, 0, 0], dtype=np.int64)
BLOCK_UPDATE_ORDER = np.array([WEST, EAST, DOWN, UP, NORTH, SOUTH], dtype=np.int64)
SHAPE_UPDATE_ORDER = np.array([WEST, EAST, NORTH, SOUTH, DOWN, UP], dtype=np.int64)

# meta[b, i]: per-machine scalars (int64)
TIME, OX, OY, OZ, SH, ST, EH, ET, MPN, LOGN, STATUS, SX, SY, SZ = range(14)
LOX, LOY, LOZ, HIX, HIY, HIZ, V112, HANDLING, PLACING, PH, PN, SEQ, FAST = range(14, 27)
WOX, WOY, WOZ = range(27, 30)   # where in the game's world the coordinates' (0, 0, 0) lies
# the cells reached since the fast-forward's last quiet point: its box then and every
# block set since (periodic.py bounds a jump by them)
RLX, RLY, RLZ, RHX, RHY, RHZ = range(30, 36)
NMETA = 40

# The world's limits (PHYSICS.md §2.2): a block outside them cannot be pushed,
# nor one pushed up off the top or down off the bottom of the world. x and z
# inside the default world border (WorldBorder.isWithinBounds); y in the build
# height of the version (modern: the 1.18+ overworld's -64..319; 1.12: 0..255).
BORDER_LO, BORDER_HI = -29_999_984, 29_999_983
HEIGHT_MODERN, HEIGHT_112 = (-64, 319), (0, 255)

# status codes
OK, NEED_GROW, ERR_UNMODELLED, ERR_OVERFLOW, ERR_BOX = 0, 1, 2, 3, 4
NEED_ROOM = 5   # a placement due now lies outside the box: grow along its axes

# moving-piston table fields
MX, MY, MZ, MMOVED, MDIR, MEXT, MSRC, MPO, MPR, MLAST, MALIVE = range(11)
NMP = 11

# block-event fields: x, y, z, kind (piston or sticky), type, param
NEV = 6
# log fields: tick, x, y, z, kind
LOG_EXTEND, LOG_RETRACT, LOG_DROP, LOG_OBS_ON, LOG_OBS_OFF = 0, 1, 2, 3, 4
# A fast-forward writes two rows: (n, K, P, 0, LOG_REPEAT), (0, dx, dy, dz, LOG_SHIFT):
# "the K rows before these repeat n more times, each P ticks later and shifted".
LOG_REPEAT, LOG_SHIFT = 5, 6
LOG_KINDS = ("extend", "retract", "retract_drop", "observer_on", "observer_off")
# placement fields: tick, x, y, z, cell
NPL = 5

SCHED_CAP, EV_CAP, MP_CAP, LOG_CAP = 128, 128, 96, 512
MARGIN = 4


def pack(kind: int, facing: int = 0, flag: int = 0, material: int = 0) -> int:
    return int(kind) | (int(facing) << 4) | (int(flag) << 7) | (int(material) << 8)


def kind_of(cell) -> int:
    return int(cell) & 15


def facing_of(cell) -> int:
    return (int(cell) >> 4) & 7


def flag_of(cell) -> int:
    return (int(cell) >> 7) & 1


def material_of(cell) -> int:
    return int(cell) >> 8
