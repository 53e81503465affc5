"""The one naming rule for outputs: append a suffix to the input's full path.

``clip.mp4`` -> ``clip.mp4_depth.mkv`` -> ``clip.mp4_depth.mkv_stereo.mkv``: names
chain from step to step and never collide with the input.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# Suffixes used by the steps (docs/architecture.md, "The steps and the sidecar chain").
DEPTH = "_depth.mkv"
MASK = "_mask.mkv"
TRACKING = "_tracking.json"
TRANSFORMATIONS = "_transformations.json"
XFOVS = "_xfovs.json"
DEPTH_SCALES = "_depthscales.json"  # step 4: per-frame scale of the depth video it solved on
FILLED_MASK = "_filledmask.mkv"  # step 1: pixels without depth that it filled, beside the depth video
DEPTH_NPZ = "_depth.npz"  # step 1 exports, beside the colour video
DEPTH_PNG16_ZIP = "_depth_png16.zip"
DEPTH_VIS = "_depth_vis.mp4"
POINT_CLOUDS = "_pointclouds"  # a folder beside the depth video
CAMERA_DEBUG = "_cameradebug.mkv"  # step 4's debug video, beside the depth video
RESCALED = "_rescaled.mkv"
TRIANGULATED_PLY = "_triangulated.ply"
AVGMONODEPTH_PLY = "_avgmonodepth.ply"
STEREO = "_stereo.mkv"
CONVERGENCE = "_convergence_depths.json"  # step 6's subject convergence, beside the depth video
INFILL_MASK = "_infillmask.mkv"
INFILLED = "_infilled.mkv"


def output_path(source: str | Path, suffix: str) -> Path:
    """`source` with `suffix` appended to its full name (not replacing its extension)."""
    source = Path(source)
    if not suffix:
        raise ValueError("suffix must not be empty")
    return source.with_name(source.name + suffix)


def sidecar_beside(video: str | Path, suffix: str) -> Path | None:
    """The existing sidecar `suffix` of `video`, or of the video it was rescaled from
    (``D_rescaled.mkv`` shares ``D``'s sidecars), whichever exists first; None if none does."""
    path = Path(video)
    while True:
        candidate = output_path(path, suffix)
        if candidate.exists():
            return candidate
        if not path.name.endswith(RESCALED):
            return None
        path = path.with_name(path.name[: -len(RESCALED)])


def colour_video_of(depth_video: str | Path) -> Path | None:
    """The colour video a depth video was made from by the naming rule
    (``X_depth.mkv`` and ``X_depth.mkv_rescaled.mkv`` -> ``X``), if that file exists."""
    name = Path(depth_video).name
    while name.endswith(RESCALED):
        name = name[: -len(RESCALED)]
    if not name.endswith(DEPTH):
        return None
    candidate = Path(depth_video).with_name(name[: -len(DEPTH)])
    return candidate if candidate.is_file() else None


def find_sidecar(given: str | Path | None, video: str | Path | None, suffix: str, flag: str) -> Path | None:
    """The file for `flag`: `given` when the user named one, else the sidecar `suffix`
    beside `video` by the naming rule (see `sidecar_beside`), logging which one is used;
    None when there is neither."""
    if given is not None and str(given) != "":
        return Path(given)
    if video is None:
        return None
    found = sidecar_beside(video, suffix)
    if found is not None:
        log.info("%s: using %s (found beside %s)", flag, found, Path(video).name)
    return found
