"""Open3D objects from the viewer's plain arrays (`geometry`).

Two flavours of the same drawing: tensor geometry (`open3d.t.geometry`) for the headless
renderer, and legacy geometry (`open3d.geometry`) for the legacy window. The headless
renderer is given tensor geometry because with legacy meshes Filament (0.20, software
Vulkan) stalls for 20-140 s on some frames after a geometry is replaced; tensor geometry
renders every frame in well under a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import open3d as o3d

from ..io.ply import PointCloud
from .geometry import FrameGeometry, FrameMesh, Frustum

FRUSTUM_COLOUR = (1.0, 0.55, 0.0)  # orange, RGB in [0, 1]
UNCOLOURED_GREY = 160  # uint8 grey of points without colours


def _unit_colours(colors: np.ndarray | None, count: int) -> np.ndarray:
    """(N, 3) uint8 RGB (or None: grey) -> (N, 3) float32 in [0, 1]."""
    if colors is None:
        return np.full((count, 3), UNCOLOURED_GREY / 255.0, np.float32)
    return colors.astype(np.float32) / np.float32(255.0)


# -- tensor geometry (headless renderer) --------------------------------------------


def _tensor(array: np.ndarray, dtype: npt.DTypeLike) -> o3d.core.Tensor:
    # Open3D's stubs list dtype and device as required; they default to the array's and CPU
    return o3d.core.Tensor(np.ascontiguousarray(array, dtype=dtype))  # type: ignore[call-overload]


def tensor_points(cloud: PointCloud) -> o3d.t.geometry.PointCloud:
    """Points in metres (world frame) with colours; grey when `cloud` has none."""
    result = o3d.t.geometry.PointCloud(_tensor(cloud.points, np.float32))
    result.point.colors = _tensor(_unit_colours(cloud.colors, len(cloud)), np.float32)
    return result


def tensor_mesh(mesh: FrameMesh) -> o3d.t.geometry.TriangleMesh:
    """`mesh` (vertices in metres, world frame) with vertex colours."""
    result = o3d.t.geometry.TriangleMesh(
        _tensor(mesh.vertices, np.float32), _tensor(mesh.triangles, np.int32)
    )
    result.vertex.colors = _tensor(_unit_colours(mesh.colors, len(mesh.vertices)), np.float32)
    return result


def tensor_lines(frustum: Frustum) -> o3d.t.geometry.LineSet:
    """`frustum` as lines in FRUSTUM_COLOUR."""
    result = o3d.t.geometry.LineSet(_tensor(frustum.points, np.float32), _tensor(frustum.lines, np.int32))
    result.line.colors = _tensor(np.tile(FRUSTUM_COLOUR, (len(frustum.lines), 1)), np.float32)
    return result


# -- legacy geometry (window) -------------------------------------------------------


def legacy_points(cloud: PointCloud) -> o3d.geometry.PointCloud:
    """As `tensor_points`, for the legacy visualizer."""
    result = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(cloud.points.astype(np.float64)))
    result.colors = o3d.utility.Vector3dVector(_unit_colours(cloud.colors, len(cloud)).astype(np.float64))
    return result


def legacy_mesh(mesh: FrameMesh) -> o3d.geometry.TriangleMesh:
    """As `tensor_mesh`, for the legacy visualizer."""
    result = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(mesh.vertices.astype(np.float64)),
        o3d.utility.Vector3iVector(mesh.triangles),
    )
    result.vertex_colors = o3d.utility.Vector3dVector(
        _unit_colours(mesh.colors, len(mesh.vertices)).astype(np.float64)
    )
    return result


def legacy_lines(frustum: Frustum) -> o3d.geometry.LineSet:
    """As `tensor_lines`, for the legacy visualizer."""
    result = o3d.geometry.LineSet(
        o3d.utility.Vector3dVector(frustum.points), o3d.utility.Vector2iVector(frustum.lines)
    )
    result.paint_uniform_color(FRUSTUM_COLOUR)
    return result


_BUILDERS = {
    True: (tensor_points, tensor_mesh, tensor_lines),
    False: (legacy_points, legacy_mesh, legacy_lines),
}


def frame_geometries(frame: FrameGeometry, tensor: bool) -> dict[str, Any]:
    """Open3D objects of one frame by name, 'surface' and, if drawn, 'camera': tensor
    geometry if `tensor` (headless renderer), else legacy geometry (window)."""
    points, mesh, lines = _BUILDERS[tensor]
    surface = frame.surface
    result = {"surface": mesh(surface) if isinstance(surface, FrameMesh) else points(surface)}
    if frame.frustum is not None:
        result["camera"] = lines(frame.frustum)
    return result
