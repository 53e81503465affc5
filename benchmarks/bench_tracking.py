#!/usr/bin/env python3
"""Speed of the weight-free `lk` tracker at 1280x720 with about 2000 points, against plain
OpenCV optical flow measured in the same run on the same frames:

- `plain LK`: one forward cv2.calcOpticalFlowPyrLK pass per frame on the same number of
  points, same window and pyramid (no backward check, no refinement, no seeding): the
  floor any LK tracker pays;
- `Farneback`: OpenCV's dense optical flow (every pixel), a common "just use flow" choice.

Frames come from the dog clip of ../shared/data (first 40 frames), else a synthetic
moving texture. Prints frames per second and the ratios; the issue's target is 20 frames
per second for `lk` on a 2-core CPU.

Usage: benchmarks/bench_tracking.py [--frames 40] [--points 2000]
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
    big = cv2.resize(rng.integers(0, 256, (H // 4 + 40, W // 4 + 40, 3), dtype=np.uint8),
                     (W + 160, H + 160), interpolation=cv2.INTER_CUBIC)
    return np.stack([big[80 - t: 80 - t + H, 80 - 2 * t: 80 - 2 * t + W] for t in range(count)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--points", type=int, default=2000, help="about this many points per frame")
    args = parser.parse_args()
    frames = load_frames(args.frames)
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    cell = int(np.sqrt(W * H / (args.points * 2.1)))  # about half the cells are textured enough

    settings = LKSettings(cell=cell)
    tracker = LKTracker(settings)
    start = time.perf_counter()
    counts = [len(tracker.update(f)) for f in frames]
    lk_fps = len(frames) / (time.perf_counter() - start)
    n_points = int(np.mean(counts[1:]))

    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(20, W - 20, n_points), rng.uniform(20, H - 20, n_points)])
    pts = pts.astype(np.float32).reshape(-1, 1, 2)
    start = time.perf_counter()
    for a, b in zip(greys[:-1], greys[1:]):
        cv2.calcOpticalFlowPyrLK(a, b, pts, None, winSize=(settings.window,) * 2, maxLevel=settings.levels)
    plain_fps = (len(greys) - 1) / (time.perf_counter() - start)

    start = time.perf_counter()
    for a, b in zip(greys[:-1], greys[1:]):
        cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    dense_fps = (len(greys) - 1) / (time.perf_counter() - start)

    print(f"{len(frames)} frames {W}x{H}, lk grid cell {cell} px, {n_points} points per frame")
    print(f"lk tracker      {lk_fps:7.1f} frames/s")
    print(f"plain LK pass   {plain_fps:7.1f} frames/s  (lk takes {plain_fps / lk_fps:.2f}x its time)")
    print(f"Farneback dense {dense_fps:7.1f} frames/s  (lk is {lk_fps / dense_fps:.2f}x as fast)")
    print(f"target 20 frames/s: {'met' if lk_fps >= 20 else 'NOT met'} on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
