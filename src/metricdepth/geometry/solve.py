"""Camera poses from observations: initialisation, robust bundle adjustment with
rejection of tracks that do not fit (moving objects), windows for long clips.

    result = solve_poses(observations, intrinsics, PoseSettings())
    result.reconstruction.world_from_cam      # (F, 4, 4), frame 0 = identity
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..camera import Intrinsics
from .bundle import Reconstruction, normalise_scale
from .intrinsics import has_parallax
from .observations import Observations
from .pnp import initialise
from .robust import OUTLIER_SIGMAS, PoseSettings, robust_adjust
from .windows import solve_in_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseResult:
    """reconstruction: poses, points (per track index), depth scales, focal factor.
    inliers: (M,) bool, the observations the solution keeps (False: rejected, or not used
    because the frame had more than `max_tracks_per_frame` longer tracks).
    focal_refined: whether the focal length was refined."""

    reconstruction: Reconstruction
    inliers: np.ndarray
    focal_refined: bool


def longest_tracks(obs: Observations, per_frame: int) -> np.ndarray:
    """(M,) bool rows of the tracks to solve with: a track is used when, in some frame it
    is seen in, it is among the `per_frame` longest tracks there. Long tracks tie many
    frames together; the rest add time more than accuracy."""
    length = np.bincount(obs.track, minlength=obs.track_count)
    order = np.lexsort((-length[obs.track], obs.frame))  # by frame, longest first
    first_of_frame = np.searchsorted(obs.frame[order], obs.frame[order])
    rank = np.empty(len(obs), np.int64)
    rank[order] = np.arange(len(obs)) - first_of_frame
    best = np.full(obs.track_count, np.iinfo(np.int64).max)
    np.minimum.at(best, obs.track, rank)
    return best[obs.track] < per_frame


def _scatter(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(M,) bool: `values` at the True positions of `rows`, False elsewhere."""
    out = np.zeros(len(rows), bool)
    out[rows] = values
    return out


def solve_poses(obs: Observations, intr: Intrinsics, settings: PoseSettings) -> PoseResult:
    """Camera poses of every frame (world = camera of frame 0) from the observations.

    obs: observations without the masked ones (or with: they are then rejected by their
    residuals like any track on a moving object).
    """
    threshold = OUTLIER_SIGMAS * settings.bundle.track_sigma_px
    rec = initialise(obs, intr, threshold, settings.rotation_only, settings.seed)
    optimize_focal = False
    if settings.optimize_focal:
        optimize_focal, parallax = has_parallax(rec, obs.frame, obs.track)
        if optimize_focal:
            log.info("median track parallax %.1f degrees: refining the focal length", parallax)
        else:
            log.warning(
                "median track parallax is only %.2f degrees (the camera hardly moves "
                "sideways): the focal length cannot be refined; keeping the given FOV",
                parallax,
            )
    rows = longest_tracks(obs, settings.max_tracks_per_frame)
    free = np.arange(obs.frame_count) > 0
    if obs.frame_count <= settings.window_frames:
        rec, keep = robust_adjust(rec, obs, rows, intr, settings, free, optimize_focal=optimize_focal)
    else:
        rec, keep = solve_in_windows(rec, obs.subset(rows), intr, settings, optimize_focal)
        keep = _scatter(keep, rows)
    return PoseResult(normalise_scale(rec), keep, optimize_focal)
