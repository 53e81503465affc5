"""The conventions of docs/conventions.md, checked on the code that implements them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metricdepth.camera import (Intrinsics, check_fov, invert_pose, look_at, project,
                                rotation_about_axis, stereo_eye_pose, transform_points,
                                unproject, unproject_depth)
from metricdepth.errors import InputError


def test_focal_from_xfov_and_centred_principal_point():
    intr = Intrinsics.from_fov(640, 480, xfov=90.0)
    assert intr.fx == pytest.approx(320.0) and intr.fy == intr.fx  # fx = W / (2 tan(xfov/2))
    assert (intr.cx, intr.cy) == (319.5, 239.5)                     # ((W-1)/2, (H-1)/2)
    assert intr.xfov == pytest.approx(90.0)
    assert intr.yfov == pytest.approx(math.degrees(2 * math.atan(240 / 320)))


def test_one_fov_fixes_the_other():
    by_x = Intrinsics.from_fov(1280, 720, xfov=70.0)
    by_y = Intrinsics.from_fov(1280, 720, yfov=by_x.yfov)
    assert by_y.fx == pytest.approx(by_x.fx) and by_y.xfov == pytest.approx(70.0)


@pytest.mark.parametrize("fov", [1.0, 179.0, 0.0, -5.0, 200.0, float("nan")])
def test_fov_outside_the_open_range_is_refused(fov):
    with pytest.raises(InputError, match="outside"):
        check_fov(fov, "--xfov")


def test_axes_x_right_y_down_z_forward():
    intr = Intrinsics.from_fov(101, 81, xfov=60.0)
    xy, z = project(np.array([[0.0, 0.0, 2.0], [0.5, 0.0, 2.0], [0.0, 0.5, 2.0]]), intr)
    assert xy[0].tolist() == [50.0, 40.0]           # optical axis -> centre pixel
    assert xy[1, 0] > 50 and xy[1, 1] == 40          # +x is right
    assert xy[2, 1] > 40 and xy[2, 0] == 50          # +y is down
    assert z.tolist() == [2.0, 2.0, 2.0]             # z-depth, not ray length


def test_depth_is_z_not_ray_length():
    intr = Intrinsics.from_fov(64, 48, xfov=90.0)
    points = unproject_depth(np.full((48, 64), 3.0, np.float32), intr)
    assert np.allclose(points[..., 2], 3.0)
    corner_ray_length = np.linalg.norm(points[0, 0])
    assert corner_ray_length > 3.0


def test_project_unproject_round_trip():
    intr = Intrinsics(320, 240, 300.0, 310.0, 150.2, 130.7)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 300, (50, 2))
    depth = rng.uniform(0.5, 20, 50)
    back, z = project(unproject(xy, depth, intr), intr)
    assert np.allclose(back, xy) and np.allclose(z, depth)


def test_from_K_and_scaled_keep_pixel_edges():
    intr = Intrinsics.from_fov(640, 480, xfov=60.0)
    assert Intrinsics.from_K(intr.K, 640, 480) == intr
    half = intr.scaled(320, 240)
    assert (half.cx, half.cy) == (159.5, 119.5) and half.fx == pytest.approx(intr.fx / 2)
    assert half.xfov == pytest.approx(60.0)
    # the right edge of the last pixel, x = W - 0.5, maps to the new right edge
    edge = np.array([[639.5, 239.5]])
    point = unproject(edge, np.array([1.0]), intr)
    assert project(point, half)[0][0, 0] == pytest.approx(319.5)


def test_look_at_keeps_world_up_up_in_the_image():
    assert np.allclose(look_at([0, 0, 0], [0, 0, 1]), np.eye(4))  # up = -y: OpenCV's own axes
    world_from_cam = look_at([0.0, 0.0, 0.0], [3.0, 0.0, 3.0])
    intr = Intrinsics.from_fov(101, 81, xfov=60.0)
    above, right = np.array([[3.0, -1.0, 3.0]]), np.array([[3.0, 0.0, 1.0]])
    cam_from_world = invert_pose(world_from_cam)
    assert project(transform_points(cam_from_world, above), intr)[0][0, 1] < 40
    assert project(transform_points(cam_from_world, right), intr)[0][0, 0] > 50
    assert np.linalg.det(world_from_cam[:3, :3]) == pytest.approx(1.0)


def test_pose_helpers_name_directions():
    world_from_cam = look_at([1.0, -0.5, 0.0], [0.0, 0.0, 5.0])
    assert np.allclose(transform_points(world_from_cam, np.zeros(3)), [1.0, -0.5, 0.0])
    ahead = transform_points(world_from_cam, np.array([0.0, 0.0, 1.0]))
    direction = np.array([-1.0, 0.5, 5.0]) / np.linalg.norm([-1.0, 0.5, 5.0])
    assert np.allclose(ahead - [1.0, -0.5, 0.0], direction)
    cam_from_world = invert_pose(world_from_cam)
    assert np.allclose(cam_from_world @ world_from_cam, np.eye(4))
    R = rotation_about_axis([0, 1, 0], 0.3)
    assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)


def test_right_eye_sees_x_right_equals_x_left_minus_disparity():
    intr = Intrinsics.from_fov(320, 240, xfov=60.0)
    baseline, z = 0.063, 2.5
    world_from_left = np.eye(4)
    world_from_right = stereo_eye_pose(world_from_left, baseline)
    point_world = np.array([[0.3, -0.1, z]])
    x_left = project(transform_points(invert_pose(world_from_left), point_world), intr)[0][0, 0]
    x_right = project(transform_points(invert_pose(world_from_right), point_world), intr)[0][0, 0]
    assert x_left - x_right == pytest.approx(intr.fx * baseline / z)
