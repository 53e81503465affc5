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
from ..io.atomic import AtomicGroup, check_file_writable
from ..io.depth_video import DepthVideoWriter
from ..io.mask_video import MaskVideoWriter
from ..io.sidecars import write_transformations, write_xfovs
from ..io.video import VideoWriter
from .scene import SyntheticShot

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
        check_file_writable(path, overwrite)
    return paths


def write_clip(
    clip: SyntheticShot,
    colour_path: str | Path,
    *,
    pupillary_distance_m: float = 0.063,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write `clip` and its ground truth; return the paths by role (see `clip_paths`).

    Frames are rendered (a `SyntheticShot`) or taken from a `SyntheticClip` one at a time
    and streamed to every file, so memory does not grow with the clip. All files are
    written into a staging folder and moved into place together, the colour video last:
    a failure (a full disk) leaves none of them, never a colour video without its truth.
    """
    paths = check_outputs(colour_path, overwrite)
    n, width, height = clip.frames, clip.intrinsics.width, clip.intrinsics.height
    half = pupillary_distance_m / 2
    roles = ("depth", "mask", "transformations", "xfovs", "truth_stereo", "colour")
    with AtomicGroup([paths[role] for role in roles], overwrite) as group:
        staged = {role: group.stage(paths[role]) for role in roles}
        with (
            VideoWriter(staged["colour"], width, height, clip.fps, expected_frames=n) as video,
            DepthVideoWriter(staged["depth"], width, height, clip.fps, expected_frames=n) as depth,
            MaskVideoWriter(staged["mask"], width, height, clip.fps, expected_frames=n) as mask,
            VideoWriter(staged["truth_stereo"], 2 * width, height, clip.fps, expected_frames=n) as stereo,
        ):
            for i in range(n):
                view = clip.view(i)
                video.write(view.colour)
                depth.write(view.depth, invalid=~np.isfinite(view.depth))
                mask.write(view.moving_mask)
                left, right = clip.second_eye(i, -half), clip.second_eye(i, half)
                stereo.write(np.concatenate([left.colour, right.colour], axis=1))
        write_transformations(staged["transformations"], clip.world_from_cam)
        write_xfovs(staged["xfovs"], np.full(n, clip.intrinsics.xfov))
    return paths
