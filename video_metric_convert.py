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

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import BACKENDS
from metricdepth.depth.step import convert


def main(argv: Sequence[str] | None = None) -> int:
    listing = "\n".join(f"  {name:12s} {entry.summary}" for name, entry in BACKENDS.items())
    return run_step(__doc__.format(backends=listing), DepthConfig, convert, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
