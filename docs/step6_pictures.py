#!/usr/bin/env python3
"""Pictures and accuracy figures of docs/step6_stereo.md (re-run to refresh them).

Writes docs/images/step6_stereo.png: the synthetic scene (seed 0) rendered for both
eyes, the infill mask, and the exact right view; then the Middlebury Teddy pair: our
right view from the left image and true disparity next to the real right image.
Prints the accuracy table (PSNR against the oracle, hole IoU) for the doc.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from metricdepth.evaluate.stereo_scores import real_pair_scores, render_from_disparity, synthetic_scores
from metricdepth.stereo.render import render_eyes, stereo_eyes
from metricdepth.synthetic import make_scene
from picture_labels import column, row

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "stereo"
HALF = 0.0315


def picture() -> None:
    clip = make_scene(seed=0, width=320, height=240, frames=1, xfov=60.0)
    intr = clip.intrinsics
    left, right = render_eyes(clip.colour[0], clip.depth[0], intr,
                              stereo_eyes(intr, 0.063), black_holes=True)
    truth = clip.second_eye(0, HALF).colour
    rows = [row([left.colour, right.colour], ["left eye (holes black)", "right eye"]),
            row([np.concatenate([left.mask[:, :160], right.mask[:, 160:]], 1), truth],
                ["infill mask (left | right half)", "exact right view"])]
    teddy = DATA / "middlebury2003_teddy"
    if teddy.is_dir():
        im2 = cv2.imread(str(teddy / "im2.png"))[..., ::-1].copy()
        im6 = cv2.imread(str(teddy / "im6.png"))[..., ::-1].copy()
        d = cv2.imread(str(teddy / "disp2.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 4
        ours = render_from_disparity(im2, d)
        size = (320, round(320 * d.shape[0] / d.shape[1]))
        pair = [cv2.resize(img, size, interpolation=cv2.INTER_AREA) for img in (ours.colour, im6)]
        rows.append(row(pair, ["Teddy: ours, from left + GT", "Teddy: real right"]))
    out = HERE / "images" / "step6_stereo.png"
    collage = Image.fromarray(column(rows)).quantize(colors=256, dither=Image.Dither.NONE)
    collage.save(out, optimize=True)  # a 256-colour palette keeps the PNG small
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


def table() -> None:
    print("| scene | eye | ours dB | oracle dB | ours - oracle | hole IoU |")
    print("|---|---|---|---|---|---|")
    for width, height in ((640, 480), (320, 240)):
        for seed in range(12):
            clip = make_scene(seed=seed, width=width, height=height, frames=1, xfov=60.0)
            for name, offset in (("right", HALF), ("left", -HALF)):
                s = synthetic_scores(clip, 0, offset)
                print(f"| synthetic seed {seed}, {width}x{height} | {name} | {s.ours_db:.2f} | "
                      f"{s.oracle_db:.2f} | {s.ours_db - s.oracle_db:+.2f} | {s.hole_iou:.3f} |",
                      flush=True)
    for seed in (0, 1, 2):
        clip = make_scene(seed=seed, width=320, height=240, frames=7, xfov=60.0)
        s = synthetic_scores(clip, 5, HALF, world_from_centre=clip.world_from_cam[0])
        print(f"| stabilised: frame 5 from frame 0's camera, seed {seed}, 320x240 | right | "
              f"{s.ours_db:.2f} | {s.oracle_db:.2f} | {s.ours_db - s.oracle_db:+.2f} | "
              f"{s.hole_iou:.3f} |", flush=True)
    for name, files in (("middlebury2003_teddy", ("im2.png", "im6.png", "disp2.png", 4.0)),
                        ("aloe", ("aloeL.jpg", "aloeR.jpg", "aloeGT.png", 1.0))):
        folder = DATA / name
        if not folder.is_dir():
            continue
        left = cv2.imread(str(folder / files[0]))[..., ::-1].copy()
        right = cv2.imread(str(folder / files[1]))[..., ::-1].copy()
        d = cv2.imread(str(folder / files[2]), cv2.IMREAD_UNCHANGED).astype(np.float32) / files[3]
        s = real_pair_scores(left, right, d)
        print(f"| real: {name} ({s.pixels} px scored) | right from left | {s.ours_db:.2f} | "
              f"{s.oracle_db:.2f} | {s.ours_db - s.oracle_db:+.2f} | - |")


if __name__ == "__main__":
    picture()
    if "--picture_only" not in sys.argv:
        table()
