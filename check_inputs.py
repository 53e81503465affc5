#!/usr/bin/env python3
"""Check a step's input files before a long run, and summarise what they hold.

Each file is read in full (every depth and mask frame decoded and checked) and
compared with the colour video: size, frame rate, frame count. The first problem
found is printed as one line and the exit code is 2; otherwise one summary line
per file is printed and the exit code is 0. Nothing is written.

Example:
  check_inputs.py --color_video clip.mp4 --depth_video clip.mp4_depth.mkv \\
      --track_file clip.mp4_tracking.json --xfov 60
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from metricdepth.cli import HelpFormatter, run
from metricdepth.inputs import InputSet, check_input_set


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--color_video", required=True, help="the colour video (any format FFmpeg reads)")
    parser.add_argument("--depth_video", help="depth video (FFV1 Matroska, 16-bit packing)")
    parser.add_argument("--max_depth", type=float, default=100.0,
                        help="metres; used only when the depth video has no max_depth tag")
    parser.add_argument("--mask_video", help="mask video (grey, 255 = subject)")
    parser.add_argument("--track_file", help="tracking JSON: per frame a list of [id, x, y]")
    parser.add_argument("--transformation_file", help="poses JSON: per frame a 4x4 camera-to-world matrix")
    parser.add_argument("--xfov_file", help="per-frame horizontal FOV JSON (degrees)")
    fov = parser.add_mutually_exclusive_group()
    fov.add_argument("--xfov", type=float, help="full horizontal field of view, degrees, in (1, 179)")
    fov.add_argument("--yfov", type=float, help="full vertical field of view, degrees, in (1, 179)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    inputs = InputSet(color_video=args.color_video, depth_video=args.depth_video,
                      max_depth=args.max_depth, mask_video=args.mask_video,
                      track_file=args.track_file, transformation_file=args.transformation_file,
                      xfov_file=args.xfov_file, xfov=args.xfov, yfov=args.yfov)
    for line in check_input_set(inputs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
