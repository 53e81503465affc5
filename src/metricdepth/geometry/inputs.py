"""Input checks and defaults shared by camera_track and rescale_depth: the field of view,
sidecars found beside the depth video, and the tracks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..errors import InputError
from ..io import naming
from ..io.sidecars import FrameTracks, read_tracking, read_xfovs

log = logging.getLogger(__name__)

MIN_TRACKS = 8            # tracks seen in at least two frames that the steps need
FOV_SPREAD_WARN_DEG = 0.5  # per-frame FOVs spreading more than this get a warning


def sidecar_beside(depth_video: str | Path, suffix: str) -> Path | None:
    """The sidecar `suffix` of the depth video, or of the depth video it was rescaled from
    (``D_rescaled.mkv`` -> ``D_...``), whichever exists first; None if neither does."""
    path = Path(depth_video)
    while True:
        candidate = naming.output_path(path, suffix)
        if candidate.exists():
            return candidate
        if not path.name.endswith(naming.RESCALED):
            return None
        path = path.with_name(path.name[: -len(naming.RESCALED)])


def resolve_intrinsics(width: int, height: int, frame_count: int, depth_video: str | Path,
                       xfov: float | None, yfov: float | None,
                       xfov_file: str | Path | None) -> Intrinsics:
    """The pinhole camera from --xfov, --yfov or --xfov_file (default: the depth video's
    xfovs sidecar). One FOV for the whole clip: a varying FOV file gives its median."""
    given = [name for name, value in (("--xfov", xfov), ("--yfov", yfov),
                                      ("--xfov_file", xfov_file)) if value is not None]
    if len(given) > 1:
        raise InputError(given[1], "give only one of --xfov, --yfov, --xfov_file "
                         f"(got {', '.join(given)})")
    if xfov is not None:
        return Intrinsics.from_fov(width, height, xfov=xfov)
    if yfov is not None:
        return Intrinsics.from_fov(width, height, yfov=yfov)
    path = xfov_file if xfov_file is not None else sidecar_beside(depth_video, naming.XFOVS)
    if path is None:
        raise InputError("--xfov", "no field of view given: pass --xfov, --yfov or --xfov_file "
                         f"(no {naming.output_path(depth_video, naming.XFOVS).name} beside the "
                         "depth video)")
    fovs = read_xfovs(path, frame_count)
    if fovs.max() - fovs.min() > FOV_SPREAD_WARN_DEG:
        log.warning("%s: FOV varies from %.2f to %.2f degrees; using the median, %.2f", path,
                    fovs.min(), fovs.max(), float(np.median(fovs)))
    return Intrinsics.from_fov(width, height, xfov=float(np.median(fovs)))


def read_tracks(track_file: str | Path, frame_count: int, width: int, height: int,
                frames: int) -> list[FrameTracks]:
    """The tracking file, checked against the video (length, points inside the image),
    cut to its first `frames` frames; refuses too few usable tracks."""
    tracks = read_tracking(track_file, frame_count, (width, height))[:frames]
    ids = np.concatenate([f.ids for f in tracks]) if tracks else np.zeros(0, np.int64)
    _, counts = np.unique(ids, return_counts=True)
    usable = int((counts >= 2).sum())
    if usable < MIN_TRACKS:
        raise InputError(track_file, f"only {usable} tracks are seen in two or more frames; "
                         f"at least {MIN_TRACKS} are needed")
    return tracks


def frames_to_use(frame_count: int, max_frames: int | None) -> int:
    """Frames processed: all, or the first `max_frames`."""
    if max_frames is None:
        return frame_count
    if max_frames < 2:
        raise InputError("--max_frames", f"must be at least 2, got {max_frames}")
    return min(frame_count, max_frames)
