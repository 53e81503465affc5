#!/usr/bin/env python3
"""Pictures for docs/step1_depth.md (re-run to regenerate; writes docs/images/step1_*.png).

step1_stabiliser.png: a synthetic clip's depth over time (every 4th frame, columns),
  rows: exact depth, the same corrupted by per-frame scale/shift drift in inverse depth
  (what a per-frame model's flicker looks like), and after the stabiliser. One fixed
  colour range for all tiles, so flicker shows as colour changing from tile to tile.
step1_tum_import.png: a real TUM RGB-D frame and its depth imported by the frames
  backend (value / 5000 m), black = no depth.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from metricdepth.depth.stabilise import Stabiliser
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import colorize_depth
from metricdepth.io.video import VideoWriter
from metricdepth.synthetic import make_scene
from picture_labels import column, labelled, row

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
TUM = REPO.parent / "shared" / "data" / "rgbd" / "tum_fr1_desk_9frames"


def stabiliser_picture(out: Path) -> None:
    clip = make_scene(seed=3, width=160, height=120, frames=24, camera_translation_m=0.5,
                      camera_rotation_deg=5)
    rng = np.random.default_rng(0)
    scale = np.exp(np.cumsum(rng.normal(0, 0.08, 24)))[:, None, None]
    shift = np.cumsum(rng.normal(0, 0.02, 24))[:, None, None]
    drifted = (1.0 / (scale / clip.depth + shift)).astype(np.float32)
    stabiliser = Stabiliser(relative=False)
    stable = np.stack([stabiliser(clip.colour[i], drifted[i]) for i in range(24)])
    near, far = np.percentile(clip.depth, [2, 98])
    rows = []
    for name, depth in (("exact depth", clip.depth), ("per-frame drift", drifted),
                        ("stabilised", stable)):
        tiles = [colorize_depth(depth[i], near, far) for i in range(0, 24, 4)]
        rows.append(labelled(np.hstack(tiles), f"{name}: frames 0, 4, ..., 20"))
    cv2.imwrite(str(out), cv2.cvtColor(column(rows), cv2.COLOR_RGB2BGR))


def tum_picture(out: Path) -> None:
    rgb = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                    for p in sorted((TUM / "rgb").glob("*.png"))])
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "tum.mkv"
        with VideoWriter(video, 640, 480, 30) as writer:
            writer.write_frames(rgb)
        subprocess.run([sys.executable, str(REPO / "video_metric_convert.py"), "-q",
                        "--color_video", str(video), "--backend", "frames", "--depth_frames",
                        str(TUM / "depth"), "--depth_scale", "0.0002", "--max_depth", "20"],
                       check=True, capture_output=True)
        depth = DepthVideoReader(str(video) + "_depth.mkv").read(0)
    coloured = colorize_depth(depth, 0.5, 4.0)
    coloured[depth >= 19.99] = 0
    half = [cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA)
            for image in (rgb[0], coloured)]
    sheet = row(half, ["TUM fr1/desk frame", "imported depth, 0.5 m red to 4 m blue, "
                                             "black: no depth"])
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    (DOCS / "images").mkdir(exist_ok=True)
    stabiliser_picture(DOCS / "images" / "step1_stabiliser.png")
    tum_picture(DOCS / "images" / "step1_tum_import.png")
    print("wrote docs/images/step1_stabiliser.png, docs/images/step1_tum_import.png")
