#!/usr/bin/env python3
"""Step 2's rembg backend: frames per second of the whole step at 640x360 (decode,
model, matte, temporal smoothing, encode the mask video) next to the bare onnxruntime
call on the same frames (inputs prepared beforehand, only `session.run` timed), in the
same run. Target: the step within 1.3x of the bare model. The two are timed in turns,
`--rounds` times, and the fastest of each kept (the machine may be shared).

  benchmarks/bench_masks.py [--frames 20] [--rounds 2] [--model FILE]

Frames: the first N of ../shared/data/video/bedroom/bedroom.mp4 shrunk to 640x360.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from metricdepth.io.video import VideoReader, VideoWriter, probe
from metricdepth.masks.rembg import RembgMatter
from metricdepth.masks.step import MaskConfig, create_mask

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SIZE = (640, 360)
TARGET = 1.3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=str(DATA / "models" / "u2netp" / "u2netp.onnx"))
    args = parser.parse_args()
    source = DATA / "video" / "bedroom" / "bedroom.mp4"
    info = probe(source)
    frames = [cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA)
              for f in VideoReader(source, info).frames(0, args.frames)]
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mkv"
        with VideoWriter(clip, *SIZE, info.fps) as writer:
            writer.write_frames(np.array(frames))
        matter = RembgMatter("u2netp", args.model)
        inputs = [matter.prepare(f) for f in frames]
        matter.infer(inputs[0])  # warm-up
        bare = step = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            for x in inputs:
                matter.infer(x)
            bare = min(bare, time.perf_counter() - start)
            start = time.perf_counter()
            create_mask(MaskConfig(color_video=str(clip), backend="rembg", checkpoint=args.model,
                                   overwrite=True))
            step = min(step, time.perf_counter() - start)
    n = len(frames)
    print(f"{n} frames {SIZE[0]}x{SIZE[1]}, u2netp, onnxruntime CPU")
    print(f"bare model (session.run only): {n / bare:6.2f} frames/s")
    print(f"rembg step (decode, model, matte, smoothing, encode): {n / step:6.2f} frames/s")
    ratio = step / bare
    print(f"step / bare model: {ratio:.2f}x (target <= {TARGET}x): {'ok' if ratio <= TARGET else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
