"""Fitting the depth to triangulated points in inverse depth, per frame or for the whole
clip, and applying the fit.

Model: 1 / z_true = a / z + b, with z the depth video's value and z_true the depth of a
triangulated point. In inverse depth a is a scale and b a shift (a monocular model's
typical errors); b = 0 and a = 1 change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded

HUBER_K = 1.345  # Huber threshold in robust standard deviations (95% efficiency)
IRLS_ROUNDS = 10  # iteratively reweighted least squares rounds
MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation (normal data)
MIN_SPREAD_REL = 1e-3  # residual scale floor, relative inverse depth


@dataclass(frozen=True)
class FrameFits:
    """a, b: (F,) float64 per frame (1 / z_true = a / z + b; b in 1/metres).
    points: (F,) int64, points each frame's own fit used (0: took its neighbours')."""

    a: np.ndarray
    b: np.ndarray
    points: np.ndarray


def fit_inverse(z_true: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Robust (a, b) with 1 / z_true ~ a / z + b; residuals relative to 1 / z_true.

    z_true, z: (N,) float64 metres, N >= 2, positive. Huber IRLS with a MAD scale.
    Returns the (2,) estimate (a, b) and its (2,) standard errors.
    """
    x, y = 1.0 / z, 1.0 / z_true
    design = np.stack([x, np.ones_like(x)], axis=1) / y[:, None]  # relative residuals
    target = np.ones_like(y)
    weights = np.ones_like(y)
    coef, spread = np.array([1.0, 0.0]), 1.0
    for _ in range(IRLS_ROUNDS):
        w = np.sqrt(weights)[:, None]
        coef, *_ = np.linalg.lstsq(design * w, target * w[:, 0], rcond=None)
        residual = design @ coef - target
        spread = max(MAD_TO_SIGMA * float(np.median(np.abs(residual))), MIN_SPREAD_REL)
        weights = np.minimum(1.0, HUBER_K * spread / np.maximum(np.abs(residual), 1e-12))
    normal = (design * weights[:, None]).T @ design
    try:
        errors = spread * np.sqrt(np.abs(np.diag(np.linalg.inv(normal))))
    except np.linalg.LinAlgError:
        errors = np.full(2, np.inf)
    return coef, errors


def _smooth(values: np.ndarray, errors: np.ndarray, change: float) -> np.ndarray:
    """The sequence closest to `values` (weights 1 / errors^2; inf errors: no data) whose
    frame-to-frame differences cost as a Gaussian of standard deviation `change`:
    minimises sum w_f (v_f - values_f)^2 + sum ((v_f+1 - v_f) / change)^2.
    Frames without data get the linear interpolation of their neighbours."""
    n = len(values)
    weights = np.where(np.isfinite(errors) & (errors > 0), 1.0 / np.square(errors), 0.0)
    if n == 1 or change <= 0:
        return values.copy()
    link = 1.0 / change**2
    diagonal = weights + link * np.r_[1.0, np.full(n - 2, 2.0), 1.0]
    banded = np.zeros((3, n))
    banded[0, 1:] = -link
    banded[1] = diagonal
    banded[2, :-1] = -link
    return solve_banded((1, 1), banded, weights * np.nan_to_num(values))


def fit_frames(
    frame: np.ndarray,
    z_true: np.ndarray,
    z: np.ndarray,
    frame_count: int,
    min_points: int,
    change: float,
    typical_depth: float,
) -> FrameFits:
    """Per-frame fits, smoothed over time.

    frame: (M,) int64; z_true, z: (M,) float64 metres (pairs of a triangulated point's
    depth and the depth video's value). Each frame with at least `min_points` pairs gets
    its own robust fit and its uncertainty; the sequence of (a, b) is then smoothed as
    `_smooth` does, with frame-to-frame changes of about `change` in a and
    `change / typical_depth` (1/metres) in b, so well-measured frames keep their fits and
    frames with few or no points follow their neighbours. `change` 0: no smoothing.
    """
    points = np.bincount(frame, minlength=frame_count)
    fitted = points >= min_points
    if not fitted.any():
        return FrameFits(np.ones(frame_count), np.zeros(frame_count), np.zeros(frame_count, np.int64))
    coef = np.tile([1.0, 0.0], (frame_count, 1))
    errors = np.full((frame_count, 2), np.inf)
    order = np.argsort(frame, kind="stable")
    bounds = np.searchsorted(frame[order], np.arange(frame_count + 1))
    for f in np.flatnonzero(fitted):
        rows = order[bounds[f] : bounds[f + 1]]
        coef[f], errors[f] = fit_inverse(z_true[rows], z[rows])
    if change <= 0:  # no smoothing: frames without a fit take the nearest fits' values
        known = np.flatnonzero(fitted)
        frames = np.arange(frame_count)
        a = np.interp(frames, known, coef[known, 0])
        b = np.interp(frames, known, coef[known, 1])
    else:
        a = _smooth(coef[:, 0], errors[:, 0], change)
        b = _smooth(coef[:, 1], errors[:, 1], change / typical_depth)
    return FrameFits(a, b, np.where(fitted, points, 0).astype(np.int64))


def apply_fit(
    depth: np.ndarray, a: float, b: float, max_depth: float, invalid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rescale one frame: z' = 1 / (a / z + b).

    depth: (H, W) float32 metres. invalid: (H, W) bool pixels without depth (kept so).
    Returns (H, W) float32 metres and the (H, W) bool invalid mask of the result (pixels
    whose rescaled inverse depth is at or beyond 1 / max_depth become invalid).
    """
    with np.errstate(divide="ignore"):
        inverse = a / depth.astype(np.float64) + b
    bad = ~(inverse > 1.0 / max_depth) | (depth <= 0)
    if invalid is not None:
        bad |= invalid
    out = np.where(bad, max_depth, 1.0 / np.where(bad, 1.0, inverse)).astype(np.float32)
    return out, bad


def change_of_fit(a: np.ndarray, b: np.ndarray, typical_depth: float) -> float:
    """How much the fits would change the depth: the larger of median |a - 1| and
    median |b| * typical_depth (both relative changes of the inverse depth)."""
    return max(float(np.median(np.abs(a - 1.0))), float(np.median(np.abs(b))) * typical_depth)
