"""Blending filled holes into their surroundings: masked blur, seams, halos, colour match.

All images are (H, W, 3) float32 RGB in 0..255 unless said otherwise; masks (H, W) bool.
"""

from __future__ import annotations

import cv2
import numpy as np

from .holes import background_band

HALO_WIDTH_PX = 2  # depth of the background-side band where renderers leave halos
SEAM_SIGMA_PX = 1.0  # Gaussian sigma of the blur that softens fill streaks and seams
COLOUR_RING_PX = 6  # width of the ring around holes whose colours a fill is matched to


def masked_blur(image: np.ndarray, weight: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of `image` that averages only pixels where `weight` is True.

    image: (H, W, C) float32. weight: (H, W) bool. Returns (H, W, C) float32; pixels with
    no weighted neighbour keep their value.
    """
    w = weight.astype(np.float32)
    num = cv2.GaussianBlur(image * w[..., None], (0, 0), sigma_px, borderType=cv2.BORDER_REPLICATE)
    den = cv2.GaussianBlur(w, (0, 0), sigma_px, borderType=cv2.BORDER_REPLICATE)[..., None]
    return np.where(den > 1e-4, num / np.maximum(den, 1e-4), image).astype(np.float32)


def soften_fill(image: np.ndarray, holes: np.ndarray, direction: np.ndarray,
                max_steps: int) -> np.ndarray:
    """Blur filled holes together with their background-side band (never the foreground),
    so that streaks and the seam to the background disappear and halos left by the
    renderer on the background edge are averaged away. Changes holes and band only."""
    band = background_band(holes, direction, HALO_WIDTH_PX, max_steps)
    region = holes | band
    blurred = masked_blur(image, region, SEAM_SIGMA_PX)
    out = image.copy()
    out[region] = blurred[region]
    return out


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
