"""Temporal stabiliser for per-frame depth backends.

A per-frame model sees every frame afresh, so its output flickers: the whole frame's
scale and offset in inverse depth jump from frame to frame even where nothing moved.
The stabiliser removes that, one frame at a time, in constant memory:

1. Work in inverse depth (metric depth d -> 1/d; relative models already give it).
2. Static content: sample pixels on a grid (`SAMPLE_STEP`) whose blurred grey value
   changed by less than `STATIC_GREY_DELTA` since the previous frame.
3. Fit s, t so that s * inverse + t matches the running reference on those pixels,
   robustly (iteratively reweighted least squares with Cauchy weights, `robust_affine_fit`),
   so that moving objects the grey test missed do not pull the fit.
4. Pull the correction a little towards no correction (`LEAK` per frame), so that over
   long runs the output keeps the model's own scale rather than drifting with the chain
   of fits; the frame-to-frame flicker is reduced to about `LEAK` of the input's.
5. Smooth: where a pixel is static and agrees with the reference within
   `SMOOTH_AGREEMENT`, blend it with the reference, an exponential moving average
   ``out = alpha * aligned + (1 - alpha) * reference`` with alpha = 1 / (1 + lag): `lag`
   (``--smoothing``, default `DEFAULT_SMOOTHING_LAG`) is the average delay in frames the
   average adds to a change (0: no smoothing); elsewhere keep the aligned value. The
   result becomes the new reference.
6. Scene cuts (mean grey change of a small thumbnail above `CUT_GREY_CHANGE`) reset the
   reference: the first frame after a cut is taken as it is.

Everything the next frame needs is in `state()` (arrays and numbers), saved with each
finished chunk so a resumed run continues exactly.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from .fitting import robust_affine_fit

log = logging.getLogger(__name__)

SAMPLE_STEP = 4  # pixels between fit samples, each axis
GREY_BLUR_SIGMA = 1.0  # pixels (on the sample grid), before the static test
STATIC_GREY_DELTA = 0.03  # grey change (0..1) below which a sample is static
MIN_STATIC_SAMPLES = 50  # fewer: no fit, the previous correction is kept
CUT_THUMBNAIL = (32, 18)  # (width, height) of the scene-cut thumbnail
CUT_GREY_CHANGE = 0.1  # mean absolute grey change (0..1) that marks a cut: consecutive
# frames of our real clips change by at most 0.039 (fast
# rollercoaster), cuts between them by 0.25-0.33
LEAK = 0.05  # fraction of the correction released per frame
DEFAULT_SMOOTHING_LAG = 1.0  # frames of lag: alpha 0.5, the reference and the frame alike
MAX_SMOOTHING_LAG = 100.0  # alpha 0.0099: longer would freeze static pixels for seconds
SMOOTH_AGREEMENT = 0.05  # relative inverse-depth difference counted as agreeing


def _grey(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) float32 grey in [0, 1]."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0


class Stabiliser:
    """Aligns each frame of a per-frame backend to a running reference (module docstring).

    relative: True when the backend gives inverse depth; False for metric depth (metres).
    smoothing: the moving average's lag in frames, >= 0 (0: no smoothing).
    """

    def __init__(self, relative: bool, smoothing: float = DEFAULT_SMOOTHING_LAG):
        if not 0 <= smoothing <= MAX_SMOOTHING_LAG:
            raise ValueError(f"smoothing must be in [0, {MAX_SMOOTHING_LAG:g}] frames, got {smoothing}")
        self.relative = relative
        self.alpha = 1.0 / (1.0 + smoothing)  # weight of the new frame
        self.reference: np.ndarray | None = None  # (H, W) float32 inverse depth
        self.previous_grey: np.ndarray | None = None  # (h, w) float32, sample grid
        self.previous_thumb: np.ndarray | None = None  # CUT_THUMBNAIL grey
        self.correction = (1.0, 0.0)
        self.cuts = 0

    # -- state for resume ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        if self.reference is None:
            return {}
        return {
            "stab_reference": self.reference,
            "stab_grey": self.previous_grey,
            "stab_thumb": self.previous_thumb,
            "stab_correction": np.array(self.correction),
            "stab_cuts": self.cuts,
        }

    def restore(self, state: dict[str, Any]) -> None:
        if "stab_reference" not in state:
            return
        self.reference = np.asarray(state["stab_reference"], np.float32)
        self.previous_grey = np.asarray(state["stab_grey"], np.float32)
        self.previous_thumb = np.asarray(state["stab_thumb"], np.float32)
        s, t = np.asarray(state["stab_correction"], np.float64)
        self.correction = (float(s), float(t))
        self.cuts = int(state["stab_cuts"])

    # -- one frame ------------------------------------------------------------------------
    def is_cut(self, thumb: np.ndarray) -> bool:
        """True when `thumb` (CUT_THUMBNAIL grey) differs from the previous frame's by more
        than CUT_GREY_CHANGE on average."""
        return (
            self.previous_thumb is not None
            and float(np.abs(thumb - self.previous_thumb).mean()) > CUT_GREY_CHANGE
        )

    def __call__(self, frame: np.ndarray, depth: np.ndarray, invalid: np.ndarray | None = None) -> np.ndarray:
        """frame: (H, W, 3) uint8 RGB; depth: (H, W) float32, metres (metric) or inverse
        depth (relative); invalid: (H, W) bool or None. Returns the stabilised depth in
        the same units, (H, W) float32; invalid pixels are passed through unchanged."""
        grey = _grey(frame)
        thumb = cv2.resize(grey, CUT_THUMBNAIL, interpolation=cv2.INTER_AREA)
        samples = cv2.GaussianBlur(grey[::SAMPLE_STEP, ::SAMPLE_STEP], (0, 0), GREY_BLUR_SIGMA)
        valid = np.isfinite(depth) & (depth > 0)
        if invalid is not None:
            valid &= ~invalid
        with np.errstate(divide="ignore"):
            inverse = depth if self.relative else np.where(valid, 1.0 / np.where(valid, depth, 1), 0)
        inverse = inverse.astype(np.float32)

        if self.reference is None or self.is_cut(thumb) or self.reference.shape != depth.shape:
            if self.reference is not None:
                self.cuts += 1
                log.info("stabiliser: scene cut detected, reference reset")
            out = np.where(valid, inverse, 0).astype(np.float32)
            self.correction = (1.0, 0.0)
        else:
            static = np.abs(samples - self.previous_grey) < STATIC_GREY_DELTA
            ref_samples = self.reference[::SAMPLE_STEP, ::SAMPLE_STEP]
            use = static & valid[::SAMPLE_STEP, ::SAMPLE_STEP] & (ref_samples > 0)
            if use.sum() >= MIN_STATIC_SAMPLES:
                fit = robust_affine_fit(inverse[::SAMPLE_STEP, ::SAMPLE_STEP][use], ref_samples[use])
                if fit is not None and fit[0] > 0:
                    self.correction = fit
            s, t = self.correction
            s, t = s + LEAK * (1.0 - s), (1.0 - LEAK) * t
            self.correction = (s, t)
            aligned = (s * inverse + t).astype(np.float32)
            static_full = cv2.resize(
                static.astype(np.uint8), depth.shape[::-1], interpolation=cv2.INTER_NEAREST
            ).astype(bool)
            agree = np.abs(aligned - self.reference) <= SMOOTH_AGREEMENT * np.abs(self.reference)
            blend = static_full & agree & valid & (self.reference > 0)
            out = np.where(blend, (1 - self.alpha) * self.reference + self.alpha * aligned, aligned)
            out = np.where(valid & (out > 0), out, 0).astype(np.float32)

        self.reference = out
        self.previous_grey, self.previous_thumb = samples, thumb
        if self.relative:
            return out
        with np.errstate(divide="ignore"):
            result = np.where(out > 0, 1.0 / np.where(out > 0, out, 1), np.inf).astype(np.float32)
        return np.where(valid, result, depth).astype(np.float32)
