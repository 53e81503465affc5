"""The infill mask: which pixels of an eye are holes, and from which side to fill them.

Format (docs/formats.md): same size as the stereo video; black = keep; any other colour is
a hole whose colour encodes a unit vector n in the eye's camera frame as
(n * 0.5 + 0.5) * 255. Its image-plane part (n_x, n_y) (x right, y down) points from the
hole towards the **background side**, the side whose content continues behind the removed
edge (the convention of the metric_depth_video_toolbox, whose fill walks along it). A hole
colour that is not a unit vector (the pure green of ``--green_and_black_infill_mask``)
carries no direction; such holes are filled from the side where the background usually is
for that eye (`default_direction`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._numba import numba

Eye = Literal["left", "right"]
EYES: tuple[Eye, Eye] = ("left", "right")

HOLE_LEVEL = 16  # a mask pixel is a hole when any channel exceeds this (tolerates lossy masks)
UNIT_TOLERANCE = 0.25  # |n| may differ from 1 by this much (8-bit rounding, lossy codecs)
MIN_IMAGE_PLANE = 0.1  # |(n_x, n_y)| below this: n points along the view axis, no 2D direction


def default_direction(eye: Eye) -> tuple[float, float]:
    """Image-plane (x, y) direction of the background side for holes without a direction.

    With x_right = x_left - disparity, near things move left in the right eye, uncovering
    background on their right: the right eye fills from +x, the left eye from -x.
    """
    return (1.0, 0.0) if eye == "right" else (-1.0, 0.0)


def decode_infill_mask(mask_rgb: np.ndarray, eye: Eye) -> tuple[np.ndarray, np.ndarray]:
    """Holes and fill directions of one eye.

    mask_rgb: (H, W, 3) uint8 RGB, the eye's half of the infill mask.
    Returns holes (H, W) bool and direction (H, W, 2) float32: unit image-plane vectors
    (x right, y down) towards the background side, `default_direction(eye)` where the
    mask gives none, zeros outside holes.
    """
    holes = np.zeros(mask_rgb.shape[:2], bool)
    direction = np.zeros((*holes.shape, 2), np.float32)
    _decode(mask_rgb, *default_direction(eye), holes, direction)
    return holes, direction


@numba.njit(cache=True, nogil=True)
def _decode(
    mask_rgb: np.ndarray, default_x: float, default_y: float, holes: np.ndarray, direction: np.ndarray
) -> None:
    """`decode_infill_mask` in one pass, into `holes` and `direction` (zeros on entry).
    float32 arithmetic throughout, in numpy's order (sums of squares from the first
    channel on), so the directions are the bits numpy computes."""
    height, width = holes.shape
    one, half_range = np.float32(1), np.float32(127.5)
    unit_tolerance, min_image_plane = np.float32(UNIT_TOLERANCE), np.float32(MIN_IMAGE_PLANE)
    for y in range(height):
        for x in range(width):
            r, g, b = mask_rgb[y, x, 0], mask_rgb[y, x, 1], mask_rgb[y, x, 2]
            if max(r, g, b) <= HOLE_LEVEL:
                continue
            holes[y, x] = True
            nx = np.float32(r) / half_range - one
            ny = np.float32(g) / half_range - one
            nz = np.float32(b) / half_range - one
            planar = nx * nx + ny * ny
            norm3, norm2 = np.sqrt(planar + nz * nz), np.sqrt(planar)
            if abs(norm3 - one) < unit_tolerance and norm2 > min_image_plane:
                direction[y, x, 0], direction[y, x, 1] = nx / norm2, ny / norm2
            else:
                direction[y, x, 0], direction[y, x, 1] = default_x, default_y


def mask_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns, (N,) int64 each, of the True pixels of (H, W) bool `mask` in
    row-major order: `np.nonzero`, compiled (a quarter of its time on sparse 720p masks,
    and the step calls it a dozen times a frame)."""
    return _mask_pixels(mask)


@numba.njit(cache=True, nogil=True)
def _mask_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = mask.shape
    count = 0
    for y in range(height):
        for x in range(width):
            count += mask[y, x]
    ys, xs = np.empty(count, np.int64), np.empty(count, np.int64)
    k = 0
    for y in range(height):
        for x in range(width):
            if mask[y, x]:
                ys[k], xs[k] = y, x
                k += 1
    return ys, xs


def encode_infill_mask(holes: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The mask pixels for one eye.

    holes: (H, W) bool. normals: (H, W, 3) float, unit vectors in the eye's camera frame
    (only read at holes). Returns (H, W, 3) uint8 RGB, black outside holes.
    """
    out = np.zeros((*holes.shape, 3), np.uint8)
    out[holes] = np.clip(np.rint((normals[holes] * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
    out[holes & ~(out > HOLE_LEVEL).any(axis=-1)] = (0, 255, 0)  # never encode a hole as black
    return out


def split_eyes(sbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right halves of side-by-side frames (..., H, 2W, C) as views."""
    half = sbs.shape[-2] // 2
    return sbs[..., :half, :], sbs[..., half:, :]


def march_to_background(
    holes: np.ndarray, direction: np.ndarray, max_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Walk from every hole pixel along its direction to the first pixel outside the hole.

    holes: (H, W) bool; direction: (H, W, 2) float32 unit (x, y) vectors.
    Returns ys, xs (H, W) int32 of the first non-hole pixel reached (-1 where the walk left
    the image or took more than `max_steps` pixels). A walk that leaves the image first is
    retried in the opposite direction (holes at the image border have background only on
    the inner side). Step k lands on the pixel nearest to (x, y) + k * direction (the
    offset rounded to float32, as the fill has always computed it).
    """
    found_y = np.empty(holes.shape, np.int32)
    found_x = np.empty(holes.shape, np.int32)
    _march(holes, np.asarray(direction, np.float32), int(max_steps), found_y, found_x)
    return found_y, found_x


@numba.njit(cache=True, nogil=True)
def _march(
    holes: np.ndarray, direction: np.ndarray, max_steps: int, found_y: np.ndarray, found_x: np.ndarray
) -> None:
    """`march_to_background`'s walks, one hole pixel at a time; fills every pixel of
    found_y, found_x (-1 where no walk found one)."""
    height, width = holes.shape
    for py in range(height):
        for px in range(width):
            found_y[py, px], found_x[py, px] = -1, -1
            if not holes[py, px]:
                continue
            for sign in (np.float32(1), np.float32(-1)):
                dx, dy = direction[py, px, 0] * sign, direction[py, px, 1] * sign
                for step in range(1, max_steps + 1):
                    x = int(np.rint(px + np.float64(dx * np.float32(step))))
                    y = int(np.rint(py + np.float64(dy * np.float32(step))))
                    if not (0 <= x < width and 0 <= y < height):
                        break
                    if not holes[y, x]:
                        found_y[py, px], found_x[py, px] = y, x
                        break
                if found_y[py, px] >= 0:
                    break


def background_band(holes: np.ndarray, direction: np.ndarray, width_px: int, max_steps: int) -> np.ndarray:
    """Pixels just outside the holes on their background side, up to `width_px` deep.

    This is where renderers leave halos (foreground colour smeared onto the background
    edge). holes: (H, W) bool; direction: (H, W, 2) float32. Returns (H, W) bool.
    """
    band = np.zeros_like(holes)
    ys, xs = march_to_background(holes, direction, max_steps)
    hy, hx = mask_pixels(holes & (ys >= 0))
    d = direction[hy, hx]
    for step in range(width_px):
        x = np.clip(np.rint(xs[hy, hx] + d[:, 0] * step), 0, holes.shape[1] - 1).astype(int)
        y = np.clip(np.rint(ys[hy, hx] + d[:, 1] * step), 0, holes.shape[0] - 1).astype(int)
        band[y, x] = True
    return band & ~holes
