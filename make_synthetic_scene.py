#!/usr/bin/env python3
"""Render a synthetic clip with exact ground truth, in the toolbox's own file formats.

A textured room with static objects and one moving object, seen by a moving camera.
Writes the colour video and, beside it, what every step should recover: the exact
depth video, the moving object's mask, the camera poses, the field of view, and the
exact side-by-side view of two eyes. Use it to try the steps on footage whose answer
is known, or to look at the formats. Deterministic: the same seed gives the same files.

Example:
  make_synthetic_scene.py --out demo            # demo/synthetic.mkv and its sidecars
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from metricdepth.cli import HelpFormatter, add_verbosity_flags, run, setup_logging
from metricdepth.errors import InputError
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import check_outputs, write_clip

log = logging.getLogger("make_synthetic_scene")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--out", default="demo", help="output folder (created if missing)")
    parser.add_argument("--name", default="synthetic.mkv", help="file name of the colour video")
    parser.add_argument("--seed", type=int, default=0, help="scene layout, textures and motion")
    parser.add_argument("--frames", type=int, default=64, help="number of frames")
    parser.add_argument("--width", type=int, default=320, help="pixels")
    parser.add_argument("--height", type=int, default=240, help="pixels")
    parser.add_argument("--xfov", type=float, default=60.0, help="full horizontal field of view, degrees")
    parser.add_argument("--pupillary_distance", type=float, default=63.0,
                        help="millimetres between the two eyes of the ground-truth stereo view")
    parser.add_argument("--static", action="store_true", help="no moving object")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    add_verbosity_flags(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    check_outputs(out / args.name, args.overwrite)
    try:
        clip = make_scene(seed=args.seed, width=args.width, height=args.height,
                          frames=args.frames, xfov=args.xfov,
                          moving=None if args.static else "sphere")
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    log.info("rendered %d frames of %dx%d; writing files", args.frames, args.width, args.height)
    paths = write_clip(clip, out / args.name, pupillary_distance_m=args.pupillary_distance / 1000,
                       overwrite=args.overwrite)
    for role, path in paths.items():
        print(f"{role:16s} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
