#!/usr/bin/env python3
"""Render a synthetic clip with exact ground truth, in the toolbox's own file formats.

A textured room with static objects and one moving object, seen by a moving camera.
Writes the colour video and, beside it, what every step should recover: the exact
depth video, the moving object's mask, the camera poses, the field of view, and the
exact side-by-side view of two eyes. Use it to try the steps on footage whose answer
is known, or to look at the formats. Deterministic: the same seed gives the same files.
Frames are rendered and written one at a time (memory does not grow with --frames), and
the files appear together when all are complete.

Example:
  make_synthetic_scene.py --out demo            # demo/synthetic.mkv and its sidecars
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.synthetic.step import SyntheticConfig, make_synthetic


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, SyntheticConfig, make_synthetic, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
