"""Checks that the videos given to one step belong together."""

from __future__ import annotations

from ..errors import InputError
from .video import VideoInfo


def check_matching(reference: VideoInfo, other: VideoInfo, what: str = "video") -> None:
    """Raise InputError naming `other` if its size, frame rate or frame count differs
    from `reference` (the colour video, usually)."""
    ref_name = reference.path.name
    if (other.width, other.height) != (reference.width, reference.height):
        raise InputError(
            other.path,
            f"{what} is {other.width}x{other.height}, but {ref_name} is {reference.width}x{reference.height}",
        )
    if other.fps != reference.fps:
        raise InputError(other.path, f"{what} runs at {other.fps} fps, but {ref_name} at {reference.fps} fps")
    if other.frame_count != reference.frame_count:
        raise InputError(
            other.path, f"{what} has {other.frame_count} frames, but {ref_name} has {reference.frame_count}"
        )
