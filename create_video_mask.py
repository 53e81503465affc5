#!/usr/bin/env python3
"""Make a subject mask video (step 2): X_mask.mkv beside the colour video.

Backends: sam2 (SAM 2.1 video segmentation from --points/--box prompts or --auto; needs
its weights), sam (Segment Anything 1 per frame, prompts carried along; needs
segment-anything and torchvision), motion (no weights: finds what moves independently
of the camera from point tracks and a robust camera-motion model, grown along colour
and depth edges). The mask video is grey FFV1 Matroska, 255 = subject.

Examples:
  create_video_mask.py --color_video clip.mp4 --backend motion --dilate 4
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
