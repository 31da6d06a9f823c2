"""Cell access, power and the piston structure resolver (numba, private).

All functions take one machine's views: g int32 (X, Y, Z) grid, m int64
(NMETA,) meta. Positions are the machine's (its blueprint's) coordinates, not the
game's world ones (`world.py`); cells outside the box are air.
"""

from voxgen.kernel_cache import njit
from voxgen.physics.cells import (
    AIR, BORDER_HI, BORDER_LO, DESTROY, DOOR, DOWN, DX, DY, DZ, ERR_BOX, GLAZED, HEAD,
    HEIGHT_112, HEIGHT_MODERN, HIX, HONEY, IMMOVABLE, LEVER, LOX, MOVING,
    OBSERVER, OX, OY, OZ, PISTON, REDSTONE, RHX, RLX, SLIME, SOLID, STATUS,
    STICKY, UP, V112, WOX, WOY, WOZ,
)

PUSH_LIMIT = 12


@njit(cache=True, inline="always", _nrt=False)
def getc(g, m, x, y, z):
    i, j, k = x - m[OX], y - m[OY], z - m[OZ]
    if i < 0 or j < 0 or k < 0 or i >= g.shape[0] or j >= g.shape[1] or k >= g.shape[2]:
        return 0
    return g[i, j, k]


@njit(cache=True, _nrt=False)
def putc(g, m, x, y, z, c):
    i, j, k = x - m[OX], y - m[OY], z - m[OZ]
    if i < 0 or j < 0 or k < 0 or i >= g.shape[0] or j >= g.shape[1] or k >= g.shape[2]:
        m[STATUS] = ERR_BOX
        return
    g[i, j, k] = c
    if c != 0:
        _widen(m, LOX, HIX, x, y, z)        # the blocks' box (keep_in_box)
        _widen(m, RLX, RHX, x, y, z)        # the reach since the last quiet point (periodic.py)


@njit(cache=True, inline="always", _nrt=False)
def _widen(m, lo, hi, x, y, z):
    """Widen the box meta[lo:lo+3] .. meta[hi:hi+3] to hold (x, y, z)."""
    m[lo] = min(m[lo], x)
    m[lo + 1] = min(m[lo + 1], y)
    m[lo + 2] = min(m[lo + 2], z)
    m[hi] = max(m[hi], x)
    m[hi + 1] = max(m[hi + 1], y)
    m[hi + 2] = max(m[hi + 2], z)


@njit(cache=True, inline="always", _nrt=False)
def kind(c):
    return c & 15


@njit(cache=True, inline="always", _nrt=False)
def facing(c):
    return (c >> 4) & 7


@njit(cache=True, inline="always", _nrt=False)
def flag(c):
    return (c >> 7) & 1


@njit(cache=True, inline="always", _nrt=False)
def is_sticky_block(c):
    k = c & 15
    return k == SLIME or k == HONEY


@njit(cache=True, inline="always", _nrt=False)
def breaks_when_pushed(c):
    """Push reaction DESTROY: destroy-class blocks, levers and doors."""
    k = c & 15
    return k == DESTROY or k == LEVER or k == DOOR


@njit(cache=True, _nrt=False)
def can_stick(a, b):
    ka, kb = a & 15, b & 15
    if (ka == HONEY and kb == SLIME) or (ka == SLIME and kb == HONEY):
        return False
    return ka == SLIME or ka == HONEY or kb == SLIME or kb == HONEY


@njit(cache=True, inline="always", _nrt=False)
def is_conductor(c):
    k = c & 15
    if k == SLIME:
        return True
    if k == SOLID or k == IMMOVABLE or k == GLAZED or k == DESTROY:
        return flag(c) == 1
    return False


@njit(cache=True, inline="always", _nrt=False)
def build_height(m):
    """(lowest, highest) y of the game's world for the machine's version."""
    return HEIGHT_112 if m[V112] == 1 else HEIGHT_MODERN


@njit(cache=True, _nrt=False)
def is_pushable(m, c, x, y, z, move_dir, allow_destroy, piston_facing):
    """PistonBaseBlock.isPushable (1.12: BlockPistonBase.canPush) for cell c
    at (x, y, z). Outside the world border or the build height nothing is;
    at the top nothing moves up and at the bottom nothing down. Air is
    pushable inside the world, but in 1.12 not up off the top or down off
    the bottom either: its check of air comes after the edges'."""
    wx, wy, wz = x + m[WOX], y + m[WOY], z + m[WOZ]
    lo, hi = build_height(m)
    if not (BORDER_LO <= wx <= BORDER_HI and BORDER_LO <= wz <= BORDER_HI and lo <= wy <= hi):
        return False
    k = c & 15
    if k == AIR and m[V112] == 0:
        return True
    if (move_dir == DOWN and wy == lo) or (move_dir == UP and wy == hi):
        return False
    if k == AIR:
        return True
    if k == IMMOVABLE or k == HEAD or k == MOVING:
        return False
    if k == PISTON or k == STICKY:
        return flag(c) == 0
    if k == DESTROY or k == LEVER or k == DOOR:
        return allow_destroy
    if k == GLAZED:
        return move_dir == piston_facing
    return True


@njit(cache=True, inline="always", _nrt=False)
def has_signal(g, m, x, y, z, d):
    """Level.hasSignal(pos, d): the cell at pos signals in direction d."""
    c = getc(g, m, x, y, z)
    k = c & 15
    if k == AIR:
        return False
    if k == REDSTONE:
        return True
    if k == OBSERVER:
        return flag(c) == 1 and facing(c) == d
    if k == LEVER:           # weak power on all sides
        return flag(c) == 1
    if is_conductor(c):      # strong power: an observer's back, a lever's support
        for e in range(6):
            q = getc(g, m, x + DX[e], y + DY[e], z + DZ[e])
            kq = q & 15
            if (kq == OBSERVER or kq == LEVER) and flag(q) == 1 and facing(q) == e:
                return True
    return False


@njit(cache=True, _nrt=False)
def has_neighbor_signal(g, m, x, y, z):
    """Level.hasNeighborSignal: any of the six neighbours signals into (x,y,z)."""
    for d in range(6):
        if has_signal(g, m, x + DX[d], y + DY[d], z + DZ[d], d):
            return True
    return False


@njit(cache=True, _nrt=False)
def piston_powered(g, m, x, y, z, f):
    """getNeighborSignal: any side but the front, or quasi-connectivity."""
    for d in range(6):
        if d != f and has_signal(g, m, x + DX[d], y + DY[d], z + DZ[d], d):
            return True
    for d in range(6):
        if d != DOWN and has_signal(g, m, x + DX[d], y + 1 + DY[d], z + DZ[d], d):
            return True
    return False


# --- the structure resolver ------------------------------------------------
# lst, tmp: int64 (16, >=3) scratch rows; dst: (32, >=3); cnt: (>=3,) = [n_push, n_destroy,
# collision prefix end]; stack: (48, 5) frames for _branch;
# push list in lst[0:n_push]; destroy list in dst[0:n_destroy].

@njit(cache=True, _nrt=False)
def _index_of(lst, n, x, y, z):
    for i in range(n):
        if lst[i, 0] == x and lst[i, 1] == y and lst[i, 2] == z:
            return i
    return -1


@njit(cache=True, _nrt=False)
def _reorder(lst, n, offsets, index, tmp):
    """reorderListAtCollision: [0:index] + [n-offsets:n] + [index:n-offsets]."""
    w = 0
    for i in range(index):
        tmp[w, 0], tmp[w, 1], tmp[w, 2] = lst[i, 0], lst[i, 1], lst[i, 2]
        w += 1
    for i in range(n - offsets, n):
        tmp[w, 0], tmp[w, 1], tmp[w, 2] = lst[i, 0], lst[i, 1], lst[i, 2]
        w += 1
    for i in range(index, n - offsets):
        tmp[w, 0], tmp[w, 1], tmp[w, 2] = lst[i, 0], lst[i, 1], lst[i, 2]
        w += 1
    for i in range(n):
        lst[i, 0], lst[i, 1], lst[i, 2] = tmp[i, 0], tmp[i, 1], tmp[i, 2]


@njit(cache=True, _nrt=False)
def _add_line(g, m, px, py, pz, pdir, x, y, z, ldir, lst, dst, cnt, tmp):
    """addBlockLine up to its collision branch. Returns 0 (fail), 1 (done) or
    2 (collided: the caller must branch from lst[0..cnt[2]] in order)."""
    c = getc(g, m, x, y, z)
    if (c & 15) == AIR:
        return 1
    if not is_pushable(m, c, x, y, z, pdir, False, ldir):
        return 1
    if x == px and y == py and z == pz:
        return 1
    if _index_of(lst, cnt[0], x, y, z) >= 0:
        return 1
    back = pdir ^ 1
    i = 1
    if i + cnt[0] > PUSH_LIMIT:
        return 0
    while is_sticky_block(c):
        bx, by, bz = x + DX[back] * i, y + DY[back] * i, z + DZ[back] * i
        prev = c
        c = getc(g, m, bx, by, bz)
        if ((c & 15) == AIR or not can_stick(prev, c) or not is_pushable(m, c, bx, by, bz, pdir, False, back)
                or (bx == px and by == py and bz == pz)):
            break
        i += 1
        if i + cnt[0] > PUSH_LIMIT:
            return 0
    j = 0
    for k in range(i - 1, -1, -1):
        n = cnt[0]
        lst[n, 0] = x + DX[back] * k
        lst[n, 1] = y + DY[back] * k
        lst[n, 2] = z + DZ[back] * k
        cnt[0] = n + 1
        j += 1
    k = 1
    while True:
        fx, fy, fz = x + DX[pdir] * k, y + DY[pdir] * k, z + DZ[pdir] * k
        l = _index_of(lst, cnt[0], fx, fy, fz)
        if l > -1:
            _reorder(lst, cnt[0], j, l, tmp)
            cnt[2] = l + j
            return 2
        c = getc(g, m, fx, fy, fz)
        if (c & 15) == AIR:
            return 1
        if not is_pushable(m, c, fx, fy, fz, pdir, True, pdir) or (fx == px and fy == py and fz == pz):
            return 0
        if breaks_when_pushed(c):
            n = cnt[1]
            dst[n, 0], dst[n, 1], dst[n, 2] = fx, fy, fz
            cnt[1] = n + 1
            return 1
        if cnt[0] >= PUSH_LIMIT:
            return 0
        n = cnt[0]
        lst[n, 0], lst[n, 1], lst[n, 2] = fx, fy, fz
        cnt[0] = n + 1
        j += 1
        k += 1


BRANCH, COLLISION = 0, 1


@njit(cache=True, _nrt=False)
def _branch(g, m, px, py, pz, pdir, stack, sp, lst, dst, cnt, tmp):
    """Run addBranchingBlocks / collision re-branching frames on an explicit
    stack (the game's mutual recursion) until it empties. Frames:
    (BRANCH, x, y, z, next direction) or (COLLISION, next index, last index)."""
    while sp > 0:
        top = stack[sp - 1]
        if top[0] == BRANCH:
            d = top[4]
            if d >= 6:
                sp -= 1
                continue
            top[4] = d + 1
            if d // 2 == pdir // 2:
                continue
            x, y, z = top[1], top[2], top[3]
            nx, ny, nz = x + DX[d], y + DY[d], z + DZ[d]
            if can_stick(getc(g, m, nx, ny, nz), getc(g, m, x, y, z)):
                r = _add_line(g, m, px, py, pz, pdir, nx, ny, nz, d, lst, dst, cnt, tmp)
                if r == 0:
                    return False
                if r == 2:
                    stack[sp, 0], stack[sp, 1], stack[sp, 2] = COLLISION, 0, cnt[2]
                    sp += 1
        else:
            q = top[1]
            if q > top[2]:
                sp -= 1
                continue
            top[1] = q + 1
            if is_sticky_block(getc(g, m, lst[q, 0], lst[q, 1], lst[q, 2])):
                stack[sp, 0], stack[sp, 1], stack[sp, 2] = BRANCH, lst[q, 0], lst[q, 1]
                stack[sp, 3], stack[sp, 4] = lst[q, 2], 0
                sp += 1
    return True


@njit(cache=True, _nrt=False)
def resolve(g, m, px, py, pz, f, extending, lst, dst, cnt, tmp, stack):
    """PistonStructureResolver.resolve. Fills the push list lst[0:cnt[0]] and
    the destroy list dst[0:cnt[1]]; returns whether the move can happen."""
    cnt[0] = 0
    cnt[1] = 0
    if extending:
        pdir = f
        sx, sy, sz = px + DX[f], py + DY[f], pz + DZ[f]
    else:
        pdir = f ^ 1
        sx, sy, sz = px + 2 * DX[f], py + 2 * DY[f], pz + 2 * DZ[f]
    c = getc(g, m, sx, sy, sz)
    if not is_pushable(m, c, sx, sy, sz, pdir, False, f):
        if extending and breaks_when_pushed(c):
            dst[0, 0], dst[0, 1], dst[0, 2] = sx, sy, sz
            cnt[1] = 1
            return True
        return False
    r = _add_line(g, m, px, py, pz, pdir, sx, sy, sz, pdir, lst, dst, cnt, tmp)
    if r == 0:
        return False
    if r == 2:
        stack[0, 0], stack[0, 1], stack[0, 2] = COLLISION, 0, cnt[2]
        if not _branch(g, m, px, py, pz, pdir, stack, 1, lst, dst, cnt, tmp):
            return False
    i = 0
    while i < cnt[0]:
        if is_sticky_block(getc(g, m, lst[i, 0], lst[i, 1], lst[i, 2])):
            stack[0, 0], stack[0, 1], stack[0, 2] = BRANCH, lst[i, 0], lst[i, 1]
            stack[0, 3], stack[0, 4] = lst[i, 2], 0
            if not _branch(g, m, px, py, pz, pdir, stack, 1, lst, dst, cnt, tmp):
                return False
        i += 1
    return True
