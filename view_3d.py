#!/usr/bin/env python3
"""Look at colour + depth video in 3D: a moving point cloud (or mesh) in an Open3D window,
a headless rendering into a video, or PLY files.

Each frame's depth is unprojected with the field of view (--xfov, --yfov, or the per-frame
FOV file) and, with --transformation_file, placed in the world (the camera of frame 0),
so a static room stays still while the camera moves. Keys in the window: Space pause/play,
Right/Left step, Up/Down faster/slower, R reset view, F follow camera, M points/mesh,
P screenshot, Q quit.

Examples:
  view_3d.py --color_video clip.mp4 --xfov 60                 # window (clip.mp4_depth.mkv)
  view_3d.py --color_video clip.mp4 --transformation_file clip.mp4_depth.mkv_transformations.json \\
      --show_camera --render out.mp4 --x 0 --y -1 --z -2 --look_at 0,0,2
  view_3d.py --color_video clip.mp4 --draw_frame 10 --export_ply frames/
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.viewer import ViewerConfig, view_3d


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, ViewerConfig, view_3d, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
