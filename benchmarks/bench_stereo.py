#!/usr/bin/env python3
"""Stereo renderer speed at 1920x1080 against cv2.remap of both eyes, same machine, same run.

The reference is the practical floor for touching every pixel of two eyes: cv2.remap
(bilinear) of the colour frame with maps computed beforehand (fixed-point, the fastest
form), once per eye. Ours renders both eyes as surfaces with the z-buffer, the cut rule
and the infill mask (metricdepth.stereo.render_eyes), maps and all computed per frame.
Prints milliseconds per stereo frame for each, stereo frames per second, and the ratio
ours / remap (the median of the ratios within each interleaved round). Target on a
2-core CPU: at most 1.5x (issue 19). With --device cuda the torch path is timed too
(synchronised), target 300 stereo frames per second at 1080p.

Two frames, each timed against its own remap: (1) colour from a real clip when
../shared/data is present (resized), else a pattern, with a floor-to-wall ramp and a
sphere in front as depth (one outline); (2) a synthetic room (colour and depth from
metricdepth.synthetic: a dozen objects, thousands of cut edges whose outlines are
estimated, stereo/outline.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from metricdepth.camera import Intrinsics
from metricdepth.io.video import VideoReader
from metricdepth.stereo.render import render_eyes, stereo_eyes
from metricdepth.synthetic import make_scene

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared/data/video/dog/01_dog.mp4"
W, H = 1920, 1080
BASELINE_M = 0.063


def colour_frame() -> np.ndarray:
    """(H, W, 3) uint8: a real frame resized to 1080p if present, else a pattern."""
    if REAL_CLIP.is_file():
        with VideoReader(REAL_CLIP) as video:
            return cv2.resize(video.read(0), (W, H), interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack(
        [(127 + 120 * np.sin(x / (30 + 10 * c) + y / 50)).astype(np.uint8) for c in range(3)], axis=-1
    )


def depth_frame() -> np.ndarray:
    """(H, W) float32 metres: a ramp from 2 m (bottom) to 10 m (top), a sphere at 1.2 m."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    depth = 2.0 + 8.0 * (1.0 - y / H) ** 2 + 0.3 * np.sin(x / 97.0)
    r2 = (x - 700) ** 2 + (y - 540) ** 2
    sphere = r2 < 250.0**2
    depth[sphere] = 1.2 + 0.5 * np.sqrt(r2[sphere]) / 250.0
    return depth.astype(np.float32)


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def room_scene() -> tuple[np.ndarray, np.ndarray]:
    """Colour and depth of a synthetic room (metricdepth.synthetic, seed 0) at 1080p: a
    dozen objects, so thousands of cut edges whose outlines are estimated."""
    clip = make_scene(seed=0, width=W, height=H, frames=1, xfov=60.0)
    return clip.colour[0], clip.depth[0].astype(np.float32)


def time_scene(name: str, colour: np.ndarray, depth: np.ndarray, repeats: int, device: str) -> None:
    """Print the timings of one colour and depth frame."""
    intr = Intrinsics.from_fov(W, H, xfov=60.0)
    eyes = stereo_eyes(intr, BASELINE_M, shift_px=5.0)
    xs, ys = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    maps = []
    for sign in (1.0, -1.0):  # the source position each eye pixel samples (approximate)
        mx = xs - sign * (intr.fx * BASELINE_M / 2.0 / depth - 5.0)
        maps.append(cv2.convertMaps(mx.astype(np.float32), ys, cv2.CV_16SC2))

    def remap() -> None:
        for m1, m2 in maps:
            cv2.remap(colour, m1, m2, cv2.INTER_LINEAR)

    def ours() -> None:
        render_eyes(colour, depth, intr, eyes)

    ours()  # compile (or load the cache) outside the timing
    # interleaved, so both see the same machine load
    remap_ms, ours_ms = [], []
    for _ in range(repeats):
        remap_ms.append(median_ms(remap, 1))
        ours_ms.append(median_ms(ours, 1))
    remap_t, ours_t = float(np.median(remap_ms)), float(np.median(ours_ms))
    # the ratio within each round (remap and ours back to back), then their median: a
    # burst of load from other jobs moves both times of a round alike
    ratio = float(np.median(np.array(ours_ms) / np.array(remap_ms)))
    print(f"{name}, {W}x{H}, both eyes, median of {repeats}:")
    print(f"  cv2.remap, precomputed maps : {remap_t:7.1f} ms  ({1000 / remap_t:6.1f} stereo fps)")
    print(f"  ours, surfaces + infill mask: {ours_t:7.1f} ms  ({1000 / ours_t:6.1f} stereo fps)")
    print(f"  ratio ours / remap          : {ratio:7.2f}  (target <= 1.5; median of the rounds' ratios)")
    if device:
        import torch

        def ours_torch() -> None:
            render_eyes(colour, depth, intr, eyes, device=device)
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        ours_torch()
        torch_t = median_ms(ours_torch, repeats)
        print(
            f"  ours on {device:20s}: {torch_t:7.1f} ms  ({1000 / torch_t:6.1f} stereo fps, "
            "including the copies to and from the device)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each (median)")
    parser.add_argument("--device", default="", help="also time the torch path on this device")
    args = parser.parse_args()
    time_scene("ramp and sphere", colour_frame(), depth_frame(), args.repeats, args.device)
    time_scene("synthetic room", *room_scene(), args.repeats, args.device)


if __name__ == "__main__":
    main()
