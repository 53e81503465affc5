"""Stereo inputs with exact holes from a synthetic clip: what step 6 would write, and the truth.

An eye pixel is a hole (a disocclusion) when the surface point it sees is not visible
from the source camera: it projects outside the source image, or the source camera sees
another surface (other depth or surface id) at that position. The eye views, depths and
ids are exact (`SyntheticClip.second_eye`), so the hole pixels' true colours are known
and infill can be scored on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import invert_pose, pixel_grid, project, stereo_eye_pose, transform_points, unproject
from ..infill.holes import EYES, Eye, default_direction, encode_infill_mask
from ..io import naming
from ..io.video import VideoWriter
from ..synthetic import SyntheticClip

VISIBLE_DEPTH_TOLERANCE = 1e-3  # relative z difference still counted as the same surface point


@dataclass(frozen=True)
class StereoTruth:
    """One frame of exact stereo with its holes.

    truth: (H, 2W, 3) uint8 RGB, the exact side-by-side view (left eye left).
    rendered: like `truth` with hole pixels black (what a renderer could not know).
    holes: (H, 2W) bool. mask: (H, 2W, 3) uint8 RGB infill mask (docs/formats.md).
    """

    truth: np.ndarray
    rendered: np.ndarray
    holes: np.ndarray
    mask: np.ndarray


def eye_offset(eye: Eye, pupillary_distance_m: float) -> float:
    """Metres along the camera's x axis from the source camera to `eye`."""
    return (-0.5 if eye == "left" else 0.5) * pupillary_distance_m


def eye_holes(
    clip: SyntheticClip, frame: int, eye: Eye, pupillary_distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """The exact view of `eye` at `frame` and its holes.

    Returns colour (H, W, 3) uint8 RGB and holes (H, W) bool (True: the point seen there is
    not visible from the source camera of `frame`).
    """
    intr = clip.intrinsics
    world_from_eye = stereo_eye_pose(clip.world_from_cam[frame], eye_offset(eye, pupillary_distance_m))
    view = clip.render(world_from_eye, frame)
    x, y = pixel_grid(intr.width, intr.height)
    points_world = transform_points(world_from_eye, unproject(np.stack([x, y], -1), view.depth, intr))
    points_src = transform_points(invert_pose(clip.world_from_cam[frame]), points_world)
    xy, z = project(points_src, intr)
    inside = (
        (xy[..., 0] >= -0.5)
        & (xy[..., 0] <= intr.width - 0.5)
        & (xy[..., 1] >= -0.5)
        & (xy[..., 1] <= intr.height - 0.5)
    )
    safe_xy = np.where(inside[..., None], xy, 0.0)
    seen = clip.sample(clip.world_from_cam[frame], safe_xy, frame)
    same = (np.abs(seen.depth - z) <= VISIBLE_DEPTH_TOLERANCE * z) & (seen.surface_ids == view.surface_ids)
    return view.colour, ~(inside & same)


def stereo_truth(clip: SyntheticClip, frame: int, pupillary_distance_m: float = 0.063) -> StereoTruth:
    """Exact side-by-side stereo of `frame` with its holes and infill mask."""
    colours, holes, masks = [], [], []
    for eye in EYES:
        colour, hole = eye_holes(clip, frame, eye, pupillary_distance_m)
        normal = np.zeros((*hole.shape, 3))
        normal[..., :2] = default_direction(eye)
        colours.append(colour)
        holes.append(hole)
        masks.append(encode_infill_mask(hole, normal))
    truth = np.concatenate(colours, axis=1)
    hole = np.concatenate(holes, axis=1)
    rendered = np.where(hole[..., None], np.uint8(0), truth)
    return StereoTruth(truth, rendered, hole, np.concatenate(masks, axis=1))


def write_stereo_inputs(
    clip: SyntheticClip, depth_video: str | Path, pupillary_distance_m: float = 0.063, overwrite: bool = False
) -> tuple[Path, Path, list[StereoTruth]]:
    """Write ``D_stereo.mkv`` and ``D_stereo.mkv_infillmask.mkv`` for the depth video path
    `depth_video` (as step 6 would); return their paths and the per-frame truth."""
    stereo = naming.output_path(depth_video, naming.STEREO)
    mask = naming.output_path(stereo, naming.INFILL_MASK)
    n, height, width = clip.depth.shape
    frames = [stereo_truth(clip, i, pupillary_distance_m) for i in range(n)]
    common = dict(overwrite=overwrite, expected_frames=n)
    with (
        VideoWriter(stereo, 2 * width, height, clip.fps, **common) as video,
        VideoWriter(mask, 2 * width, height, clip.fps, **common) as masks,
    ):
        for item in frames:
            video.write(item.rendered)
            masks.write(item.mask)
    return stereo, mask, frames
