"""Exact point tracks of synthetic scenes, standing in for a tracker in tests and benchmarks.

`clip_tracks(clip)`: tracks of a rendered `SyntheticClip`. Points are seeded on a
jittered grid every few frames, moved with their surface (static, or the moving object),
projected into each later frame and kept while they stay inside the image and in view
(the scene, sampled at the projected sub-pixel position, shows the same surface at the
same depth); a track ends at its first occlusion, as a tracker's would.

`corrupt_depth(depth)`: depth as a monocular model gets it wrong: a per-frame scale that
drifts as a random walk, and per-pixel noise. `write_inputs(...)`: the files steps 4 and
5 read (colour, depth, mask videos and the tracking JSON), from arrays.

`room_tracks(...)`: a cheap geometric stand-in for long or large clips: random points on
the walls of an empty box room (never occluded from inside it) seen by a moving camera,
with the exact depth of any frame rendered analytically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import (
    Intrinsics,
    invert_pose,
    make_pose,
    project,
    rotation_about_axis,
    transform_points,
    unproject,
)
from ..io import naming
from ..io.depth_video import DepthVideoWriter
from ..io.mask_video import MaskVideoWriter
from ..io.sidecars import FrameTracks, write_tracking
from ..io.video import VideoWriter
from ..synthetic import SyntheticClip

SEED_EVERY_FRAMES = 4  # new tracks are seeded every this many frames
SEED_SPACING_PX = 12.0  # grid spacing of the seeds; no seed within this of a live track
SAME_DEPTH_REL = 1e-3  # a projected point is in view where the scene's depth agrees this well
SCALE_RANGE = (0.8, 1.25)  # corrupt_depth: the per-frame scale stays in this range
SCALE_STEP = 0.06  # corrupt_depth: standard deviation of the log-scale random walk step


@dataclass(frozen=True)
class _Live:
    """Tracks being followed: ids (K,), surface ids (K,), points (K, 3) metres in the
    frame of their object (world for static surfaces, the moving object's local frame)."""

    ids: np.ndarray
    surfaces: np.ndarray
    points: np.ndarray


def _moving_pose(clip: SyntheticClip, frame: int) -> np.ndarray:
    """(4, 4) world_from_local of the moving object at `frame` (identity if none)."""
    for obj in clip.scene.objects:
        if obj.path is not None:
            return obj.world_from_local(clip.phase(frame))
    return np.eye(4)


def _to_world(clip: SyntheticClip, live: _Live, frame: int) -> np.ndarray:
    moving = np.isin(live.surfaces, list(clip.scene.moving_ids))
    pose = _moving_pose(clip, frame)
    return np.where(moving[:, None], transform_points(pose, live.points), live.points)


def _seed(
    clip: SyntheticClip,
    frame: int,
    taken_xy: np.ndarray,
    next_id: int,
    rng: np.random.Generator,
    spacing: float,
) -> _Live:
    """New tracks in `frame` on a jittered grid, away from the live tracks' `taken_xy`."""
    intr = clip.intrinsics
    xs = np.arange(spacing / 2, intr.width - 0.5, spacing)
    ys = np.arange(spacing / 2, intr.height - 0.5, spacing)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    grid = grid + rng.uniform(-spacing / 3, spacing / 3, grid.shape)
    if len(taken_xy):
        dist = np.linalg.norm(grid[:, None, :] - taken_xy[None, :, :], axis=2).min(axis=1)
        grid = grid[dist > spacing]
    view = clip.sample(clip.world_from_cam[frame], grid, frame)
    keep = np.isfinite(view.depth)
    grid, depth, surfaces = grid[keep], view.depth[keep].astype(np.float64), view.surface_ids[keep]
    world = transform_points(clip.world_from_cam[frame], unproject(grid, depth, intr))
    moving = np.isin(surfaces, list(clip.scene.moving_ids))
    local = transform_points(invert_pose(_moving_pose(clip, frame)), world)
    points = np.where(moving[:, None], local, world)
    return _Live(np.arange(next_id, next_id + len(grid)), surfaces, points)


def clip_tracks(
    clip: SyntheticClip,
    noise_px: float = 0.0,
    seed: int = 0,
    seed_every: int = SEED_EVERY_FRAMES,
    spacing_px: float = SEED_SPACING_PX,
) -> list[FrameTracks]:
    """Exact tracks of `clip`, one FrameTracks per frame (pixels, sub-pixel).

    noise_px: standard deviation of Gaussian noise added to every position, pixels
    (positions stay inside the image). Tracks on the moving object follow it.
    """
    rng = np.random.default_rng(seed)
    intr = clip.intrinsics
    live = _Live(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros((0, 3)))
    frames, next_id = [], 0
    for f in range(clip.frames):
        xy = np.zeros((0, 2))
        if len(live.ids):
            cam = transform_points(invert_pose(clip.world_from_cam[f]), _to_world(clip, live, f))
            xy, z = project(cam, intr)
            inside = (
                np.isfinite(xy).all(axis=1)
                & (xy[:, 0] >= -0.5)
                & (xy[:, 1] >= -0.5)
                & (xy[:, 0] <= intr.width - 0.5)
                & (xy[:, 1] <= intr.height - 0.5)
            )
            view = clip.sample(clip.world_from_cam[f], np.where(inside[:, None], xy, 0.0), f)
            seen = (
                inside & (view.surface_ids == live.surfaces) & (np.abs(view.depth - z) <= SAME_DEPTH_REL * z)
            )
            live = _Live(live.ids[seen], live.surfaces[seen], live.points[seen])
            xy = xy[seen]
        if f % seed_every == 0:
            new = _seed(clip, f, xy, next_id, rng, spacing_px)
            next_id += len(new.ids)
            new_xy, _ = project(
                transform_points(invert_pose(clip.world_from_cam[f]), _to_world(clip, new, f)), intr
            )
            live = _Live(
                np.concatenate([live.ids, new.ids]),
                np.concatenate([live.surfaces, new.surfaces]),
                np.concatenate([live.points, new.points]),
            )
            xy = np.concatenate([xy, new_xy])
        frames.append(FrameTracks(live.ids.copy(), _noisy(xy, noise_px, intr, rng)))
    return frames


def _noisy(xy: np.ndarray, noise_px: float, intr: Intrinsics, rng: np.random.Generator) -> np.ndarray:
    """xy (N, 2) pixels plus Gaussian noise, clipped to the image [-0.5, W - 0.5]."""
    if noise_px > 0:
        xy = xy + rng.normal(0.0, noise_px, xy.shape)
    return np.clip(xy, -0.5, [intr.width - 0.5, intr.height - 0.5])


def corrupt_depth(
    depth: np.ndarray,
    noise_rel: float = 0.02,
    seed: int = 0,
    scale_step: float = SCALE_STEP,
    scale_range: tuple[float, float] = SCALE_RANGE,
) -> tuple[np.ndarray, np.ndarray]:
    """Depth as a monocular model might give it.

    depth: (N, H, W) float32 metres. Each frame is multiplied by a scale that follows a
    random walk in log scale (step `scale_step`, clipped to `scale_range`) and each pixel
    by (1 + noise_rel * standard normal). Returns the (N, H, W) float32 depth and the
    (N,) scales.
    """
    rng = np.random.default_rng(seed)
    lo, hi = np.log(scale_range)
    log_scale, scales = 0.0, np.empty(len(depth))
    for i in range(len(depth)):
        log_scale = float(np.clip(log_scale + rng.normal(0.0, scale_step), lo, hi))
        scales[i] = np.exp(log_scale)
    noise = 1.0 + noise_rel * rng.standard_normal(depth.shape, dtype=np.float32)
    return (depth * scales[:, None, None].astype(np.float32) * noise).astype(np.float32), scales


def write_inputs(
    colour_path: Path,
    colour: np.ndarray | None,
    depth: np.ndarray,
    tracks: list[FrameTracks],
    mask: np.ndarray | None = None,
    fps: int = 30,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write what steps 4 and 5 read for a colour video at `colour_path`: the colour video
    (if `colour` is given), ``_depth.mkv``, ``_mask.mkv`` (if `mask`), ``_tracking.json``.

    colour: (N, H, W, 3) uint8 RGB. depth: (N, H, W) float32 metres (inf: no depth).
    mask: (N, H, W) bool. Returns the paths by role.
    """
    n, height, width = depth.shape
    paths = {
        "depth": naming.output_path(colour_path, naming.DEPTH),
        "tracks": naming.output_path(colour_path, naming.TRACKING),
    }
    if colour is not None:
        paths["colour"] = colour_path
        with VideoWriter(colour_path, width, height, fps, overwrite=overwrite) as video:
            video.write_frames(colour)
    with DepthVideoWriter(paths["depth"], width, height, fps, overwrite=overwrite) as video:
        for frame in depth:
            video.write(frame, invalid=~np.isfinite(frame))
    if mask is not None:
        paths["mask"] = naming.output_path(colour_path, naming.MASK)
        with MaskVideoWriter(paths["mask"], width, height, fps, overwrite=overwrite) as video:
            for frame in mask:
                video.write(frame)
    write_tracking(paths["tracks"], tracks, overwrite)
    return paths


# --- the geometric room --------------------------------------------------------------

ROOM_HALF_SIZE_M = np.array([3.0, 1.5, 4.0])  # half width, height, depth of the box room
ROOM_CAMERA_START_M = np.array([0.0, 0.3, -2.0])  # first camera, room frame (y down)


@dataclass(frozen=True)
class RoomTracks:
    """Tracks of random wall points of a box room seen by a moving camera.

    intrinsics: the camera (pixels). world_from_cam: (N, 4, 4) float64, world = camera of
    frame 0. tracks: N FrameTracks. points: (P, 3) float64 metres, world frame, indexed
    by track id. room_from_world: (4, 4) float64.
    """

    intrinsics: Intrinsics
    world_from_cam: np.ndarray
    tracks: list[FrameTracks]
    points: np.ndarray
    room_from_world: np.ndarray

    def depth(self, frame: int) -> np.ndarray:
        """Exact (H, W) float32 z-depth of frame `frame`, metres."""
        intr = self.intrinsics
        x, y = np.meshgrid(np.arange(intr.width), np.arange(intr.height))
        rays_cam = np.stack(
            [(x - intr.cx) / intr.fx, (y - intr.cy) / intr.fy, np.ones(x.shape)], axis=-1
        )  # z = 1: ray parameter is z-depth
        room_from_cam = self.room_from_world @ self.world_from_cam[frame]
        dirs = rays_cam @ room_from_cam[:3, :3].T
        origin = room_from_cam[:3, 3]
        with np.errstate(divide="ignore"):
            exits = (np.sign(dirs) * ROOM_HALF_SIZE_M - origin) / dirs
        return np.nanmin(np.where(dirs != 0, exits, np.inf), axis=-1).astype(np.float32)


def room_path(frames: int, translation_m: float, rotation_deg: float) -> np.ndarray:
    """(frames, 4, 4) room_from_cam: a camera sliding `translation_m` sideways, moving
    forward and back by a third of it, and turning `rotation_deg` (yaw, some pitch)."""
    s = np.linspace(0.0, 1.0, frames)
    poses = np.empty((frames, 4, 4))
    for i, si in enumerate(s):
        ease = (1 - math.cos(math.pi * si)) / 2
        yaw = math.radians(rotation_deg) * (ease - 0.5)
        pitch = math.radians(rotation_deg) * 0.3 * math.sin(2 * math.pi * si)
        rotation = rotation_about_axis(np.array([0.0, 1.0, 0.0]), yaw) @ rotation_about_axis(
            np.array([1.0, 0.0, 0.0]), pitch
        )
        centre = ROOM_CAMERA_START_M + np.array(
            [translation_m * (ease - 0.5), 0.0, translation_m / 3 * math.sin(math.pi * si)]
        )
        poses[i] = make_pose(rotation, centre)
    return poses


def _wall_points(count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 3) random points on the six faces of the room, room frame."""
    points = rng.uniform(-ROOM_HALF_SIZE_M, ROOM_HALF_SIZE_M, (count, 3))
    axis = rng.integers(0, 3, count)
    side = rng.choice([-1.0, 1.0], count)
    points[np.arange(count), axis] = side * ROOM_HALF_SIZE_M[axis]
    return points


def room_tracks(
    frames: int = 64,
    width: int = 320,
    height: int = 240,
    xfov: float = 60.0,
    translation_m: float = 1.0,
    rotation_deg: float = 10.0,
    tracks_per_frame: int = 300,
    track_frames: tuple[int, int] = (15, 60),
    noise_px: float = 0.0,
    seed: int = 0,
) -> RoomTracks:
    """Tracks of random wall points: each point lives a random number of frames in
    `track_frames` from a random start, and is tracked while it is in the image; about
    `tracks_per_frame` are visible in each frame. noise_px: Gaussian noise, pixels."""
    rng = np.random.default_rng(seed)
    intr = Intrinsics.from_fov(width, height, xfov=xfov)
    room_from_cam = room_path(frames, translation_m, rotation_deg)
    room_from_world = room_from_cam[0]
    world_from_cam = invert_pose(room_from_world) @ room_from_cam
    mean_life = sum(track_frames) / 2
    count = int(tracks_per_frame * frames / mean_life * 6)  # about a sixth are in view
    points = transform_points(invert_pose(room_from_world), _wall_points(count, rng))
    start = rng.integers(-track_frames[1], frames, count)
    stop = start + rng.integers(track_frames[0], track_frames[1] + 1, count)
    alive = np.ones(count, bool)  # a track that left the image never comes back
    tracks = []
    for f in range(frames):
        xy, _ = project(transform_points(invert_pose(world_from_cam[f]), points), intr)
        inside = (
            np.isfinite(xy).all(axis=1)
            & (xy[:, 0] >= -0.5)
            & (xy[:, 1] >= -0.5)
            & (xy[:, 0] <= width - 0.5)
            & (xy[:, 1] <= height - 0.5)
        )
        active = (start <= f) & (f < stop)
        alive &= inside | ~active | (start == f)
        seen = np.flatnonzero(active & inside & alive)
        tracks.append(FrameTracks(seen.astype(np.int64), _noisy(xy[seen], noise_px, intr, rng)))
    return RoomTracks(intr, world_from_cam, tracks, points, room_from_world)
