"""Writers for rendered views: H.264 MP4 (to watch, `metricdepth.io.mp4`), FFV1
Matroska (lossless) or one PNG. All are atomic: the final name appears only when every
frame is in.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_output, check_writable
from ..io.mp4 import Mp4Writer
from ..io.video import VideoWriter

VIDEO_SUFFIXES = (".mp4", ".mkv")
IMAGE_SUFFIX = ".png"


def check_render_output(path: Path, frame_count: int, overwrite: bool) -> Path:
    """Refuse before any work: an unknown extension, a PNG for more than one frame, an
    existing file (unless `overwrite`) or a missing folder."""
    suffix = path.suffix.lower()
    if suffix not in (*VIDEO_SUFFIXES, IMAGE_SUFFIX):
        raise InputError(path, f"--render: unknown extension {suffix!r}; use .mp4, .mkv or .png")
    if suffix == IMAGE_SUFFIX and frame_count != 1:
        raise InputError(
            path, f"--render: a .png holds one frame, {frame_count} were asked for; give --draw_frame N"
        )
    return check_writable(path, overwrite)


def write_png(path: Path, rgb: np.ndarray, overwrite: bool) -> Path:
    """Write (H, W, 3) uint8 RGB as a PNG, atomically."""
    with atomic_output(path, overwrite) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise RuntimeError(f"{path}: PNG encoding failed")
    return path


def open_video_writer(
    path: Path, width: int, height: int, fps: Fraction, *, overwrite: bool, expected_frames: int
) -> Mp4Writer | VideoWriter:
    """An MP4 (H.264) or, for .mkv, a lossless FFV1 writer of RGB frames."""
    if path.suffix.lower() == ".mkv":
        return VideoWriter(path, width, height, fps, overwrite=overwrite, expected_frames=expected_frames)
    return Mp4Writer(path, width, height, fps, overwrite=overwrite, expected_frames=expected_frames)
