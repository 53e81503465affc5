"""Analytic ray intersection with shapes in their own local frame.

A ray is origin + t * direction, t > 0. Directions need not be unit length: the renderer
uses camera-frame directions with z = 1, so t is the z-depth. Every shape returns, per
ray, the t of its first hit in front of the origin, or +inf for a miss; a shape is only
hit from outside (a sphere or box around the origin is not seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Shape(Protocol):
    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """origin: (3,) metres, dirs: (N, 3), both local. Returns (N,) float64 t (+inf: miss)."""

    def normal(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) metres, local, on the surface. Returns (N, 3) outward unit normals, local."""


def _in_front(t: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """`t` where `hit` and t > 0, else +inf (NaN counts as a miss)."""
    return np.where(hit & (t > 0.0), t, np.inf)


@dataclass(frozen=True)
class Plane:
    """The infinite plane z = 0 of its local frame, normal +z, seen from both sides."""

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -origin[2] / dirs[:, 2]
        return _in_front(t, np.isfinite(t))

    def normal(self, points: np.ndarray) -> np.ndarray:
        n = np.zeros_like(points)
        n[:, 2] = 1.0
        return n


@dataclass(frozen=True)
class Sphere:
    """Sphere of `radius` metres centred on the local origin."""

    radius: float

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        # |o + t d|^2 = r^2  <=>  a t^2 + 2 b t + c = 0. The near root (-b - sqrt(D)) / a is
        # computed as c / (-b + sqrt(D)), which has no cancellation when the sphere is ahead.
        a = np.einsum("ij,ij->i", dirs, dirs)
        b = dirs @ origin
        c = float(origin @ origin) - self.radius**2
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t = c / (np.sqrt(disc) - b)
        return _in_front(t, (disc >= 0.0) & (b < 0.0) & (c > 0.0))

    def normal(self, points: np.ndarray) -> np.ndarray:
        return points / self.radius


@dataclass(frozen=True, eq=False)
class Box:
    """Box centred on the local origin with `half_size` ((3,) float64, metres) along local x, y, z."""

    half_size: np.ndarray

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        h = self.half_size
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / dirs
            t1 = (-h - origin) * inv
            t2 = (h - origin) * inv
        t_near = np.minimum(t1, t2).max(axis=1)
        t_far = np.maximum(t1, t2).min(axis=1)
        return _in_front(t_near, t_near <= t_far)

    def normal(self, points: np.ndarray) -> np.ndarray:
        rel = np.abs(points) / self.half_size
        axis = rel.argmax(axis=1)
        n = np.zeros_like(points)
        rows = np.arange(len(points))
        n[rows, axis] = np.sign(points[rows, axis])
        return n
