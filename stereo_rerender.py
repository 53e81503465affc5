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

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.stereo.step import StereoConfig, stereo_rerender


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, StereoConfig, stereo_rerender, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
