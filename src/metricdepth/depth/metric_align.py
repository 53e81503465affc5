"""Relative depth -> metres: a robust fit in inverse depth against a metric anchor.

A relative model gives inverse depth up to an unknown scale and shift:
1/d = s * r + t. We fit s and t once per video, on sample pixels of a few anchor
frames where metric depth is known: from a metric model run on those frames (the
"anchor backend"), or from a reference depth video (`--depth_video`). The fit is done
in inverse depth (where the relation is affine) and is robust:

- sky and other "infinitely far" pixels are left out: anchor depth at or beyond
  `SKY_FRACTION` of the anchor's own maximum, and relative values at or below zero;
- outliers (wrong anchor depth, moving objects, edges) are handled by the robust
  estimator of `fitting.robust_affine_fit` (least-median start, Cauchy IRLS).

Only a fixed number of samples per anchor frame is kept (`SAMPLES_PER_FRAME`), so memory
does not depend on the video. A single fit keeps the output as temporally consistent as
the relative model itself (temporal backends and the stabiliser keep the whole video in
one affine frame).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import InputError
from .fitting import robust_affine_fit

log = logging.getLogger(__name__)

SAMPLES_PER_FRAME = 4096  # grid samples kept per anchor frame
SKY_FRACTION = 0.9  # anchor depth >= this fraction of its cap counts as sky
MIN_SAMPLES = 100  # fewer usable samples: no fit (InputError)


def _grid(shape: tuple[int, int], count: int) -> tuple[slice, slice]:
    """Strided slices picking about `count` pixels spread over an (H, W) image."""
    step = max(1, int(np.sqrt(shape[0] * shape[1] / count)))
    return slice(step // 2, None, step), slice(step // 2, None, step)


class MetricAligner:
    """Collects (relative, metric) samples from anchor frames, fits s, t once, then maps
    relative inverse depth to metres."""

    def __init__(self) -> None:
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self.fit: tuple[float, float] | None = None

    def add(
        self, relative: np.ndarray, metric: np.ndarray, sky_depth: float, invalid: np.ndarray | None = None
    ) -> None:
        """One anchor frame. relative: (H, W) float32 affine-invariant inverse depth;
        metric: (H, W) float32 metres, same frame; sky_depth: metres from which anchor
        depth counts as sky (e.g. SKY_FRACTION * the anchor's maximum); invalid: (H, W)
        bool anchor pixels without depth, or None."""
        if relative.shape != metric.shape:
            raise ValueError(f"relative {relative.shape} and metric {metric.shape} differ in size")
        rows, cols = _grid(relative.shape, SAMPLES_PER_FRAME)
        r, m = relative[rows, cols], metric[rows, cols]
        use = np.isfinite(r) & (r > 0) & np.isfinite(m) & (m > 0) & (m < sky_depth)
        if invalid is not None:
            use &= ~invalid[rows, cols]
        self._x.append(r[use].astype(np.float32))
        self._y.append((1.0 / m[use]).astype(np.float32))

    def solve(self) -> tuple[float, float]:
        """Fit s, t (inverse depth = s * relative + t) from the samples added; InputError
        when the anchors give too few usable pixels or no positive scale."""
        x = np.concatenate(self._x) if self._x else np.zeros(0)
        y = np.concatenate(self._y) if self._y else np.zeros(0)
        fit = robust_affine_fit(x, y) if x.size >= MIN_SAMPLES else None
        if fit is None or not fit[0] > 0:
            raise InputError(
                "--anchor_backend",
                f"metric alignment failed: {x.size} usable "
                "anchor pixels gave no positive scale (is the anchor depth mostly "
                "sky or invalid?)",
            )
        self.fit = fit
        self._x, self._y = [], []
        log.info(
            "metric alignment: inverse depth = %.6g * relative + %.6g (%d samples)", fit[0], fit[1], x.size
        )
        return fit

    def apply(self, relative: np.ndarray) -> np.ndarray:
        """(H, W) relative inverse depth -> (H, W) float32 metres; pixels whose aligned
        inverse depth is <= 0 (beyond any finite depth) become +inf."""
        if self.fit is None:
            raise RuntimeError("MetricAligner.apply before solve")
        s, t = self.fit
        inverse = s * relative.astype(np.float64) + t
        with np.errstate(divide="ignore"):
            return np.where(inverse > 0, 1.0 / np.where(inverse > 0, inverse, 1), np.inf).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {} if self.fit is None else {"align_fit": np.array(self.fit)}

    def restore(self, state: dict[str, Any]) -> None:
        if "align_fit" in state:
            s, t = np.asarray(state["align_fit"], np.float64)
            self.fit = (float(s), float(t))
