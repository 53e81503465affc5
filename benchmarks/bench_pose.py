#!/usr/bin/env python3
"""Camera tracking speed: 300 frames of 1280x720 tracks, against reading those inputs.

Builds a geometric test clip (random points on the walls of a box room seen by a moving
camera: `metricdepth.evaluate.synthetic_tracks.room_tracks`, with its exact depth video
and tracking JSON) and times, in the same run:
  reading   parsing the tracking JSON and decoding every depth frame (what the step
            cannot avoid doing: the reference)
  camera    the whole step 4 (camera_track: reading, sampling, initialisation, windowed
            bundle adjustment, key-frame pass, writing the poses)
Prints both, their ratio, and the trajectory error against the truth.
Target: camera tracking of 300 frames at 1280x720 under 60 s on this CPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from metricdepth.geometry.align import absolute_trajectory_error, path_length
from metricdepth.geometry.camera_step import CameraTrackConfig, camera_track
from metricdepth.evaluate.synthetic_tracks import room_tracks, write_inputs
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.sidecars import read_tracking, read_transformations

W, H = 1280, 720
TARGET_S = 60.0


def build(folder: Path, frames: int, tracks_per_frame: int):
    room = room_tracks(frames=frames, width=W, height=H, translation_m=1.5, rotation_deg=15.0,
                       tracks_per_frame=tracks_per_frame, noise_px=0.5)
    depth = np.stack([room.depth(f) for f in range(frames)])
    return room, write_inputs(folder / "room.mkv", None, depth, room.tracks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--tracks_per_frame", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        room, paths = build(Path(tmp), args.frames, args.tracks_per_frame)
        observations = sum(len(f) for f in room.tracks)

        start = time.perf_counter()
        read_tracking(paths["tracks"], args.frames, (W, H))
        with DepthVideoReader(paths["depth"]) as video:
            for _ in video.frames():
                pass
        reading = time.perf_counter() - start

        start = time.perf_counter()
        written = camera_track(CameraTrackConfig(track_file=paths["tracks"],
                                                 depth_video=paths["depth"], xfov=60.0))
        camera = time.perf_counter() - start
        poses = read_transformations(written["transformations"], args.frames)

    ate = absolute_trajectory_error(poses, room.world_from_cam) / path_length(room.world_from_cam)
    print(f"{args.frames} frames {W}x{H}, {observations} observations "
          f"({observations / args.frames:.0f} per frame)")
    print(f"reading inputs   {reading:7.2f} s")
    print(f"camera_track     {camera:7.2f} s   ({camera / reading:.1f}x reading; target "
          f"{TARGET_S:.0f} s: {'met' if camera < TARGET_S else 'MISSED'})")
    print(f"trajectory error {100 * ate:.3f}% of the path length")


if __name__ == "__main__":
    main()
