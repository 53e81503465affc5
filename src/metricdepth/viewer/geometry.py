"""What the viewer draws for one frame, as plain arrays (no Open3D here).

A frame's colour and z-depth become points or a triangle mesh in the world frame (the
camera of frame 0, OpenCV axes: x right, y down, z forward), placed by the frame's
``world_from_cam`` pose; a camera becomes the line drawing of its viewing frustum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..camera import Intrinsics, transform_points, unproject, unproject_depth
from ..io.ply import PointCloud

# A mesh edge between two neighbouring pixels is a depth discontinuity (removed by
# --remove_edges) when the surface it spans would be seen more obliquely than this,
# in degrees from face-on. Two neighbouring pixels on a plane tilted by angle a from
# face-on differ in depth by about z * tan(a) / f (f: focal length in pixels), so the
# test is resolution-independent: |dz| / z > tan(a) / f.
DEFAULT_EDGE_ANGLE_DEG = 85.0


@dataclass(frozen=True)
class FrameMesh:
    """A triangle mesh in the world frame.

    vertices: (V, 3) float32, metres, world frame. colors: (V, 3) uint8 RGB.
    triangles: (T, 3) int32 vertex indices, wound so that the side facing the camera that
    saw them is the front (counter-clockwise as seen from that camera).
    """

    vertices: np.ndarray
    colors: np.ndarray
    triangles: np.ndarray


def valid_pixels(depth: np.ndarray, far_m: float, keep: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: pixels with depth in (0, far_m) and, if given, `keep` True.

    depth: (H, W) float32, metres, z-depth. far_m: metres; depth at or beyond it is "no
    depth" (our depth videos store missing depth as their max_depth).
    keep: (H, W) bool or None, e.g. a subject mask (True = show).
    """
    valid = (depth > 0) & (depth < far_m)
    if keep is not None:
        valid &= keep
    return valid


def frame_points(
    colour: np.ndarray, depth: np.ndarray, valid: np.ndarray, intr: Intrinsics, world_from_cam: np.ndarray
) -> PointCloud:
    """One point per valid pixel, in the world frame.

    colour: (H, W, 3) uint8 RGB. depth: (H, W) float32, metres, z-depth. valid: (H, W)
    bool (see `valid_pixels`). world_from_cam: (4, 4) float64 camera-to-world pose.
    Returns points (N, 3) float32 metres, world frame, with their colours, in row-major
    pixel order.
    """
    cam_points = unproject_depth(depth, intr)[valid]
    # float32 pose: numpy's float32 @ float64 product is ~6x slower, and float32 is exact
    # to a micrometre at metres.
    pose = np.asarray(world_from_cam, dtype=np.float32)
    return PointCloud(transform_points(pose, cam_points), colour[valid])


def steep_edge_limit(intr: Intrinsics, edge_angle_deg: float) -> float:
    """Largest relative depth step |dz| / z between neighbouring pixels on a surface
    seen at most `edge_angle_deg` from face-on (see DEFAULT_EDGE_ANGLE_DEG)."""
    return math.tan(math.radians(edge_angle_deg)) / min(intr.fx, intr.fy)


def frame_mesh(
    colour: np.ndarray,
    depth: np.ndarray,
    valid: np.ndarray,
    intr: Intrinsics,
    world_from_cam: np.ndarray,
    remove_edges: bool = False,
    edge_angle_deg: float = DEFAULT_EDGE_ANGLE_DEG,
) -> FrameMesh:
    """A mesh over the pixel grid: each 2x2 block of valid pixels gives two triangles.

    Arrays as in `frame_points`. remove_edges: drop triangles with an edge across a depth
    discontinuity (relative depth step above `steep_edge_limit`), so that a foreground
    object is not joined to the background by a skin of stretched triangles.
    """
    height, width = depth.shape
    index = np.full((height, width), -1, np.int64)
    index[valid] = np.arange(int(valid.sum()))
    # Corners of each 2x2 block: a = (x, y), b = (x + 1, y), c = (x, y + 1), d = (x + 1, y + 1).
    a, b = index[:-1, :-1], index[:-1, 1:]
    c, d = index[1:, :-1], index[1:, 1:]
    # With y down and z forward, (a, c, b) is counter-clockwise as seen by the camera.
    upper = np.stack([a, c, b], axis=-1)
    lower = np.stack([b, c, d], axis=-1)
    triangles = np.concatenate([upper.reshape(-1, 3), lower.reshape(-1, 3)])
    triangles = triangles[(triangles >= 0).all(axis=1)]
    cloud = frame_points(colour, depth, valid, intr, world_from_cam)
    if remove_edges and len(triangles):
        z = depth[valid][triangles]
        step = (z.max(axis=1) - z.min(axis=1)) / z.min(axis=1)
        triangles = triangles[step <= steep_edge_limit(intr, edge_angle_deg)]
    assert cloud.colors is not None  # frame_points colours every point
    return FrameMesh(cloud.points, cloud.colors, triangles.astype(np.int32))


@dataclass(frozen=True)
class Frustum:
    """Line drawing of a camera. points: (5, 3) float64 metres, world frame (the centre,
    then the image corners at the drawing depth); lines: (8, 2) int32 point indices."""

    points: np.ndarray
    lines: np.ndarray


_FRUSTUM_LINES = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 4], [4, 3], [3, 1]], np.int32)


def camera_frustum(intr: Intrinsics, world_from_cam: np.ndarray, depth_m: float) -> Frustum:
    """The frustum of a camera drawn to `depth_m` metres along its optical axis."""
    x0, y0 = -0.5, -0.5
    x1, y1 = intr.width - 0.5, intr.height - 0.5
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]])
    cam = np.concatenate([np.zeros((1, 3)), unproject(corners, np.full(4, depth_m), intr)])
    return Frustum(transform_points(world_from_cam, cam), _FRUSTUM_LINES)


# The drawn frustum reaches this fraction of the frame's median depth (so it scales with
# the scene), or FRUSTUM_DEPTH_M where the frame has no depth.
FRUSTUM_DEPTH_FRACTION = 0.15
FRUSTUM_DEPTH_M = 0.3


@dataclass(frozen=True)
class DrawStyle:
    """How a frame is drawn. mesh: triangles (else points). remove_edges, edge_angle_deg:
    see `frame_mesh`. far_m: metres, depth at or beyond is not drawn. show_camera: draw
    the frame's camera frustum."""

    mesh: bool = False
    remove_edges: bool = False
    edge_angle_deg: float = DEFAULT_EDGE_ANGLE_DEG
    far_m: float = 100.0
    show_camera: bool = False


@dataclass(frozen=True)
class FrameGeometry:
    """What is drawn for one frame: `surface` (points or a mesh) and, if asked, the
    camera's `frustum`. index: the frame index."""

    index: int
    surface: PointCloud | FrameMesh
    frustum: Frustum | None


def build_frame_geometry(
    index: int,
    colour: np.ndarray,
    depth: np.ndarray,
    keep: np.ndarray | None,
    intr: Intrinsics,
    world_from_cam: np.ndarray,
    style: DrawStyle,
) -> FrameGeometry:
    """Points or mesh (and frustum) of one frame; arrays as in `frame_points`, keep as in
    `valid_pixels`."""
    valid = valid_pixels(depth, style.far_m, keep)
    surface: FrameMesh | PointCloud
    if style.mesh:
        surface = frame_mesh(
            colour, depth, valid, intr, world_from_cam, style.remove_edges, style.edge_angle_deg
        )
    else:
        surface = frame_points(colour, depth, valid, intr, world_from_cam)
    frustum = None
    if style.show_camera:
        seen = depth[valid]
        size = FRUSTUM_DEPTH_FRACTION * float(np.median(seen)) if seen.size else FRUSTUM_DEPTH_M
        frustum = camera_frustum(intr, world_from_cam, size)
    return FrameGeometry(index, surface, frustum)
