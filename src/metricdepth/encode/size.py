"""The size of step 8's frames: as rendered (rounded up to even), or scaled with Lanczos
to a width and/or height asked for, keeping the frame's aspect ratio."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError

HEIGHT_PRESETS = (720, 1080, 1440, 2160)


def _even(n: int) -> int:
    return n + n % 2


def _nearest_even(x: float) -> int:
    return max(2, 2 * round(x / 2))


def output_size(
    width: int, height: int, sbs_w: int | None, sbs_h: int | None, preset_height: int | None
) -> tuple[int, int]:
    """(width, height) in pixels of the encoded frames for frames of `width` x `height`.

    Nothing asked for: the same size, rounded up to even (4:2:0 needs even sizes; the
    last row/column is repeated). One of sbs_w / sbs_h (or preset_height, a frame
    height): the other follows the aspect ratio, rounded to even. Both: they must keep the
    aspect ratio within the rounding to even. InputError for odd or conflicting sizes."""
    if preset_height is not None:
        if sbs_w is not None or sbs_h is not None:
            raise InputError("--height", "give either --height or --sbs_w/--sbs_h, not both")
        sbs_h = preset_height
    for flag, value in (("--sbs_w", sbs_w), ("--sbs_h", sbs_h)):
        if value is not None and value % 2:
            raise InputError(flag, f"must be even (4:2:0 video), got {value}")
    if sbs_w is None and sbs_h is None:
        return _even(width), _even(height)
    if sbs_h is None:
        assert sbs_w is not None
        return sbs_w, _nearest_even(sbs_w * height / width)
    if sbs_w is None:
        return _nearest_even(sbs_h * width / height), sbs_h
    if abs(sbs_h - sbs_w * height / width) > 1.0:
        raise InputError(
            "--sbs_h",
            f"{sbs_w}x{sbs_h} would distort the {width}x{height} frames "
            f"(keeping their aspect, width {sbs_w} gives height "
            f"{_nearest_even(sbs_w * height / width)}); give only --sbs_w or --sbs_h",
        )
    return sbs_w, sbs_h


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w, 3) uint8 frame as (height, width, 3): the same frame with its last row/column
    repeated when it is one short of even, else scaled with Lanczos."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    if (_even(w), _even(h)) == (width, height):
        return np.pad(frame, ((0, height - h), (0, width - w), (0, 0)), mode="edge")
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LANCZOS4)
