"""Track observations joined with the depth (and mask) at each tracked position.

Everything the solvers need, as flat arrays with one row per observation (a track seen
in a frame). The depth and mask videos are streamed once; only the samples are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..io.sidecars import FrameTracks

DEPTH_EDGE_REL = 0.15  # bilinear depth only where the 4 neighbours agree this well (else none)
INVALID_DEPTH_FRACTION = 0.999  # depth at or above this fraction of max_depth means "no depth"


@dataclass(frozen=True)
class Observations:
    """All observations of a clip, one row each.

    frame: (M,) int64 frame index. track: (M,) int64 index into `track_ids`.
    xy: (M, 2) float64 pixels (x, y). depth: (M,) float64 metres, z-depth from the depth
    video at xy; NaN where there is none (invalid pixel, depth edge).
    masked: (M,) bool, True on the mask video's subject (a moving object).
    track_ids: (T,) int64 ids as in the tracking file. frame_count: frames covered.
    """

    frame: np.ndarray
    track: np.ndarray
    xy: np.ndarray
    depth: np.ndarray
    masked: np.ndarray
    track_ids: np.ndarray
    frame_count: int

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def track_count(self) -> int:
        return len(self.track_ids)

    def masked_tracks(self) -> np.ndarray:
        """(M,) bool: the rows of every track seen on the mask in any frame (the older
        toolbox's --strict_mask: a track that touches a moving object is left out whole)."""
        touched = np.zeros(self.track_count, bool)
        touched[self.track[self.masked]] = True
        return touched[self.track]

    def subset(self, rows: np.ndarray) -> Observations:
        """The observations selected by `rows` ((M,) bool or (K,) int); tracks keep
        their indices."""
        return Observations(
            self.frame[rows],
            self.track[rows],
            self.xy[rows],
            self.depth[rows],
            self.masked[rows],
            self.track_ids,
            self.frame_count,
        )


def sample_depth(depth: np.ndarray, xy: np.ndarray, max_depth: float) -> np.ndarray:
    """Bilinear z-depth at sub-pixel positions, NaN where it is unknown.

    depth: (H, W) float32 metres (>= INVALID_DEPTH_FRACTION * max_depth or <= 0: none).
    xy: (N, 2) float pixels. Returns (N,) float64 metres; NaN where a neighbour is
    invalid or the four neighbours differ by more than DEPTH_EDGE_REL (a depth edge).
    """
    height, width = depth.shape
    x = np.clip(xy[:, 0], 0.0, width - 1.0)
    y = np.clip(xy[:, 1], 0.0, height - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), width - 2)
    y0 = np.minimum(np.floor(y).astype(np.int64), height - 2)
    fx, fy = x - x0, y - y0
    quad = np.stack(
        [depth[y0, x0], depth[y0, x0 + 1], depth[y0 + 1, x0], depth[y0 + 1, x0 + 1]], axis=1
    ).astype(np.float64)
    weights = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    value = (quad * weights).sum(axis=1)
    lo, hi = quad.min(axis=1), quad.max(axis=1)
    bad = (lo <= 0) | (hi >= INVALID_DEPTH_FRACTION * max_depth) | (hi - lo > DEPTH_EDGE_REL * lo)
    value[bad] = np.nan
    return value


def sample_mask(mask: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(H, W) bool mask at the nearest pixels of xy (N, 2) pixels; (N,) bool."""
    height, width = mask.shape
    x = np.clip(np.rint(xy[:, 0]).astype(np.int64), 0, width - 1)
    y = np.clip(np.rint(xy[:, 1]).astype(np.int64), 0, height - 1)
    return mask[y, x]


def gather_observations(
    tracks: Sequence[FrameTracks],
    depth_frames: Iterable[np.ndarray],
    max_depth: float,
    mask_frames: Iterable[np.ndarray] | None = None,
) -> Observations:
    """Join tracks with depth (and mask) frames, streaming the frames once.

    tracks: one FrameTracks per frame (the first len(tracks) frames are used).
    depth_frames: (H, W) float32 metres per frame; mask_frames: (H, W) bool per frame.
    """
    count = len(tracks)
    all_ids = np.unique(np.concatenate([f.ids for f in tracks])) if count else np.zeros(0, np.int64)
    depth_iter = iter(depth_frames)
    mask_iter = iter(mask_frames) if mask_frames is not None else None
    depths, masked = [], []
    for frame in tracks:
        depth = next(depth_iter)
        depths.append(sample_depth(depth, frame.xy, max_depth) if len(frame) else np.zeros(0))
        mask = next(mask_iter) if mask_iter is not None else None
        masked.append(
            sample_mask(mask, frame.xy) if mask is not None and len(frame) else np.zeros(len(frame), bool)
        )
    lengths = [len(f) for f in tracks]
    frame_index = np.repeat(np.arange(count), lengths)
    ids = np.concatenate([f.ids for f in tracks]) if count else np.zeros(0, np.int64)
    xy = np.concatenate([f.xy for f in tracks]) if count else np.zeros((0, 2))
    return Observations(
        frame_index.astype(np.int64),
        np.searchsorted(all_ids, ids),
        xy,
        np.concatenate(depths) if count else np.zeros(0),
        np.concatenate(masked) if count else np.zeros(0, bool),
        all_ids.astype(np.int64),
        count,
    )
