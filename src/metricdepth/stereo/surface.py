"""The cut rule: which neighbouring source pixels stay joined in an eye's surface.

An edge between two neighbouring source pixels is measured by its parallax step: how
far apart (in eye pixels) its two ends move relative to each other, compared with two
points at infinity on the same rays (for a horizontal eye move, the difference of their
disparities). A step of at most `cut_px` is always joined: the surface only stretches
or shrinks. A step larger than STEEP_FACTOR * cut_px is always cut: a depth
discontinuity becomes a hole, never a smear. In between, the edge is joined only when it
continues a neighbouring edge on the same line smoothly (their steps differ by at most
cut_px): a curved or slanted surface seen at a grazing angle (a sphere near its outline,
a wall or ceiling along the view) stretches steadily, while a depth step stands out
from both its neighbours.
"""

from __future__ import annotations

import math

import numba

STEEP_FACTOR = 3.0  # steps above STEEP_FACTOR * cut_px are cut even on a smooth stretch


@numba.njit(cache=True, inline="always")
def kept(sx: float, sy: float, bx: float, by: float, ax: float, ay: float,
         cut_px: float) -> bool:
    """Whether an edge with parallax step (sx, sy) (pixels) stays joined, given the steps
    (bx, by) of the edge before it and (ax, ay) of the edge after it on the same line
    (0, 0 where there is none)."""
    size = math.hypot(sx, sy)
    if size <= cut_px:
        return True
    if size > STEEP_FACTOR * cut_px:
        return False
    return min(math.hypot(sx - bx, sy - by), math.hypot(sx - ax, sy - ay)) <= cut_px


@numba.njit(cache=True, inline="always")
def kept_along_x(step: float, before: float, after: float, cut_px: float) -> bool:
    """`kept` for steps along the x axis only (the scanline renderer), pixels."""
    size = abs(step)
    if size <= cut_px:
        return True
    if size > STEEP_FACTOR * cut_px:
        return False
    return min(abs(step - before), abs(step - after)) <= cut_px
