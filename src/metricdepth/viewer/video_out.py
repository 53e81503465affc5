"""Writers for rendered views: H.264 MP4 (to watch), FFV1 Matroska (lossless) or one PNG.

The MP4 is yuv420p H.264 at CRF RENDER_CRF with BT.709 colour tags, at the exact frame
rate; odd sizes get the last row/column repeated (yuv420p needs even sizes). All writers
are atomic: the final name appears only when every frame is in.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from ..errors import InputError
from ..io.atomic import AtomicFile, CommitOnExit, atomic_output, check_writable
from ..io.video import VideoWriter, probe

RENDER_CRF = "18"          # visually lossless H.264
RENDER_PRESET = "medium"
VIDEO_SUFFIXES = (".mp4", ".mkv")
IMAGE_SUFFIX = ".png"


def check_render_output(path: Path, frame_count: int, overwrite: bool) -> Path:
    """Refuse before any work: an unknown extension, a PNG for more than one frame, an
    existing file (unless `overwrite`) or a missing folder."""
    suffix = path.suffix.lower()
    if suffix not in (*VIDEO_SUFFIXES, IMAGE_SUFFIX):
        raise InputError(path, f"--render: unknown extension {suffix!r}; use .mp4, .mkv or .png")
    if suffix == IMAGE_SUFFIX and frame_count != 1:
        raise InputError(path, f"--render: a .png holds one frame, {frame_count} were asked "
                               "for; give --draw_frame N")
    return check_writable(path, overwrite)


def write_png(path: Path, rgb: np.ndarray, overwrite: bool) -> Path:
    """Write (H, W, 3) uint8 RGB as a PNG, atomically."""
    with atomic_output(path, overwrite) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise RuntimeError(f"{path}: PNG encoding failed")
    return path


class Mp4Writer(CommitOnExit):
    """H.264 MP4 of (H, W, 3) uint8 RGB frames, atomically (format in the module docstring)."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, *,
                 overwrite: bool = False, expected_frames: int | None = None):
        self._target = AtomicFile(path, overwrite)
        self.path = self._target.final
        self.expected_frames = expected_frames
        self.frames_written = 0
        self._fps = Fraction(fps)
        self._container = av.open(str(self._target.tmp), "w", format="mp4",
                                  container_options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=self._fps)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": RENDER_CRF, "preset": RENDER_PRESET}
        context = stream.codec_context
        context.colorspace, context.color_range = Colorspace.ITU709, ColorRange.MPEG
        context.color_primaries, context.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
        self._stream = stream

    def write(self, rgb: np.ndarray) -> None:
        """Write one (H, W, 3) uint8 RGB frame."""
        height, width = rgb.shape[:2]
        even = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24").reformat(
            format="yuv420p", dst_colorspace=Colorspace.ITU709)
        frame.pts = self.frames_written
        frame.time_base = 1 / self._fps
        self._encode(frame)
        self.frames_written += 1

    def _encode(self, frame: av.VideoFrame | None) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> Path:
        """Flush, check the frame count, rename to the final name; return it."""
        try:
            self._encode(None)
            self._container.close()
            self._container = None
            written = probe(self._target.tmp).frame_count
            expected = self.expected_frames if self.expected_frames is not None \
                else self.frames_written
            if written != self.frames_written or written != expected:
                raise RuntimeError(f"{self.path}: file holds {written} frames, "
                                   f"{self.frames_written} were written, {expected} expected")
        except BaseException:
            self.abort()
            raise
        return self._target.commit()

    def abort(self) -> None:
        if self._container is not None:
            with contextlib.suppress(av.error.FFmpegError):
                self._container.close()
            self._container = None
        self._target.abort()


def open_video_writer(path: Path, width: int, height: int, fps: Fraction, *,
                      overwrite: bool, expected_frames: int) -> Mp4Writer | VideoWriter:
    """An MP4 (H.264) or, for .mkv, a lossless FFV1 writer of RGB frames."""
    if path.suffix.lower() == ".mkv":
        return VideoWriter(path, width, height, fps, overwrite=overwrite,
                           expected_frames=expected_frames)
    return Mp4Writer(path, width, height, fps, overwrite=overwrite,
                     expected_frames=expected_frames)
