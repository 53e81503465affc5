"""Whether the focal length can be refined from the motion: it needs parallax.

A camera that only turns sees every point along the same world ray in every frame, so
the tracks say nothing about the points' distances; the focal length is then tied to
the depth's own (unknown) shape. With translation, a point's rays from different camera
positions meet at an angle, the parallax, and the focal length that makes them meet is
observable.
"""

from __future__ import annotations

import numpy as np

from .bundle import Reconstruction
from .triangulate import parallax_deg

MIN_PARALLAX_DEG = 2.0  # median track parallax needed to refine the focal length


def track_parallax_deg(rec: Reconstruction, frame: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Per placed point seen at least twice: the angle (degrees) between the rays from
    the first and the last camera that see it.

    frame, point: (M,) int64 observation rows. Returns (K,) float64 degrees.
    """
    angles = parallax_deg(frame, point, rec.world_from_cam[frame, :3, 3], rec.points, len(rec.points))
    return angles[np.isfinite(angles)]


def has_parallax(
    rec: Reconstruction, frame: np.ndarray, point: np.ndarray, min_deg: float = MIN_PARALLAX_DEG
) -> tuple[bool, float]:
    """(enough parallax to refine the focal length, median track parallax in degrees)."""
    parallax = track_parallax_deg(rec, frame, point)
    median = float(np.median(parallax)) if len(parallax) else 0.0
    return median >= min_deg, median
