"""Mask video: FFV1 Matroska, grey replicated to RGB, 255 = subject, 0 = background.

Masks from other tools (lossy, not exactly 0/255) are read by thresholding grey
at 128; a frame whose channels disagree strongly is not a mask and is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from .video import VideoReader, VideoWriter

MAX_CHANNEL_SPREAD = 32  # grey levels by which R, G, B of a (lossy) mask may differ


def encode_mask(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool, True = subject -> (H, W, 4) uint8 bgr0 pixels, 255 or 0 in B, G, R."""
    mask = np.asarray(mask, dtype=bool)
    words = mask.astype("<u4") * np.uint32(0x00FFFFFF)  # one pixel a word: bytes B, G, R, 0
    return words.view(np.uint8).reshape(*mask.shape, 4)


def _channel_spread(blue: np.ndarray, grey: np.ndarray, red: np.ndarray) -> int:
    """The most grey levels by which blue or red differ from green (0 for our own masks,
    checked first: a compare is cheaper than the differences)."""
    if np.array_equal(blue, grey) and np.array_equal(red, grey):
        return 0
    return max(int(np.abs(other.astype(np.int16) - grey).max()) for other in (blue, red))


class MaskVideoWriter(VideoWriter):
    """Writes (H, W) bool masks as a mask video, atomically."""

    def write(self, mask: np.ndarray) -> None:
        """mask: (H, W) bool (or 0/1, 0/255 numbers), True = subject."""
        self.write_bgr0(encode_mask(mask))


class MaskVideoReader(VideoReader):
    """Streams a mask video as (H, W) bool, True = subject; `chunks` gives (n, H, W)."""

    def _decode(self, bgr0: np.ndarray, index: int) -> np.ndarray:
        """(H, W, 4) uint8 bgr0 pixels -> (H, W) bool."""
        grey = bgr0[..., 1]
        spread = _channel_spread(bgr0[..., 0], grey, bgr0[..., 2])
        if spread > MAX_CHANNEL_SPREAD:
            raise InputError(
                self.path,
                f"frame {index} is not a mask (colour channels differ "
                f"by up to {spread}; a mask is grey, 255 = subject)",
            )
        return grey >= 128

    # decoded values, not pixels: no pixel_format to choose
    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:  # type: ignore[override]
        """Yield (H, W) bool masks for frames `start` .. `stop - 1`."""
        for index, bgr0 in enumerate(super().frames(start, stop, pixel_format="bgr0"), start):
            yield self._decode(bgr0, index)

    def read(self, index: int) -> np.ndarray:  # type: ignore[override]
        """Frame `index` as (H, W) bool."""
        return self._decode(super().read(index, pixel_format="bgr0"), index)
