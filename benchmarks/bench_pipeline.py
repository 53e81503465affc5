#!/usr/bin/env python3
"""Speed of the whole weight-free pipeline, the path users run: `run_pipeline.py` on a
synthetic clip with its exact depth imported (frames backend, EXR), LK tracks, classical
infill with poses, every other setting at its default. Prints each step's seconds, share
of the total and frames/s, next to a reference measured in the same run: decoding the
colour video and writing as many side-by-side frames in FFV1, the steps' intermediate
format (the I/O a step pays at least).

  .venv/bin/python benchmarks/bench_pipeline.py [--width 1280 --height 720 --frames 96]
      [--work DIR]   # keep the inputs there and reuse them in later runs

The pipeline runs in a fresh process (`run_pipeline.py`), so the figure includes the
start-up and the numba cache load; the outputs of one run are removed before the next.
The reference is the mean of one pass before and one after the pipeline (a shared
machine's load changes); with --repeat, the run with the lowest ratio is shown.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from metricdepth.io.exports import write_depth_exr
from metricdepth.io.video import VideoReader, VideoWriter
from metricdepth.synthetic import make_scene

REPO = Path(__file__).resolve().parents[1]
XFOV = 60.0
SEED = 3
INPUT_VIDEO_FLAGS = ("--color_video", "--depth_video", "--mask_video", "--sbs_color_video",
                     "--sbs_mask_video")
# inputs a step names but whose frames it does not decode: step 1's colour video (the
# frames backend imports depth by frame number), step 4's (only for --debug_video) and
# step 8's (its audio and frame count)
NOT_DECODED = {("video_metric_convert.py", "--color_video"), ("camera_track.py", "--color_video"),
               ("compress_video.py", "--color_video")}
STEP_LINE = re.compile(r"^\s+(\w+)\s+ran\s+([\d.]+) s")


def write_inputs(folder: Path, width: int, height: int, frames: int) -> Path:
    """The colour video and its exact depth as EXR frames (reused when already there)."""
    video = folder / "clip.mkv"
    if video.exists() and len(list((folder / "depth").glob("*.exr"))) == frames:
        return video
    clip = make_scene(SEED, width, height, frames, XFOV)
    (folder / "depth").mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        write_depth_exr(folder / "depth" / f"depth_{i + 1:04d}.exr", clip.depth[i])
    with VideoWriter(video, width, height, clip.fps, overwrite=True) as writer:
        writer.write_frames(clip.colour)
    return video


def clean_outputs(folder: Path) -> None:
    """Remove everything a pipeline run wrote, keeping the inputs."""
    for path in folder.iterdir():
        if path.name not in ("clip.mkv", "depth"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def pipeline_command(video: Path) -> list[str]:
    return [sys.executable, str(REPO / "run_pipeline.py"), str(video), "--xfov", str(XFOV),
            "--depth_backend", "frames", "--depth_frames", str(video.parent / "depth"),
            "--track_backend", "lk", "--quiet"]


def run_once(video: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one `run_pipeline.py` process and each step's seconds."""
    clean_outputs(video.parent)
    start = time.perf_counter()
    out = subprocess.run(pipeline_command(video), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"run_pipeline.py failed:\n{out.stdout}\n{out.stderr}")
    steps = {m.group(1): float(m.group(2)) for m in map(STEP_LINE.match, out.stdout.splitlines()) if m}
    return wall, steps


def reference(video: Path) -> float:
    """Seconds to decode the colour video and write as many side-by-side frames in the
    lossless intermediate format the steps write (FFV1)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with VideoReader(video) as reader:
            with VideoWriter(Path(tmp) / "sbs.mkv", 2 * reader.width, reader.height,
                             reader.fps) as writer:
                for frame in reader.frames():
                    writer.write(np.concatenate([frame, frame], axis=1))
        return time.perf_counter() - start


def video_reads(video: Path) -> Counter[Path]:
    """How many times the steps read each video: the input videos on their command lines
    (`--print_commands`; a step that reads a file twice counts once, so this is a floor)."""
    out = subprocess.run(pipeline_command(video) + ["--print_commands"], capture_output=True,
                         text=True, check=True, cwd=video.parent)
    reads: Counter[Path] = Counter()
    for line in out.stdout.splitlines():
        words = shlex.split(line)
        script = Path(words[1]).name
        for flag, value in zip(words, words[1:]):
            if flag in INPUT_VIDEO_FLAGS and (script, flag) not in NOT_DECODED:
                reads[(video.parent / value).resolve()] += 1
    return reads


def decode_seconds(path: Path) -> float:
    """Wall seconds to decode every frame of `path` as the steps do (threaded, bgr0)."""
    start = time.perf_counter()
    with VideoReader(path) as reader:
        for _ in reader.frames(pixel_format="bgr0"):
            pass
    return time.perf_counter() - start


def encode_seconds(path: Path) -> float:
    """Wall seconds to write the frames of `path` again as the steps write them (FFV1):
    one decode and re-encode pass less a decode-only pass."""
    with tempfile.TemporaryDirectory() as tmp, VideoReader(path) as reader:
        start = time.perf_counter()
        with VideoWriter(Path(tmp) / path.name, reader.width, reader.height, reader.fps) as writer:
            for pixels in reader.frames(pixel_format="bgr0"):
                writer.write_bgr0(pixels)
        both = time.perf_counter() - start
    return max(both - decode_seconds(path), 0.0)


def file_floor(video: Path) -> tuple[float, float, int, int]:
    """(decode s, encode s, reads, videos written): the lossless intermediate videos' I/O
    a run pays at least, timed on the files the run just wrote (the final MP4's encode
    is not counted)."""
    reads = video_reads(video)
    written = [p for p in video.parent.glob("*.mkv") if p.name != video.name]
    decoding = sum(count * decode_seconds(path) for path, count in reads.items())
    encoding = sum(encode_seconds(path) for path in written)
    return decoding, encoding, sum(reads.values()), len(written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--work", type=Path, default=None, help="folder for the inputs (kept)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs; the one quickest against its reference is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        video = write_inputs(folder, args.width, args.height, args.frames)
        runs = []
        for _ in range(args.repeat):
            before = reference(video)
            wall, steps = run_once(video)
            runs.append((wall, steps, (before + reference(video)) / 2))  # the load may change
        wall, steps, ref = min(runs, key=lambda r: r[0] / r[2])
        decoding, encoding, reads, written = file_floor(video)
    n = args.frames
    print(f"{args.width}x{args.height}, {n} frames: whole pipeline {wall:.1f} s "
          f"({n / wall:.2f} frames/s); reference decode + side-by-side encode {ref:.1f} s "
          f"({n / ref:.2f} frames/s); pipeline / reference {wall / ref:.1f}x")
    for name, seconds in steps.items():
        print(f"  {name:9s} {seconds:6.1f} s  {100 * seconds / wall:4.0f}%  {n / seconds:7.2f} frames/s"
              f"  {seconds / ref:5.2f}x reference")
    print(f"  {'other':9s} {wall - sum(steps.values()):6.1f} s  (start-up, imports, numba cache load)")
    floor = decoding + encoding
    print(f"lossless intermediates alone (FFV1, the file format): {reads} video reads {decoding:.1f} s"
          f" + {written} videos written {encoding:.1f} s = {floor:.1f} s, {100 * floor / wall:.0f}% of"
          f" the pipeline ({n / floor:.2f} frames/s if the steps computed nothing; timed after the run)")


if __name__ == "__main__":
    main()
