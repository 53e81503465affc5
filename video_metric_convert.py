#!/usr/bin/env python3
"""Step 1: metric depth video from an ordinary video.

Writes X_depth.mkv beside the colour video X: z-depth in metres, losslessly packed
(see docs/formats.md), same size and frame rate as X (or the frames selected with
--start/--duration/--target_fps/--preview/--max_frames/--sample keyframes). Depth Pro
also writes its per-frame field of view as X_depth.mkv_xfovs.json. Runs in constant memory, chunk by
chunk; after a crash, rerun with --resume to continue where it stopped.

Backends (--backend):
{backends}

Model sizes (--model; Small = vits is the default; Base and Large weights are
non-commercial, Depth Pro's research only):
{models}

Relative models (vda, da2_relative) get metres from a metric anchor model
(--anchor_backend, run on a few frames) or from a reference depth video (--depth_video).
Per-frame models get a temporal stabiliser (--no-stabilise turns it off; --smoothing
sets its lag). See docs/step1_depth.md.

Examples:
  video_metric_convert.py --color_video clip.mp4                       # vda_metric
  video_metric_convert.py --color_video clip.mp4 --backend da2 --save_vis
  video_metric_convert.py --color_video rgbd.mkv --backend frames \\
      --depth_frames depth/ --depth_scale 0.0002                        # TUM RGB-D
  video_metric_convert.py --color_video clip.mp4 --model vitl --input_size 518 \\
      --max_frames -1 --target_fps -1 --max_depth 100 --fp32            # the older toolbox's line
  video_metric_convert.py clip.mp4 --sample keyframes --save_depth_zip   # ImmichVR
  video_metric_convert.py clip.mp4 --save_ndjson --save_csv_every 10 --xfov 60 \\
      --max_res 1280 --save_vis --palette inferno                       # Annolid
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import BACKENDS, model_table
from metricdepth.depth.step import convert


def main(argv: Sequence[str] | None = None) -> int:
    listing = "\n".join(f"  {name:12s} {entry.summary}" for name, entry in BACKENDS.items())
    return run_step(__doc__.format(backends=listing, models=model_table()), DepthConfig, convert,
                    argv=argv)


if __name__ == "__main__":
    sys.exit(main())
