#!/usr/bin/env python3
"""Step 4: camera poses from point tracks and a depth video.

Finds where the camera was in every frame from the tracks of step 3 and the depth of
step 1: a robust start frame by frame (RANSAC), then bundle adjustment over the poses,
the tracked points and a depth scale per frame (the depth is a guide, not the truth).
Tracks on moving objects are left out by the mask, or rejected because they do not fit.
Writes D_transformations.json beside the depth video (4x4 camera-to-world per frame,
frame 0 = identity); with --optimize_intrinsic also a refined D_xfovs.json.

Example:
  camera_track.py --track_file clip.mp4_tracking.json --depth_video clip.mp4_depth.mkv --xfov 60
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from metricdepth.cli import run_step
from metricdepth.geometry.camera_step import CameraTrackConfig, camera_track


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(__doc__, CameraTrackConfig, camera_track, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
