#!/usr/bin/env python3
"""Speed of classical infill per eye, against OpenCV's Telea inpainting of the same holes
measured in the same run (ratio > 1: classical is faster). Prints frames per second.

  .venv/bin/python benchmarks/bench_infill.py [--width 640 --height 360 --frames 8]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from metricdepth.infill.backend import ChunkInput
from metricdepth.infill.classical import ClassicalBackend
from metricdepth.evaluate.infill_truth import stereo_truth
from metricdepth.synthetic import make_scene


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    clip = make_scene(seed=1, width=args.width, height=args.height, frames=args.frames)
    truth = [stereo_truth(clip, i) for i in range(args.frames)]
    stereo = np.stack([t.rendered for t in truth])
    masks = np.stack([t.mask for t in truth])
    backend = ClassicalBackend()
    backend.infill_chunk(ChunkInput(0, stereo[:1], masks[:1]), None)  # warm-up
    start = time.perf_counter()
    backend.infill_chunk(ChunkInput(0, stereo, masks), None)
    classical = time.perf_counter() - start
    start = time.perf_counter()
    for t in truth:
        for half in (slice(0, args.width), slice(args.width, 2 * args.width)):
            cv2.inpaint(np.ascontiguousarray(t.rendered[:, half]), t.holes[:, half].astype(np.uint8),
                        3, cv2.INPAINT_TELEA)
    telea = time.perf_counter() - start
    holes = np.mean([t.holes.mean() for t in truth]) * 100
    print(f"{args.width}x{args.height} per eye, {holes:.1f}% holes: classical "
          f"{args.frames / classical:.1f} stereo frames/s, Telea {args.frames / telea:.1f} "
          f"frames/s, ratio classical/Telea speed {telea / classical:.2f}")


if __name__ == "__main__":
    main()
