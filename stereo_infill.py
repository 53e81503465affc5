#!/usr/bin/env python3
"""Step 7: fill the holes (disocclusions) of a side-by-side stereo video.

Reads the stereo video S and its infill mask (step 6's D_stereo.mkv and
D_stereo.mkv_infillmask.mkv) and writes S_infilled.mkv (same layout, FFV1, lossless).

Backends: classical (default, no weights) fills each hole from its background side,
and, given --color_video, --depth_video and --transformation_file, first with background
that neighbouring frames see; stereocrafter runs the StereoCrafter video diffusion model
(weights from --checkpoint and --svd_checkpoint; a GPU is advised: about 0.2 frames/s on a
consumer GPU).

Overnight-proof: chunks are written as they finish; run the same command again after a
crash or kill and it continues from the last finished chunk. A log line per chunk goes to
S_infilled.mkv.log.

Examples:
  stereo_infill.py --sbs_color_video clip.mp4_depth.mkv_stereo.mkv
  stereo_infill.py --sbs_color_video S.mkv --color_video clip.mp4 \\
      --depth_video clip.mp4_depth.mkv --transformation_file clip.mp4_depth.mkv_transformations.json
  stereo_infill.py --batch videos.txt --backend stereocrafter --checkpoint weights/StereoCrafter \\
      --svd_checkpoint weights/stable-video-diffusion-img2vid-xt-1-1 --devices cuda:0,cuda:1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.infill.step import InfillConfig, infill


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, InfillConfig, infill, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
