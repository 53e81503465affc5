#!/usr/bin/env python3
"""Make a subject mask video (step 2): X_mask.mkv beside the colour video.

Backends: rembg (MDVT's default: a learned salient-object matte per frame from one of
rembg's ONNX models, u2netp by default, soft edges kept), motion (no weights: what moves
independently of the camera; with step 1's depth video, X_depth.mkv beside the colour
video or --depth_video, it is judged against the camera's motion through that depth),
motion+rembg (the learned subject where it moves), sam2 (SAM 2.1 video segmentation from
--points/--box prompts or --auto; needs its weights), sam (Segment Anything 1 per frame).
auto: sam2 when prompted and its weights are here, else rembg when its model file is
here (--checkpoint, $U2NET_HOME or ~/.u2net), else motion. The mask video is grey FFV1
Matroska replicated to RGB, 255 = subject.

Examples:
  create_video_mask.py --color_video clip.mp4
  create_video_mask.py --color_video clip.mp4 --backend motion --dilate 4
  create_video_mask.py --color_video clip.mp4 --backend rembg --rembg_model u2net
  create_video_mask.py --color_video clip.mp4 --points "480,300 500,200,30" \\
      --negative_points "100,100" --save_visualization_video
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.masks.step import MaskConfig, create_mask


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, MaskConfig, create_mask, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
