#!/usr/bin/env python3
"""Make docs/images/step7_infill.png: the right eye of a synthetic frame with exact holes,
filled by OpenCV's Telea inpainting, by classical infill, by classical infill with depth
and poses, and the exact view. Run: .venv/bin/python docs/step7_pictures.py"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from metricdepth.infill.step import InfillConfig, infill
from metricdepth.evaluate.infill_truth import write_stereo_inputs
from metricdepth.io.video import VideoReader
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from picture_labels import column, row

OUT = Path(__file__).resolve().parent / "images" / "step7_infill.png"
WIDTH, HEIGHT, FRAME, ZOOM = 192, 144, 8, 2


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_scene(seed=1, width=WIDTH, height=HEIGHT, frames=16, moving="sphere")
        paths = write_clip(clip, Path(tmp) / "clip.mkv")
        stereo, _, truth = write_stereo_inputs(clip, paths["depth"])
        t = truth[FRAME]
        right = np.ascontiguousarray(t.rendered[:, WIDTH:])
        holes = t.holes[:, WIDTH:]
        telea = cv2.inpaint(right, holes.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        [plain] = infill(InfillConfig(sbs_color_video=stereo))
        plain_frame = VideoReader(plain).read(FRAME)[:, WIDTH:]
        plain.unlink()
        [posed] = infill(InfillConfig(sbs_color_video=stereo, color_video=paths["colour"],
                                      depth_video=paths["depth"], mask_video=paths["mask"],
                                      transformation_file=paths["transformations"]))
        posed_frame = VideoReader(posed).read(FRAME)[:, WIDTH:]
    shown = right.copy()
    shown[holes] = (255, 0, 255)
    panels = [shown, telea, plain_frame, posed_frame, t.truth[:, WIDTH:]]
    labels = ["holes (magenta)", "Telea", "classical", "classical + poses", "exact"]
    tiles = [cv2.resize(image, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
             for image in panels]
    grid = column([row(tiles[:3], labels[:3]), row(tiles[3:], labels[3:])])
    OUT.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(OUT), grid[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(OUT, OUT.stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
