"""Accuracy of rendered eyes against ground truth, and the oracle they are compared with.

The oracle knows the eye's exact depth, so it can backward-warp the source frame: for
every eye pixel it looks up where that pixel's surface point lies in the source image
and samples the source colour there (bilinear). No forward renderer can do better on the
pixels both views see, except by luck; the renderer is held to within 1 dB of it
(tests/test_stereo_accuracy.py, docs/step6_stereo.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..camera import (
    Intrinsics,
    invert_pose,
    pixel_grid,
    project,
    stereo_eye_pose,
    transform_points,
    unproject,
)
from ..stereo.render import EyeView, eye_at, render_eyes
from ..synthetic import SyntheticClip

VISIBLE_DEPTH_TOL = 1e-3  # relative depth agreement for "the source sees this point"


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """PSNR in dB of (H, W, 3) uint8 images `a` against `b` on the (H, W) bool pixels
    `where` (peak 255)."""
    diff = a[where].astype(np.float64) - b[where].astype(np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (H, W) bool masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def source_positions(
    eye_depth: np.ndarray, eye_intr: Intrinsics, src_intr: Intrinsics, source_from_eye: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where each eye pixel's surface point lies in the source camera.

    eye_depth: (H, W) float, metres, the eye's exact z-depth (inf = nothing).
    source_from_eye: (4, 4). Returns source pixels (H, W, 2) float64 (x, y) and the
    point's source z-depth (H, W) float64 (NaN pixels where not in front of it)."""
    x, y = pixel_grid(eye_intr.width, eye_intr.height)
    points = unproject(np.stack([x, y], -1).astype(np.float64), eye_depth.astype(np.float64), eye_intr)
    return project(transform_points(source_from_eye, points), src_intr)


def backward_warp(source: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample (H, W, 3) uint8 `source` bilinearly at (H', W', 2) pixels (x, y); outside
    the image or NaN: black. Returns (H', W', 3) uint8."""
    xy = np.nan_to_num(xy, nan=-1e6).astype(np.float32)
    return cv2.remap(
        source, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def forward_splat_disparity(disparity: np.ndarray) -> np.ndarray:
    """The right view's disparity from the left view's, by forward projection.

    disparity: (H, W) float, pixels, left view, x_right = x_left - d; 0 = unknown.
    Each known left pixel lands on right pixel round(x - d) of its row; where several
    land, the largest disparity (the nearest surface) wins. Returns (H, W) float32, 0
    where no left pixel lands (occluded in the left view, or unknown)."""
    height, width = disparity.shape
    ys, xs = np.nonzero(disparity > 0)
    d = disparity[ys, xs].astype(np.float32)
    xr = np.rint(xs - d).astype(np.int64)
    inside = (xr >= 0) & (xr < width)
    ys, xr, d = ys[inside], xr[inside], d[inside]
    right = np.zeros((height, width), np.float32)
    np.maximum.at(right, (ys, xr), d)
    return right


@dataclass(frozen=True)
class Scores:
    """PSNR (dB) of our eye and of the oracle against the truth on the pixels both views
    see (`pixels` of them), and the IoU of our holes with the truly unseen pixels (NaN
    where the truth gives no such region)."""

    ours_db: float
    oracle_db: float
    hole_iou: float
    pixels: int


def synthetic_scores(
    clip: SyntheticClip,
    frame: int,
    offset_m: float,
    world_from_centre: np.ndarray | None = None,
    **render_options,
) -> Scores:
    """Render the eye `offset_m` metres along the x axis of the centre camera (frame
    `frame`'s camera, or `world_from_centre`: stabilised rendering) from frame `frame`
    and score it against the scene's exact view of that eye.

    Truth: a pixel of the exact eye view is seen by both views when its surface point,
    projected into the source camera, lies inside the image and is what the source sees
    there (same surface id, depth within VISIBLE_DEPTH_TOL); the others are the truly
    unseen (disoccluded or beyond the border) pixels our holes should match."""
    source_pose = clip.world_from_cam[frame]
    centre = source_pose if world_from_centre is None else world_from_centre
    eye_pose = stereo_eye_pose(centre, offset_m)
    truth = clip.render(eye_pose, frame)
    intr = clip.intrinsics
    xy, z = source_positions(truth.depth, intr, intr, invert_pose(source_pose) @ eye_pose)
    inside = (
        (xy[..., 0] >= -0.5)
        & (xy[..., 0] <= intr.width - 0.5)
        & (xy[..., 1] >= -0.5)
        & (xy[..., 1] <= intr.height - 0.5)
    )
    seen = clip.sample(source_pose, np.where(inside[..., None], xy, 0.0), frame)
    both = (
        inside
        & np.isfinite(truth.depth)
        & (seen.surface_ids == truth.surface_ids)
        & (np.abs(seen.depth - z) <= VISIBLE_DEPTH_TOL * z)
    )
    if world_from_centre is None:
        eye = eye_at(intr, offset_m)
    else:
        eye = eye_at(intr, offset_m, 0.0, source_pose, world_from_centre)
    (view,) = render_eyes(clip.colour[frame], clip.depth[frame], intr, [eye], **render_options)
    oracle = backward_warp(clip.colour[frame], xy)
    return Scores(
        psnr(view.colour, truth.colour, both),
        psnr(oracle, truth.colour, both),
        iou(view.holes, ~both),
        int(both.sum()),
    )


def real_pair_scores(left: np.ndarray, right: np.ndarray, disparity: np.ndarray, **render_options) -> Scores:
    """Render the right view of a rectified pair from the left image and its ground-truth
    disparity, and score it against the real right image.

    left, right: (H, W, 3) uint8; disparity: (H, W) float, left view, pixels,
    x_right = x_left - d, 0 = unknown. Depth = f B / d with f = W px and B = 1 m (only the
    disparity matters); unknown pixels take the smaller (farther) known disparity of
    their row neighbours, the usual assumption for occluded background. The right eye is
    the full baseline away. The oracle backward-warps the left image with the right
    view's disparity, made by forward projection (forward_splat_disparity); scored
    pixels are those where that projection landed and whose two row neighbours it also
    reached (so the pixel is seen by both views and not on a depth edge)."""
    height, width = disparity.shape
    view = render_from_disparity(left, disparity, **render_options)
    right_disparity = forward_splat_disparity(disparity)
    landed = right_disparity > 0
    scored = landed.copy()
    scored[:, 1:] &= landed[:, :-1]
    scored[:, :-1] &= landed[:, 1:]
    xs, ys = pixel_grid(width, height)
    oracle = backward_warp(left, np.stack([xs + right_disparity, ys], axis=-1))
    return Scores(
        psnr(view.colour, right, scored), psnr(oracle, right, scored), float("nan"), int(scored.sum())
    )


def render_from_disparity(left: np.ndarray, disparity: np.ndarray, **render_options) -> EyeView:
    """The right view of a rectified pair from (H, W, 3) uint8 `left` and its (H, W)
    disparity (pixels, 0 = unknown, filled as in real_pair_scores): depth = f B / d with
    f = W px, B = 1 m, the eye the full baseline to the right."""
    height, width = disparity.shape
    focal = float(width)
    intr = Intrinsics(width, height, focal, focal, (width - 1) / 2.0, (height - 1) / 2.0)
    depth = focal / _fill_unknown(disparity.astype(np.float32))
    (view,) = render_eyes(left, depth, intr, [eye_at(intr, 1.0)], **render_options)
    return view


def _fill_unknown(disparity: np.ndarray) -> np.ndarray:
    """Unknown (0) disparities replaced by the smaller of the nearest known ones to the
    left and right in the row (the farther surface); rows with none known: the image's
    smallest known disparity."""
    known = disparity > 0
    floor = float(disparity[known].min())
    out = disparity.copy()
    for y in range(disparity.shape[0]):
        idx = np.flatnonzero(known[y])
        if not len(idx):
            out[y] = floor
            continue
        missing = np.flatnonzero(~known[y])
        pos = np.searchsorted(idx, missing)
        left = disparity[y, idx[np.clip(pos - 1, 0, len(idx) - 1)]]
        right = disparity[y, idx[np.clip(pos, 0, len(idx) - 1)]]
        out[y, missing] = np.minimum(left, right)
    return out
