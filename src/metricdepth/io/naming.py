"""The one naming rule for outputs: append a suffix to the input's full path.

``clip.mp4`` -> ``clip.mp4_depth.mkv`` -> ``clip.mp4_depth.mkv_stereo.mkv``: names
chain from step to step and never collide with the input.
"""

from __future__ import annotations

from pathlib import Path

# Suffixes used by the steps (ARCHITECTURE.md, "The steps").
DEPTH = "_depth.mkv"
MASK = "_mask.mkv"
TRACKING = "_tracking.json"
TRANSFORMATIONS = "_transformations.json"
XFOVS = "_xfovs.json"
DEPTH_NPZ = "_depth.npz"            # step 1 exports, beside the colour video
DEPTH_PNG16_ZIP = "_depth_png16.zip"
DEPTH_VIS = "_depth_vis.mp4"
POINT_CLOUDS = "_pointclouds"       # a folder beside the depth video
CAMERA_DEBUG = "_cameradebug.mkv"   # step 4's debug video, beside the depth video
RESCALED = "_rescaled.mkv"
TRIANGULATED_PLY = "_triangulated.ply"
AVGMONODEPTH_PLY = "_avgmonodepth.ply"
STEREO = "_stereo.mkv"
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
