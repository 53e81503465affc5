"""Write a synthetic clip to disk in the toolbox's own formats, ground truth beside it.

Names follow the suffix rule, so the files are exactly what the steps would read and
write for a colour video ``NAME``:

    NAME                                    colour video (FFV1, lossless)
    NAME_depth.mkv                          exact depth video
    NAME_mask.mkv                           the moving object's mask
    NAME_depth.mkv_transformations.json     exact camera-to-world poses
    NAME_depth.mkv_xfovs.json               the field of view of every frame
    NAME_truth_stereo.mkv                   exact side-by-side view of two parallel eyes
                                            `pupillary_distance` apart, symmetric about
                                            the camera (left eye in the left half)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import naming
from ..io.atomic import check_writable
from ..io.depth_video import DepthVideoWriter
from ..io.mask_video import MaskVideoWriter
from ..io.sidecars import write_transformations, write_xfovs
from ..io.video import VideoWriter
from .scene import SyntheticClip

TRUTH_STEREO = "_truth_stereo.mkv"


def clip_paths(colour: Path) -> dict[str, Path]:
    """The files `write_clip` writes for the colour video path `colour`."""
    depth = naming.output_path(colour, naming.DEPTH)
    return {
        "colour": colour,
        "depth": depth,
        "mask": naming.output_path(colour, naming.MASK),
        "transformations": naming.output_path(depth, naming.TRANSFORMATIONS),
        "xfovs": naming.output_path(depth, naming.XFOVS),
        "truth_stereo": naming.output_path(colour, TRUTH_STEREO),
    }


def check_outputs(colour_path: str | Path, overwrite: bool) -> dict[str, Path]:
    """Refuse before any work if a file `write_clip` would write exists (unless
    `overwrite`); return the paths by role."""
    paths = clip_paths(Path(colour_path))
    for path in paths.values():
        check_writable(path, overwrite)
    return paths


def write_clip(clip: SyntheticClip, colour_path: str | Path, *, pupillary_distance_m: float = 0.063,
               overwrite: bool = False) -> dict[str, Path]:
    """Write `clip` and its ground truth; return the paths by role (see `clip_paths`).

    Every file is checked for being writable before anything is written.
    """
    paths = check_outputs(colour_path, overwrite)
    n, height, width = clip.depth.shape
    common = dict(overwrite=overwrite, expected_frames=n)
    with VideoWriter(paths["colour"], width, height, clip.fps, **common) as video:
        video.write_frames(clip.colour)
    with DepthVideoWriter(paths["depth"], width, height, clip.fps, **common) as depth:
        for frame in clip.depth:
            depth.write(frame, invalid=~np.isfinite(frame))
    with MaskVideoWriter(paths["mask"], width, height, clip.fps, **common) as mask:
        for frame in clip.moving_mask:
            mask.write(frame)
    write_transformations(paths["transformations"], clip.world_from_cam, overwrite)
    write_xfovs(paths["xfovs"], np.full(n, clip.intrinsics.xfov), overwrite)
    half = pupillary_distance_m / 2
    with VideoWriter(paths["truth_stereo"], 2 * width, height, clip.fps, **common) as stereo:
        for i in range(n):
            left, right = clip.second_eye(i, -half), clip.second_eye(i, half)
            stereo.write(np.concatenate([left.colour, right.colour], axis=1))
    return paths
