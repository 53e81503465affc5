"""Step 4: camera poses from point tracks and a depth video (`camera_track`).

Reads the tracking JSON, the depth video (sampled at the tracked positions only) and
optionally a mask video of moving objects; solves the poses (solve.solve_poses:
per-frame RANSAC initialisation, then robust bundle adjustment over poses, points and
per-frame depth scales); writes ``D_transformations.json`` (camera-to-world, frame 0 =
identity), ``D_depthscales.json`` (each frame's depth scale in the same gauge), with
--optimize_intrinsic a refined ``D_xfovs.json``, and on request a debug video of the
reprojected points.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..config import option
from ..errors import InputError
from ..io import naming
from ..io.atomic import check_writable
from ..io.depth_video import DepthVideoReader
from ..io.exports import colorize_depth
from ..io.mask_video import MaskVideoReader
from ..io.sidecars import write_frame_values, write_transformations, write_xfovs
from ..io.video import VideoReader
from ..options import max_depth_option, strict_mask_option, xfov_file_option, xfov_option, yfov_option
from ..progress import progress
from .bundle import BundleSettings, Problem, reprojection_errors
from .debug_video import write_debug_video
from .inputs import find_sidecars, frames_to_use, read_tracks, resolve_intrinsics, single_frame
from .observations import Observations, gather_observations
from .robust import PoseSettings
from .solve import PoseResult, solve_poses

log = logging.getLogger(__name__)

WINDOW_OVERLAP_DIVISOR = 6  # consecutive windows share this fraction of their frames
MIN_WINDOW_FRAMES = 12  # shorter windows hold too little parallax
DEBUG_DEPTH_RANGE_M = (0.5, 20.0)  # near and far of the colour-mapped depth behind the points


@dataclass
class CameraTrackConfig:
    """Settings of step 4; each field is a command-line flag of camera_track.py."""

    track_file: Path | None = option(
        None,
        "tracking JSON from step 3: per frame a list of "
        "[id, x, y] (default: X_tracking.json beside the colour "
        "video; if there is none, LK tracks are computed and "
        "written there first)",
    )
    depth_video: Path = option(None, "depth video (metres, 16-bit packing)", required=True)
    color_video: Path | None = option(
        None,
        "colour video X (default: the depth video's name "
        "without _depth.mkv, if it exists): its sidecars, and "
        "the debug video's background (else the depth "
        "colour-mapped)",
    )
    mask_video: Path | None = option(
        None,
        "mask video of moving objects (255 = moving); their "
        "tracks are left out (default: X_mask.mkv beside the "
        "colour video, if it exists). Without it, they are "
        "rejected by their residuals",
    )
    xfov: float | None = xfov_option()
    yfov: float | None = yfov_option()
    xfov_file: Path | None = xfov_file_option()
    max_depth: float = max_depth_option()
    max_frames: int | None = option(
        None,
        "process only the first N frames (the poses file then has N entries; -1: all)",
        ge=2,
        none_value=-1,
    )
    optimize_intrinsic: bool = option(
        False,
        "refine the focal length (so the FOV) and write "
        "D_xfovs.json (with --overwrite if it exists); needs a "
        "camera that moves sideways, else it says so and keeps "
        "the FOV",
    )
    strict_mask: bool = strict_mask_option()
    assume_stationary_camera: bool = option(False, "the camera only turns (no translation)")
    use_madpose: bool = option(
        False,
        "the older toolbox's madpose solver",
        inert="poses come from bundle adjustment on the tracks and depth",
    )
    track_sigma: float = option(
        1.0,
        "expected tracking error, pixels; observations 4 sigma off "
        "and tracks with a median error of 2 sigma are rejected",
        gt=0,
        le=1000,
    )
    depth_sigma: float = option(
        0.05,
        "expected relative depth error after each frame's "
        "scale (0.05 = 5 percent); smaller trusts the depth more",
        gt=0,
        le=100,
    )
    window_frames: int = option(
        120,
        "clips longer than this are solved in sliding windows plus a global pass over key frames",
        ge=MIN_WINDOW_FRAMES,
        le=100_000,
    )
    debug_video: bool = option(
        False,
        "also write D_cameradebug.mkv: tracked points (green "
        "kept, red rejected) and lines to their reprojections",
    )
    overwrite: bool = option(False, "replace existing outputs")


def output_paths(config: CameraTrackConfig) -> dict[str, Path]:
    """The files the step writes, by role."""
    paths = {
        "transformations": naming.output_path(config.depth_video, naming.TRANSFORMATIONS),
        "depth_scales": naming.output_path(config.depth_video, naming.DEPTH_SCALES),
    }
    if config.optimize_intrinsic:
        paths["xfovs"] = naming.output_path(config.depth_video, naming.XFOVS)
    if config.debug_video:
        paths["debug_video"] = naming.output_path(config.depth_video, naming.CAMERA_DEBUG)
    return paths


def camera_track(config: CameraTrackConfig) -> dict[str, Path]:
    """Run step 4; returns the paths written by role (see `output_paths`).

    Every input is checked and every output checked writable before any work.
    """
    depth = DepthVideoReader(config.depth_video, config.max_depth)
    info = depth.info
    frames = frames_to_use(info.frame_count, config.max_frames)
    found = find_sidecars(info, config.color_video, config.mask_video, config.track_file)
    colour_path = found.colour
    mask = MaskVideoReader(found.mask) if found.mask is not None else None
    track_path = found.tracks if found.tracks is not None else _compute_tracks(colour_path, config)
    tracks = read_tracks(track_path, info.frame_count, info.width, info.height, frames)
    intr = resolve_intrinsics(
        info.width,
        info.height,
        info.frame_count,
        config.depth_video,
        config.xfov,
        config.yfov,
        config.xfov_file,
    )
    if config.assume_stationary_camera and config.optimize_intrinsic:
        raise InputError(
            "--optimize_intrinsic",
            "needs a moving camera; it cannot be combined with --assume_stationary_camera",
        )
    paths = output_paths(config)
    for path in paths.values():
        check_writable(path, config.overwrite)
    if single_frame(frames):
        if config.debug_video:
            raise InputError("--debug_video", "a 1-frame clip has no camera motion to show")
        log.info(
            "%s has one frame: no camera motion, its pose is the identity%s",
            info.path.name,
            " (the FOV is kept)" if config.optimize_intrinsic else "",
        )
        return _write_poses(paths, np.eye(4)[None], np.ones(1), config.overwrite)

    depth_frames = progress(depth.frames(0, frames), total=frames, desc="sampling depth")
    obs = gather_observations(
        tracks, depth_frames, depth.max_depth, mask.frames(0, frames) if mask is not None else None
    )
    static = obs.subset(~(obs.masked_tracks() if config.strict_mask else obs.masked))
    log.info(
        "%d tracks, %d observations (%d on the mask left out)",
        obs.track_count,
        len(obs),
        int(obs.masked.sum()),
    )
    settings = PoseSettings(
        bundle=BundleSettings(track_sigma_px=config.track_sigma, depth_sigma_rel=config.depth_sigma),
        rotation_only=config.assume_stationary_camera,
        optimize_focal=config.optimize_intrinsic,
        window_frames=config.window_frames,
        window_overlap=config.window_frames // WINDOW_OVERLAP_DIVISOR,
        max_key_frames=config.window_frames,
    )
    result = solve_poses(static, intr, settings)
    rec = result.reconstruction
    _log_summary(result, static, intr)

    written = _write_poses(
        paths, _exact_identity(rec.world_from_cam), np.exp(rec.log_scale), config.overwrite
    )
    if result.focal_refined:
        refined = rec.intrinsics(intr)
        log.info("field of view: %.2f -> %.2f degrees (horizontal)", intr.xfov, refined.xfov)
        written["xfovs"] = write_xfovs(paths["xfovs"], np.full(frames, refined.xfov), config.overwrite)
    if config.debug_video:
        backgrounds = (
            VideoReader(colour_path).frames(0, frames)
            if colour_path is not None
            else (colorize_depth(d, *DEBUG_DEPTH_RANGE_M) for d in depth.frames(0, frames))
        )
        written["debug_video"] = write_debug_video(
            paths["debug_video"],
            progress(backgrounds, total=frames, desc="debug video"),
            static,
            result.inliers,
            rec,
            intr,
            info.fps,
            config.overwrite,
        )
    return written


def _write_poses(
    paths: dict[str, Path], world_from_cam: np.ndarray, depth_scales: np.ndarray, overwrite: bool
) -> dict[str, Path]:
    """D_transformations.json, (F, 4, 4) camera-to-world, and D_depthscales.json, (F,)
    true depth / the depth video's in the poses' gauge (step 5's fallback for frames
    with too few triangulated points)."""
    return {
        "transformations": write_transformations(paths["transformations"], world_from_cam, overwrite),
        "depth_scales": write_frame_values(paths["depth_scales"], depth_scales, overwrite),
    }


def _compute_tracks(colour_path: Path | None, config: CameraTrackConfig) -> Path:
    """X_tracking.json made by step 3's weight-free LK tracker, when no tracks were given
    and none lie beside the colour video (the older toolbox's camera step tracked itself)."""
    if colour_path is None:
        raise InputError(
            "--track_file",
            "no tracking file given, and no colour video to track "
            "(pass --color_video, or --track_file from track_points_in_video.py)",
        )
    from ..tracking.step import TrackConfig, track_points

    log.info("no tracks given or found beside %s: tracking it with LK first", colour_path.name)
    written = track_points(
        TrackConfig(color_video=str(colour_path), backend="lk", depth_video=str(config.depth_video))
    )
    return written[0]


def _exact_identity(world_from_cam: np.ndarray) -> np.ndarray:
    """The poses with frame 0 set to the exact identity (it is fixed, up to rounding)."""
    poses = world_from_cam.copy()
    poses[0] = np.eye(4)
    return poses


def _log_summary(result: PoseResult, obs: Observations, intr: Intrinsics) -> None:
    """Log how well the solution fits what it kept."""
    rec = result.reconstruction
    kept = result.inliers
    problem = Problem(obs.frame[kept], obs.track[kept], obs.xy[kept], obs.depth[kept])
    err = reprojection_errors(rec, problem, rec.intrinsics(intr)) if kept.any() else np.zeros(1)
    scales = np.exp(rec.log_scale)
    log.info(
        "kept %d of %d observations; reprojection error median %.2f px, 90%% %.2f px; "
        "depth scale per frame %.3f-%.3f",
        int(kept.sum()),
        len(obs),
        float(np.median(err)),
        float(np.percentile(err, 90)),
        float(scales.min()),
        float(scales.max()),
    )
