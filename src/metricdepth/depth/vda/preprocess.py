"""Frame preparation for Video Depth Anything (docs/vda_spec.md section 8).

Frames are (H, W, 3) uint8 RGB. The network size keeps the aspect ratio, scales the short
side to `input_size` and makes both sides multiples of 14; very wide (or tall) frames get a
smaller input size so the long side stays near the trained range.
"""

from __future__ import annotations

import cv2
import numpy as np

from .dinov2 import PATCH_SIZE

DEFAULT_INPUT_SIZE = 518
# Frames whose long/short side ratio exceeds this get a reduced input size ...
MAX_ASPECT = 1.78
# ... of input_size * ASPECT_LIMIT / ratio, rounded to a multiple of 14.
ASPECT_LIMIT = 1.777
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float64)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)


def network_size(height: int, width: int, input_size: int = DEFAULT_INPUT_SIZE) -> tuple[int, int]:
    """(h, w) network input size, both multiples of 14, for an H x W frame.

    Examples: 720x1280 -> (518, 924); 480x640 -> (518, 686); 375x1242 -> (280, 924).
    """
    if height < 1 or width < 1:
        raise ValueError(f"frame size {height}x{width} is empty")
    if input_size < PATCH_SIZE:
        raise ValueError(f"input_size {input_size} is below the patch size {PATCH_SIZE}")
    ratio = max(height, width) / min(height, width)
    if ratio > MAX_ASPECT:
        input_size = round(int(input_size * ASPECT_LIMIT / ratio) / PATCH_SIZE) * PATCH_SIZE
        input_size = max(input_size, PATCH_SIZE)
    scale = max(input_size / height, input_size / width)

    def side(length: int) -> int:
        target = scale * length
        size = int(np.round(target / PATCH_SIZE) * PATCH_SIZE)
        if size < input_size:
            size = int(np.ceil(target / PATCH_SIZE) * PATCH_SIZE)
        return size

    return side(height), side(width)


def preprocess_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """frame: (H, W, 3) uint8 RGB -> (3, h, w) float32 network input for size (h, w):
    bicubic resize (OpenCV, unclipped) of the [0, 1] image, then ImageNet normalisation
    (done in float64, as the original)."""
    image = frame.astype(np.float32) / np.float32(255.0)
    h, w = size
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_CUBIC)
    image = ((image - MEAN) / STD).astype(np.float32)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def check_frame(frame: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Refuse anything but an (H, W, 3) uint8 RGB frame (of `shape` when given)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.dtype} {frame.shape}")
    if shape is not None and frame.shape != shape:
        raise ValueError(f"frame of shape {frame.shape} in a video of {shape} frames")
    return frame
