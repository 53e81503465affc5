"""Sub-pixel outlines (metricdepth.stereo.outline) against shapes whose outline is known
exactly, and the holes they give the renderer. The middle of the pixel gap, what a single
row tells, is off by 0.25 px on average: every bound here is well below that."""

from __future__ import annotations

import numpy as np
import pytest

from metricdepth.camera import Intrinsics
from metricdepth.stereo.outline import outline_positions
from metricdepth.stereo.render import eye_at, render_eyes

H = W = 96
NEAR_IZ, FAR_IZ = 1.0, 0.25  # inverse depths, 1/metres


def _outline_errors(inside) -> tuple[np.ndarray, np.ndarray]:
    """Estimated vs exact outline positions for the near region `inside(x, y) -> bool`
    (arrays of pixel coordinates): (|estimate - truth|, |0.5 - truth|) per outline edge.
    Also checks that every other edge stays at 0.5."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    near = inside(x, y)
    inv_depth = np.where(near, NEAR_IZ, FAR_IZ).astype(np.float32)
    out = outline_positions(inv_depth, np.ones((H, W - 1), bool))
    ys, xs = np.nonzero(near[:, 1:] != near[:, :-1])
    lo, hi = xs.astype(np.float64), xs + 1.0
    left = near[ys, xs]
    for _ in range(40):  # bisection along the row: the exact crossing
        mid = (lo + hi) / 2
        same = inside(mid, ys.astype(np.float64)) == left
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    truth = (lo + hi) / 2 - xs
    others = np.ones_like(out, bool)
    others[ys, xs] = False
    assert np.all(out[others] == 0.5)
    return np.abs(out[ys, xs] - truth), np.abs(0.5 - truth)


@pytest.mark.parametrize("offset, slope", [(30.37, 0.07), (20.1, 0.41), (70.8, -0.13)])
def test_straight_outline_to_a_twentieth_of_a_pixel(offset, slope):
    """A slanted straight outline (slope in pixels per row): measured mean error 0.006-0.015 px."""
    error, middle = _outline_errors(lambda x, y: x < offset + slope * y)
    assert middle.mean() > 0.2  # a single row says little
    assert error.mean() < 0.03 and error.max() <= 0.1, (error.mean(), error.max())


@pytest.mark.parametrize("radius", [20.0, 30.0])
def test_curved_outline(radius):
    """A disc: measured mean error 0.10 px (the middle: 0.24-0.25)."""
    error, middle = _outline_errors(lambda x, y: (x - 47.3) ** 2 + (y - 44.8) ** 2 < radius**2)
    assert error.mean() < 0.12 < middle.mean() - 0.1, (error.mean(), middle.mean())


def test_column_straight_outline_stays_in_the_middle():
    """Nothing tells where a vertical outline lies between two pixel centres."""
    y, x = np.mgrid[0:H, 0:W]
    inv_depth = np.where(x < 40.3, NEAR_IZ, FAR_IZ).astype(np.float32)
    assert np.all(outline_positions(inv_depth, np.ones((H, W - 1), bool)) == 0.5)
    ramp = (0.5 + 0.001 * x + 0.002 * y).astype(np.float32)  # smooth: no outline at all
    assert np.all(outline_positions(ramp, np.ones((H, W - 1), bool)) == 0.5)


def test_slanted_step_edge_hole_lies_where_the_outline_says():
    """Near plane (1 m) left of the line x = 30.37 + 0.07 y, far plane (4 m) right of it;
    the right eye moved 12.5 px of near disparity. The hole must hold exactly the eye's
    pixel centres between x_t - 12.5 and x_t - 3.125 in each row. Measured: 62 of 64
    rows exact (the middle of the gap: 33)."""
    height, width, focal = 64, 96, 100.0
    intr = Intrinsics(width, height, focal, focal, (width - 1) / 2, (height - 1) / 2)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    outline_x = 30.37 + 0.07 * y[:, 0]
    depth = np.where(x < outline_x[:, None], 1.0, 4.0).astype(np.float32)
    view, = render_eyes(np.full((height, width, 3), 128, np.uint8), depth, intr,
                        [eye_at(intr, 12.5 / focal)])
    centres = np.arange(width)[None, :]
    truth = (centres > (outline_x - 12.5)[:, None]) & (centres < (outline_x - 3.125)[:, None])
    holes = view.holes.copy()
    holes[:, width - 15:] = False  # the eye sees past the source's right edge there
    exact_rows = np.all(holes == truth, axis=1)
    assert exact_rows.mean() >= 0.95, exact_rows.mean()
