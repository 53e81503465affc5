"""Robust bundle adjustment: solve, reject the observations and whole tracks that do not
fit (moving objects, tracker slips), solve again."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..camera import Intrinsics
from .bundle import BundleSettings, Problem, Reconstruction, bundle_adjust, reprojection_errors
from .observations import Observations

log = logging.getLogger(__name__)

OUTLIER_SIGMAS = 4.0  # an observation this many track sigmas off is rejected
TRACK_OUTLIER_SIGMAS = 2.0  # a track whose median error is this many sigmas off is rejected
REJECTION_ROUNDS = 3  # solve, reject, solve again, at most this often
MIN_TRACK_OBSERVATIONS = 2  # tracks seen fewer times (after rejection) are left out
INITIAL_SLACK = 3.0  # before the first solve, thresholds are this many times looser


@dataclass(frozen=True)
class PoseSettings:
    """How `solve_poses` works (the step's config carries the user-facing subset)."""

    bundle: BundleSettings = field(default_factory=BundleSettings)
    rotation_only: bool = False  # camera turns in place: translations stay zero
    optimize_focal: bool = False  # refine the focal length (needs parallax)
    window_frames: int = 120  # clips longer than this are solved in windows
    window_overlap: int = 20  # frames shared by consecutive windows
    max_key_frames: int = 120  # key frames of the final global pass
    max_tracks_per_frame: int = 500  # longest tracks kept per frame; enough for the poses
    seed: int = 0  # RANSAC sampling


def _problem(obs: Observations, rows: np.ndarray) -> Problem:
    return Problem(obs.frame[rows], obs.track[rows], obs.xy[rows], obs.depth[rows])


def _enough_per_track(obs: Observations, rows: np.ndarray) -> np.ndarray:
    """`rows` (M,) bool limited to tracks with at least MIN_TRACK_OBSERVATIONS rows."""
    counts = np.bincount(obs.track[rows], minlength=obs.track_count)
    return rows & (counts[obs.track] >= MIN_TRACK_OBSERVATIONS)


def _inliers(
    rec: Reconstruction, obs: Observations, rows: np.ndarray, intr: Intrinsics, sigma_px: float
) -> np.ndarray:
    """The rows ((M,) bool) whose reprojection error, and whose track's median error, are
    below the outlier thresholds (`sigma_px` times OUTLIER_SIGMAS, TRACK_OUTLIER_SIGMAS)."""
    candidates = rows & np.isfinite(rec.points[obs.track]).all(axis=1)
    err = np.full(len(obs), np.inf)
    err[candidates] = reprojection_errors(rec, _problem(obs, candidates), intr)
    track_error = _track_medians(obs.track[candidates], err[candidates], obs.track_count)
    return _enough_per_track(
        obs,
        candidates
        & (err < OUTLIER_SIGMAS * sigma_px)
        & (track_error[obs.track] < TRACK_OUTLIER_SIGMAS * sigma_px),
    )


def robust_adjust(
    rec: Reconstruction,
    obs: Observations,
    rows: np.ndarray,
    intr: Intrinsics,
    settings: PoseSettings,
    free_frames: np.ndarray,
    free_points: np.ndarray | None = None,
    optimize_focal: bool = False,
) -> tuple[Reconstruction, np.ndarray]:
    """Bundle adjustment over the observations `rows` ((M,) bool), rejecting observations
    and whole tracks whose reprojection errors are too large, and solving again.

    Before the first solve, what is far off under the incoming reconstruction (beyond
    INITIAL_SLACK times the thresholds: a moving object, a slipped track) is left out,
    so that it cannot drag the solution. Returns the reconstruction and the kept rows."""
    sigma = settings.bundle.track_sigma_px
    keep = _inliers(rec, obs, rows, intr, INITIAL_SLACK * sigma)
    for _ in range(REJECTION_ROUNDS):
        rec = bundle_adjust(
            rec,
            _problem(obs, keep),
            intr,
            settings.bundle,
            free_frames,
            free_points,
            rotation_only=settings.rotation_only,
            optimize_focal=optimize_focal,
        )
        new_keep = _inliers(rec, obs, rows, intr, sigma)
        if np.array_equal(new_keep, keep):
            break
        log.debug(
            "kept %d of %d observations (was %d)", int(new_keep.sum()), int(rows.sum()), int(keep.sum())
        )
        keep = new_keep
    return rec, keep


def _track_medians(track: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """(count,) median of `values` per track index (inf for tracks without rows)."""
    out = np.full(count, np.inf)
    order = np.argsort(track, kind="stable")
    track, values = track[order], values[order]
    if not len(track):
        return out
    starts = np.flatnonzero(np.r_[True, track[1:] != track[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(track)]):
        out[track[start]] = np.median(values[start:stop])
    return out
