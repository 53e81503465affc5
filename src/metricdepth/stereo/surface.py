"""The cut rule: which neighbouring source pixels stay joined in an eye's surface.

An edge between two neighbouring source pixels is measured by its parallax step: how
far apart (in eye pixels) its two ends move relative to each other, compared with two
points at infinity on the same rays (for a horizontal eye move, the difference of their
disparities). A step of at most `cut_px` is always joined: the surface only stretches
or shrinks. A step larger than `steep_px(cut_px)` is always cut: a depth
discontinuity becomes a hole, never a smear. In between, the edge is joined only when it
continues a neighbouring edge on the same line smoothly (their steps differ by at most
cut_px): a curved or slanted surface seen at a grazing angle (a sphere near its outline,
a wall or ceiling along the view) stretches steadily, while a depth step stands out
from both its neighbours.

A small parallax step can still be a depth discontinuity: two far surfaces seen from
eyes close together (a box at 4 m against a wall at 7 m moves less than a pixel relative
to it at 320x240 and 63 mm). Joining them smears the outline and hides a hole up to a
pixel wide, so an edge within `cut_px` is also cut when its *relative* inverse-depth step
(1 - z_near / z_far, signed) exceeds REL_CUT and differs by more than REL_CUT from both
neighbouring edges' relative steps. That test does not depend on the eye, and depth
quantisation (a real depth map's 1-pixel disparity levels: a few percent) stays far
below it.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import numba

STEEP_FACTOR = 3.0  # steps above STEEP_FACTOR * cut_px are cut even on a smooth stretch...
MIN_STEEP_PX = 3.0  # ...and above this many pixels whatever cut_px
REL_CUT = 0.15  # a relative inverse-depth step (1 - z_near / z_far) above this that stands out
# from both neighbours is a discontinuity however small its parallax


@numba.njit(cache=True, inline="always")
def steep_px(cut_px: float) -> float:
    """Parallax step (pixels) above which an edge is cut even on a smooth stretch."""
    return max(STEEP_FACTOR * cut_px, MIN_STEEP_PX)


@numba.njit(cache=True, inline="always")
def relative_step(iz_from: float, iz_to: float) -> float:
    """Signed relative inverse-depth step of an edge, (iz_to - iz_from) / max of the two
    (1/metres in, unitless out; 0 when both are 0)."""
    top = max(iz_from, iz_to)
    return (iz_to - iz_from) / top if top > 0.0 else 0.0


@numba.njit(cache=True, inline="always")
def _small_step_kept(rel: float, rel_before: float, rel_after: float) -> bool:
    """An edge within cut_px: kept unless its relative step is a discontinuity."""
    return not (abs(rel) > REL_CUT and min(abs(rel - rel_before), abs(rel - rel_after)) > REL_CUT)


@numba.njit(cache=True, inline="always")
def kept(
    sx: float,
    sy: float,
    bx: float,
    by: float,
    ax: float,
    ay: float,
    cut_px: float,
    rel: float,
    rel_before: float,
    rel_after: float,
) -> bool:
    """Whether an edge with parallax step (sx, sy) (pixels) stays joined, given the steps
    (bx, by) of the edge before it and (ax, ay) of the edge after it on the same line
    (0, 0 where there is none), and the three edges' relative inverse-depth steps
    (relative_step; 0 where there is none)."""
    size = math.hypot(sx, sy)
    if size <= cut_px:
        return _small_step_kept(rel, rel_before, rel_after)
    if size > steep_px(cut_px):
        return False
    return min(math.hypot(sx - bx, sy - by), math.hypot(sx - ax, sy - ay)) <= cut_px


@numba.njit(cache=True, inline="always")
def kept_along_x(
    step: float, before: float, after: float, cut_px: float, rel: float, rel_before: float, rel_after: float
) -> bool:
    """`kept` for steps along the x axis only (the scanline renderer), pixels. Without
    branches (the same answers), so that a loop over a row's edges vectorises."""
    size = abs(step)
    small = size <= cut_px
    smooth = (size <= steep_px(cut_px)) & (min(abs(step - before), abs(step - after)) <= cut_px)
    rel_kept = not ((abs(rel) > REL_CUT) & (min(abs(rel - rel_before), abs(rel - rel_after)) > REL_CUT))
    return (small & rel_kept) | (~small & smooth)


@numba.njit(cache=True, inline="always")
def border_inv_depth(row_iz: np.ndarray, x: int, joined: bool, outward: float) -> float:
    """Inverse depth (1/metres) `outward` pixels beyond border pixel x (0 or W - 1) of a
    row, towards the image edge (negative: inwards): the surface continued at the slope
    of its edge to the neighbouring pixel when that edge is joined (a wall running out
    of the frame at a grazing angle), else the pixel's own."""
    own = row_iz[x]
    if not joined:
        return own
    inward = row_iz[1] if x == 0 else row_iz[x - 1]
    edge = own + outward * (own - inward)
    return edge if edge > 0.0 else own
