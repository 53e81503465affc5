"""Bundle adjustment over camera poses, 3D points, per-frame depth scales and, on
request, the focal length; robust loss; `scipy.optimize.least_squares` with a sparse,
analytic Jacobian (`_Jacobian`: the residuals' derivatives written out, on a fixed
sparsity pattern).

Residuals, each divided by its expected error so that the robust loss's scale is in
standard deviations:
- reprojection: (projected - tracked) pixels / track_sigma_px, two per observation;
- depth prior: (log z_cam - log(scale_f * depth)) / depth_sigma_rel, one per observation
  with depth. The depth is a prior, not the truth: points may leave it where the tracks
  say otherwise, and each frame's depth carries its own unknown scale.

Gauge: frames marked fixed keep their pose and scale. With frame 0 fixed, the scale of
the whole solution is set by frame 0's depth during the solve; `normalise_scale` then
moves it to the average of all frames' depth scales (an exact change of gauge).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import csr_matrix
from scipy.spatial.transform import Rotation

from ..camera import Intrinsics, invert_pose, make_pose

MIN_DEPTH_M = 1e-3  # points nearer than this to a camera count as at this depth (log residual)
COST_TOLERANCE = 1e-5  # stop when an iteration lowers the cost by less than this fraction
STEP_TOLERANCE = 1e-8  # ... or changes the unknowns by less than this fraction
LSMR_TOLERANCE = 1e-5  # inner linear solves (lsmr atol, btol): looser is faster, same optimum


@dataclass(frozen=True)
class BundleSettings:
    """Weights and solver limits of one bundle adjustment."""

    track_sigma_px: float = 1.0  # expected tracking error, pixels
    depth_sigma_rel: float = 0.05  # expected depth error after the frame's scale, relative
    loss: str = "soft_l1"  # scipy robust loss (smooth: converges in a few steps)
    loss_scale: float = 2.0  # residuals beyond this many sigmas are down-weighted
    max_evaluations: int = 60  # residual evaluations per solve (scipy max_nfev)


@dataclass(frozen=True)
class Reconstruction:
    """A solution.

    world_from_cam: (F, 4, 4) float64 camera-to-world poses.
    points: (P, 3) float64 metres, world frame (NaN: not placed).
    log_scale: (F,) float64, true depth ~ exp(log_scale[f]) * depth of frame f.
    focal_factor: multiplies fx and fy of the given intrinsics.
    """

    world_from_cam: np.ndarray
    points: np.ndarray
    log_scale: np.ndarray
    focal_factor: float = 1.0

    def intrinsics(self, intr: Intrinsics) -> Intrinsics:
        """`intr` with the focal length refined by `focal_factor`."""
        return replace(intr, fx=intr.fx * self.focal_factor, fy=intr.fy * self.focal_factor)


@dataclass(frozen=True)
class Problem:
    """What is observed, with one row per observation.

    frame: (M,) int64. point: (M,) int64 index into Reconstruction.points.
    xy: (M, 2) float64 pixels. depth: (M,) float64 metres (NaN: no depth prior).
    """

    frame: np.ndarray
    point: np.ndarray
    xy: np.ndarray
    depth: np.ndarray


def _project(
    rotations: np.ndarray,
    translations: np.ndarray,
    points: np.ndarray,
    problem: Problem,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (M, 2) and z-depth (M,) of each observation's point in its camera.

    rotations: (F, 3, 3) and translations (F, 3): cam_from_world."""
    cam = (
        np.einsum("mij,mj->mi", rotations[problem.frame], points[problem.point]) + translations[problem.frame]
    )
    z = np.maximum(cam[:, 2], MIN_DEPTH_M)
    uv = np.stack([fx * cam[:, 0] / z + cx, fy * cam[:, 1] / z + cy], axis=1)
    return uv, cam[:, 2]


class _Layout:
    """Where each unknown lives in the parameter vector."""

    def __init__(
        self,
        frames: int,
        points: int,
        free_frames: np.ndarray,
        free_points: np.ndarray,
        rotation_only: bool,
        optimize_focal: bool,
    ):
        self.pose_size = 3 if rotation_only else 6
        self.free_frames = np.flatnonzero(free_frames)
        self.free_points = np.flatnonzero(free_points)
        self.frame_col = np.full(frames, -1)
        self.frame_col[self.free_frames] = np.arange(len(self.free_frames)) * self.pose_size
        n_pose = len(self.free_frames) * self.pose_size
        self.scale_col = np.full(frames, -1)
        self.scale_col[self.free_frames] = n_pose + np.arange(len(self.free_frames))
        start = n_pose + len(self.free_frames)
        self.point_col = np.full(points, -1)
        self.point_col[self.free_points] = start + 3 * np.arange(len(self.free_points))
        self.focal_col = start + 3 * len(self.free_points) if optimize_focal else -1
        self.size = start + 3 * len(self.free_points) + int(optimize_focal)
        self.rotation_only = rotation_only


def _pack(rec: Reconstruction, layout: _Layout) -> np.ndarray:
    x = np.zeros(layout.size)
    cam_from_world = invert_pose(rec.world_from_cam[layout.free_frames])
    rot = Rotation.from_matrix(cam_from_world[:, :3, :3]).as_rotvec()
    poses = rot if layout.rotation_only else np.concatenate([rot, cam_from_world[:, :3, 3]], axis=1)
    x[: poses.size] = poses.ravel()
    x[layout.scale_col[layout.free_frames]] = rec.log_scale[layout.free_frames]
    if len(layout.free_points):
        cols = layout.point_col[layout.free_points][:, None] + np.arange(3)
        x[cols] = rec.points[layout.free_points]
    if layout.focal_col >= 0:
        x[layout.focal_col] = np.log(rec.focal_factor)
    return x


def _unpack(
    x: np.ndarray, rec: Reconstruction, layout: _Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """cam_from_world rotations (F, 3, 3), translations (F, 3), points, log scales, focal factor."""
    cam_from_world = invert_pose(rec.world_from_cam)
    rotations, translations = cam_from_world[:, :3, :3].copy(), cam_from_world[:, :3, 3].copy()
    n = len(layout.free_frames)
    poses = x[: n * layout.pose_size].reshape(n, layout.pose_size)
    if n:
        rotations[layout.free_frames] = Rotation.from_rotvec(poses[:, :3]).as_matrix()
        if not layout.rotation_only:
            translations[layout.free_frames] = poses[:, 3:]
    log_scale = rec.log_scale.copy()
    log_scale[layout.free_frames] = x[layout.scale_col[layout.free_frames]]
    points = rec.points.copy()
    if len(layout.free_points):
        points[layout.free_points] = x[layout.point_col[layout.free_points][:, None] + np.arange(3)]
    focal = float(np.exp(x[layout.focal_col])) if layout.focal_col >= 0 else rec.focal_factor
    return rotations, translations, points, log_scale, focal


def _skew(v: np.ndarray) -> np.ndarray:
    """(N, 3, 3) cross-product matrices of (N, 3) vectors."""
    out = np.zeros((len(v), 3, 3))
    out[:, 0, 1], out[:, 0, 2], out[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    out[:, 1, 0], out[:, 2, 0], out[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    return out


def _left_jacobian(rotvecs: np.ndarray) -> np.ndarray:
    """(N, 3, 3) left Jacobians of SO(3) at (N, 3) rotation vectors:
    d(R(w) x)/dw = -[R(w) x]_x J_l(w)."""
    theta = np.linalg.norm(rotvecs, axis=1)[:, None, None]
    k = _skew(rotvecs)
    small = theta < 1e-6
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 0.5, (1.0 - np.cos(safe)) / safe**2)
    b = np.where(small, 1.0 / 6.0, (safe - np.sin(safe)) / safe**3)
    return np.eye(3) + a * k + b * (k @ k)


class _Jacobian:
    """The residuals' Jacobian: a fixed sparsity pattern and analytic values.

    Row order as in the residual vector: u and v of each observation (2m, 2m + 1), then
    one depth row per observation with depth. Columns as in `_Layout`.
    """

    def __init__(self, problem: Problem, layout: _Layout, has_depth: np.ndarray):
        self.layout = layout
        m = len(problem.frame)
        self.m, self.has_depth = m, has_depth
        self.frame_col = layout.frame_col[problem.frame]
        self.point_col = layout.point_col[problem.point]
        self.scale_col = layout.scale_col[problem.frame]
        self.shape = (2 * m + int(has_depth.sum()), layout.size)
        self.rows, self.cols = self._pattern()

    def _blocks(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
        """(residual rows (K,), observation index (K,), first column (K,), width) per block."""
        m, d = np.arange(self.m), np.flatnonzero(self.has_depth)
        depth_rows = 2 * self.m + np.arange(len(d))
        pose = self.layout.pose_size
        blocks = []
        for rows, obs in ((2 * m, m), (2 * m + 1, m), (depth_rows, d)):
            blocks.append((rows, obs, self.frame_col[obs], pose))
            blocks.append((rows, obs, self.point_col[obs], 3))
        blocks.append((depth_rows, d, self.scale_col[d], 1))
        if self.layout.focal_col >= 0:
            blocks += [
                (2 * m, m, np.full(self.m, self.layout.focal_col), 1),
                (2 * m + 1, m, np.full(self.m, self.layout.focal_col), 1),
            ]
        return blocks

    def _pattern(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = [], []
        self.masks = []
        for r, _, first, width in self._blocks():
            keep = first >= 0
            self.masks.append(keep)
            rows.append(np.repeat(r[keep], width))
            cols.append((first[keep, None] + np.arange(width)).ravel())
        return np.concatenate(rows), np.concatenate(cols)

    def matrix(
        self,
        rotvecs: np.ndarray,
        rotations: np.ndarray,
        rotated: np.ndarray,
        cam: np.ndarray,
        focal: tuple[float, float],
        inv_sigma_px: float,
        inv_sigma_depth: float,
    ) -> csr_matrix:
        """Values at the current parameters, per observation (M rows each):
        rotvecs (M, 3) and rotations (M, 3, 3) of its frame's cam_from_world (rotvecs
        unused for fixed frames), rotated (M, 3) = R X, cam (M, 3) = R X + t."""
        fx, fy = focal
        z = np.maximum(cam[:, 2], MIN_DEPTH_M)
        zero = np.zeros(self.m)
        d_uv = np.stack(
            [
                np.stack([fx / z, zero, -fx * cam[:, 0] / z**2], axis=1),
                np.stack([zero, fy / z, -fy * cam[:, 1] / z**2], axis=1),
            ],
            axis=1,
        )
        d_uv *= inv_sigma_px  # (M, 2, 3): d(u, v) / d(camera point)
        d_logz = np.stack([zero, zero, inv_sigma_depth / z], axis=1)  # (M, 3)
        d_rot = -_skew(rotated) @ _left_jacobian(rotvecs)  # (M, 3, 3) d(cam)/d(w)
        d_point = rotations  # (M, 3, 3) d(cam)/dX
        values = []
        block_index = 0
        depth_obs = np.flatnonzero(self.has_depth)
        for obs, grad in (
            (slice(None), d_uv[:, 0]),
            (slice(None), d_uv[:, 1]),
            (depth_obs, d_logz[depth_obs]),
        ):
            pose = np.einsum("ni,nij->nj", grad, d_rot[obs])
            if not self.layout.rotation_only:
                pose = np.concatenate([pose, grad], axis=1)
            point = np.einsum("ni,nij->nj", grad, d_point[obs])
            for block in (pose, point):
                values.append(block[self.masks[block_index]].ravel())
                block_index += 1
        values.append(np.full(int(self.masks[block_index].sum()), -inv_sigma_depth))
        block_index += 1
        if self.layout.focal_col >= 0:
            for axis, f in ((0, fx), (1, fy)):
                values.append(inv_sigma_px * f * cam[:, axis] / z)
        return csr_matrix((np.concatenate(values), (self.rows, self.cols)), shape=self.shape)


def project_problem(rec: Reconstruction, problem: Problem, intr: Intrinsics) -> np.ndarray:
    """(M, 2) float64 pixels where each observation's point projects (NaN behind the camera)."""
    cam_from_world = invert_pose(rec.world_from_cam)
    k = rec.intrinsics(intr)
    uv, z = _project(
        cam_from_world[:, :3, :3], cam_from_world[:, :3, 3], rec.points, problem, k.fx, k.fy, k.cx, k.cy
    )
    uv[~(z > 0)] = np.nan
    return uv


def reprojection_errors(rec: Reconstruction, problem: Problem, intr: Intrinsics) -> np.ndarray:
    """(M,) float64 distance in pixels between each observation and its projected point
    (inf where the point is behind the camera or not placed)."""
    uv = project_problem(rec, problem, intr)
    z = np.where(np.isfinite(uv[:, 0]), 1.0, -1.0)
    err = np.linalg.norm(uv - problem.xy, axis=1)
    err[~(z > 0) | ~np.isfinite(err)] = np.inf
    return err


def bundle_adjust(
    rec: Reconstruction,
    problem: Problem,
    intr: Intrinsics,
    settings: BundleSettings,
    free_frames: np.ndarray,
    free_points: np.ndarray | None = None,
    *,
    rotation_only: bool = False,
    optimize_focal: bool = False,
) -> Reconstruction:
    """Refine `rec` on `problem`; returns the refined reconstruction.

    free_frames: (F,) bool, frames whose pose and depth scale are unknowns (the others
    stay as they are: at least one must be fixed, usually frame 0).
    free_points: (P,) bool, points that are unknowns (default: every placed point).
    rotation_only: camera translations stay as they are (a camera turning in place).
    optimize_focal: one more unknown, a factor on the focal length (both axes).
    Every point referenced by `problem` must be placed (finite).
    """
    if free_points is None:
        free_points = np.isfinite(rec.points).all(axis=1)
    layout = _Layout(
        len(rec.world_from_cam), len(rec.points), free_frames, free_points, rotation_only, optimize_focal
    )
    if layout.size == 0 or len(problem.frame) == 0:
        return rec
    has_depth = np.isfinite(problem.depth) & (problem.depth > 0)
    log_depth = np.log(problem.depth[has_depth])
    depth_frame = problem.frame[has_depth]
    inv_sigma_px = 1.0 / settings.track_sigma_px
    inv_sigma_depth = 1.0 / settings.depth_sigma_rel
    jacobian = _Jacobian(problem, layout, has_depth)
    rotvec_of_frame = np.zeros((len(rec.world_from_cam), 3))

    def evaluate(x: np.ndarray) -> tuple:
        rotations, translations, points, log_scale, focal = _unpack(x, rec, layout)
        rotated = np.einsum("mij,mj->mi", rotations[problem.frame], points[problem.point])
        return rotations, rotated, rotated + translations[problem.frame], log_scale, focal

    def residuals(x: np.ndarray) -> np.ndarray:
        _, _, cam, log_scale, focal = evaluate(x)
        z = np.maximum(cam[:, 2], MIN_DEPTH_M)
        uv = np.stack(
            [intr.fx * focal * cam[:, 0] / z + intr.cx, intr.fy * focal * cam[:, 1] / z + intr.cy], axis=1
        )
        reproj = ((uv - problem.xy) * inv_sigma_px).ravel()
        depth = (np.log(z[has_depth]) - log_scale[depth_frame] - log_depth) * inv_sigma_depth
        return np.concatenate([reproj, depth])

    def jac(x: np.ndarray) -> csr_matrix:
        rotations, rotated, cam, _, focal = evaluate(x)
        n = len(layout.free_frames)
        rotvec_of_frame[layout.free_frames] = x[: n * layout.pose_size].reshape(n, layout.pose_size)[:, :3]
        return jacobian.matrix(
            rotvec_of_frame[problem.frame],
            rotations[problem.frame],
            rotated,
            cam,
            (intr.fx * focal, intr.fy * focal),
            inv_sigma_px,
            inv_sigma_depth,
        )

    result = least_squares(
        residuals,
        _pack(rec, layout),
        jac=jac,
        method="trf",
        tr_solver="lsmr",
        tr_options={"atol": LSMR_TOLERANCE, "btol": LSMR_TOLERANCE},
        x_scale="jac",
        loss=settings.loss,
        f_scale=settings.loss_scale,
        max_nfev=settings.max_evaluations,
        ftol=COST_TOLERANCE,
        xtol=STEP_TOLERANCE,
        gtol=STEP_TOLERANCE,
    )
    rotations, translations, points, log_scale, focal = _unpack(result.x, rec, layout)
    cam_from_world = np.array([make_pose(r, t) for r, t in zip(rotations, translations)])
    return Reconstruction(invert_pose(cam_from_world), points, log_scale, focal)


def normalise_scale(rec: Reconstruction, frames: np.ndarray | None = None) -> Reconstruction:
    """The same solution in the gauge where the mean log depth scale over `frames`
    (default: all) is zero: points and camera positions scaled about the world origin.
    Reprojections and depth residuals are unchanged."""
    log_scale = rec.log_scale if frames is None else rec.log_scale[frames]
    shift = float(np.mean(log_scale))
    factor = np.exp(-shift)
    poses = rec.world_from_cam.copy()
    poses[:, :3, 3] *= factor
    return Reconstruction(poses, rec.points * factor, rec.log_scale - shift, rec.focal_factor)
