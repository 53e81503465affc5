"""Long clips in bounded time and memory: sliding windows, then a global pass over key
frames, then every other frame on its own against the key frames' points.

1. Windows of `window_frames` frames, consecutive windows sharing `window_overlap`
   frames: each window's bundle adjustment frees its new frames (and every point seen in
   it) while the shared frames, already solved, hold the gauge.
2. Key frames, evenly spaced, at most `max_key_frames`: one bundle adjustment over them
   and every point they see at least twice (the focal length too, on request). Long
   tracks tie distant frames together here, which removes the windows' drift.
3. The other frames: pose and depth scale only, against the fixed key-frame points,
   `window_frames` frames at a time.

Each problem is bounded by the window or key-frame count, not by the clip's length.
"""

from __future__ import annotations

import math

import numpy as np

from ..camera import Intrinsics
from .bundle import Reconstruction
from .observations import Observations
from .robust import PoseSettings, robust_adjust


def plan_windows(frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """(start, stop) frame ranges of the sliding windows covering `frames` frames."""
    if not 0 <= overlap < window:
        raise ValueError(f"window overlap {overlap} must be in [0, window {window})")
    spans, start = [], 0
    while True:
        stop = min(start + window, frames)
        spans.append((start, stop))
        if stop == frames:
            return spans
        start = stop - overlap


def key_frames(frames: int, max_key_frames: int) -> np.ndarray:
    """(K,) int64 evenly spaced frame indices from 0, including the last frame."""
    step = max(1, math.ceil((frames - 1) / max(max_key_frames - 1, 1)))
    keys = np.arange(0, frames, step)
    return keys if keys[-1] == frames - 1 else np.append(keys, frames - 1)


def solve_in_windows(
    rec: Reconstruction, obs: Observations, intr: Intrinsics, settings: PoseSettings, optimize_focal: bool
) -> tuple[Reconstruction, np.ndarray]:
    """Refine an initial reconstruction as the module docstring says; returns it and the
    (M,) bool observations kept."""
    frames = obs.frame_count
    keep = np.zeros(len(obs), bool)
    solved = 1  # frames [0, solved) hold the gauge
    for start, stop in plan_windows(frames, settings.window_frames, settings.window_overlap):
        rows = (obs.frame >= start) & (obs.frame < stop)
        free = (np.arange(frames) >= max(solved, start)) & (np.arange(frames) < stop)
        rec, kept = robust_adjust(rec, obs, rows, intr, settings, free)
        keep = (keep & ~rows) | kept
        solved = stop

    keys = np.zeros(frames, bool)
    keys[key_frames(frames, settings.max_key_frames)] = True
    key_rows = keep & keys[obs.frame]
    free_keys = keys & (np.arange(frames) > 0)
    rec, key_kept = robust_adjust(
        rec, obs, key_rows, intr, settings, free_keys, optimize_focal=optimize_focal
    )
    in_key_problem = np.zeros(obs.track_count, bool)
    in_key_problem[obs.track[key_kept]] = True

    kept_all = key_kept.copy()
    no_points = np.zeros(obs.track_count, bool)
    for start in range(0, frames, settings.window_frames):
        span = (np.arange(frames) >= start) & (np.arange(frames) < start + settings.window_frames)
        rows = span[obs.frame] & ~keys[obs.frame] & in_key_problem[obs.track]
        if rows.any():
            rec, kept = robust_adjust(rec, obs, rows, intr, settings, span & ~keys, no_points)
            kept_all |= kept
    return rec, kept_all
