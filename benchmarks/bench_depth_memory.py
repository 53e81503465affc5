#!/usr/bin/env python3
"""Peak memory of step 1 must not grow with the video's length.

Generates a 640x360 30 fps test video (ffmpeg testsrc2, H.264) of --short and --long
frames and runs the real step (`metricdepth.depth.step.convert`) on each in a fresh
process, printing the peak resident memory (ru_maxrss) of each run and their difference.
Target: the long run peaks within 10 % of the short one.

Backends: `frames` (default; a folder of 16-bit PNG depth frames is generated alongside:
decode, import, encode, chunk bookkeeping), or a tiny random-weight model
(`--backend da2` runs the stabiliser too, `--backend vda_metric` carries VDA's window
state from chunk to chunk); see metricdepth.depth.tiny.

Defaults: 300 and 3000 frames, a few minutes on a 2-core machine with `frames`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 30

PROBE = """
import json, resource, sys
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.step import convert
convert(DepthConfig(**json.loads(sys.argv[1])))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def generate(path: Path, frames: int) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}", "-frames:v", str(frames),
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", str(path)], check=True)


def depth_frames(folder: Path, frames: int) -> None:
    """16-bit PNG depth (millimetres): a tilted plane that moves, 1 to 9 m."""
    folder.mkdir()
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    for i in range(frames):
        depth_mm = 1000 + (x * 8 + y * 4 + 7 * i) % 8000
        cv2.imwrite(str(folder / f"{i:06d}.png"), depth_mm.astype(np.uint16))


def run(video: Path, config: dict) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one step run in a fresh process."""
    import json

    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps({"color_video": str(video), **config})],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=300, help="frames of the short video")
    parser.add_argument("--long", type=int, default=3000, help="frames of the long video")
    parser.add_argument("--backend", default="frames", choices=("frames", "da2", "vda_metric"))
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("bench_depth_memory.py: ffmpeg not found (./install.sh installs it)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = {"backend": args.backend, "device": "cpu"}
        if args.backend != "frames":
            from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_checkpoint
            base.update(checkpoint=str(tiny_checkpoint(args.backend, tmp / "weights")),
                        input_size=TINY_INPUT_SIZE)
        peaks = {}
        for label, frames in (("short", args.short), ("long", args.long)):
            folder = tmp / label
            folder.mkdir()
            video = folder / "clip.mp4"
            generate(video, frames)
            config = dict(base)
            if args.backend == "frames":
                depth_frames(folder / "depth", frames)
                config.update(depth_frames=str(folder / "depth"))
            peak, seconds = run(video, config)
            peaks[label] = peak
            print(f"{label:5s}: {frames:5d} frames {WIDTH}x{HEIGHT}, backend {args.backend}, "
                  f"peak RSS {peak:6.1f} MB, {seconds:6.1f} s ({frames / seconds:.1f} frames/s)")
            shutil.rmtree(folder)
    growth = peaks["long"] / peaks["short"] - 1
    print(f"peak growth long vs short: {100 * growth:+.1f}% (target < 10%: "
          f"{'ok' if abs(growth) < 0.10 else 'OVER'})")


if __name__ == "__main__":
    main()
