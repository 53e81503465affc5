"""Streaming video reading and lossless writing on PyAV.

Frames are (H, W, 3) uint8 RGB arrays; nothing ever holds the whole video. The
reader knows the exact frame count and the frame rate as an exact fraction and
can jump to any frame index; the writer produces FFV1 Matroska (every frame a
key frame, so random access is exact) under a temporary name and renames it only
once the frame count checks out.

Frame indices assume a constant frame rate: frame i is shown at i / fps seconds
after the first frame.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import InputError
from .atomic import AtomicFile, CommitOnExit

log = logging.getLogger(__name__)

# Tag names we write into our own files (Matroska stores them upper-case).
TAG_FPS = "fps"
TAG_TOOL = "tool"
TOOL_NAME = "metricdepth"


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: size in pixels, exact frame rate and count, container tags
    (keys lower-cased), and whether it has an audio stream."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int
    tags: Mapping[str, str] = field(default_factory=dict)
    has_audio: bool = False

    @property
    def duration(self) -> float:
        """Seconds: frame_count / fps."""
        return float(self.frame_count / self.fps)


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable video ({exc.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise InputError(path, "not a video (no video stream)")
    container.streams.video[0].thread_type = "AUTO"
    return container


TAG_RATE_TOLERANCE = 0.005  # a millisecond time base makes FFmpeg read 30 fps as 30000/1001


def _same_rate(a: Fraction | float, b: Fraction | float, tolerance: float = 1e-3) -> bool:
    return abs(float(a) / float(b) - 1) < tolerance


def _exact_fps(stream: av.video.stream.VideoStream, tags: Mapping[str, str]) -> Fraction:
    """The tag we wrote (when the stream still runs at it: a file re-encoded at another
    rate may keep a stale tag), else the container's nominal rate, else its average rate."""
    nominal, average = stream.guessed_rate, stream.average_rate
    rate = average or nominal
    try:
        tagged = Fraction(tags[TAG_FPS]) if TAG_FPS in tags else None
    except (ValueError, ZeroDivisionError):
        tagged = None
    # Only a measured average rate can show a tag stale: one or two frames joined by a
    # packet copy have no average, and their guessed rate (the time base) means nothing.
    if tagged is not None and tagged > 0 and (not average or _same_rate(tagged, average, TAG_RATE_TOLERANCE)):
        return tagged
    if nominal and average and _same_rate(nominal, average):
        return Fraction(nominal)  # e.g. 30000/1001 rather than 8991000/300007
    if not rate:
        raise InputError(stream.container.name, "video has no frame rate")
    return Fraction(rate)


def _count_frames(container: av.container.InputContainer, path: Path) -> int:
    """Exact frame count by a demux pass over the packets (fast: nothing is decoded).
    A container that announces more frames than its packets hold (an MP4 cut short
    after its index) is refused as truncated."""
    stream = container.streams.video[0]
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                count += 1
    except av.error.FFmpegError as exc:
        raise InputError(path, f"video is damaged or truncated after {count} frames ({exc})") from None
    if stream.frames > count:
        raise InputError(path, f"video is truncated: {count} of {stream.frames} frames present")
    return count


def probe(path: str | Path) -> VideoInfo:
    """Read a video's size, frame rate, frame count and tags without decoding it.

    Raises InputError for a missing file, a non-video, or a video whose stream is
    shorter than its container says (truncated).
    """
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        tags = {k.lower(): v for k, v in container.metadata.items()}
        fps = _exact_fps(stream, tags)
        count = _count_frames(container, path)
        if count == 0:
            raise InputError(path, "video has no frames")
        if container.duration and "matroska" in container.format.name:
            # Our writer records the duration when it closes; a cut file has fewer frames.
            announced = round(container.duration / av.time_base * fps)
            if count < announced - 1:
                raise InputError(path, f"video is truncated: {count} of {announced} frames present")
        width, height = stream.codec_context.width, stream.codec_context.height
        return VideoInfo(path, width, height, fps, count, tags, bool(container.streams.audio))


def frame_to_array(frame: av.VideoFrame, pixel_format: str) -> np.ndarray:
    """A decoded frame as a uint8 array in `pixel_format`; bgr0 gives (H, W, 4)
    straight from the frame's memory when it is already bgr0."""
    if pixel_format != "bgr0":
        return frame.to_ndarray(format=pixel_format)
    if frame.format.name != "bgr0":
        frame = frame.reformat(format="bgr0")
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width * 4].reshape(frame.height, frame.width, 4)


class VideoReader:
    """Streams a video as (H, W, 3) uint8 RGB frames.

    >>> with VideoReader("clip.mp4") as video:
    ...     for start, chunk in video.chunks(32):   # chunk: (n, H, W, 3) uint8
    ...         ...
    ...     frame = video.read(120)                  # random access by index
    """

    def __init__(self, path: str | Path, info: VideoInfo | None = None):
        self.info = info or probe(path)
        self.path = self.info.path
        self._container: av.container.InputContainer | None = None  # for read()
        self._decoded: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._next_index = -1

    # -- properties --------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.info.width

    @property
    def height(self) -> int:
        return self.info.height

    @property
    def fps(self) -> Fraction:
        return self.info.fps

    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    def __len__(self) -> int:
        return self.info.frame_count

    # -- decoding ----------------------------------------------------------------
    def _decode_from(
        self, container: av.container.InputContainer, start: int
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """(index, frame) from frame `start` on. Seeks to the key frame at or before
        `start` and decodes forward, indexing frames by their timestamps."""
        stream = container.streams.video[0]
        origin = stream.start_time or 0
        seconds_per_tick = stream.time_base
        target = origin + int(Fraction(start) / self.fps / seconds_per_tick)
        container.seek(target, stream=stream, backward=True, any_frame=False)
        index = None
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    index = round((frame.pts - origin) * seconds_per_tick * self.fps)
                elif index is None:
                    raise InputError(self.path, "cannot seek: frames carry no timestamps")
                else:
                    index += 1
                if index >= start:
                    yield index, frame
        except av.error.FFmpegError as exc:
            raise InputError(
                self.path, f"video is damaged: decoding failed near frame {index} ({exc})"
            ) from None

    def frames(
        self, start: int = 0, stop: int | None = None, pixel_format: str = "rgb24"
    ) -> Iterator[np.ndarray]:
        """Yield frames `start` .. `stop - 1` as uint8 arrays in `pixel_format`: (H, W, 3)
        for rgb24 (the default), (H, W, 4) B, G, R, unused for bgr0 (our files' own
        layout: no conversion at all), or any format PyAV converts to numpy.

        Raises InputError if the stream ends before `stop` (a damaged or truncated file).
        """
        stop = self.frame_count if stop is None else min(stop, self.frame_count)
        if not 0 <= start <= stop:
            raise IndexError(f"frame range [{start}, {stop}) outside [0, {self.frame_count})")
        if start == stop:
            return
        expected = start
        with _open(self.path) as container:
            for index, frame in self._decode_from(container, start):
                if index >= stop:
                    break
                if index != expected:
                    raise InputError(self.path, f"frame {expected} is missing from the stream")
                yield frame_to_array(frame, pixel_format)
                expected += 1
        if expected < stop:
            raise InputError(self.path, f"video is truncated: decoding ended at frame {expected} of {stop}")

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def chunks(self, size: int, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first_index, frames) with frames (n, ...) stacking what `frames` yields,
        n <= `size`. Each chunk is a new array, filled in place (no list, no copy)."""
        if size < 1:
            raise ValueError("chunk size must be at least 1")
        chunk: np.ndarray | None = None
        first, filled = start, 0
        for frame in self.frames(start, stop):
            if chunk is None:
                chunk = np.empty((size, *frame.shape), frame.dtype)
            chunk[filled] = frame
            filled += 1
            if filled == size:
                yield first, chunk
                first, filled, chunk = first + size, 0, None
        if filled and chunk is not None:
            yield first, chunk[:filled]

    def read(self, index: int, pixel_format: str = "rgb24") -> np.ndarray:
        """Frame `index` as a uint8 array in `pixel_format` (see `frames`). Consecutive
        calls decode sequentially; any other index seeks."""
        if not 0 <= index < self.frame_count:
            raise IndexError(f"frame {index} outside [0, {self.frame_count})")
        if self._container is None:
            self._container = _open(self.path)
        if index != self._next_index or self._decoded is None:
            self._decoded = self._decode_from(self._container, index)
        for found, frame in self._decoded:
            if found == index:
                self._next_index = index + 1
                return frame_to_array(frame, pixel_format)
            if found > index:
                break
        self._next_index = -1
        raise InputError(self.path, f"frame {index} cannot be decoded")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._decoded = None
            self._next_index = -1

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class EncodedVideo(CommitOnExit):
    """A video being encoded with PyAV under a temporary name beside `path`: `close()`
    flushes, checks that the file holds exactly the frames written (and
    `expected_frames`, when given) and only then renames it to `path`; `abort()` (or
    leaving the `with` block by an exception) removes it and leaves `path` as it was.
    Subclasses call `_begin` and then open `_container` and `_stream` on `_target.tmp`."""

    _container: av.container.OutputContainer | None = None
    _stream: av.video.stream.VideoStream

    def _begin(
        self, path: str | Path, fps: Fraction | int, overwrite: bool, expected_frames: int | None
    ) -> None:
        self.fps = Fraction(fps)
        self.expected_frames = expected_frames
        self.frames_written = 0
        self._target = AtomicFile(path, overwrite)
        self.path = self._target.final

    def _encode(self, frame: av.VideoFrame) -> None:
        if self._container is None:
            raise ValueError(f"{self.path}: writing to a closed video")
        frame.pts = self.frames_written
        frame.time_base = 1 / self.fps
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> Path:
        """Flush, verify the frame count, rename to the final name; return the final path."""
        if self._container is None:
            return self.path
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            if self.expected_frames is not None and self.frames_written != self.expected_frames:
                raise RuntimeError(
                    f"{self.path}: wrote {self.frames_written} frames, expected {self.expected_frames}"
                )
            written = probe(self._target.tmp).frame_count
            if written != self.frames_written:
                raise RuntimeError(
                    f"{self.path}: file holds {written} frames, {self.frames_written} were written"
                )
        except BaseException:
            self.abort()
            raise
        return self._target.commit()

    def abort(self) -> None:
        """Drop everything written; the final name is left as it was."""
        if self._container is not None:
            with contextlib.suppress(av.error.FFmpegError):
                self._container.close()
            self._container = None
        self._target.abort()


class VideoWriter(EncodedVideo):
    """Writes lossless FFV1 Matroska (pixel format bgr0), atomically.

    Frames go to a temporary file beside `path`; `close()` flushes, checks that the
    file holds exactly the frames written (and `expected_frames`, when given), and
    only then renames it to `path`. Leaving the `with` block by an exception removes
    the temporary file and leaves `path` as it was.

    `tags` are written into the container (Matroska tags; readers see them
    lower-cased in `VideoInfo.tags`); the tool name and the exact fps are added.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: Fraction | int,
        *,
        overwrite: bool = False,
        expected_frames: int | None = None,
        tags: Mapping[str, str] | None = None,
    ):
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid frame size {width}x{height}")
        self.width, self.height = int(width), int(height)
        self._begin(path, fps, overwrite, expected_frames)
        # bitexact: no random UIDs or version strings, so the same frames always give the
        # same bytes (a resumed job can be compared with an uninterrupted one).
        self._container = av.open(
            str(self._target.tmp), "w", format="matroska", options={"fflags": "+bitexact"}
        )
        all_tags = {TAG_TOOL: TOOL_NAME, TAG_FPS: str(self.fps), **(tags or {})}
        for key, value in all_tags.items():
            self._container.metadata[key] = str(value)
        stream = self._container.add_stream("ffv1", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "bgr0"
        # g=1: every frame a key frame (exact seeking); level 3 with slices: threaded
        # coding and per-slice CRCs that reveal damage.
        stream.options = {"g": "1", "level": "3", "slices": "4", "slicecrc": "1"}
        stream.thread_type = "SLICE"
        self._stream = stream
        # FFmpeg may pad rows for alignment; frames we fill must match its row length.
        self._row_bytes = av.VideoFrame(self.width, self.height, "bgr0").planes[0].line_size

    def write_bgr0(self, pixels: np.ndarray) -> None:
        """Write one frame given in the file's own layout: (H, W, 4) uint8 B, G, R, unused.
        The fastest path: no colour conversion happens."""
        if pixels.shape != (self.height, self.width, 4) or pixels.dtype != np.uint8:
            raise ValueError(
                f"bgr0 frame must be ({self.height}, {self.width}, 4) uint8, "
                f"got {pixels.shape} {pixels.dtype}"
            )
        frame = av.VideoFrame(self.width, self.height, "bgr0")
        rows = pixels.reshape(self.height, self.width * 4)
        if self._row_bytes != self.width * 4:
            padded = np.zeros((self.height, self._row_bytes), np.uint8)
            padded[:, : self.width * 4] = rows
            rows = padded
        frame.planes[0].update(np.ascontiguousarray(rows))
        self._encode(frame)

    def write(self, frame: np.ndarray) -> None:
        """Write one (H, W, 3) uint8 RGB frame."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(
                f"frame must be ({self.height}, {self.width}, 3) uint8, got {frame.shape} {frame.dtype}"
            )
        self._encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"))

    def write_frames(self, frames: np.ndarray) -> None:
        """Write (n, H, W, 3) uint8 RGB frames."""
        for frame in frames:
            self.write(frame)
