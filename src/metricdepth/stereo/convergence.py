"""Where the eyes are and what they converge on: baseline, screen-FOV scaling and the
horizontal image shift that puts a chosen depth at zero disparity.

Eyes are parallel, B metres apart, symmetric about the source camera. A point at depth z
appears at x + d/2 in the left eye and x - d/2 in the right one, d = fx * B / z.
Converging at depth c shifts the left image by -s and the right image by +s pixels,
s = fx * B / (2 c), so the disparity becomes fx * B * (1/z - 1/c): zero at z = c,
positive (in front of the screen) nearer. c = 0 means no shift (plain parallel eyes:
infinity at zero disparity, as in a headset).

``--master_xfov`` (the horizontal FOV the viewer's screen covers, degrees): the older
toolbox lets a video rendered for one FOV be watched on a screen of another by scaling
the scene's depth. Scaling every depth by k = tan(xfov / 2) / tan(master_xfov / 2)
keeps every pixel where it is (the scene shrinks or grows about the camera) and, with the
eyes still B apart, multiplies all disparities by 1 / k. It is the same as keeping the
depth and using the baseline

    B_eff = B * tan(master_xfov / 2) / tan(xfov / 2)

which is what we do, per frame (xfov may change per frame). The convergence depth stays
in the source scene's metres.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.sidecars import read_json

SUBJECT_SMOOTHING_S = 1.0  # time constant of the subject-depth smoothing (seconds)


def effective_baseline(baseline_m: float, xfov_deg: float, master_xfov_deg: float | None) -> float:
    """Metres between the eyes after the --master_xfov scaling (module docstring)."""
    if master_xfov_deg is None:
        return baseline_m
    return baseline_m * math.tan(math.radians(master_xfov_deg) / 2) / math.tan(math.radians(xfov_deg) / 2)


def convergence_shift_px(fx: float, baseline_m: float, convergence_m: float) -> float:
    """Pixels the right image moves right (the left image left) to put depth
    `convergence_m` (metres, 0 = no shift) at zero disparity."""
    return 0.0 if convergence_m == 0 else fx * baseline_m / (2.0 * convergence_m)


def parse_convergence(value: str, frame_count: int) -> np.ndarray | None:
    """`--convergence`: '' (not given: None), a distance in metres (0 = no shift) or a
    JSON file with one distance per frame. Returns (frame_count,) float64 metres."""
    if value == "":
        return None
    try:
        metres = float(value)
    except ValueError:
        return read_convergence_file(value, frame_count)
    if not (math.isfinite(metres) and metres >= 0):
        raise InputError("--convergence", f"{value} is not a distance in metres (>= 0; 0 = no shift)")
    return np.full(frame_count, metres)


def read_convergence_file(path: str | Path, frame_count: int) -> np.ndarray:
    """A JSON list of per-frame convergence distances (metres, 0 = no shift), one per
    frame of the video. NaN or null (the older toolbox's "no subject in this frame")
    holds the last valid distance; frames before the first valid one take it, and a
    file with none means no shift. Returns (frame_count,) float64."""
    path = Path(path)
    data = read_json(path, "convergence file (--convergence takes metres or a JSON file)")
    if not isinstance(data, list) or not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in data
    ):
        raise InputError(path, "convergence file must be a list of distances in metres")
    if len(data) != frame_count:
        raise InputError(path, f"has {len(data)} convergence distances, the video has {frame_count} frames")
    values = np.array([np.nan if v is None else v for v in data], np.float64)
    valid = ~np.isnan(values)
    bad = valid & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        index = int(np.argmax(bad))
        raise InputError(
            path,
            f"frame {index}: convergence {values[index]} is not a distance in metres (>= 0; 0 = no shift)",
        )
    if not valid.any():
        return np.zeros(frame_count)
    last_valid = np.maximum.accumulate(np.where(valid, np.arange(frame_count), -1))
    return values[np.where(last_valid < 0, np.argmax(valid), last_valid)]


class SubjectConvergence:
    """Converge on the masked subject: per frame the median inverse depth of the mask's
    pixels, smoothed over time by an exponential moving average with time constant
    SUBJECT_SMOOTHING_S (in inverse depth, where the shift is linear). Causal, so it
    streams; frames before the subject first appears get no shift, and frames where it
    is absent keep the last value. `state` / `from_state` carry it across chunks."""

    def __init__(self, fps: Fraction, inverse_depth: float = 0.0):
        frames = float(fps) * SUBJECT_SMOOTHING_S
        self.alpha = 1.0 - math.exp(-1.0 / frames) if frames > 0 else 1.0
        self.inverse_depth = inverse_depth  # 0: no subject seen yet

    def update(self, depth: np.ndarray, mask: np.ndarray) -> float:
        """depth: (H, W) float32 metres; mask: (H, W) bool subject. Returns the
        convergence distance in metres for this frame (0 = no shift)."""
        if mask.any():
            current = float(np.median(1.0 / np.maximum(depth[mask], 1e-6)))
            if self.inverse_depth == 0.0:
                self.inverse_depth = current
            else:
                self.inverse_depth += self.alpha * (current - self.inverse_depth)
        return 0.0 if self.inverse_depth == 0.0 else 1.0 / self.inverse_depth

    def state(self) -> dict[str, float]:
        return {"subject_inverse_depth": self.inverse_depth}

    @classmethod
    def from_state(cls, fps: Fraction, state: dict[str, np.ndarray] | None) -> SubjectConvergence:
        value = 0.0 if state is None else float(state["subject_inverse_depth"])
        return cls(fps, value)
