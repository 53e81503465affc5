#!/usr/bin/env python3
"""Track points through a video (step 3) and write X_tracking.json beside it.

Backends: cotracker (CoTracker3 in overlapping windows, where the cotracker package or
its torch.hub cache is present) and lk (no weights: pyramidal Lucas-Kanade with a
forward-backward check and affine sub-pixel refinement against each point's anchor
patch). The tracking file holds, per frame, a list of [id, x, y] (pixels, 1/1000 px);
a point keeps its id while it stays valid and is absent from frames where it is not.

Example:
  track_points_in_video.py --color_video clip.mp4 --mask_video clip.mp4_mask.mkv \\
      --save_visualization_video
"""

from __future__ import annotations

import argparse
import sys

from collections.abc import Sequence

from metricdepth.cli import run_step, step_parser
from metricdepth.tracking.step import TrackConfig, track_points


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return step_parser(__doc__, TrackConfig).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, TrackConfig, track_points, argv)


if __name__ == "__main__":
    sys.exit(main())
