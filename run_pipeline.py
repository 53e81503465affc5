#!/usr/bin/env python3
"""The whole pipeline: steps 1-8 on a video, ending with a player-ready stereo file.

  1 depth     video_metric_convert.py   X_depth.mkv
  2 masks     create_video_mask.py      X_mask.mkv
  3 tracks    track_points_in_video.py  X_tracking.json
  4 camera    camera_track.py           D_transformations.json
  5 rescale   rescale_depth.py          D_rescaled.mkv (+ PLYs)
  6 stereo    stereo_rerender.py        R_stereo.mkv, R_stereo.mkv_infillmask.mkv
  7 infill    stereo_infill.py          S_infilled.mkv
  8 compress  compress_video.py         S_infilled.mkv_LRF_Full_SBS.mp4 (with the audio)

Complete steps (their outputs exist) are skipped and interrupted ones resumed, so after
a crash the same command finishes the job. Backends and a few choices are flags; every
other setting of a step goes into a TOML/JSON file given with --config (a section per
step, named as above; see docs/steps.md). A summary at the end says what ran, how long
each step took and where the outputs are.

Examples:
  run_pipeline.py clip.mp4 --xfov 60                         # small default depth model
  run_pipeline.py tum.mkv --rgbd ../shared/data/rgbd/tum_fr1_desk_9frames --xfov 63.5
  run_pipeline.py film.mp4 --xfov 60 --split_scenes          # scene by scene, joined
  run_pipeline.py film.mp4 --xfov 60 --split_scenes --ray_address local --workers 4  # 4 scenes at once
  run_pipeline.py clip.mp4 --xfov 60 --until camera          # steps 1-4 only
  run_pipeline.py clip.mp4 --xfov 60 --preview 10            # every 10th frame, as clip.mp4_preview10.mkv
  run_pipeline.py clip.mp4 --xfov 60 --from stereo --overwrite --config my.toml  # redo 6-8
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from metricdepth.cli import add_verbosity_flags, run, setup_logging
from metricdepth.config import ConfigParser, add_config_arguments
from metricdepth.pipeline import PipelineConfig, build_config, format_summary, run_pipeline

NOT_GIVEN = object()  # marks flags left out, so the config file can fill them


def parser() -> argparse.ArgumentParser:
    p = ConfigParser(description=__doc__)
    p.add_argument("video", help="the colour video (with --rgbd: the colour video to build "
                   "from the RGB-D folder's colour frames)")
    add_config_arguments(p, PipelineConfig)
    add_verbosity_flags(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    dests = [f.name for f in dataclasses.fields(PipelineConfig)] + ["verbose", "quiet"]
    args = p.parse_args(argv, namespace=argparse.Namespace(**{d: NOT_GIVEN for d in dests}))
    for name in ("verbose", "quiet"):
        if getattr(args, name) is NOT_GIVEN:
            setattr(args, name, False)
    setup_logging(args)
    given = {k: v for k, v in vars(args).items()
             if v is not NOT_GIVEN and k not in ("verbose", "quiet")}
    result = run_pipeline(build_config(given))
    print(format_summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
