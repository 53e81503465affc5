"""Windows and stitching of the long-video (offline) mode (docs/vda_spec.md section 9).

A video is cut into windows of 32 frames that start every 22 frames. Window w >= 1 holds
frame 0, the frame that was slot 12 of window w - 1 (a key frame), and frames
22w + 2 .. 22w + 31; its first two maps (the two key frames) are compared with the
reference maps from earlier windows to fit a scale and shift (relative models only), the
8 frames it shares with the previous window are cross-faded, and the rest is new.
"""

from __future__ import annotations

import numpy as np

WINDOW = 32  # frames per network call
OVERLAP = 10  # slots carried over from the previous window
STEP = WINDOW - OVERLAP  # 22: window w starts at frame 22 w
KEYFRAME_SLOTS = (0, 12)  # previous-window slots that become slots 0 and 1
CROSSFADE = 8  # overlapping frames blended between windows
# Slot of the key frame kept as the second reference map.
REFERENCE_SLOT = KEYFRAME_SLOTS[1]
# Final frames of window w: up to frame 22 w + FINAL_UNTIL (later frames are cross-faded
# by window w + 1).
FINAL_UNTIL = WINDOW - CROSSFADE  # slots < 24 are final once the window has run


def fit_scale_shift(pred: np.ndarray, ref: np.ndarray) -> tuple[np.float32, np.float32]:
    """Least-squares s, t with s * pred + t ~ ref over every pixel, in float32.

    pred, ref: (K, H, W) float32 maps (inverse depth, any consistent units).
    Returns (s, t) as float32; (1, 0) when the system is singular (constant pred).
    """
    pred = np.ascontiguousarray(pred, dtype=np.float32)
    ref = np.ascontiguousarray(ref, dtype=np.float32)
    a00 = np.sum(pred * pred)
    a01 = np.sum(pred)
    a11 = np.float32(pred.size)
    b0 = np.sum(pred * ref)
    b1 = np.sum(ref)
    det = a00 * a11 - a01 * a01
    if det == 0:
        return np.float32(1.0), np.float32(0.0)
    return (a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det


def apply_scale_shift(maps: np.ndarray, scale: np.float32, shift: np.float32) -> np.ndarray:
    """scale * maps + shift, negatives clamped to 0; float32 like the input."""
    return np.maximum(maps * scale + shift, np.float32(0.0))


def crossfade(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Blend (8, H, W) float32 maps: frame k gets weight k/7 on `new`, 1 - k/7 on `old`."""
    alpha = (np.arange(CROSSFADE, dtype=np.float32) / np.float32(CROSSFADE - 1))[:, None, None]
    return old * (np.float32(1.0) - alpha) + new * alpha
