"""The plane that cuts a blueprint in two (layer L0, below Structure, whose
`cut_along` uses it; no torch, so `voxgen cut` loads none): which axis,
where, and the two parts' masks. `regen` cuts grown creatures with it, `voxgen cut` blueprints.

    a = axis_index("z", shape)                     # or None: the longest axis
    at = cut_position("half", shape[a], rng)       # an int, "half" or "random"
    first, second = cut_masks(shape, a, at)        # bool (X, Y, Z) each

Bad arguments raise `ParameterError`, naming the parameter (`at=9: ...`).
"""

from __future__ import annotations

import numbers

import numpy as np

from voxgen.errors import ParameterError, whole_number

AXES = {"x": 0, "y": 1, "z": 2}


def axis_number(axis) -> int:
    """0, 1 or 2 from "x", "y", "z" or the number itself (ValueError otherwise)."""
    if isinstance(axis, str) and axis in AXES:
        return AXES[axis]
    if isinstance(axis, numbers.Integral) and not isinstance(axis, (bool, np.bool_)) and 0 <= axis <= 2:
        return int(axis)
    raise ValueError(f"axis must be x, y or z (or 0, 1, 2), not {axis!r}")


def cut_masks(shape, axis: int, at: int) -> list[np.ndarray]:
    """Two parts of the plane `axis = at`: coordinate < at, and the rest."""
    coord = np.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(3)])
    first = np.broadcast_to(coord < at, shape)
    return [first.copy(), ~first]


def cut_range(extent: int, layers=None) -> tuple[int, int]:
    """(lo, hi): the cut positions that leave blocks on both sides, given the
    blueprint coordinates `layers` along the axis that hold blocks (None:
    every layer of `extent`); lo > hi when there is none."""
    if layers is None:
        return 1, extent - 1
    layers = np.asarray(layers)
    return (int(layers.min()) + 1, int(layers.max())) if len(layers) else (1, 0)


def cut_position(at, extent: int, rng: np.random.Generator, jitter: int = 2,
                 layers=None, axis: str = "") -> int:
    """Blueprint coordinate of the cut plane: an int (or its digits as a
    string, as typed), "half" (extent // 2) or "random" (half +- `jitter`).
    With `layers` (the coordinates holding blocks) every position leaves
    blocks on both sides: half and random are kept inside that range and an
    int outside it is refused; without, half and random stay inside
    1 .. extent - 1 and an int inside 0 .. extent.
    `axis` (x, y or z) only names the axis in errors. A ParameterError
    names `at` (or `axis`, when its blocks fill one layer)."""
    lo, hi = cut_range(extent, layers)
    where = f" along {axis}" if axis else ""
    if lo > hi and layers is not None:
        raise ParameterError("axis", axis, f"the blueprint's blocks fill one layer{where}, "
                             "so no cut leaves blocks on both sides")
    half = min(max(extent // 2, lo), hi) if lo <= hi else extent // 2
    if at == "half":
        return half
    if at == "random":
        lo_r, hi_r = max(lo, half - jitter), min(hi, half + jitter)
        return int(rng.integers(lo_r, hi_r + 1)) if hi_r >= lo_r else half
    given = at
    try:                                     # "3" as typed; 3.5 or True refused, not truncated
        at = int(at) if isinstance(at, str) else whole_number("at", at)
    except (ValueError, ParameterError):
        raise ParameterError("at", given, "must be an integer, half or random") from None
    if layers is None and not 0 <= at <= extent:
        raise ParameterError("at", at, f"cut position outside 0..{extent}")
    if layers is not None and not lo <= at <= hi:
        raise ParameterError("at", at, f"a cut{where} must leave blocks on both sides: "
                             f"use {lo}..{hi}")
    return at


def solid_layers(solid: np.ndarray, axis: int) -> np.ndarray:
    """Coordinates along `axis` of the bool (X, Y, Z) `solid` that hold a block."""
    return np.nonzero(solid.any(axis=tuple(i for i in range(3) if i != axis)))[0]


def axis_index(axis, blueprint_shape, solid: np.ndarray | None = None) -> int:
    """x/y/z (or 0/1/2); None picks the longest axis of the blueprint (with
    `solid`, the longest along which a cut can leave blocks on both sides)."""
    if axis is None:
        order = sorted(range(3), key=lambda a: -blueprint_shape[a])
        if solid is not None:
            order = [a for a in order if len(solid_layers(solid, a)) > 1] or order
        return order[0]
    try:
        return axis_number(axis)
    except ValueError:
        raise ParameterError("axis", axis, "must be x, y or z (or 0, 1, 2)") from None
