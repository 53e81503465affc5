"""Pictures of masks: the subject tinted and outlined on the frame."""

from __future__ import annotations

import cv2
import numpy as np

TINT_RGB = np.array([255, 40, 40], np.float32)
TINT_ALPHA = 0.45


def overlay_mask(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame with (H, W) bool `mask` tinted red and outlined."""
    out = frame.astype(np.float32)
    out[mask] = (1 - TINT_ALPHA) * out[mask] + TINT_ALPHA * TINT_RGB
    out = np.clip(out, 0, 255).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), 1, cv2.LINE_AA)
    return out
