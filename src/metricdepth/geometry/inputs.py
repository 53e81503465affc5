"""Input checks and defaults shared by camera_track and rescale_depth: the files beside
the inputs, one field of view for the clip, and the tracks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..errors import InputError
from ..fov import resolve_xfovs
from ..io import naming
from ..io.checks import check_matching
from ..io.sidecars import FrameTracks, read_tracking
from ..io.source_frames import check_every_frame
from ..io.video import VideoInfo, probe

log = logging.getLogger(__name__)

MIN_TRACKS = 8  # tracks seen in at least two frames that the steps need
FOV_SPREAD_WARN_DEG = 0.5  # per-frame FOVs spreading more than this get a warning


@dataclass(frozen=True)
class Sidecars:
    """The colour video and the files beside it a step uses (None: none given or found)."""

    colour: Path | None
    mask: Path | None
    tracks: Path | None


def find_sidecars(
    depth: VideoInfo, color_video: Path | None, mask_video: Path | None, track_file: Path | None
) -> Sidecars:
    """The flags' files, else those the naming rule puts beside the colour video (itself
    the depth video's name without _depth.mkv when not given), each logged when found;
    the colour and mask videos are checked against the depth video."""
    colour = Path(color_video) if color_video is not None else naming.colour_video_of(depth.path)
    mask = naming.find_sidecar(mask_video, colour, naming.MASK, "--mask_video")
    if colour is not None:
        check_every_frame(probe(colour), depth)
    if mask is not None:
        check_matching(depth, probe(mask), "mask video")
    tracks = naming.find_sidecar(track_file, colour, naming.TRACKING, "--track_file")
    return Sidecars(colour, mask, tracks)


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
    cut to its first `frames` frames; refuses too few usable tracks (a 1-frame clip has
    none to follow, and the steps need none: see `single_frame`)."""
    tracks = read_tracking(track_file, frame_count, (width, height))[:frames]
    ids = np.concatenate([f.ids for f in tracks]) if tracks else np.zeros(0, np.int64)
    _, counts = np.unique(ids, return_counts=True)
    usable = int((counts >= 2).sum())
    if usable < MIN_TRACKS and not single_frame(frames):
        raise InputError(
            track_file,
            f"only {usable} tracks are seen in two or more frames; at least {MIN_TRACKS} are needed",
        )
    return tracks


def single_frame(frames: int) -> bool:
    """A clip of one frame (e.g. a preview of a short clip): no camera motion to solve
    (its pose is the identity) and nothing to triangulate (its depth is kept)."""
    return frames == 1


def frames_to_use(frame_count: int, max_frames: int | None) -> int:
    """Frames processed: all, or the first `max_frames`."""
    if max_frames is None:
        return frame_count
    if max_frames < 2:
        raise InputError("--max_frames", f"must be at least 2, got {max_frames}")
    return min(frame_count, max_frames)
