"""A video to check a pose solution by eye: each frame with its tracked points and where
the solution projects them.

Green dot: a kept track position; red dot: one not kept (rejected: a moving object, a
slipped track; or not used: beyond the per-frame track budget);
white line: from the tracked position to the projection of the track's 3D point.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..camera import Intrinsics
from ..io.video import VideoWriter
from .bundle import Problem, Reconstruction, project_problem
from .observations import Observations

KEPT, REJECTED, LINE = (0, 220, 0), (230, 0, 0), (255, 255, 255)  # RGB
DOT_RADIUS_PX = 2


def write_debug_video(
    path: Path,
    backgrounds: Iterable[np.ndarray],
    obs: Observations,
    inliers: np.ndarray,
    rec: Reconstruction,
    intr: Intrinsics,
    fps: Fraction,
    overwrite: bool,
) -> Path:
    """backgrounds: (H, W, 3) uint8 RGB per frame (the colour video, or depth shown as
    grey); obs: every observation; inliers: (M,) bool kept by the solution."""
    placed = np.isfinite(rec.points[obs.track]).all(axis=1)
    problem = Problem(obs.frame, obs.track, obs.xy, obs.depth)
    projected = np.full((len(obs), 2), np.nan)
    projected[placed] = project_problem(rec, _rows(problem, placed), intr)
    with VideoWriter(
        path, intr.width, intr.height, fps, overwrite=overwrite, expected_frames=obs.frame_count
    ) as video:
        for f, background in enumerate(backgrounds):
            image = np.ascontiguousarray(background)
            rows = np.flatnonzero(obs.frame == f)
            for row in rows:
                x, y = obs.xy[row]
                start = (int(round(x)), int(round(y)))
                if np.isfinite(projected[row]).all():
                    end = tuple(int(round(v)) for v in np.clip(projected[row], -1e4, 1e4))
                    cv2.line(image, start, end, LINE, 1, cv2.LINE_AA)
                cv2.circle(image, start, DOT_RADIUS_PX, KEPT if inliers[row] else REJECTED, -1)
            video.write(image)
    return path


def _rows(problem: Problem, rows: np.ndarray) -> Problem:
    return Problem(problem.frame[rows], problem.point[rows], problem.xy[rows], problem.depth[rows])
