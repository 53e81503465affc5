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

from metricdepth.cli import HelpFormatter, add_verbosity_flags, run, setup_logging
from metricdepth.config import add_config_arguments, config_from_args
from metricdepth.tracking.step import TrackConfig, track_points


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_config_arguments(parser, TrackConfig)
    # the older toolbox's spelling of --steps_between_track_init
    parser.add_argument("--steps_bewtwen_track_init", dest="steps_between_track_init",
                        type=int, default=argparse.SUPPRESS,
                        help="same as --steps_between_track_init")
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    for path in track_points(config_from_args(TrackConfig, args)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
