"""Viewer geometry as plain arrays: points, meshes, edge removal and frustums, checked
against a synthetic clip's exact depth and poses (no rendering here)."""

from __future__ import annotations

import numpy as np
import pytest

from metricdepth.camera import Intrinsics, invert_pose, project, transform_points
from metricdepth.synthetic import make_scene
from metricdepth.viewer.geometry import (
    DrawStyle,
    build_frame_geometry,
    camera_frustum,
    frame_mesh,
    frame_points,
    steep_edge_limit,
    valid_pixels,
)


@pytest.fixture(scope="module")
def clip():
    return make_scene(seed=3, width=96, height=72, frames=5, moving=None)


def test_points_of_any_frame_land_on_frame_0s_surfaces(clip):
    """World-frame points of frame 4, seen from frame 0's camera, lie at frame 0's exact
    depth (a static scene): the pose is applied camera-to-world, not inverted."""
    intr, last = clip.intrinsics, clip.frames - 1
    valid = valid_pixels(clip.depth[last], 100.0)
    cloud = frame_points(clip.colour[last], clip.depth[last], valid, intr, clip.world_from_cam[last])
    xy, z = project(transform_points(invert_pose(clip.world_from_cam[0]), cloud.points), intr)
    exact = clip.sample(clip.world_from_cam[0], xy, 0).depth
    visible = np.isfinite(exact) & (np.abs(z - exact) < 0.05 * exact)  # not occluded in frame 0
    assert visible.mean() > 0.5
    assert np.median(np.abs(z - exact)[visible]) < 1e-4
    np.testing.assert_array_equal(cloud.colors, clip.colour[last][valid])


def test_valid_pixels_drop_far_zero_and_masked():
    depth = np.array([[0.0, 1.0, 5.0], [2.0, 100.0, 3.0]], np.float32)
    keep = np.array([[True, True, True], [False, True, True]])
    np.testing.assert_array_equal(valid_pixels(depth, 100.0, keep),
                                  [[False, True, True], [False, False, True]])
    np.testing.assert_array_equal(valid_pixels(depth, 4.0), [[False, True, False], [True, False, True]])


def test_mesh_faces_the_camera_and_covers_the_grid():
    """A fronto-parallel wall: 2 (W-1)(H-1) triangles, all wound counter-clockwise as the
    camera sees them (normals towards the camera)."""
    intr = Intrinsics.from_fov(8, 6, xfov=60)
    depth = np.full((6, 8), 2.0, np.float32)
    mesh = frame_mesh(np.zeros((6, 8, 3), np.uint8), depth, valid_pixels(depth, 100), intr, np.eye(4))
    assert len(mesh.triangles) == 2 * 7 * 5
    v = mesh.vertices[mesh.triangles]
    normals = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    assert (normals[:, 2] < 0).all()  # towards the camera at the origin (z forward)


def test_remove_edges_cuts_discontinuities_but_keeps_slanted_surfaces():
    """A box edge (1 m in front of a wall at 3 m) is cut; a floor seen at 80 degrees stays."""
    intr = Intrinsics.from_fov(40, 30, xfov=60)
    step = np.full((30, 40), 3.0, np.float32)
    step[:, :20] = 2.0
    colour = np.zeros((30, 40, 3), np.uint8)
    valid = valid_pixels(step, 100)
    kept = frame_mesh(colour, step, valid, intr, np.eye(4), remove_edges=True).triangles
    assert len(kept) == 2 * 29 * 38  # every triangle but the column across the step
    assert len(frame_mesh(colour, step, valid, intr, np.eye(4)).triangles) == 2 * 29 * 39
    # A plane whose depth grows by a relative step just below the limit per pixel.
    limit = steep_edge_limit(intr, 80.0)
    slanted = (2.0 * (1 + 0.9 * limit) ** np.arange(40, dtype=np.float64))[None].repeat(30, 0)
    slanted = slanted.astype(np.float32)
    mesh = frame_mesh(colour, slanted, valid_pixels(slanted, 1e6), intr, np.eye(4),
                      remove_edges=True, edge_angle_deg=80.0)
    assert len(mesh.triangles) == 2 * 29 * 39


def test_frustum_corners_project_onto_the_image_corners(clip):
    intr, pose = clip.intrinsics, clip.world_from_cam[2]
    frustum = camera_frustum(intr, pose, 0.5)
    np.testing.assert_allclose(frustum.points[0], pose[:3, 3])
    xy, z = project(transform_points(invert_pose(pose), frustum.points[1:]), intr)
    corners = [[-0.5, -0.5], [intr.width - 0.5, -0.5], [-0.5, intr.height - 0.5],
               [intr.width - 0.5, intr.height - 0.5]]
    np.testing.assert_allclose(xy, corners, atol=1e-9)
    np.testing.assert_allclose(z, 0.5)


def test_frame_geometry_follows_the_style(clip):
    args = (0, clip.colour[0], clip.depth[0], None, clip.intrinsics, clip.world_from_cam[0])
    points = build_frame_geometry(*args, DrawStyle())
    mesh = build_frame_geometry(*args, DrawStyle(mesh=True, show_camera=True))
    assert points.frustum is None and len(points.surface) == 96 * 72
    assert len(mesh.surface.triangles) > 0 and mesh.frustum is not None
