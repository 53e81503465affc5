"""--max_res: frames larger than a cap are scaled down before the model, its depth back up.

As in Video Depth Anything's and Annolid's scripts: a frame whose long side exceeds
`max_res` pixels is resized (area averaging) so that its long side is `max_res`, keeping
the aspect ratio; the model's depth of it is resized back to the video's size (bilinear;
the invalid mask nearest), so the depth video keeps the colour video's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import cv2
import numpy as np

from .base import DepthFrame


def capped_size(width: int, height: int, max_res: int) -> tuple[int, int]:
    """(width, height) with the long side at most `max_res` pixels, aspect kept (each at
    least 1 pixel)."""
    scale = max_res / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def cap_frames(
    frames: Iterable[tuple[int, np.ndarray]], max_res: int | None
) -> Iterator[tuple[int, np.ndarray]]:
    """(index, (H, W, 3) uint8 RGB) frames with each long side cut to `max_res` (None:
    unchanged)."""
    for index, frame in frames:
        if max_res is not None:
            size = capped_size(frame.shape[1], frame.shape[0], max_res)
            if size != (frame.shape[1], frame.shape[0]):
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        yield index, frame


def restore_size(result: DepthFrame, size: tuple[int, int]) -> DepthFrame:
    """`result` resized to `size` = (width, height) when it is smaller: depth bilinear,
    invalid mask nearest."""
    if result.depth.shape == (size[1], size[0]):
        return result
    depth = cv2.resize(result.depth, size, interpolation=cv2.INTER_LINEAR)
    invalid = (
        None
        if result.invalid is None
        else cv2.resize(result.invalid.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    )
    return replace(result, depth=depth, invalid=invalid)
