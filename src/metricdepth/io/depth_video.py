"""Depth video: metric z-depth packed losslessly into FFV1 Matroska (docs/formats.md).

Packing, for depth d in metres clipped to [0, max_depth]:

    q = round(d * 255**4 / max_depth / 65536)      a 16-bit code (at most 64519)
    red = green = q >> 8,  blue = q & 255
    decode: d = ((R << 24) | (B << 16)) * max_depth / 255**4

One code step is 65536 * max_depth / 255**4 metres (1.55 mm at max_depth 100);
decoding is within half a step of the input. The container's tags carry
`max_depth` and `depth_encoding`; a reader uses the tag when present and the
caller's max_depth otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError
from .video import VideoInfo, VideoReader, VideoWriter

DEFAULT_MAX_DEPTH = 100.0
DEPTH_ENCODING = "rgb16: q=round(d*255^4/max_depth/65536), R=G=q>>8, B=q&255"
TAG_MAX_DEPTH = "max_depth"
TAG_ENCODING = "depth_encoding"
_FULL = 255.0**4


def depth_step(max_depth: float) -> float:
    """Metres between two consecutive depth codes."""
    return 65536.0 * max_depth / _FULL


def encode_depth(depth: np.ndarray, max_depth: float, invalid: np.ndarray | None = None) -> np.ndarray:
    """Pack depth into our files' pixel layout.

    depth: (H, W) float, metres, z-depth, finite and >= 0 where valid; values above
    max_depth are clipped. invalid: optional (H, W) bool, pixels written as max_depth.
    Returns (H, W, 4) uint8 in bgr0 order: blue = q & 255, green = red = q >> 8, 0.
    Raises ValueError for NaN or negative depth outside `invalid`.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if invalid is not None:
        depth = np.where(invalid, np.float32(max_depth), depth)
    if not np.isfinite(depth).all() or (depth < 0).any():
        raise ValueError("depth has NaN, infinite or negative values; mark them as invalid")
    # float64 here so that rounding to the nearest code is exact (float32 would
    # misround near max_depth); the decoder's float32 output adds < 1 ulp.
    d64 = np.minimum(depth, max_depth, dtype=np.float64)
    q = np.rint(d64 * (_FULL / max_depth / 65536.0)).astype(np.uint32)
    packed = q | ((q >> 8) << 16)  # little-endian bytes: q & 255, q >> 8, q >> 8, 0
    return packed.view(np.uint8).reshape(*depth.shape, 4)


@functools.lru_cache(maxsize=8)
def _metres_of_codes(max_depth: float) -> np.ndarray:
    """(65536,) float32: the metres of each 16-bit depth code, the float64 product
    rounded once (exact to 0.5 ulp)."""
    return (np.arange(65536, dtype=np.float64) * (65536.0 * max_depth / _FULL)).astype(np.float32)


def decode_depth(bgr0: np.ndarray, max_depth: float) -> np.ndarray:
    """Unpack (H, W, 4) uint8 bgr0 pixels that follow the packing (green == red, see
    `is_depth_packing`) into (H, W) float32 metres (z-depth)."""
    if bgr0.strides[-1] != 1:  # a view of 16-bit words needs each pixel's bytes together
        bgr0 = np.ascontiguousarray(bgr0)
    codes = bgr0.view("<u2")[..., 0]  # a pixel's first little-endian word: blue | green << 8
    return _metres_of_codes(float(max_depth)).take(codes)


def is_depth_packing(bgr0: np.ndarray) -> bool:
    """True where the frame follows the packing (red equals green everywhere)."""
    return np.array_equal(bgr0[..., 1], bgr0[..., 2])


def looks_grey(bgr0: np.ndarray) -> bool:
    """True for a grey frame (blue = green = red everywhere, more than one value): a grey
    depth picture, whose low byte would otherwise be read as the packing's blue."""
    return bool(np.array_equal(bgr0[..., 0], bgr0[..., 2]) and bgr0[..., 2].min() != bgr0[..., 2].max())


class DepthVideoWriter(VideoWriter):
    """Writes (H, W) float32 depth frames (metres) as a depth video, atomically.

    >>> with DepthVideoWriter(out, 640, 360, Fraction(30), max_depth=100) as w:
    ...     w.write(depth)
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction | int,
        *,
        max_depth: float = DEFAULT_MAX_DEPTH,
        overwrite: bool = False,
        expected_frames: int | None = None,
        tags: dict[str, str] | None = None,
    ):
        if not max_depth > 0:
            raise ValueError(f"max_depth must be positive, got {max_depth}")
        self.max_depth = float(max_depth)
        all_tags = {TAG_MAX_DEPTH: repr(self.max_depth), TAG_ENCODING: DEPTH_ENCODING, **(tags or {})}
        super().__init__(
            path, width, height, fps, overwrite=overwrite, expected_frames=expected_frames, tags=all_tags
        )

    def write(self, depth: np.ndarray, invalid: np.ndarray | None = None) -> None:
        """depth: (H, W) float metres; invalid: optional (H, W) bool written as max_depth."""
        self.write_bgr0(encode_depth(depth, self.max_depth, invalid))


class DepthVideoReader(VideoReader):
    """Streams a depth video as (H, W) float32 metres; `chunks` gives (n, H, W).

    max_depth: used when the file carries no max_depth tag (files from other tools);
    the tag wins otherwise. Every frame is checked for the packing (red == green);
    a colour video given as depth is refused with an InputError.
    """

    def __init__(self, path: str | Path, max_depth: float = DEFAULT_MAX_DEPTH, info: VideoInfo | None = None):
        super().__init__(path, info)
        tag = self.info.tags.get(TAG_MAX_DEPTH)
        try:
            self.max_depth = float(tag) if tag is not None else float(max_depth)
        except ValueError:
            raise InputError(self.path, f"max_depth tag {tag!r} is not a number") from None
        if not (self.max_depth > 0 and np.isfinite(self.max_depth)):
            raise InputError(self.path, f"max_depth {self.max_depth} must be a positive number")
        encoding = self.info.tags.get(TAG_ENCODING)
        if encoding is not None and encoding != DEPTH_ENCODING:
            raise InputError(self.path, f"unknown depth encoding {encoding!r}")

    def _decode(self, bgr0: np.ndarray, index: int) -> np.ndarray:
        if not is_depth_packing(bgr0):
            raise InputError(
                self.path,
                f"frame {index} is not a depth video frame "
                "(red and green differ; expected the 16-bit depth packing)",
            )
        if looks_grey(bgr0):
            raise InputError(
                self.path,
                f"frame {index} is plain grey, not the 16-bit depth "
                "packing: it looks like MDVT's grey export (convert_metric_depth_"
                "video_to_other_format.py --bit8/--bit16, D_grey_depth.mkv) or "
                "another tool's 8-bit depth; give the X_depth.mkv it was made from",
            )
        return decode_depth(bgr0, self.max_depth)

    # decoded values, not pixels: no pixel_format to choose
    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:  # type: ignore[override]
        """Yield (H, W) float32 depth in metres for frames `start` .. `stop - 1`."""
        for index, bgr0 in enumerate(super().frames(start, stop, pixel_format="bgr0"), start):
            yield self._decode(bgr0, index)

    def read(self, index: int) -> np.ndarray:  # type: ignore[override]
        """Frame `index` as (H, W) float32 metres."""
        return self._decode(super().read(index, pixel_format="bgr0"), index)
