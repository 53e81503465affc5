#!/usr/bin/env python3
"""Check a step's input files before a long run, and summarise what they hold.

Each file is read in full (every depth and mask frame decoded and checked) and
compared with the colour video: size, frame rate, frame count. The first problem
found is printed as one line and the exit code is 2; otherwise one summary line
per file is printed and the exit code is 0. Nothing is written.

Example:
  check_inputs.py --color_video clip.mp4 --depth_video clip.mp4_depth.mkv \\
      --track_file clip.mp4_tracking.json --xfov 60
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import parse_step_args, run, setup_logging, step_parser
from metricdepth.config import config_from_args
from metricdepth.errors import InputError
from metricdepth.inputs import InputSet, check_input_set


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser(__doc__, InputSet)
    args = parse_step_args(parser, InputSet, argv)
    setup_logging(args)
    inputs = config_from_args(InputSet, args)
    if inputs.xfov is not None and inputs.yfov is not None:
        raise InputError("--yfov", "give only one of --xfov, --yfov")
    for line in check_input_set(inputs):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
