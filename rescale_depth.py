#!/usr/bin/env python3
"""Step 5: depth corrected by triangulation.

With the camera poses of step 4, triangulates every static track that is seen often
enough and with enough parallax, fits the depth video to those points in inverse depth
(1/z_true = a/z + b) frame by frame (smoothed over time; --global_align: one fit for
the whole video) and writes, beside the depth video:
  D_rescaled.mkv          the corrected depth video (same size, fps and max_depth)
  D_triangulated.ply      the triangulated points (colours, track ids)
  D_avgmonodepth.ply      per track, the average of its depth-derived points
Run it again on D_rescaled.mkv to check: it says when a further pass changes nothing.

Example:
  rescale_depth.py --depth_video clip.mp4_depth.mkv --track_file clip.mp4_tracking.json --xfov 60
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.geometry.rescale_step import RescaleConfig, rescale_depth


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, RescaleConfig, rescale_depth, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
