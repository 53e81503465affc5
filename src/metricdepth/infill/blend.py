"""Blending filled holes into their surroundings: masked blur, seams, halos, colour match.

All images are (H, W, 3) float32 RGB in 0..255 unless said otherwise; masks (H, W) bool.
"""

from __future__ import annotations

import cv2
import numpy as np

from .._numba import numba
from .holes import background_band, mask_pixels

HALO_WIDTH_PX = 2  # depth of the background-side band where renderers leave halos
SEAM_SIGMA_PX = 1.0  # Gaussian sigma of the blur that softens fill streaks and seams
COLOUR_RING_PX = 6  # width of the ring around holes whose colours a fill is matched to


def masked_blur_at(image: np.ndarray, weight: np.ndarray, sigma_px: float, where: np.ndarray) -> None:
    """Gaussian blur of `image`, in place, that averages only pixels where `weight` is
    True, evaluated at the pixels `where` only (the others keep their value).

    image: (H, W, C) float32. weight, where: (H, W) bool. The kernel is OpenCV's for
    `sigma_px` (cv2.getGaussianKernel, radius 4 sigma), the image's edge repeated beyond
    it; pixels with no weighted neighbour keep their value. Every pixel is blurred from
    the values before the call.
    """
    radius = max(int(round(4 * sigma_px)), 1)
    kernel = cv2.getGaussianKernel(2 * radius + 1, sigma_px, cv2.CV_32F).ravel()
    ys, xs = mask_pixels(where)
    blurred = np.empty((len(ys), image.shape[2]), np.float32)
    _blur_at(image, weight, kernel, ys, xs, blurred)
    image[ys, xs] = blurred


@numba.njit(cache=True, nogil=True)
def _blur_at(
    image: np.ndarray, weight: np.ndarray, kernel: np.ndarray, ys: np.ndarray, xs: np.ndarray, out: np.ndarray
) -> None:
    """`masked_blur_at` at pixels (ys, xs): out[k] is pixel k's value, (N, C) float32."""
    height, width, channels = image.shape
    radius = len(kernel) // 2
    acc = np.zeros(channels, np.float32)
    for k in range(len(ys)):
        y, x = ys[k], xs[k]
        acc[:] = 0
        total = np.float32(0)
        for dy in range(-radius, radius + 1):
            v = min(max(y + dy, 0), height - 1)
            for dx in range(-radius, radius + 1):
                u = min(max(x + dx, 0), width - 1)
                if weight[v, u]:
                    g = kernel[dy + radius] * kernel[dx + radius]
                    total += g
                    for c in range(channels):
                        acc[c] += g * image[v, u, c]
        for c in range(channels):
            out[k, c] = acc[c] / total if total > 1e-4 else image[y, x, c]


def soften_fill(image: np.ndarray, holes: np.ndarray, direction: np.ndarray, max_steps: int) -> None:
    """Blur filled holes together with their background-side band (never the foreground),
    in place, so that streaks and the seam to the background disappear and halos left by
    the renderer on the background edge are averaged away. Changes holes and band only."""
    band = background_band(holes, direction, HALO_WIDTH_PX, max_steps)
    region = holes | band
    masked_blur_at(image, region, SEAM_SIGMA_PX, region)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 `image` rounded (half to even) and clipped to 0..255, as uint8:
    `np.clip(np.rint(image), 0, 255).astype(np.uint8)` in one compiled pass."""
    out = np.empty(image.shape, np.uint8)
    _to_uint8(np.ascontiguousarray(image).reshape(-1), out.reshape(-1))
    return out


@numba.njit(cache=True, nogil=True)
def _to_uint8(values: np.ndarray, out: np.ndarray) -> None:
    """Clipped first, then rounded half to even by adding and taking away 2^23 in float32
    (exact on 0..255, and the same as rounding first: the bounds are integers); a flat
    loop, which the compiler vectorises (a quarter of numpy's time)."""
    low, high, shift = np.float32(0), np.float32(255), np.float32(1 << 23)
    for i in range(len(values)):
        out[i] = np.uint8((min(max(values[i], low), high) + shift) - shift)


def match_colour(generated: np.ndarray, original: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Shift and scale each channel of `generated` so that, on a ring of known pixels
    around the holes, its mean and spread equal those of `original`.

    generated, original: (H, W, 3) float32. Returns the corrected `generated`.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * COLOUR_RING_PX + 1,) * 2)
    ring = cv2.dilate(holes.astype(np.uint8), kernel).astype(bool) & ~holes
    if ring.sum() < 2:
        return generated
    g, o = generated[ring], original[ring]
    g_std, o_std = g.std(axis=0), o.std(axis=0)
    scale = np.where(g_std > 1.0, np.clip(o_std / np.maximum(g_std, 1.0), 0.5, 2.0), 1.0)
    return ((generated - g.mean(axis=0)) * scale + o.mean(axis=0)).astype(np.float32)
