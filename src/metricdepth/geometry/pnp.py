"""Robust per-frame initialisation of the camera poses, frame after frame.

Frame 0 is the world. For each later frame, the tracks already placed in the world give
3D-2D correspondences: the pose comes from RANSAC PnP (OpenCV) refined on its inliers.
Where too few placed tracks are visible, 3D-3D alignment of the frame's depth-derived
points to the placed points (a similarity, RANSAC) takes over. A camera turning in place
(`rotation_only`) gets its rotation from ray directions alone. Each frame's depth scale
is the median ratio of placed points' depths to its depth values; tracks first seen in
the frame are then placed from its scaled depth.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..camera import Intrinsics, invert_pose, make_pose, transform_points, unproject
from .align import umeyama
from .bundle import Reconstruction
from .observations import Observations

log = logging.getLogger(__name__)

MIN_PNP_POINTS = 6  # 3D-2D correspondences below this: try 3D-3D instead
MIN_ALIGN_POINTS = 4  # 3D-3D correspondences below this: keep the previous pose
RANSAC_ITERATIONS = 200
RANSAC_CONFIDENCE = 0.999
ALIGN_THRESHOLD_REL = 0.05  # 3D-3D inlier: distance below this fraction of the depth


def _rodrigues_pose(rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """world_from_cam (4, 4) from OpenCV's cam_from_world rotation vector and translation."""
    rotation, _ = cv2.Rodrigues(rvec)
    return invert_pose(make_pose(rotation, tvec.ravel()))


def pose_from_2d3d(
    world: np.ndarray, xy: np.ndarray, intr: Intrinsics, threshold_px: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Camera pose from 3D-2D correspondences with RANSAC.

    world: (N, 3) float64 metres, world frame. xy: (N, 2) float64 pixels.
    Returns world_from_cam (4, 4) and (N,) bool inliers, or None when it fails.
    """
    if len(world) < MIN_PNP_POINTS:
        return None
    ok, rvec, tvec, inliers = cv2.solvePnPRansac(
        world.astype(np.float64),
        xy.astype(np.float64),
        intr.K,
        None,
        iterationsCount=RANSAC_ITERATIONS,
        reprojectionError=threshold_px,
        confidence=RANSAC_CONFIDENCE,
        flags=cv2.SOLVEPNP_EPNP,
    )
    if not ok or inliers is None or len(inliers) < MIN_PNP_POINTS:
        return None
    mask = np.zeros(len(world), bool)
    mask[inliers.ravel()] = True
    rvec, tvec = cv2.solvePnPRefineLM(world[mask], xy[mask], intr.K, None, rvec, tvec)
    return _rodrigues_pose(rvec, tvec), mask


def similarity_ransac(
    src: np.ndarray, dst: np.ndarray, rng: np.random.Generator, threshold_rel: float = ALIGN_THRESHOLD_REL
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
    """dst ~ s R src + t with RANSAC over 3-point samples, refined on the inliers.

    src: (N, 3) camera-frame points, metres (inlier threshold relative to their z);
    dst: (N, 3) world points. Returns (s, R (3, 3), t (3,), inliers (N,) bool) or None.
    """
    if len(src) < MIN_ALIGN_POINTS:
        return None
    best = np.zeros(len(src), bool)
    for _ in range(RANSAC_ITERATIONS):
        sample = rng.choice(len(src), 3, replace=False)
        s, rotation, t = umeyama(src[sample], dst[sample])
        inliers = np.linalg.norm(s * src @ rotation.T + t - dst, axis=1) < threshold_rel * s * np.abs(
            src[:, 2]
        )
        if inliers.sum() > best.sum():
            best = inliers
    if best.sum() < MIN_ALIGN_POINTS:
        return None
    s, rotation, t = umeyama(src[best], dst[best])
    return s, rotation, t, best


def rotation_from_rays(
    world_dirs: np.ndarray, cam_rays: np.ndarray, threshold_rad: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """world_from_cam rotation (3, 3) of a camera at the world origin, from unit rays.

    world_dirs: (N, 3) unit directions to the points, world frame; cam_rays: (N, 3) unit
    rays of the tracked pixels, camera frame. RANSAC over 2-ray samples (Kabsch), refined
    on the inliers. Returns (rotation, inliers (N,) bool) or None.
    """

    def kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # R with b ~ R a
        u, _, vt = np.linalg.svd(b.T @ a)
        d = np.sign(np.linalg.det(u @ vt))
        return u @ np.diag([1.0, 1.0, d]) @ vt

    if len(world_dirs) < MIN_ALIGN_POINTS:
        return None
    best = np.zeros(len(world_dirs), bool)
    cos_threshold = np.cos(threshold_rad)
    for _ in range(RANSAC_ITERATIONS):
        sample = rng.choice(len(world_dirs), 2, replace=False)
        rotation = kabsch(cam_rays[sample], world_dirs[sample])
        inliers = np.sum((cam_rays @ rotation.T) * world_dirs, axis=1) > cos_threshold
        if inliers.sum() > best.sum():
            best = inliers
    if best.sum() < MIN_ALIGN_POINTS:
        return None
    return kabsch(cam_rays[best], world_dirs[best]), best


def _frame_rows(obs: Observations) -> list[np.ndarray]:
    """Row indices of each frame's observations."""
    order = np.argsort(obs.frame, kind="stable")
    bounds = np.searchsorted(obs.frame[order], np.arange(obs.frame_count + 1))
    return [order[bounds[f] : bounds[f + 1]] for f in range(obs.frame_count)]


def _camera_pose(
    obs: Observations,
    rows: np.ndarray,
    points: np.ndarray,
    intr: Intrinsics,
    threshold_px: float,
    rotation_only: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float | None] | None:
    """(world_from_cam, log depth scale or None) of one frame from the placed points."""
    placed = rows[np.isfinite(points[obs.track[rows]]).all(axis=1)]
    world, xy = points[obs.track[placed]], obs.xy[placed]
    if rotation_only:
        rays = unproject(xy, np.ones(len(xy)), intr)
        found = rotation_from_rays(
            world / np.linalg.norm(world, axis=1, keepdims=True),
            rays / np.linalg.norm(rays, axis=1, keepdims=True),
            threshold_px / intr.fx,
            rng,
        )
        return None if found is None else (make_pose(found[0], np.zeros(3)), None)
    found = pose_from_2d3d(world, xy, intr, threshold_px)
    if found is not None:
        return found[0], None
    with_depth = np.isfinite(obs.depth[placed])
    src = unproject(xy[with_depth], obs.depth[placed][with_depth], intr)
    aligned = similarity_ransac(src, world[with_depth], rng)
    if aligned is None:
        return None
    s, rotation, t, _ = aligned
    return make_pose(rotation, t), float(np.log(s))


def initialise(
    obs: Observations, intr: Intrinsics, threshold_px: float, rotation_only: bool = False, seed: int = 0
) -> Reconstruction:
    """A first reconstruction, frame by frame (see the module docstring).

    obs: the observations to use (moving objects' masked rows already removed).
    threshold_px: RANSAC inlier threshold, pixels.
    """
    rng = np.random.default_rng(seed)
    frames = obs.frame_count
    poses = np.tile(np.eye(4), (frames, 1, 1))
    log_scale = np.zeros(frames)
    points = np.full((obs.track_count, 3), np.nan)
    lost = []
    for f, rows in enumerate(_frame_rows(obs)):
        if f > 0:
            found = _camera_pose(obs, rows, points, intr, threshold_px, rotation_only, rng)
            if found is None:
                lost.append(f)
                poses[f], log_scale[f] = poses[f - 1], log_scale[f - 1]
            else:
                poses[f] = found[0]
                log_scale[f] = (
                    found[1]
                    if found[1] is not None
                    else _median_log_scale(obs, rows, points, poses[f], log_scale[f - 1])
                )
        new = rows[~np.isfinite(points[obs.track[rows]]).all(axis=1) & np.isfinite(obs.depth[rows])]
        cam = unproject(obs.xy[new], np.exp(log_scale[f]) * obs.depth[new], intr)
        points[obs.track[new]] = transform_points(poses[f], cam)
    if lost:
        log.warning(
            "%d frames had too few usable tracks to place the camera (first: frame %d); "
            "they start from the previous frame's pose",
            len(lost),
            lost[0],
        )
    return Reconstruction(poses, points, log_scale)


def _median_log_scale(
    obs: Observations, rows: np.ndarray, points: np.ndarray, world_from_cam: np.ndarray, fallback: float
) -> float:
    """Median of log(z of placed point in this camera / depth) over the frame's rows."""
    world = points[obs.track[rows]]
    usable = np.isfinite(world).all(axis=1) & np.isfinite(obs.depth[rows])
    z = transform_points(invert_pose(world_from_cam), world[usable])[:, 2]
    ratio = z / obs.depth[rows][usable]
    ratio = ratio[ratio > 0]
    return float(np.median(np.log(ratio))) if len(ratio) else fallback
