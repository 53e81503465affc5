#!/usr/bin/env python3
"""Steps 2 and 3 on the real clips of ../shared/data (bedroom, dog): numbers and pictures.

For each clip: the `motion` mask and the `lk` tracks are made (in --out, through links to
the clips, so nothing is written next to the shared data), then printed:
- tracks: how many, points per frame, how many of the points seen in a frame are still
  tracked 30 frames later (survival), and the forward-backward error of the written
  tracks (each point tracked back one frame with plain OpenCV Lucas-Kanade, compared with
  where the file says it was);
- masks: the fraction of pixels marked, per frame (median and range).
One frame of each clip, with the mask tinted and the tracks drawn, is saved as
docs/images/<clip>_mask_tracks.png (re-run this script to regenerate them).

Usage: benchmarks/real_masks_tracks.py [--out /tmp/real_runs] [--max_frames N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.sidecars import read_tracking
from metricdepth.io.video import VideoReader
from metricdepth.masks.draw import overlay_mask
from metricdepth.masks.step import MaskConfig, create_mask
from metricdepth.progress import set_enabled
from metricdepth.tracking.draw import TrackPainter
from metricdepth.tracking.step import TrackConfig, track_points

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
CLIPS = {"bedroom": DATA / "bedroom" / "bedroom.mp4", "dog": DATA / "dog" / "01_dog.mp4"}
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
HORIZON = 30  # frames for the survival figure
PICTURE_WIDTH = 560  # pixels; pictures are shrunk to this width
LK_WINDOW = 15


def survival(tracks: list, horizon: int) -> float:
    """Fraction of (frame, point) pairs still tracked `horizon` frames later."""
    alive = total = 0
    for t in range(len(tracks) - horizon):
        later = set(tracks[t + horizon].ids.tolist())
        total += len(tracks[t])
        alive += sum(i in later for i in tracks[t].ids.tolist())
    return alive / total if total else float("nan")


def fb_errors(video: Path, tracks: list, frames: int) -> np.ndarray:
    """Pixels between each written point tracked back one frame (plain LK) and its
    written position in the previous frame."""
    errors, previous = [], None
    for t, frame in enumerate(VideoReader(video).frames(0, frames)):
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if previous is not None:
            common, ia, ib = np.intersect1d(tracks[t - 1].ids, tracks[t].ids, return_indices=True)
            if len(common):
                now = tracks[t].xy[ib].astype(np.float32).reshape(-1, 1, 2)
                back, ok, _ = cv2.calcOpticalFlowPyrLK(grey, previous, now, None,
                                                       winSize=(LK_WINDOW, LK_WINDOW), maxLevel=3)
                ok = ok.ravel().astype(bool)
                errors.append(np.linalg.norm(back.reshape(-1, 2) - tracks[t - 1].xy[ia], axis=1)[ok])
        previous = grey
    return np.concatenate(errors) if errors else np.zeros(0)


def picture(video: Path, mask_path: Path, tracks: list, index: int, out: Path) -> None:
    painter = TrackPainter()
    masks = MaskVideoReader(mask_path)
    for t, frame in enumerate(VideoReader(video).frames(0, index + 1)):
        drawn = painter.draw(frame, tracks[t])  # keeps the tails' history
    image = overlay_mask(drawn, masks.read(index))
    h, w = image.shape[:2]
    image = cv2.resize(image, (PICTURE_WIDTH, round(h * PICTURE_WIDTH / w)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="/tmp/real_runs", help="working folder")
    parser.add_argument("--max_frames", type=int, default=None, help="frames per clip (default: all)")
    args = parser.parse_args()
    set_enabled(False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, source in CLIPS.items():
        if not source.is_file():
            print(f"{name}: {source} missing, skipped")
            continue
        link = out / source.name
        if not link.exists():
            link.symlink_to(source)
        mask_path = create_mask(MaskConfig(color_video=str(link), backend="motion",
                                           max_frames=args.max_frames, overwrite=True))[0]
        track_path = track_points(TrackConfig(color_video=str(link), backend="lk",
                                              max_frames=args.max_frames, overwrite=True))[0]
        masks = MaskVideoReader(mask_path)
        tracks = read_tracking(track_path)
        n = len(tracks)
        coverage = np.array([m.mean() for m in masks.frames(0, n)])
        fb = fb_errors(link, tracks, n)
        ids = set().union(*(f.ids.tolist() for f in tracks))
        print(f"{name}: {n} frames {masks.width}x{masks.height}")
        print(f"  tracks: {len(ids)} ids, {np.mean([len(f) for f in tracks]):.0f} points per frame, "
              f"{100 * survival(tracks, HORIZON):.0f}% of points still tracked {HORIZON} frames later, "
              f"forward-backward error median {np.median(fb):.3f} px, 95th percentile "
              f"{np.percentile(fb, 95):.3f} px")
        print(f"  motion mask: median {100 * np.median(coverage):.1f}% of the frame "
              f"(range {100 * coverage.min():.1f}-{100 * coverage.max():.1f}%), "
              f"{100 * np.mean(coverage > 0):.0f}% of frames with a mask")
        index = int(np.argmax(coverage[: n - 1])) if coverage.any() else n // 2
        picture(link, mask_path, tracks, index, IMAGES / f"{name}_mask_tracks.png")
        print(f"  picture: frame {index} -> {IMAGES / f'{name}_mask_tracks.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
