#!/usr/bin/env python3
"""Speed of the weight-free `lk` tracker at 1280x720 with about 2000 points, against plain
OpenCV optical flow measured in the same run on the same frames:

- `plain LK`: one forward cv2.calcOpticalFlowPyrLK pass per frame on the same number of
  points, same window and pyramid (no backward check, no refinement, no seeding): the
  floor any LK tracker pays;
- `Farneback`: OpenCV's dense optical flow (every pixel), a common "just use flow" choice.

Frames come from the dog clip of ../shared/data (first 40 frames), else a synthetic
moving texture. The tracker's compiled code is loaded before timing (a throwaway tracker
runs on the first frames). `lk` and the plain LK pass run alternately, `--repeats` rounds:
printed are the best frames per second of each and the median and range of the per-round
ratio (on a shared machine whose load drifts, the ratio within a round says more than
either figure). The issue's target is 40 frames per second for `lk` at 1280x720 with
about 2000 points on a 2-core CPU.

Usage: benchmarks/bench_tracking.py [--frames 40] [--points 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from metricdepth.io.video import VideoReader
from metricdepth.tracking.lk import LKSettings, LKTracker

DOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "dog" / "01_dog.mp4"
W, H = 1280, 720


def load_frames(count: int) -> np.ndarray:
    if DOG.is_file():
        frames = np.stack([f for _, f in zip(range(count), VideoReader(DOG).frames())])
        if frames.shape[1:3] == (H, W):
            return frames
    rng = np.random.default_rng(0)
    big = cv2.resize(
        rng.integers(0, 256, (H // 4 + 40, W // 4 + 40, 3), dtype=np.uint8),
        (W + 160, H + 160),
        interpolation=cv2.INTER_CUBIC,
    )
    return np.stack([big[80 - t : 80 - t + H, 80 - 2 * t : 80 - 2 * t + W] for t in range(count)])


def time_lk(frames: np.ndarray, settings: LKSettings) -> tuple[float, int]:
    """Frames per second of a fresh `lk` tracker over `frames`, and its mean point count."""
    tracker = LKTracker(settings)
    start = time.perf_counter()
    counts = [len(tracker.update(f)) for f in frames]
    return len(frames) / (time.perf_counter() - start), int(np.mean(counts[1:]))


def time_plain(greys: list[np.ndarray], points: np.ndarray, window: int, levels: int) -> float:
    """Frames per second of one forward cv2.calcOpticalFlowPyrLK pass per frame pair."""
    start = time.perf_counter()
    for a, b in zip(greys[:-1], greys[1:]):
        cv2.calcOpticalFlowPyrLK(a, b, points, None, winSize=(window,) * 2, maxLevel=levels)
    return (len(greys) - 1) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--points", type=int, default=2000, help="about this many points per frame")
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds of lk and plain LK")
    args = parser.parse_args()
    frames = load_frames(args.frames)
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    cell = int(np.sqrt(W * H / (args.points * 2.1)))  # about half the cells are textured enough
    settings = LKSettings(cell=cell)
    time_lk(frames[:3], settings)  # load the compiled code

    rng = np.random.default_rng(1)
    lk_runs, plain_runs = [], []
    for _ in range(args.repeats):
        lk_fps, n_points = time_lk(frames, settings)
        pts = np.column_stack([rng.uniform(20, W - 20, n_points), rng.uniform(20, H - 20, n_points)])
        pts = pts.astype(np.float32).reshape(-1, 1, 2)
        lk_runs.append(lk_fps)
        plain_runs.append(time_plain(greys, pts, settings.window, settings.levels))
    ratios = [p / k for p, k in zip(plain_runs, lk_runs)]
    lk_fps, plain_fps = max(lk_runs), max(plain_runs)

    start = time.perf_counter()
    for a, b in zip(greys[:-1], greys[1:]):
        cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    dense_fps = (len(greys) - 1) / (time.perf_counter() - start)

    print(
        f"{len(frames)} frames {W}x{H}, lk grid cell {cell} px, {n_points} points per frame, "
        f"best of {args.repeats} alternating rounds"
    )
    print(f"lk tracker      {lk_fps:7.1f} frames/s  (rounds: {', '.join(f'{f:.1f}' for f in lk_runs)})")
    print(f"plain LK pass   {plain_fps:7.1f} frames/s  (rounds: {', '.join(f'{f:.1f}' for f in plain_runs)})")
    print(
        f"lk takes {np.median(ratios):.2f}x the plain pass's time (median of the rounds; "
        f"{min(ratios):.2f}-{max(ratios):.2f}x)"
    )
    print(f"Farneback dense {dense_fps:7.1f} frames/s  (lk is {lk_fps / dense_fps:.2f}x as fast)")
    print(f"target 40 frames/s: {'met' if lk_fps >= 40 else 'NOT met'} on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
