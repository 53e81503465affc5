#!/usr/bin/env python3
"""Speed-up of scenes run as Ray tasks: `run_pipeline.py --split_scenes --ray_address
local` with N workers against 1 worker, measured in the same run, on a synthetic movie of
several scenes (weight-free and CPU-bound: exact depth imported, LK tracks, classical
infill with poses). Prints the seconds of each and their ratio (> 1: N workers faster).

  .venv/bin/python benchmarks/bench_ray_scenes.py [--scenes 6 --frames 16 --width 320
      --height 240 --workers 2 --repeat 1]

Each timed run gets its own local Ray instance (`ray.init(num_cpus=N)`) and one untimed
run first (the workers start, import the package and load numba's cache). Every run
starts from a copy of the movie whose scenes are already found and cut, so the time is
the scenes' steps 1-7 and the driver's work around them (linking each scene's depth
frames, gathering the results). With --repeat, 1 and N workers take turns (a shared
machine's load changes): each pair's ratio is printed, then their median and the worst.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import ray

from metricdepth.io.exports import write_depth_exr
from metricdepth.io.video import VideoWriter
from metricdepth.pipeline import build_config, run_pipeline
from metricdepth.pipeline.scenes import cut_scenes, scene_ranges
from metricdepth.synthetic import make_scene

XFOV = 60.0
SEEDS = (0, 4, 5, 6, 1, 3, 2, 7)  # one room per scene
# The scene test's calm camera: 16-frame scenes are found with their cuts (threshold 27).
MOTION = dict(camera_translation_m=0.4, camera_rotation_deg=4.0, texture_scale=2.0)
MIN_SCENE_FRAMES = 15


def write_movie(folder: Path, scenes: int, frames: int, width: int, height: int) -> Path:
    """film.mkv (one room per scene, hard cuts), its exact depth as EXR, its scenes cut."""
    clips = [make_scene(seed, width, height, frames, XFOV, **MOTION) for seed in SEEDS[:scenes]]
    video = folder / "film.mkv"
    with VideoWriter(video, width, height, clips[0].fps) as writer:
        for clip in clips:
            writer.write_frames(clip.colour)
    (folder / "depth").mkdir()
    for i, frame in enumerate(np.concatenate([c.depth for c in clips])):
        write_depth_exr(folder / "depth" / f"d_{i + 1:04d}.exr", frame)
    cut_scenes(video, scene_ranges(video, 27.0, MIN_SCENE_FRAMES), overwrite=False)
    return video


def run_once(movie: Path, work: Path) -> float:
    """Seconds of one run (steps 1-7 of every scene) in a fresh copy of `movie`'s folder."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(movie, work)
    flags = {"video": str(work / "film.mkv"), "xfov": XFOV, "depth_backend": "frames",
             "depth_frames": str(work / "depth"), "track_backend": "lk", "split_scenes": True,
             "min_scene_frames": MIN_SCENE_FRAMES, "until": "infill", "ray_address": "local"}
    start = time.perf_counter()
    result = run_pipeline(build_config(flags))
    seconds = time.perf_counter() - start
    assert {r.status for r in result.records} == {"ran"}, "a step was skipped: not a full run"
    return seconds


def timed(movie: Path, work: Path, workers: int) -> float:
    """Seconds of one run on a fresh local Ray instance with `workers` workers."""
    ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        run_once(movie, work)  # warm-up: workers started, imports and numba cache loaded
        return run_once(movie, work)
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=6, choices=range(2, len(SEEDS) + 1))
    parser.add_argument("--frames", type=int, default=16, help="frames per scene")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        movie = Path(tmp) / "movie"
        movie.mkdir()
        video = write_movie(movie, args.scenes, args.frames, args.width, args.height)
        found = len(scene_ranges(video, 27.0, MIN_SCENE_FRAMES))
        pairs = [(timed(movie, Path(tmp) / "work", 1), timed(movie, Path(tmp) / "work", args.workers))
                 for _ in range(args.repeat)]
    print(f"{found} scenes of {args.frames} frames at {args.width}x{args.height}, "
          f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}")
    for one, many in pairs:
        print(f"  1 worker {one:.1f} s, {args.workers} workers {many:.1f} s: {one / many:.2f}x")
    ratios = sorted(one / many for one, many in pairs)
    print(f"speed-up of {args.workers} workers over 1: median {np.median(ratios):.2f}x, "
          f"worst {ratios[0]:.2f}x")


if __name__ == "__main__":
    main()
