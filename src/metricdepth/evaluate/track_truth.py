"""Point tracks against the exact ground truth of a synthetic clip.

A track's first observation (frame i, pixel xy) names a surface point: the exact depth
there (ray-cast at the sub-pixel position), unprojected with frame i's pose, gives its
world position. Its true pixel in a later frame j is that point projected with frame j's
pose; it is visible there if the ray through that pixel hits it first (same depth). Only
points on static surfaces are judged (the moving object's points move with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera import invert_pose, project, transform_points, unproject
from ..io.sidecars import FrameTracks
from ..synthetic import SyntheticClip

# Relative depth agreement for "the ray through the true pixel hits this point first".
VISIBLE_DEPTH_TOL = 2e-3
# A tracked position this far (pixels) from its true pixel of a visible point has strayed.
JUMP_PX = 2.0


@dataclass(frozen=True)
class TrackTruth:
    """Ground-truth comparison of a set of tracks with a synthetic clip.

    errors: (M,) float64 pixels, distance of every later observation of a static point
        from its true pixel, where that point is visible.
    hidden: observations that continue a track although its point has been hidden
        (occluded, or out of view) for two frames or more: the track has moved onto
        another surface. (A point still tracked in the one frame in which it becomes
        hidden is where it should be, a fraction of a window from the occluder's edge;
        trackers see the occlusion a frame later.)
    strays: observations of visible points more than JUMP_PX from their true pixel.
    survival: fraction of static points seeded at least `horizon` frames before the end,
        with their tracking window on one surface and visible throughout those frames
        (and the window inside the image),
        that are still tracked `horizon` frames later.
    survivors_judged: how many points the survival fraction is taken over.
    """

    errors: np.ndarray
    hidden: int
    strays: int
    observations: int
    survival: float
    survivors_judged: int

    @property
    def median(self) -> float:
        return float(np.median(self.errors)) if len(self.errors) else float("nan")

    @property
    def p95(self) -> float:
        return float(np.percentile(self.errors, 95)) if len(self.errors) else float("nan")


def _true_pixels(
    clip: SyntheticClip, world: np.ndarray, frame: int, margin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) true pixels and (N,) bool visibility of (N, 3) world points in `frame`;
    visible only at least `margin` pixels inside the image."""
    cam = transform_points(invert_pose(clip.world_from_cam[frame]), world)
    xy, z = project(cam, clip.intrinsics)
    w, h = clip.intrinsics.width, clip.intrinsics.height
    lo = margin - 0.5
    inside = (
        np.isfinite(xy).all(1)
        & (xy[:, 0] >= lo)
        & (xy[:, 0] <= w - 1 - lo)
        & (xy[:, 1] >= lo)
        & (xy[:, 1] <= h - 1 - lo)
    )
    visible = np.zeros(len(world), bool)
    if inside.any():
        seen = clip.sample(clip.world_from_cam[frame], xy[inside], frame)
        visible[inside] = np.abs(seen.depth - z[inside]) <= VISIBLE_DEPTH_TOL * z[inside]
    return xy, visible


def _on_one_surface(clip: SyntheticClip, frame: int, xy: np.ndarray, radius: int) -> bool:
    """Whether the square window of `radius` pixels around pixel xy (x, y) of `frame`
    sees a single surface (no occlusion boundary or crease inside it)."""
    ids = clip.surface_ids[frame]
    x, y = int(round(xy[0])), int(round(xy[1]))
    window = ids[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
    return bool((window == ids[min(max(y, 0), ids.shape[0] - 1), min(max(x, 0), ids.shape[1] - 1)]).all())


def compare_tracks(
    clip: SyntheticClip, tracks: list[FrameTracks], horizon: int = 30, window_radius: int = 7
) -> TrackTruth:
    """Compare per-frame tracks (one FrameTracks per clip frame, pixels of the clip's
    size) with the truth. See TrackTruth.

    Survival is judged on points whose tracking window (`window_radius` pixels around
    the seed) lies on one static surface in the seed frame, and stays inside the image
    for the `horizon` frames: a corner formed by an occlusion boundary is no surface
    point, and a tracker should drop it.
    """
    if len(tracks) != clip.frames:
        raise ValueError(f"{len(tracks)} frames of tracks for a clip of {clip.frames}")
    seed_frame: dict[int, int] = {}  # id -> the frame its track starts in
    world_point: dict[int, np.ndarray] = {}  # id -> (3,) world point, static points only
    errors, hidden, strays, observations = [], 0, 0, 0
    was_hidden: set[int] = set()  # ids whose point was hidden in the previous frame
    seen_at: dict[int, set[int]] = {}
    surface_seeds: set[int] = set()
    for frame, ft in enumerate(tracks):
        new = np.array([i not in seed_frame for i in ft.ids.tolist()], bool)
        if new.any():
            sample = clip.sample(clip.world_from_cam[frame], ft.xy[new], frame)
            cam = unproject(ft.xy[new], sample.depth.astype(np.float64), clip.intrinsics)
            world = transform_points(clip.world_from_cam[frame], cam)
            for i, point, moving, xy in zip(ft.ids[new], world, sample.moving_mask, ft.xy[new]):
                seed_frame[int(i)] = frame
                if not moving:
                    world_point[int(i)] = point
                if not moving and _on_one_surface(clip, frame, xy, window_radius):
                    surface_seeds.add(int(i))
        old = np.flatnonzero(~new)
        static = [k for k in old if int(ft.ids[k]) in world_point]
        for k in static:
            seen_at.setdefault(int(ft.ids[k]), set()).add(frame)
        if not static:
            was_hidden = set()
            continue
        world = np.stack([world_point[int(ft.ids[k])] for k in static])
        true_xy, visible = _true_pixels(clip, world, frame)
        err = np.linalg.norm(ft.xy[static] - true_xy, axis=1)
        ids = ft.ids[static].tolist()
        observations += len(static)
        hidden += sum(1 for i, v in zip(ids, visible) if not v and i in was_hidden)
        was_hidden = {i for i, v in zip(ids, visible) if not v}
        strays += int(np.sum(visible & ~(err <= JUMP_PX)))
        errors.append(err[visible])

    judged = survived = 0
    static_seeds = [
        (i, seed_frame[i], w)
        for i, w in world_point.items()
        if i in surface_seeds and seed_frame[i] + horizon < clip.frames
    ]
    out_of_sight: set[int] = set()  # seeds whose point is hidden at some frame of the horizon
    for frame in range(clip.frames):
        batch = [(i, w) for i, f, w in static_seeds if f < frame <= f + horizon]
        if batch:
            _, visible = _true_pixels(clip, np.stack([w for _, w in batch]), frame, window_radius)
            out_of_sight.update(i for (i, _), v in zip(batch, visible) if not v)
    for track_id, first, _ in static_seeds:
        if track_id in out_of_sight:
            continue
        judged += 1
        survived += int(all(f in seen_at.get(track_id, ()) for f in range(first + 1, first + horizon + 1)))
    return TrackTruth(
        np.concatenate(errors) if errors else np.zeros(0),
        hidden,
        strays,
        observations,
        survived / judged if judged else float("nan"),
        judged,
    )
