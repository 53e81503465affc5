"""Background seen in other frames, warped into an eye with depth and camera poses.

A hole of an eye at frame i is a surface the source camera of frame i does not see. A
neighbouring frame j often sees it (the camera moved, or the foreground did). Points of
frame j that frame i does not see are projected into the eye (a z-buffer keeps the
nearest); each hole pixel that receives one is traced back into frame j at the depth found
and coloured there (bilinear), if frame j does see that point. This recovers true content
instead of inventing it. A moving object seen in frame j lies elsewhere at frame i; where
it lies in front of what frame i sees, the same test drops it, and a subject mask
(step 2's mask video) drops it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..camera import Intrinsics, invert_pose, pixel_grid, project, transform_points, unproject

HIDDEN_TOLERANCE = 0.02  # relative: a point is hidden in a frame when it is this much behind
SAME_POINT_TOLERANCE = 0.02  # relative depth difference still counted as the same point
FAR_FRACTION = 0.999  # depth at or beyond this fraction of max_depth is "no depth"
# A disocclusion continues the surface on its background side: a candidate whose depth
# differs from that side's depth by more than this factor (either way) is another surface
# (say the wall behind a subject cut by the image border) and is not used.
BACKGROUND_DEPTH_RATIO = 1.5


@dataclass(frozen=True)
class SourceFrame:
    """One frame of the source video with its geometry.

    colour: (H, W, 3) uint8 RGB. depth: (H, W) float32, metres, z-depth.
    world_from_cam: (4, 4) float64, OpenCV axes, world = camera of frame 0.
    intrinsics: the frame's pinhole camera (pixels). max_depth: metres; depth at (nearly)
    max_depth means "no depth" (the depth video's convention for invalid pixels).
    subject: optional (H, W) bool, True on moving things (a step-2 mask); never warped
    into other frames, since their pose differs between frames.
    """

    colour: np.ndarray
    depth: np.ndarray
    world_from_cam: np.ndarray
    intrinsics: Intrinsics
    max_depth: float
    subject: np.ndarray | None = None

    @property
    def has_depth(self) -> np.ndarray:
        """(H, W) bool: pixels with a usable depth."""
        return (self.depth > 0) & (self.depth < FAR_FRACTION * self.max_depth)

    @property
    def static(self) -> np.ndarray:
        """(H, W) bool: pixels with a usable depth that may be warped to other times."""
        return self.has_depth if self.subject is None else self.has_depth & ~self.subject


def _nearest_depth(frame: SourceFrame, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of `frame` at the pixels nearest to xy (K, 2); and whether xy is inside."""
    h, w = frame.depth.shape
    xi, yi = np.rint(xy[:, 0]), np.rint(xy[:, 1])
    inside = np.isfinite(xi) & (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    d = np.full(len(xy), np.inf, np.float32)
    d[inside] = frame.depth[yi[inside].astype(int), xi[inside].astype(int)]
    return d, inside


def hidden_in(frame: SourceFrame, points_world: np.ndarray) -> np.ndarray:
    """(K,) bool: points (K, 3) metres, world frame, that `frame` does not see (outside its
    image, behind the camera, or behind the surface it sees there)."""
    xy, z = project(transform_points(invert_pose(frame.world_from_cam), points_world), frame.intrinsics)
    seen_depth, inside = _nearest_depth(frame, xy)
    return ~inside | (z <= 0) | (z > seen_depth * (1 + HIDDEN_TOLERANCE))


def _splat_depth(xy: np.ndarray, z: np.ndarray, height: int, width: int) -> np.ndarray:
    """Z-buffer of points at sub-pixel positions xy (K, 2), depth z (K,) metres: each point
    covers the 2 x 2 pixels around it (no cracks when a surface is magnified up to 2x).
    Returns (H, W) float32 with +inf where no point landed."""
    zbuf = np.full(height * width, np.inf, np.float32)
    x0, y0 = np.floor(xy[:, 0]).astype(np.int64), np.floor(xy[:, 1]).astype(np.int64)
    for dx in (0, 1):
        for dy in (0, 1):
            x, y = x0 + dx, y0 + dy
            ok = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            np.minimum.at(zbuf, y[ok] * width + x[ok], z[ok].astype(np.float32))
    return zbuf.reshape(height, width)


def neighbour_candidates(todo: np.ndarray, world_from_eye: np.ndarray, eye_intrinsics: Intrinsics,
                        source: SourceFrame, neighbour: SourceFrame) -> tuple[np.ndarray, np.ndarray]:
    """What `neighbour` offers for the eye's pixels marked `todo`.

    todo: (H, W) bool, holes of the eye. world_from_eye: (4, 4) float64 pose of the eye.
    source: the frame the eye was rendered from (its view defines what is hidden).
    Returns depth (H, W) float32, metres in the eye (+inf where nothing is offered), and
    colour (H, W, 3) float32 RGB.
    """
    height, width = todo.shape
    depth = np.full(todo.shape, np.inf, np.float32)
    colour = np.zeros((height, width, 3), np.float32)
    valid = neighbour.static
    x, y = pixel_grid(neighbour.intrinsics.width, neighbour.intrinsics.height)
    pts_cam = unproject(np.stack([x[valid], y[valid]], -1), neighbour.depth[valid], neighbour.intrinsics)
    pts_world = transform_points(neighbour.world_from_cam, pts_cam)
    pts_world = pts_world[hidden_in(source, pts_world)]
    if not len(pts_world):
        return depth, colour
    eye_xy, eye_z = project(transform_points(invert_pose(world_from_eye), pts_world), eye_intrinsics)
    front = eye_z > 0
    zbuf = _splat_depth(eye_xy[front], eye_z[front], height, width)

    ty, tx = np.nonzero(todo & np.isfinite(zbuf))
    if not len(ty):
        return depth, colour
    hole_world = transform_points(world_from_eye, unproject(
        np.stack([tx, ty], -1).astype(np.float64), zbuf[ty, tx].astype(np.float64), eye_intrinsics))
    n_xy, n_z = project(transform_points(invert_pose(neighbour.world_from_cam), hole_world),
                        neighbour.intrinsics)
    seen_depth, inside = _nearest_depth(neighbour, n_xy)
    ok = inside & (np.abs(seen_depth - n_z) <= SAME_POINT_TOLERANCE * n_z) & hidden_in(source, hole_world)
    if ok.any():
        map_xy = n_xy[ok].astype(np.float32).reshape(-1, 1, 2)
        colour[ty[ok], tx[ok]] = cv2.remap(neighbour.colour, map_xy, None, cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_REPLICATE).reshape(-1, 3)
        depth[ty[ok], tx[ok]] = zbuf[ty[ok], tx[ok]]
    return depth, colour


def eye_depth(source: SourceFrame, world_from_eye: np.ndarray, eye_intrinsics: Intrinsics) -> np.ndarray:
    """(H, W) float32 z-depth, metres, of the eye's view of the source frame's points
    (+inf where none lands: the holes)."""
    x, y = pixel_grid(source.intrinsics.width, source.intrinsics.height)
    valid = source.has_depth
    pts = transform_points(source.world_from_cam, unproject(
        np.stack([x[valid], y[valid]], -1), source.depth[valid], source.intrinsics))
    xy, z = project(transform_points(invert_pose(world_from_eye), pts), eye_intrinsics)
    front = z > 0
    return _splat_depth(xy[front], z[front], eye_intrinsics.height, eye_intrinsics.width)


def fill_from_neighbours(image: np.ndarray, holes: np.ndarray, background_depth: np.ndarray,
                         world_from_eye: np.ndarray, eye_intrinsics: Intrinsics,
                         source: SourceFrame, neighbours: list[SourceFrame]) -> np.ndarray:
    """Fill the `holes` of `image` with the nearest surface any of `neighbours` offers.

    image: (H, W, 3) float32 RGB of the eye, changed in place. holes: (H, W) bool.
    background_depth: (H, W) float32 metres, the depth on each hole pixel's background
    side (+inf: unknown, no check); candidates off by more than BACKGROUND_DEPTH_RATIO
    are refused.
    neighbours: in order of preference (nearest in time first); a later one wins a pixel
    only with a surface nearer by more than SAME_POINT_TOLERANCE (the true surface at a
    disocclusion is the nearest one hidden from the source frame).
    Returns (H, W) bool: the pixels filled.
    """
    best = np.full(holes.shape, np.inf, np.float32)
    for neighbour in neighbours:
        depth, colour = neighbour_candidates(holes, world_from_eye, eye_intrinsics, source, neighbour)
        with np.errstate(invalid="ignore"):
            plausible = ~np.isfinite(background_depth) | (
                (depth < background_depth * BACKGROUND_DEPTH_RATIO)
                & (depth * BACKGROUND_DEPTH_RATIO > background_depth))
        better = plausible & (depth < best * (1 - SAME_POINT_TOLERANCE))
        best[better] = depth[better]
        image[better] = colour[better]
    return np.isfinite(best)
