"""Open3D windows a step may open on request (``--show_scene_point_clouds``, view_3d's
playback), and what happens without a display: one warning line, and the step goes on.

Nothing here ever waits for a window that cannot appear.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

import numpy as np

from ..io.ply import PointCloud

log = logging.getLogger(__name__)

NO_DISPLAY = "no display: skipping the point-cloud window; use view_3d.py --render FILE"


def has_display() -> bool:
    """Whether a window can be opened: always off Linux, else DISPLAY or WAYLAND_DISPLAY."""
    return not sys.platform.startswith("linux") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def merge_clouds(clouds: Sequence[PointCloud]) -> PointCloud:
    """One point cloud holding all of `clouds` (colours and ids kept only where every
    cloud has them)."""
    colors = [c.colors for c in clouds if c.colors is not None]
    ids = [c.ids for c in clouds if c.ids is not None]
    return PointCloud(
        np.concatenate([c.points for c in clouds]) if clouds else np.zeros((0, 3)),
        np.concatenate(colors) if clouds and len(colors) == len(clouds) else None,
        np.concatenate(ids) if clouds and len(ids) == len(clouds) else None,
    )


def show_point_clouds(clouds: Sequence[PointCloud], title: str) -> bool:
    """Show `clouds` (metres, world frame) in one Open3D window until the user closes it.
    Without a display, log the one-line warning and return False at once."""
    if not has_display():
        log.warning(NO_DISPLAY)
        return False
    import open3d as o3d

    from .o3d_geometry import legacy_points

    o3d.visualization.draw_geometries([legacy_points(c) for c in clouds], window_name=title)
    return True
