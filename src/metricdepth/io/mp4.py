"""H.264 MP4 for people to watch: previews, renders.

yuv420p H.264 with BT.709 colour tags (so players show the right colours) at the exact
frame rate, ``+faststart`` so it streams; odd sizes get the last row and/or column
repeated once (yuv420p needs even sizes; nothing is cropped).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from .video import EncodedVideo


def open_h264(
    path: Path, width: int, height: int, fps: Fraction, *, preset: str = "medium", crf: int = 18
) -> tuple[av.container.OutputContainer, av.video.stream.VideoStream]:
    """An MP4 container at `path` with one H.264 stream for frames of `width` x `height`
    pixels (rounded up to even) at `fps`; crf 18 is visually lossless."""
    container = av.open(str(path), "w", format="mp4", container_options={"movflags": "+faststart"})
    stream = container.add_stream("libx264", rate=Fraction(fps))
    stream.width, stream.height = width + width % 2, height + height % 2
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": str(crf), "preset": preset}
    tag_bt709(stream.codec_context)
    return container, stream


def tag_bt709(context: av.video.codeccontext.VideoCodecContext) -> None:
    """Tag an encoder's output as BT.709 limited (TV) range, what players assume for HD."""
    context.colorspace, context.color_range = Colorspace.ITU709, ColorRange.MPEG
    context.color_primaries, context.color_trc = ColorPrimaries.BT709, ColorTrc.BT709


def bt709_frame(rgb: np.ndarray, index: int, fps: Fraction) -> av.VideoFrame:
    """(H, W, 3) uint8 RGB -> a yuv420p BT.709 frame shown at index / fps seconds, padded
    to even size by repeating the last row/column."""
    height, width = rgb.shape[:2]
    even = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24").reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709
    )
    frame.pts = index
    frame.time_base = 1 / Fraction(fps)
    return frame


def encode(
    container: av.container.OutputContainer, stream: av.video.stream.VideoStream, frame: av.VideoFrame | None
) -> None:
    """Encode `frame` (None flushes the encoder) and mux what comes out."""
    for packet in stream.encode(frame):
        container.mux(packet)


class Mp4Writer(EncodedVideo):
    """H.264 MP4 of (H, W, 3) uint8 RGB frames, atomically (format in the module docstring)."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: Fraction,
        *,
        overwrite: bool = False,
        expected_frames: int | None = None,
        preset: str = "medium",
        crf: int = 18,
    ):
        self._begin(path, fps, overwrite, expected_frames)
        self._container, self._stream = open_h264(
            self._target.tmp, width, height, self.fps, preset=preset, crf=crf
        )

    def write(self, rgb: np.ndarray) -> None:
        """Write one (H, W, 3) uint8 RGB frame."""
        self._encode(bt709_frame(rgb, self.frames_written, self.fps))
