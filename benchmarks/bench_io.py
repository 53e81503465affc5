#!/usr/bin/env python3
"""Depth-video codec speed against the plain FFV1 colour path, same machine, same run.

Encodes and decodes N frames at 1280x720 four ways: colour frames through the
FFV1 writer/reader (the reference: what touching a lossless video costs anyway),
and metric depth frames through the depth packing on top of the same container.
Prints frames per second for each and the ratio depth time / colour time.
Target: the depth codec costs at most 1.5x the plain colour path.

Colour frames come from a real clip when ../shared/data is present (looped),
else from a smooth synthetic pattern; depth frames are smooth surfaces with
edges, like a depth model's output.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
from metricdepth.io.video import VideoReader, VideoWriter

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared/data/video/dog/01_dog.mp4"
W, H = 1280, 720


def colour_frames(count: int) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames: a real 1280x720 clip if present, else a moving pattern."""
    if REAL_CLIP.is_file():
        with VideoReader(REAL_CLIP) as video:
            return list(video.frames(0, min(count, video.frame_count)))
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return [np.stack([(127 + 120 * np.sin((x + 5 * i) / (30 + 10 * c))).astype(np.uint8)
                      for c in range(3)], axis=-1) for i in range(count)]


def depth_frames(count: int) -> list[np.ndarray]:
    """(H, W) float32 metres: a floor-to-wall ramp with a moving sphere in front."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    frames = []
    for i in range(count):
        depth = 2.0 + 8.0 * (1.0 - y / H) ** 2 + 0.3 * np.sin(x / 97.0)
        r2 = (x - 300 - 8 * i) ** 2 + (y - 360) ** 2
        sphere = r2 < 150.0**2
        depth[sphere] = 1.2 + 0.5 * np.sqrt(r2[sphere]) / 150.0
        frames.append(depth.astype(np.float32))
    return frames


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=120, help="frames per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()

    colour_src = colour_frames(min(args.frames, 60))
    depth_src = depth_frames(min(args.frames, 60))
    colour = [colour_src[i % len(colour_src)] for i in range(args.frames)]
    depth = [depth_src[i % len(depth_src)] for i in range(args.frames)]
    fps = Fraction(30)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def encode_colour():
            with VideoWriter(tmp / "c.mkv", W, H, fps, overwrite=True) as w:
                for f in colour:
                    w.write(f)

        def encode_depth():
            with DepthVideoWriter(tmp / "d.mkv", W, H, fps, overwrite=True) as w:
                for d in depth:
                    w.write(d)

        def decode_colour():
            for _ in VideoReader(tmp / "c.mkv"):
                pass

        def decode_depth():
            for _ in DepthVideoReader(tmp / "d.mkv"):
                pass

        results = {}
        for name, fn in [("colour encode", encode_colour), ("depth encode", encode_depth),
                         ("colour decode", decode_colour), ("depth decode", decode_depth)]:
            results[name] = min(timed(fn) for _ in range(args.repeats))
        sizes = {k: (tmp / f).stat().st_size / args.frames / 1e3 for k, f in [("colour", "c.mkv"), ("depth", "d.mkv")]}

    n = args.frames
    print(f"{n} frames at {W}x{H}, best of {args.repeats}")
    for name, seconds in results.items():
        print(f"  {name:14s} {n / seconds:7.1f} frames/s   {1000 * seconds / n:6.2f} ms/frame")
    print(f"  file size: colour {sizes['colour']:.0f} kB/frame, depth {sizes['depth']:.0f} kB/frame")
    for stage in ("encode", "decode"):
        ratio = results[f"depth {stage}"] / results[f"colour {stage}"]
        verdict = "ok" if ratio <= 1.5 else "OVER TARGET"
        print(f"  depth/colour {stage} time ratio: {ratio:.2f} (target <= 1.5: {verdict})")


if __name__ == "__main__":
    main()
