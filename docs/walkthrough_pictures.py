#!/usr/bin/env python3
"""Makes every picture of docs/walkthrough.md by running the walkthrough's own commands.

    .venv/bin/python docs/walkthrough_pictures.py [--work DIR]

1. `run_pipeline.py tum.mkv --rgbd ../shared/data/rgbd/tum_fr1_desk_9frames --xfov 63.48`:
   the real TUM RGB-D frames (Kinect depth, imported with the frames backend) through all
   eight steps with the weight-free backends.
2. `create_video_mask.py` and `track_points_in_video.py` on 60 frames of the real bedroom
   clip (two children jumping: something to mask; the TUM desk does not move).
3. `view_3d.py --render` of the TUM point cloud from a fixed camera, frames 0 and 8, with
   the recorded camera drawn.

Writes docs/images/walkthrough_{depth,mask_tracks,cloud,stereo,infill}.png (each < 300 KB).
The work folder (default: a temporary one) keeps every intermediate file with --work.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import colorize_depth
from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.sidecars import read_tracking
from metricdepth.io.video import VideoReader, VideoWriter
from metricdepth.masks.draw import overlay_mask
from metricdepth.pipeline.steps import ClipFiles
from metricdepth.tracking.draw import TrackPainter
from picture_labels import labelled, row

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
IMAGES = DOCS / "images"
DATA = REPO.parent / "shared" / "data"
TUM = DATA / "rgbd" / "tum_fr1_desk_9frames"
BEDROOM = DATA / "video" / "bedroom" / "bedroom.mp4"
TUM_XFOV = "63.48"                 # 2 atan(320 / 517.3): the Kinect's focal length, degrees
BEDROOM_FRAMES = (100, 160)        # a 2 s part with both children moving
TUM_FRAME = 4                      # the frame shown from the TUM run
DEPTH_RANGE_M = (0.5, 3.0)         # near and far of the colour map for the desk
INFILL_CROP = (slice(120, 360), slice(200, 520))  # rows, columns of the right eye to zoom
TILE_WIDTH = 320                   # pixels per picture tile
HOLE_COLOUR = (255, 0, 255)


def run(*args: str) -> None:
    command = [sys.executable, *args]
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run(command, check=True, cwd=REPO)


def tile(image: np.ndarray, width: int = TILE_WIDTH) -> np.ndarray:
    height = round(image.shape[0] * width / image.shape[1])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def depth_tile(reader: DepthVideoReader, index: int) -> np.ndarray:
    """Frame `index` of a depth video in the turbo map of DEPTH_RANGE_M, pixels without
    depth (stored as the video's max_depth) black."""
    depth = reader.read(index)
    coloured = colorize_depth(depth, *DEPTH_RANGE_M)
    coloured[depth >= reader.max_depth] = 0
    return tile(coloured)


def save(name: str, picture: np.ndarray) -> None:
    path = IMAGES / name
    cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    size = path.stat().st_size
    print(f"wrote {path.relative_to(REPO)} ({size // 1024} KB)")
    if size > 300_000:
        raise SystemExit(f"{path} is over 300 KB")


def tum_pictures(work: Path) -> None:
    video = work / "tum.mkv"
    run("run_pipeline.py", str(video), "--rgbd", str(TUM), "--xfov", TUM_XFOV)
    files = ClipFiles(video)
    colour = VideoReader(video).read(TUM_FRAME)
    save("walkthrough_depth.png", row(
        [tile(colour), depth_tile(DepthVideoReader(files.depth), TUM_FRAME),
         depth_tile(DepthVideoReader(files.rescaled), TUM_FRAME)],
        ["colour (TUM fr1/desk)", "step 1: Kinect depth, imported (sensor holes filled)",
         "step 5: rescaled depth"]))

    stereo = VideoReader(files.infilled).read(TUM_FRAME)
    save("walkthrough_stereo.png", labelled(tile(stereo, 2 * TILE_WIDTH),
                                            "step 7: side by side, left eye left"))

    width = colour.shape[1]
    before = VideoReader(files.stereo).read(TUM_FRAME)[:, width:]
    holes = VideoReader(files.infill_mask).read(TUM_FRAME)[:, width:]
    after = stereo[:, width:]
    marked = before.copy()
    marked[holes.any(axis=2)] = HOLE_COLOUR
    crop = INFILL_CROP
    save("walkthrough_infill.png", row(
        [tile(marked[crop], 300), tile(holes[crop], 300), tile(before[crop], 300),
         tile(after[crop], 300)],
        ["step 6: holes (magenta)", "step 6: infill mask", "step 6: background stretched",
         "step 7: classical infill"]))

    views = []
    for frame in (0, 8):
        out = work / f"cloud_{frame}.png"
        run("view_3d.py", "--color_video", str(video), "--depth_video", str(files.rescaled),
            "--xfov", TUM_XFOV, "--transformation_file", str(files.poses), "--show_camera",
            "--background_ply", str(files.triangulated), "--draw_frame", str(frame),
            "--render", str(out), "--x", "0.8", "--y", "-0.6", "--z", "-0.9",
            "--look_at", "0,0,1.2", "--render_width", str(TILE_WIDTH), "--overwrite")
        views.append(tile(cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)))
    save("walkthrough_cloud.png", row(views, [f"view_3d: frame {frame}, camera in orange"
                                              for frame in (0, 8)]))


def bedroom_picture(work: Path) -> None:
    clip = work / "bedroom.mkv"
    start, stop = BEDROOM_FRAMES
    reader = VideoReader(BEDROOM)
    with VideoWriter(clip, reader.width, reader.height, reader.fps, overwrite=True) as writer:
        for frame in reader.frames(start, stop):
            writer.write(frame)
    run("create_video_mask.py", "--color_video", str(clip), "--backend", "motion", "--overwrite")
    files = ClipFiles(clip)
    run("track_points_in_video.py", "--color_video", str(clip), "--mask_video", str(files.mask),
        "--backend", "lk", "--overwrite")
    last = stop - start - 1
    tracks = read_tracking(files.tracks)
    painter = TrackPainter()
    for index, frame in enumerate(VideoReader(clip).frames()):
        drawn = painter.draw(frame, tracks[index])
    mask = list(MaskVideoReader(files.mask).frames(last, last + 1))[0]
    frame = VideoReader(clip).read(last)
    save("walkthrough_mask_tracks.png", row(
        [tile(overlay_mask(frame, mask)), tile(drawn)],
        ["step 2: motion mask", "step 3: lk tracks (10-frame tails)"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, help="keep the intermediate files in this "
                        "(new or empty) folder; default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        tum_pictures(work)
        bedroom_picture(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
