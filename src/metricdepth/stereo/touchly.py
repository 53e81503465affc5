"""The Touchly1 frame the older toolbox offers for the Touchly player: the colour frame
above its depth as 8-bit grey, near = bright (``D_Touchly1.mkv``, W x 2H, lossless).

Grey = 255 - 255 (clip(d, near, far) - near) / (far - near): `near` (--touchly_min_depth)
is white, `far` (--touchly_max_depth) and beyond black, linear between.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.depth_video import DepthVideoReader
from ..io.video import VideoReader, VideoWriter
from ..progress import progress

TOUCHLY1 = "_Touchly1.mkv"


def touchly_grey(depth: np.ndarray, near_m: float, far_m: float) -> np.ndarray:
    """depth: (H, W) float32 metres -> (H, W) uint8, 255 at `near_m`, 0 at `far_m` and beyond."""
    scaled = (np.clip(depth, near_m, far_m) - near_m) * np.float32(255.0 / (far_m - near_m))
    return (255 - np.rint(scaled)).astype(np.uint8)


def write_touchly1(
    colour_path: Path,
    depth: DepthVideoReader,
    out: Path,
    frames: int,
    near_m: float,
    far_m: float,
    overwrite: bool,
) -> Path:
    """Write `frames` Touchly1 frames: colour (H, W, 3) above the grey depth (H, W, 3)."""
    info = depth.info
    with (
        VideoReader(colour_path) as colour,
        VideoWriter(
            out, info.width, 2 * info.height, info.fps, overwrite=overwrite, expected_frames=frames
        ) as writer,
    ):
        pairs = zip(colour.frames(0, frames), depth.frames(0, frames))
        for image, z in progress(pairs, total=frames, desc="Touchly1"):
            grey = touchly_grey(z, near_m, far_m)
            writer.write(np.concatenate([image, np.repeat(grey[..., None], 3, axis=2)]))
    return out
