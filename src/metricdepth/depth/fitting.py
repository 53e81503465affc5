"""Robust scale-and-shift fit y ~ s * x + t, shared by the stabiliser and the metric
alignment (both fit in inverse depth).

A least-median-of-squares start (random sample pairs, seeded, so results repeat
exactly) survives up to half the samples being outliers; iteratively reweighted least
squares with Cauchy weights then refines it on the inliers.
"""

from __future__ import annotations

import numpy as np

LMEDS_TRIALS = 128  # random pairs tried for the robust start
LMEDS_SEED = 0  # fixed: the same samples always give the same fit
FIT_ITERATIONS = 8  # IRLS iterations after the start
CAUCHY_SCALE = 2.0  # Cauchy weight width, in robust standard deviations
MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation (normal)


def _lmeds_start(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """The line through two samples with the smallest median squared residual."""
    rng = np.random.default_rng(LMEDS_SEED)
    i = rng.integers(0, x.size, LMEDS_TRIALS)
    j = rng.integers(0, x.size, LMEDS_TRIALS)
    dx = x[j] - x[i]
    ok = np.abs(dx) > 1e-12 * max(np.abs(x).max(), 1e-30)
    if not ok.any():
        return None
    s = (y[j] - y[i])[ok] / dx[ok]
    t = y[i][ok] - s * x[i][ok]
    step = max(1, x.size // 2048)  # score on a subsample: enough for a median
    scores = np.median((s[:, None] * x[None, ::step] + t[:, None] - y[None, ::step]) ** 2, axis=1)
    best = int(np.argmin(scores))
    return float(s[best]), float(t[best])


def robust_affine_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """s, t minimising a Cauchy loss of s * x + t - y over samples x, y: (N,) float.

    Returns None when the samples cannot fix both (fewer than 3, x constant, or no
    finite answer).
    """
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if x.size < 3 or np.ptp(x) == 0:
        return None
    start = _lmeds_start(x, y)
    if start is None:
        return None
    s, t = start
    for _ in range(FIT_ITERATIONS):
        residual = s * x + t - y
        sigma = MAD_TO_SIGMA * np.median(np.abs(residual))
        if not sigma > 0:
            break
        w = 1.0 / (1.0 + (residual / (CAUCHY_SCALE * sigma)) ** 2)
        sw = w.sum()
        mx, my = (w * x).sum() / sw, (w * y).sum() / sw
        var = (w * (x - mx) ** 2).sum()
        if not var > 0:
            break
        s = (w * (x - mx) * (y - my)).sum() / var
        t = my - s * mx
    if not (np.isfinite(s) and np.isfinite(t)):
        return None
    return float(s), float(t)
