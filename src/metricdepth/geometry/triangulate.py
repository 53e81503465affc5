"""Triangulation of tracks from known camera poses: weighted least squares over each
track's viewing rays, with checks on observations, parallax and reprojection error."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera import Intrinsics, invert_pose, project, unproject

REWEIGHT_ROUNDS = 2  # after the first solve, weights 1 / distance^2 turn ray distances into angles


@dataclass(frozen=True)
class TriangulationSettings:
    """Which tracks count as triangulated."""

    min_observations: int = 3  # frames that see the track
    min_parallax_deg: float = 2.0  # angle between the rays of its first and last view
    max_error_px: float = 2.0  # RMS reprojection error over its views


@dataclass(frozen=True)
class Triangulation:
    """points: (T, 3) float64 metres, world frame, NaN where not triangulated.
    ok: (T,) bool. parallax_deg, error_px: (T,) float64 (NaN where not computed)."""

    points: np.ndarray
    ok: np.ndarray
    parallax_deg: np.ndarray
    error_px: np.ndarray


def _solve_rays(
    track: np.ndarray, centres: np.ndarray, dirs: np.ndarray, weights: np.ndarray, count: int
) -> np.ndarray:
    """Per track, the point nearest (weighted least squares) to its rays.

    track: (M,) int64; centres, dirs: (M, 3) ray origins and unit directions; weights (M,).
    Returns (count, 3), NaN where the system is singular (fewer than 2 distinct rays)."""
    projector = np.eye(3) - dirs[:, :, None] * dirs[:, None, :]  # (M, 3, 3)
    a = np.zeros((count, 3, 3))
    b = np.zeros((count, 3))
    np.add.at(a, track, weights[:, None, None] * projector)
    np.add.at(b, track, weights[:, None] * np.einsum("mij,mj->mi", projector, centres))
    points = np.full((count, 3), np.nan)
    det = np.linalg.det(a)
    good = np.abs(det) > 1e-12 * np.maximum(np.abs(a).max(axis=(1, 2)), 1e-300) ** 3
    points[good] = np.linalg.solve(a[good], b[good][:, :, None])[:, :, 0]
    return points


def triangulate(
    frame: np.ndarray,
    track: np.ndarray,
    xy: np.ndarray,
    count: int,
    world_from_cam: np.ndarray,
    intr: Intrinsics,
    settings: TriangulationSettings = TriangulationSettings(),
) -> Triangulation:
    """Triangulate every track index in [0, count) from its observations.

    frame, track: (M,) int64; xy: (M, 2) float64 pixels; world_from_cam: (F, 4, 4).
    """
    rays_cam = unproject(xy, np.ones(len(xy)), intr)
    rotations = world_from_cam[frame, :3, :3]
    dirs = np.einsum("mij,mj->mi", rotations, rays_cam)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    centres = world_from_cam[frame, :3, 3]
    points = _solve_rays(track, centres, dirs, np.ones(len(frame)), count)
    for _ in range(REWEIGHT_ROUNDS):
        distance = np.linalg.norm(points[track] - centres, axis=1)
        weights = 1.0 / np.where(np.isfinite(distance) & (distance > 0), distance, 1.0) ** 2
        points = _solve_rays(track, centres, dirs, weights, count)

    observations = np.bincount(track, minlength=count)
    cam = np.einsum("mji,mj->mi", rotations, points[track] - centres)  # R^T (X - c)
    uv, z = project(cam, intr)
    sq_error = np.where(z > 0, np.sum((uv - xy) ** 2, axis=1), np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.sqrt(np.bincount(track, sq_error, minlength=count) / observations)
    parallax = parallax_deg(frame, track, centres, points, count)
    ok = (
        (observations >= settings.min_observations)
        & np.isfinite(points).all(axis=1)
        & (parallax >= settings.min_parallax_deg)
        & (error <= settings.max_error_px)
    )
    points[~ok] = np.nan
    return Triangulation(points, ok, parallax, error)


def parallax_deg(
    frame: np.ndarray, track: np.ndarray, centres: np.ndarray, points: np.ndarray, count: int
) -> np.ndarray:
    """(count,) angle in degrees at each point between the rays from the first and the
    last camera that see it (NaN for tracks seen once or not triangulated)."""
    order = np.lexsort((frame, track))
    first = np.full(count, -1)
    last = np.full(count, -1)
    first[track[order[::-1]]] = order[::-1]  # the last write wins: the earliest frame
    last[track[order]] = order
    out = np.full(count, np.nan)
    seen = (first >= 0) & (last != first) & np.isfinite(points).all(axis=1)
    a = points[seen] - centres[first[seen]]
    b = points[seen] - centres[last[seen]]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    out[seen] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return out


def depth_in_frames(
    points: np.ndarray, frame: np.ndarray, track: np.ndarray, world_from_cam: np.ndarray
) -> np.ndarray:
    """(M,) z-depth in metres of point `track[m]` in the camera of frame `frame[m]`."""
    cam_from_world = invert_pose(world_from_cam)
    return np.einsum("mj,mj->m", cam_from_world[frame, 2, :3], points[track]) + cam_from_world[frame, 2, 3]
