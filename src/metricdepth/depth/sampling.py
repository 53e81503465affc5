"""Which frames of the colour video step 1 converts, and reading just those.

Two ways to sample (`--sample`):

- ``all``: every frame from --start to --start + --duration, thinned to --target_fps
  (every round(fps / target_fps)-th frame) and --preview N (every Nth of those);
- ``keyframes``: only the frames the container marks as key frames (the packets' key
  flag, as ``ffprobe -show_packets`` prints ``K``), found by a demux pass without
  decoding anything; each is then decoded from its own packet alone (a key frame needs
  no other), so the frames between key frames are never decoded.

Both stop after --max_frames output frames. Output frame k is colour-video frame
`Selection.index(k)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from ..errors import InputError
from ..io.video import VideoInfo, VideoReader, frame_to_array

SAMPLE_ALL = "all"
SAMPLE_KEYFRAMES = "keyframes"
SAMPLE_MODES = (SAMPLE_ALL, SAMPLE_KEYFRAMES)
FPS_DENOMINATOR_LIMIT = 1001 * 1000  # keyframe outputs: fps as a fraction of this size at most


@dataclass(frozen=True)
class Selection:
    """Which frames of the colour video become output frames, shown at `fps`.

    Regular (`numbers` None): first, first + stride, ... (`count` of them, all before
    `stop`). Keyframes: the colour-video frame numbers in `numbers` (ascending).
    """

    first: int
    stop: int
    stride: int
    count: int
    fps: Fraction
    numbers: tuple[int, ...] | None = None

    def index(self, k: int) -> int:
        """Colour-video frame number of output frame k."""
        return self.first + k * self.stride if self.numbers is None else self.numbers[k]

    def indices(self) -> list[int]:
        """Colour-video frame numbers of all output frames, in order."""
        return [self.index(k) for k in range(self.count)]


def keyframe_numbers(info: VideoInfo) -> list[int]:
    """Frame numbers (by presentation time, as `VideoReader` numbers frames) of the packets
    flagged as key frames, ascending; a demux pass, nothing decoded."""
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        numbers = sorted(
            _frame_number(packet.pts, stream, info.fps)
            for packet in container.demux(stream)
            if packet.size and packet.is_keyframe and packet.pts is not None
        )
    return numbers


def _frame_number(pts: int, stream: av.video.stream.VideoStream, fps: Fraction) -> int:
    return round((pts - (stream.start_time or 0)) * stream.time_base * fps)


def select_frames(
    info: VideoInfo,
    *,
    start: float = 0.0,
    duration: float | None = None,
    target_fps: float | None = None,
    preview: int = 0,
    max_frames: int | None = None,
    sample: str = SAMPLE_ALL,
) -> Selection:
    """Apply --start, --duration, --target_fps, --preview, --max_frames and --sample."""
    first = round(start * info.fps)
    if first >= info.frame_count:
        raise InputError("--start", f"{start} s is past the end of {info.path.name} ({info.duration:.3f} s)")
    stop = info.frame_count
    if duration is not None:
        stop = min(stop, first + max(1, round(duration * info.fps)))
    if sample == SAMPLE_KEYFRAMES:
        keys = [n for n in keyframe_numbers(info) if first <= n < stop][:: max(1, preview)]
        if not keys:
            raise InputError(
                "--sample",
                f"{info.path.name} has no key frame between "
                f"{first / info.fps:.3f} s and {stop / info.fps:.3f} s",
            )
        keys = keys[:max_frames] if max_frames is not None else keys
        # shown at their mean rate (the source's for a single key frame)
        fps = (
            info.fps
            if len(keys) == 1
            else (Fraction(len(keys) - 1) * info.fps / (keys[-1] - keys[0])).limit_denominator(
                FPS_DENOMINATOR_LIMIT
            )
        )
        return Selection(first, stop, 0, len(keys), fps, tuple(keys))
    stride = max(1, round(info.fps / Fraction(target_fps))) if target_fps else 1
    stride *= max(1, preview)
    count = len(range(first, stop, stride))
    if max_frames is not None:
        count = min(count, max_frames)
    return Selection(first, stop, stride, count, info.fps / stride)


def selected_frames(
    reader: VideoReader, selection: Selection, start: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, (H, W, 3) uint8 RGB) of output frames `start`, start + 1, ..."""
    if start >= selection.count:
        return
    if selection.numbers is not None:
        yield from zip(
            selection.numbers[start:],
            decode_keyframes(reader.info, selection.numbers[start : selection.count]),
        )
        return
    last = selection.index(selection.count - 1)
    first = selection.index(start)
    for number, frame in enumerate(reader.frames(first, last + 1), first):
        if (number - selection.first) % selection.stride == 0:
            yield number, frame


def blank_frames(
    selection: Selection, size: tuple[int, int], start: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, (H, W, 3) uint8 zeros) of output frames `start`, start + 1, ...:
    the frames of `selected_frames` without decoding any, for a backend that reads only
    their size; size = (width, height). The zeros are one read-only array."""
    blank = np.broadcast_to(np.zeros(1, np.uint8), (size[1], size[0], 3))
    for k in range(start, selection.count):
        yield selection.index(k), blank


def decode_keyframes(info: VideoInfo, numbers: Sequence[int]) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB of the key frames `numbers` (ascending), each decoded from its
    own packet: the decoder is drained after the packet and reset, so no other packet is
    ever decoded. InputError if a number is not a key frame of the video."""
    wanted = iter(numbers)
    target = next(wanted, None)
    with av.open(str(info.path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        for packet in container.demux(stream):
            if target is None:
                return
            if not (packet.size and packet.is_keyframe and packet.pts is not None):
                continue
            number = _frame_number(packet.pts, stream, info.fps)
            if number != target:
                continue
            try:
                frames = [*codec.decode(packet), *codec.decode(None)]
            except av.error.FFmpegError as exc:
                raise InputError(info.path, f"key frame {number} cannot be decoded ({exc})") from None
            codec.flush_buffers()  # leave draining mode for the next key frame
            if not frames:
                raise InputError(info.path, f"key frame {number} decodes to nothing")
            yield frame_to_array(frames[-1], "rgb24")
            target = next(wanted, None)
    if target is not None:
        raise InputError(info.path, f"frame {target} is not a key frame of the video")
