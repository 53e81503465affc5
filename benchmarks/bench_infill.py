#!/usr/bin/env python3
"""Speed of classical infill, without and with depth + poses (the path the pipeline
runs: background from neighbouring frames), against OpenCV's Telea inpainting of the same
holes measured in the same run (ratio > 1: classical is faster). Prints stereo frames
per second (both eyes of a frame).

  .venv/bin/python benchmarks/bench_infill.py [--width 640 --height 360 --frames 16]

The with-poses figure is one backend filling the whole clip as one chunk (one thread):
the scheduler runs chunks of a video in parallel, one per core.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from metricdepth.evaluate.infill_truth import write_stereo_inputs
from metricdepth.infill.backend import ChunkInput
from metricdepth.infill.classical import ClassicalBackend, SceneInputs
from metricdepth.io.video import probe
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip

NEIGHBOUR_FRAMES = 8  # stereo_infill.py's default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--frames", type=int, default=16)
    args = parser.parse_args()
    clip = make_scene(seed=1, width=args.width, height=args.height, frames=args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_clip(clip, Path(tmp) / "clip.mkv")
        stereo_path, _, truth = write_stereo_inputs(clip, paths["depth"])
        scene = SceneInputs(paths["colour"], paths["depth"], paths["transformations"],
                            clip.intrinsics.xfov, None, None, 100.0, 0.063, NEIGHBOUR_FRAMES,
                            paths["mask"])
        stereo = np.stack([t.rendered for t in truth])
        masks = np.stack([t.mask for t in truth])
        chunk = ChunkInput(0, stereo, masks)
        timings = {}
        for name, backend in (("classical", ClassicalBackend()),
                              ("classical with poses", ClassicalBackend(scene, probe(stereo_path)))):
            backend.infill_chunk(ChunkInput(0, stereo[:1], masks[:1]), None)  # warm-up
            start = time.perf_counter()
            backend.infill_chunk(chunk, None)
            timings[name] = time.perf_counter() - start
    start = time.perf_counter()
    for t in truth:
        for half in (slice(0, args.width), slice(args.width, 2 * args.width)):
            cv2.inpaint(np.ascontiguousarray(t.rendered[:, half]), t.holes[:, half].astype(np.uint8),
                        3, cv2.INPAINT_TELEA)
    telea = time.perf_counter() - start
    holes = np.mean([t.holes.mean() for t in truth]) * 100
    print(f"{args.width}x{args.height} per eye, {args.frames} frames, {holes:.1f}% holes: "
          f"Telea {args.frames / telea:.1f} stereo frames/s")
    for name, seconds in timings.items():
        print(f"  {name:21s} {args.frames / seconds:6.1f} stereo frames/s, "
              f"speed ratio against Telea {telea / seconds:.2f}")


if __name__ == "__main__":
    main()
