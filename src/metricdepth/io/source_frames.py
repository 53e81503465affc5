"""Which colour-video frames a depth video holds, and pairing the two.

Step 1 writes one depth frame per colour frame, unless --start, --duration, --target_fps,
--preview, --max_frames or --sample keyframes pick fewer. Its depth video says which in
the container tag `source_frames`:

- ``FIRST:STRIDE:COUNT``: frames FIRST, FIRST + STRIDE, ... (COUNT of them);
- ``N1,N2,...``: those frame numbers (--sample keyframes), ascending.

A step that reads the depth video with another video made from the colour frames (the
colour video itself, a mask video) pairs depth frame k with that video's frame
`numbers[k]` (`pair_frames`), so the sampled depth video is used as it is and the
step's output has its frame count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from ..errors import InputError
from .checks import check_matching
from .video import VideoInfo

log = logging.getLogger(__name__)

TAG_SOURCE_FRAMES = "source_frames"
SHOWN_NUMBERS = 4  # frame numbers a log line shows before "..."


def source_frames_tag(numbers: Sequence[int]) -> str:
    """The tag's value for the colour-frame `numbers` (ascending): FIRST:STRIDE:COUNT
    when they are evenly spaced, else the list."""
    steps = set(np.diff(numbers).tolist())
    if numbers and len(steps) <= 1:
        return f"{numbers[0]}:{steps.pop() if steps else 1}:{len(numbers)}"
    return ",".join(str(n) for n in numbers)


def source_frames(depth: VideoInfo) -> list[int] | None:
    """The colour-frame numbers of `depth`'s frames from its tag (None: no tag)."""
    text = depth.tags.get(TAG_SOURCE_FRAMES)
    if text is None:
        return None
    try:
        if ":" in text:
            first, stride, count = (int(part) for part in text.split(":"))
            numbers = list(range(first, first + stride * count, stride)) if stride > 0 else []
        else:
            numbers = [int(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if (
        len(numbers) != depth.frame_count
        or any(b <= a for a, b in zip(numbers, numbers[1:]))
        or min(numbers, default=-1) < 0
    ):
        raise InputError(
            depth.path, f"its {TAG_SOURCE_FRAMES} tag {text!r} does not list its {depth.frame_count} frames"
        )
    return numbers


def pair_frames(depth: VideoInfo, other: VideoInfo, what: str) -> list[int] | None:
    """The frame of `other` (a video of the colour frames: the colour video, a mask
    video) that each frame of `depth` shows, or None when they pair one to one (same
    frame count and rate). A depth video of fewer frames (step 1's sampling) is paired
    by its `source_frames` tag, logged in one line; anything else is refused as
    `check_matching` refuses it."""
    if (other.frame_count, other.fps) == (depth.frame_count, depth.fps):
        check_matching(depth, other, what)
        return None
    numbers = source_frames(depth)
    if numbers is None or numbers == list(range(other.frame_count)):
        check_matching(depth, other, what)
        return None
    check_matching(replace(depth, fps=other.fps, frame_count=other.frame_count), other, what)
    check_within(depth, numbers, other, what)
    shown = ", ".join(str(n) for n in numbers[:SHOWN_NUMBERS]) + (
        ", ..." if len(numbers) > SHOWN_NUMBERS else ""
    )
    log.info(
        "%s holds %d of the %d frames of %s (%s): each depth frame is paired with its own",
        depth.path.name,
        len(numbers),
        other.frame_count,
        other.path.name,
        shown,
    )
    return numbers


def check_within(video: VideoInfo, numbers: Sequence[int], other: VideoInfo, what: str) -> None:
    """Refuse `video`, made from the colour frames `numbers` (its tag), when `other` (the
    colour video, or one made from it) does not have them all."""
    if numbers[-1] >= other.frame_count:
        raise InputError(
            video.path,
            f"holds frame {numbers[-1]} of the colour frames (its {TAG_SOURCE_FRAMES} tag), "
            f"but {what} {other.path.name} has {other.frame_count}",
        )


def check_every_frame(colour: VideoInfo, depth: VideoInfo) -> None:
    """For a step that needs one depth frame per colour frame: refuse a sampled depth
    video in one line that says so, anything else as `check_matching` does."""
    numbers = source_frames(depth)
    if numbers is not None and depth.frame_count != colour.frame_count:
        raise InputError(
            depth.path,
            f"holds {len(numbers)} of the frames of {colour.path.name} (step 1 sampled them: "
            "--start, --duration, --target_fps, --preview, --max_frames or --sample); this step "
            "needs depth for every frame: run step 1 without them (step 6 takes sampled depth)",
        )
    check_matching(colour, depth, "depth video")


def read_paired(
    frames: Callable[[int, int], Iterator[np.ndarray]], numbers: Sequence[int] | None, start: int, stop: int
) -> Iterator[np.ndarray]:
    """The frames paired with depth frames start .. stop - 1 (see `pair_frames`) from
    `frames`, a reader's `frames(start, stop)` (frames between them are decoded and
    skipped)."""
    if numbers is None:
        yield from frames(start, stop)
    elif start < stop:
        wanted = set(numbers[start:stop])
        for number, frame in enumerate(frames(numbers[start], numbers[stop - 1] + 1), numbers[start]):
            if number in wanted:
                yield frame
