"""Pixels without depth (0 in sensor data) filled from their surroundings, so that step 6
does not draw them at infinity (a tear where a surface crosses into them).

Each missing pixel looks along its row and column, both ways, for the nearest pixel with
depth. Of the (up to four) hits, those not much farther away than the nearest
(distance <= 2 * nearest + 2 pixels) are kept and the farthest of their depths is taken:
a hole between a near and a far surface (the shadow beside an object, where a depth
camera's projector and sensor disagree) is filled with the far surface, since such holes
are background far more often than foreground; a band along the image border (rows or
columns the sensor does not cover) has hits on one side only and continues the surface
it borders, so a monitor cut by the band stays one surface.
Pixels whose row and column hold no depth at all take the farthest depth of their
8-neighbours, grown inwards ring by ring.

Which pixels were filled is kept: step 1 writes them as a mask video beside the depth
video (``D_filledmask.mkv``, naming.FILLED_MASK), named in the depth video's
`FILLED_MASK_TAG`, so the viewer can show them (`view_3d.py --show_filled`).
"""

from __future__ import annotations

import cv2
import numpy as np

KEPT_FACTOR, KEPT_SLACK_PX = 2.0, 2.0  # hits within factor * nearest + slack are kept
FILLED_TAG = "missing_depth_filled"
FILLED_RULE = (
    "pixels without depth (0 in the imported frames) filled from the nearest "
    "depth along their row and column, the farthest of the nearest hits"
)
FILLED_MASK_TAG = "missing_depth_mask"  # the mask video of the filled pixels, beside the depth video


def _nearest_valid(
    valid: np.ndarray, depth: np.ndarray, axis: int, forward: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(depth, distance in pixels) of the nearest valid pixel along `axis` (towards higher
    indices when `forward`, including the pixel itself); distance inf where none."""
    n = valid.shape[axis]
    shape = [1, 1]
    shape[axis] = n
    index = np.broadcast_to(np.arange(n).reshape(shape), valid.shape)
    if forward:
        marks = np.where(valid, index, n)
        hit = np.flip(np.minimum.accumulate(np.flip(marks, axis), axis=axis), axis)
        found = hit < n
    else:
        marks = np.where(valid, index, -1)
        hit = np.maximum.accumulate(marks, axis=axis)
        found = hit >= 0
    values = np.take_along_axis(depth, np.clip(hit, 0, n - 1), axis=axis)
    distance = np.where(found, np.abs(hit - index), np.inf)
    return values, distance


def filled_pixels(missing: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels `fill_missing_depth` fills for this `missing` mask: all of
    them, or none when no pixel has depth to fill from."""
    return missing if not missing.all() else np.zeros_like(missing)


def fill_missing_depth(depth: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(H, W) float depth (metres) with the `missing` (H, W) bool pixels filled (rule in
    the module docstring); returns a new float32 array. Nothing to fill from (every
    pixel missing): returned unchanged."""
    out = depth.astype(np.float32, copy=True)
    valid = ~missing
    if valid.all() or not valid.any():
        return out
    hits = [_nearest_valid(valid, out, axis, forward) for axis in (0, 1) for forward in (False, True)]
    values = np.stack([v for v, _ in hits])  # (4, H, W)
    distances = np.stack([d for _, d in hits])
    kept = np.isfinite(distances) & (distances <= KEPT_FACTOR * distances.min(axis=0) + KEPT_SLACK_PX)
    best = np.where(kept, values, -np.inf).max(axis=0)
    fill = missing & np.isfinite(best)
    out[fill] = best[fill]
    known = valid | fill
    kernel = np.ones((3, 3), np.uint8)
    while not known.all():  # rows and columns without any depth: grow inwards
        grown = cv2.dilate(np.where(known, out, 0).astype(np.float32), kernel)
        ring = ~known & (cv2.dilate(known.astype(np.uint8), kernel) > 0)
        out[ring] = grown[ring]
        known |= ring
    return out
