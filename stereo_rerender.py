#!/usr/bin/env python3
"""Render a side-by-side stereo video and its infill mask from a colour video and its
metric depth video (step 6).

Each eye is rendered from the colour frame and its depth as a surface: neighbouring
pixels stay joined, depth steps become holes (never smears), nearer surfaces win, and
positions and colours are sub-pixel. The eyes are parallel, --pupillary_distance apart,
symmetric about the source camera. Writes, beside the depth video D:

  D_stereo.mkv                  the stereo video (FFV1, lossless; --layout)
  D_stereo.mkv_infillmask.mkv   same size: black = keep, colour = hole and the direction
                                its content should come from (docs/step6_stereo.md)

Long runs are written in chunks: after a crash, run again with --resume.

Example:
  stereo_rerender.py --color_video clip.mp4 --depth_video clip.mp4_depth.mkv --xfov 60
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from metricdepth.cli import HelpFormatter, add_verbosity_flags, run, setup_logging
from metricdepth.config import add_config_arguments, config_from_args
from metricdepth.stereo.step import StereoConfig, stereo_rerender


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_config_arguments(parser, StereoConfig)
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    paths = stereo_rerender(config_from_args(StereoConfig, args))
    for role, path in paths.items():
        print(f"{role:12s} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
