"""Analytic ray intersection with shapes in their own local frame.

A ray is origin + t * direction, t > 0. Directions need not be unit length: the renderer
uses camera-frame directions with z = 1, so t is the z-depth. Every shape returns, per
ray, the t of its first hit in front of the origin, or +inf for a miss; a shape is only
hit from outside (a sphere or box around the origin is not seen). A shape's surface is
split into smooth pieces, its faces (a box has six), numbered by `face` in the order of
`face_names`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Shape(Protocol):
    @property
    def face_names(self) -> tuple[str, ...]:
        """One name per smooth piece of the surface; "" when there is only one."""

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """origin: (3,) metres, dirs: (N, 3), both local. Returns (N,) float64 t (+inf: miss)."""

    def face(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) metres, local, on the surface. Returns (N,) int face numbers."""

    def normal(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) metres, local, on the surface. Returns (N, 3) unit outward normals."""


def _in_front(t: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """`t` where `hit` and t > 0, else +inf (NaN counts as a miss)."""
    return np.where(hit & (t > 0.0), t, np.inf)


@dataclass(frozen=True)
class Plane:
    """The infinite plane z = 0 of its local frame, normal +z, seen from both sides."""

    face_names = ("",)

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -origin[2] / dirs[:, 2]
        return _in_front(t, np.isfinite(t))

    def face(self, points: np.ndarray) -> np.ndarray:
        return np.zeros(len(points), dtype=np.int64)

    def normal(self, points: np.ndarray) -> np.ndarray:
        n = np.zeros_like(points)
        n[:, 2] = 1.0
        return n


@dataclass(frozen=True)
class Sphere:
    """Sphere of `radius` metres centred on the local origin."""

    radius: float
    face_names = ("",)

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

    def face(self, points: np.ndarray) -> np.ndarray:
        return np.zeros(len(points), dtype=np.int64)

    def normal(self, points: np.ndarray) -> np.ndarray:
        return points / self.radius


@dataclass(frozen=True, eq=False)
class Box:
    """Box centred on the local origin; `half_size`: (3,) float64, metres, along local x, y, z."""

    half_size: np.ndarray
    face_names = ("-x", "+x", "-y", "+y", "-z", "+z")

    def intersect(self, origin: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        # slabs: the ray is inside all three between the last entry and the first exit
        t_near = np.full(len(dirs), -np.inf)
        t_far = np.full(len(dirs), np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            for axis in range(3):
                inv = 1.0 / dirs[:, axis]
                t1 = (-self.half_size[axis] - origin[axis]) * inv
                t2 = (self.half_size[axis] - origin[axis]) * inv
                t_near = np.maximum(t_near, np.minimum(t1, t2))  # NaN propagates: a miss
                t_far = np.minimum(t_far, np.maximum(t1, t2))
        return _in_front(t_near, t_near <= t_far)

    def face(self, points: np.ndarray) -> np.ndarray:
        """2 * axis + (1 on the positive side), in `face_names` order."""
        rows = np.arange(len(points))
        axis = (np.abs(points) / self.half_size).argmax(axis=1)
        return 2 * axis + (points[rows, axis] > 0.0)

    def normal(self, points: np.ndarray) -> np.ndarray:
        face = self.face(points)
        n = np.zeros_like(points)
        n[np.arange(len(points)), face // 2] = np.where(face % 2 == 1, 1.0, -1.0)
        return n
