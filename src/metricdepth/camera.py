"""Pinhole intrinsics, projection and pose helpers (conventions: docs/conventions.md).

Axes are OpenCV's: x right, y down, z forward. Pixel (x, y) = (0, 0) is the centre
of the top-left pixel, so an image W pixels wide spans x in [-0.5, W - 0.5].
Depth is z-depth in metres. Poses are 4x4 matrices named by direction:
``world_from_cam`` maps camera coordinates to world coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError

FOV_RANGE_DEG = (1.0, 179.0)  # open interval of accepted full fields of view


def check_fov(fov_deg: float, name: str = "--xfov") -> float:
    """Return `fov_deg` as float if it lies in the open interval FOV_RANGE_DEG."""
    lo, hi = FOV_RANGE_DEG
    fov = float(fov_deg)
    if not (lo < fov < hi):  # also false for NaN
        raise InputError(name, f"field of view {fov_deg} degrees is outside ({lo:g}, {hi:g})")
    return fov


def focal_from_fov(size_px: int, fov_deg: float) -> float:
    """Focal length in pixels for a full field of view across `size_px` pixels."""
    return size_px / (2.0 * math.tan(math.radians(fov_deg) / 2.0))


def fov_from_focal(size_px: int, focal_px: float) -> float:
    """Full field of view in degrees across `size_px` pixels for focal length `focal_px`."""
    return math.degrees(2.0 * math.atan(size_px / (2.0 * focal_px)))


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera: image size (pixels), focal lengths and principal point (pixels)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_fov(
        cls, width: int, height: int, xfov: float | None = None, yfov: float | None = None
    ) -> Intrinsics:
        """Square pixels, centred principal point, from one full FOV in degrees.

        Exactly one of `xfov` (horizontal) or `yfov` (vertical) is given; it fixes the other.
        """
        if (xfov is None) == (yfov is None):
            raise ValueError("give exactly one of xfov or yfov")
        if xfov is not None:
            f = focal_from_fov(width, check_fov(xfov, "--xfov"))
        elif yfov is not None:
            f = focal_from_fov(height, check_fov(yfov, "--yfov"))
        return cls(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0)

    @classmethod
    def from_K(cls, K: np.ndarray, width: int, height: int) -> Intrinsics:
        """From a 3x3 camera matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (pixels)."""
        K = np.asarray(K, dtype=np.float64)
        if K.shape != (3, 3):
            raise ValueError(f"K must be 3x3, got shape {K.shape}")
        return cls(width, height, float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))

    @property
    def K(self) -> np.ndarray:
        """(3, 3) float64 camera matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def xfov(self) -> float:
        """Full horizontal field of view, degrees."""
        return fov_from_focal(self.width, self.fx)

    @property
    def yfov(self) -> float:
        """Full vertical field of view, degrees."""
        return fov_from_focal(self.height, self.fy)

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same camera seen at another resolution (the image resized, not cropped).

        Pixel edges scale, so a centre moves as x' = (x + 0.5) * s - 0.5.
        """
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            width, height, self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5
        )


def pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 x and y pixel-centre coordinates."""
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    x, y = np.meshgrid(xs, ys)
    return x, y


def unproject(xy: np.ndarray, depth: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Camera-frame points from pixels and z-depth.

    xy: (..., 2) pixels (x, y); depth: (...) metres, z-depth. Returns (..., 3) metres.
    """
    xy = np.asarray(xy)
    z = np.asarray(depth)
    x = (xy[..., 0] - intr.cx) / intr.fx * z
    y = (xy[..., 1] - intr.cy) / intr.fy * z
    return np.stack([x, y, z], axis=-1)


def unproject_depth(depth: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """(H, W) z-depth in metres -> (H, W, 3) camera-frame points in metres."""
    if depth.shape != (intr.height, intr.width):
        raise ValueError(f"depth shape {depth.shape} != intrinsics size {(intr.height, intr.width)}")
    x, y = pixel_grid(intr.width, intr.height)
    return unproject(np.stack([x, y], axis=-1), depth, intr)


def project(points: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame points (..., 3) metres -> pixels (..., 2) (x, y) and z-depth (...) metres.

    Points with z <= 0 get NaN pixels.
    """
    points = np.asarray(points)
    z = points[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        safe_z = np.where(z > 0, z, np.nan)
        x = points[..., 0] / safe_z * intr.fx + intr.cx
        y = points[..., 1] / safe_z * intr.fy + intr.cy
    return np.stack([x, y], axis=-1), z


# --- poses -----------------------------------------------------------------------


def make_pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """(4, 4) float64 rigid transform from a (3, 3) rotation and a (3,) translation."""
    T = np.eye(4)
    T[:3, :3] = rotation
    T[:3, 3] = translation
    return T


def invert_pose(T: np.ndarray) -> np.ndarray:
    """Inverse of rigid transform(s) (..., 4, 4): ``cam_from_world = invert_pose(world_from_cam)``."""
    T = np.asarray(T, dtype=np.float64)
    R = T[..., :3, :3]
    t = T[..., :3, 3]
    Rt = np.swapaxes(R, -1, -2)
    out = np.zeros_like(T)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, t)
    out[..., 3, 3] = 1.0
    return out


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (4, 4) transform to points (..., 3): ``p_world = transform_points(world_from_cam, p_cam)``.

    Computes in the points' precision (float32 points stay float32: numpy's mixed
    float32 @ float64 product is several times slower)."""
    T = np.asarray(T, dtype=np.result_type(points, np.float32))
    return points @ T[:3, :3].T + T[:3, 3]


def rotation_about_axis(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """(3, 3) rotation by `angle_rad` about `axis` (right-hand rule, Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle_rad) * k + (1 - math.cos(angle_rad)) * (k @ k)


def look_at(
    eye: np.ndarray, target: np.ndarray, up: np.ndarray | tuple[float, float, float] = (0.0, -1.0, 0.0)
) -> np.ndarray:
    """``world_from_cam`` (4, 4) of a camera at `eye` looking at `target`.

    `up` is the world direction that appears up in the image; with OpenCV axes
    (y down) the default world up is -y.
    """
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(-np.asarray(up, dtype=np.float64), z)  # image right = down x forward
    norm = np.linalg.norm(x)
    if norm < 1e-12:
        raise ValueError("up is parallel to the viewing direction")
    x /= norm
    y = np.cross(z, x)  # image down
    return make_pose(np.stack([x, y, z], axis=1), eye)


def stereo_eye_pose(world_from_cam: np.ndarray, offset_m: float) -> np.ndarray:
    """``world_from_eye`` of an eye moved `offset_m` metres along the camera's x axis
    (positive = right), looking the same way (parallel eyes)."""
    return world_from_cam @ make_pose(np.eye(3), np.array([offset_m, 0.0, 0.0]))
