#!/usr/bin/env python3
"""Step 1: metric depth video from an ordinary video.

Writes X_depth.mkv beside the colour video X: z-depth in metres, losslessly packed
(see docs/formats.md), same size and frame rate as X (or the frames selected with
--start/--duration/--target_fps/--preview/--max_frames). Depth Pro also writes its
per-frame field of view as X_depth.mkv_xfovs.json. Runs in constant memory, chunk by
chunk; after a crash, rerun with --resume to continue where it stopped.

Backends (--backend):
{backends}

Relative models (vda) get metres from a metric anchor model (--anchor_backend, run on a
few frames) or from a reference depth video (--depth_video). Per-frame models get a
temporal stabiliser (--no-stabilise turns it off). See docs/step1_depth.md.

Examples:
  video_metric_convert.py --color_video clip.mp4                       # vda_metric
  video_metric_convert.py --color_video clip.mp4 --backend da2 --save_vis
  video_metric_convert.py --color_video rgbd.mkv --backend frames \\
      --depth_frames depth/ --depth_scale 0.0002                        # TUM RGB-D
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from metricdepth.cli import HelpFormatter, add_verbosity_flags, run, setup_logging
from metricdepth.config import add_config_arguments, config_from_args
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import BACKENDS
from metricdepth.depth.step import convert


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    listing = "\n".join(f"  {name:12s} {entry.summary}" for name, entry in BACKENDS.items())
    parser = argparse.ArgumentParser(description=__doc__.format(backends=listing),
                                     formatter_class=HelpFormatter)
    add_config_arguments(parser, DepthConfig)
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    for path in convert(config_from_args(DepthConfig, args)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
