"""Input checks and defaults shared by camera_track and rescale_depth: one field of view
for the clip, and the tracks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..errors import InputError
from ..fov import resolve_xfovs
from ..io.sidecars import FrameTracks, read_tracking

log = logging.getLogger(__name__)

MIN_TRACKS = 8  # tracks seen in at least two frames that the steps need
FOV_SPREAD_WARN_DEG = 0.5  # per-frame FOVs spreading more than this get a warning


def resolve_intrinsics(
    width: int,
    height: int,
    frame_count: int,
    depth_video: str | Path,
    xfov: float | None,
    yfov: float | None,
    xfov_file: str | Path | None,
) -> Intrinsics:
    """The pinhole camera from --xfov, --yfov or --xfov_file (default: the depth video's
    xfovs sidecar). One FOV for the whole clip: a varying FOV file gives its median."""
    fovs = resolve_xfovs(
        frame_count, width, height, xfov=xfov, yfov=yfov, xfov_file=xfov_file, depth_video=depth_video
    )
    if fovs.max() - fovs.min() > FOV_SPREAD_WARN_DEG:
        log.warning(
            "the FOV varies from %.2f to %.2f degrees; using the median, %.2f",
            fovs.min(),
            fovs.max(),
            float(np.median(fovs)),
        )
    return Intrinsics.from_fov(width, height, xfov=float(np.median(fovs)))


def read_tracks(
    track_file: str | Path, frame_count: int, width: int, height: int, frames: int
) -> list[FrameTracks]:
    """The tracking file, checked against the video (length, points inside the image),
    cut to its first `frames` frames; refuses too few usable tracks."""
    tracks = read_tracking(track_file, frame_count, (width, height))[:frames]
    ids = np.concatenate([f.ids for f in tracks]) if tracks else np.zeros(0, np.int64)
    _, counts = np.unique(ids, return_counts=True)
    usable = int((counts >= 2).sum())
    if usable < MIN_TRACKS:
        raise InputError(
            track_file,
            f"only {usable} tracks are seen in two or more frames; at least {MIN_TRACKS} are needed",
        )
    return tracks


def frames_to_use(frame_count: int, max_frames: int | None) -> int:
    """Frames processed: all, or the first `max_frames`."""
    if max_frames is None:
        return frame_count
    if max_frames < 2:
        raise InputError("--max_frames", f"must be at least 2, got {max_frames}")
    return min(frame_count, max_frames)
