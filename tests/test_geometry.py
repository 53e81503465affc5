"""Units of the geometry package, each against a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative
from scipy.spatial.transform import Rotation

from metricdepth.camera import Intrinsics, invert_pose, make_pose, project, transform_points
from metricdepth.geometry import bundle
from metricdepth.geometry.align import absolute_trajectory_error, umeyama
from metricdepth.geometry.observations import sample_depth
from metricdepth.geometry.pnp import pose_from_2d3d, rotation_from_rays
from metricdepth.geometry.rescale import apply_fit, fit_frames, fit_inverse
from metricdepth.geometry.triangulate import triangulate
from metricdepth.geometry.windows import key_frames, plan_windows

INTR = Intrinsics.from_fov(320, 240, xfov=60.0)


def _random_poses(rng, count):
    return np.array([make_pose(Rotation.from_rotvec(rng.normal(0, 0.1, 3)).as_matrix(),
                               rng.normal(0, 0.3, 3)) for _ in range(count)])


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3))
    rotation = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    dst = 2.5 * src @ rotation.T + [1.0, 2.0, 3.0]
    s, r, t = umeyama(src, dst)
    assert s == pytest.approx(2.5) and np.allclose(r, rotation) and np.allclose(t, [1, 2, 3])
    poses = _random_poses(rng, 10)
    moved = np.array([make_pose(rotation, [1.0, 0, 0]) @ p for p in poses])
    assert absolute_trajectory_error(moved, poses) < 1e-9


@pytest.mark.parametrize("rotation_only", [False, True])
@pytest.mark.parametrize("optimize_focal", [False, True])
def test_bundle_jacobian_matches_finite_differences(rotation_only, optimize_focal):
    rng = np.random.default_rng(1)
    frames, points, rows = 4, 12, 40
    rec = bundle.Reconstruction(_random_poses(rng, frames),
                                rng.normal(0, 1, (points, 3)) + [0, 0, 5],
                                rng.normal(0, 0.1, frames), 1.1)
    problem = bundle.Problem(rng.integers(0, frames, rows), rng.integers(0, points, rows),
                             rng.uniform(0, 300, (rows, 2)),
                             np.where(rng.random(rows) < 0.7, rng.uniform(3, 6, rows), np.nan))
    layout = bundle._Layout(frames, points, np.arange(frames) > 0, np.arange(points) != 3,
                            rotation_only, optimize_focal)
    has_depth = np.isfinite(problem.depth)
    jac = bundle._Jacobian(problem, layout, has_depth)
    sigma_depth = 0.05

    def parts(x):
        rotations, translations, pts, log_scale, focal = bundle._unpack(x, rec, layout)
        rotated = np.einsum("mij,mj->mi", rotations[problem.frame], pts[problem.point])
        return rotations, rotated, rotated + translations[problem.frame], log_scale, focal

    def residuals(x):
        _, _, cam, log_scale, focal = parts(x)
        uv = np.stack([INTR.fx * focal * cam[:, 0] / cam[:, 2] + INTR.cx,
                       INTR.fy * focal * cam[:, 1] / cam[:, 2] + INTR.cy], axis=1)
        depth = (np.log(cam[has_depth, 2]) - log_scale[problem.frame[has_depth]]
                 - np.log(problem.depth[has_depth])) / sigma_depth
        return np.concatenate([(uv - problem.xy).ravel(), depth])

    x = bundle._pack(rec, layout)
    rotations, rotated, cam, _, focal = parts(x)
    rotvecs = np.zeros((frames, 3))
    n = len(layout.free_frames)
    rotvecs[layout.free_frames] = x[: n * layout.pose_size].reshape(n, -1)[:, :3]
    analytic = jac.matrix(rotvecs[problem.frame], rotations[problem.frame], rotated, cam,
                          (INTR.fx * focal, INTR.fy * focal), 1.0, 1.0 / sigma_depth).toarray()
    numeric = approx_derivative(residuals, x, method="3-point")
    assert np.abs(analytic - numeric).max() < 1e-5 * np.abs(numeric).max()
    assert set(zip(*np.nonzero(analytic))) <= set(zip(jac.rows, jac.cols))


def test_bundle_adjust_recovers_perturbed_poses():
    rng = np.random.default_rng(2)
    truth = np.array([make_pose(Rotation.from_rotvec([0, 0.02 * i, 0]).as_matrix(), [0.1 * i, 0, 0])
                      for i in range(5)])
    points = rng.uniform([-2, -1, 4], [2, 1, 7], (80, 3))
    frame = np.repeat(np.arange(5), 80)
    point = np.tile(np.arange(80), 5)
    cam = np.einsum("mij,mj->mi", invert_pose(truth)[frame, :3, :3], points[point]) \
        + invert_pose(truth)[frame, :3, 3]
    xy, z = project(cam, INTR)
    start = truth.copy()
    start[1:, :3, 3] += rng.normal(0, 0.02, (4, 3))
    rec = bundle.Reconstruction(start, points + rng.normal(0, 0.05, points.shape), np.zeros(5))
    solved = bundle.bundle_adjust(rec, bundle.Problem(frame, point, xy, z), INTR,
                                  bundle.BundleSettings(), np.arange(5) > 0)
    assert np.abs(solved.world_from_cam - truth).max() < 1e-5


def test_pnp_and_rotation_from_rays():
    rng = np.random.default_rng(3)
    pose = make_pose(Rotation.from_rotvec([0.05, -0.1, 0.02]).as_matrix(), [0.3, -0.1, 0.2])
    world = rng.uniform([-2, -1, 3], [2, 1, 6], (60, 3))
    xy, _ = project(transform_points(invert_pose(pose), world), INTR)
    xy[:10] += 30.0  # outliers
    found, inliers = pose_from_2d3d(world, xy, INTR, 2.0)
    assert np.abs(found - pose).max() < 1e-6 and not inliers[:10].any() and inliers[10:].all()
    rotation = pose[:3, :3]
    cam_rays = world @ rotation  # world = R cam for a camera at the origin
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    found_r, _ = rotation_from_rays(unit(world), unit(cam_rays), 1e-3, rng)
    assert np.allclose(found_r, rotation, atol=1e-9)


def test_triangulate_exact_and_rejects():
    rng = np.random.default_rng(4)
    poses = np.array([make_pose(np.eye(3), [0.1 * i, 0, 0]) for i in range(6)])
    points = rng.uniform([-1, -1, 3], [1, 1, 5], (20, 3))
    frame = np.repeat(np.arange(6), 20)
    track = np.tile(np.arange(20), 6)
    cam_from_world = invert_pose(poses)[frame]
    cam = np.einsum("mij,mj->mi", cam_from_world[:, :3, :3], points[track]) \
        + cam_from_world[:, :3, 3]
    xy, _ = project(cam, INTR)
    xy[track == 0] += rng.normal(0, 20, (6, 2))  # a track that does not fit
    result = triangulate(frame, track, xy, 20, poses, INTR)
    assert not result.ok[0] and result.ok[1:].all()
    assert np.abs(result.points[1:] - points[1:]).max() < 1e-9
    few = frame < 2  # two views: not enough observations
    assert not triangulate(frame[few], track[few], xy[few], 20, poses, INTR).ok.any()


def test_inverse_depth_fit_and_smoothing():
    rng = np.random.default_rng(5)
    z = rng.uniform(1, 8, 300)
    z_true = 1.0 / (0.8 / z + 0.03)
    (a, b), errors = fit_inverse(z_true, z)
    assert a == pytest.approx(0.8) and b == pytest.approx(0.03) and (errors < 1e-3).all()
    z_bad = z.copy()
    z_bad[:30] *= 3.0  # 10 % outliers
    (a, b), _ = fit_inverse(z_true, z_bad)
    assert a == pytest.approx(0.8, rel=1e-3) and b == pytest.approx(0.03, abs=1e-3)
    frame = np.repeat([0, 1, 4], 100)  # frames 2, 3 have no points
    fits = fit_frames(frame, z_true, z, 5, 12, 0.01, 4.0)
    assert np.allclose(fits.a, 0.8, atol=1e-6) and list(fits.points) == [100, 100, 0, 0, 100]
    depth = np.array([[2.0, 100.0]], np.float32)
    out, invalid = apply_fit(depth, 0.8, 0.03, 100.0, depth >= 100.0)
    assert out[0, 0] == pytest.approx(1 / (0.4 + 0.03)) and list(invalid[0]) == [False, True]


def test_sample_depth_bilinear_and_edges():
    depth = np.array([[2.0, 2.0, 9.0], [2.0, 2.0, 9.0], [4.0, 4.0, 100.0]], np.float32)
    depth[:2, :2] = [[2.0, 2.1], [2.2, 2.3]]
    values = sample_depth(depth, np.array([[0.5, 0.5], [1.5, 0.5], [1.2, 1.2]]), 100.0)
    assert values[0] == pytest.approx(2.15) and np.isnan(values[1]) and np.isnan(values[2])


def test_windows_cover_the_clip():
    spans = plan_windows(300, 120, 20)
    assert spans[0] == (0, 120) and spans[-1][1] == 300
    assert all(b[0] == a[1] - 20 for a, b in zip(spans, spans[1:]))
    keys = key_frames(300, 120)
    assert keys[0] == 0 and keys[-1] == 299 and len(keys) <= 121
