#!/usr/bin/env python3
"""Pictures of docs/step4_camera.md and docs/step5_rescale.md (re-run to refresh them).

On the synthetic scene (seed 0, 48 frames, moving sphere, no mask) with exact tracks
(0.3 px noise) and depth corrupted by a per-frame scale random walk and 2% noise:
- docs/images/step4_camera.png: the camera path from above (truth white, camera_track's
  estimate after a similarity alignment orange), and frame 40 of the debug video
  (green: kept tracks, red: rejected, on the moving sphere);
- docs/images/step5_rescale.png: frame 40's depth as given, after rescale_depth, and the
  truth (colour-mapped, same range); below, per frame, the AbsRel of the depth given
  (red) and rescaled (green) against the truth on static pixels, after one scale factor
  for the whole clip (grey line: the 1.6% that the 2% pixel noise alone costs).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from metricdepth.geometry.align import umeyama
from metricdepth.geometry.camera_step import CameraTrackConfig, camera_track
from metricdepth.geometry.rescale_step import RescaleConfig, rescale_depth
from metricdepth.evaluate.synthetic_tracks import clip_tracks, corrupt_depth, write_inputs
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import colorize_depth
from metricdepth.io.sidecars import read_transformations
from metricdepth.io.video import VideoReader
from metricdepth.synthetic import make_scene
from picture_labels import column, labelled, row

IMAGES = Path(__file__).resolve().parent / "images"
FRAME = 40
NEAR, FAR = 1.0, 7.0
PALETTE_COLOURS = 128
CHART_TOP = 0.25        # top of the AbsRel chart
NOISE_FLOOR = 0.016     # mean |N(0, 0.02)|: what 2% per-pixel noise alone costs


def top_view(truth: np.ndarray, estimate: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Camera centres (x, z) of (N, 4, 4) poses drawn from above on a (H, W) canvas."""
    height, width = size
    canvas = np.full((height, width, 3), 40, np.uint8)
    both = np.concatenate([truth[:, :3, 3], estimate[:, :3, 3]])[:, [0, 2]]
    lo, hi = both.min(axis=0), both.max(axis=0)
    scale = 0.8 * min(width, height) / max(hi - lo)
    for poses, colour, thickness in ((truth, (255, 255, 255), 5), (estimate, (255, 140, 0), 1)):
        xz = (poses[:, :3, 3][:, [0, 2]] - (lo + hi) / 2) * scale
        points = np.stack([width / 2 + xz[:, 0], height / 2 - xz[:, 1]], axis=1)
        cv2.polylines(canvas, [np.round(points).astype(np.int32)], False, colour, thickness,
                      cv2.LINE_AA)
        for p in points[::6]:
            cv2.circle(canvas, tuple(int(v) for v in np.round(p)), 2, colour, -1, cv2.LINE_AA)
    return canvas


def chart(series: list[tuple[np.ndarray, tuple[int, int, int]]], floor: float,
          size: tuple[int, int]) -> np.ndarray:
    """Per-frame values (fractions) as lines on a (H, W) canvas, 0 to CHART_TOP."""
    height, width = size
    canvas = np.full((height, width, 3), 40, np.uint8)

    def y(value: float) -> int:
        return int(round(height - 10 - (height - 30) * min(value, CHART_TOP) / CHART_TOP))

    cv2.line(canvas, (0, y(floor)), (width, y(floor)), (128, 128, 128), 1)
    for values, colour in series:
        x = np.linspace(10, width - 10, len(values))
        points = np.stack([x, [y(v) for v in values]], axis=1).astype(np.int32)
        cv2.polylines(canvas, [points], False, colour, 2, cv2.LINE_AA)
    return canvas


def main() -> None:
    clip = make_scene(seed=0, frames=48, moving="sphere")
    depth, _ = corrupt_depth(clip.depth)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_inputs(Path(tmp) / "clip.mkv", clip.colour, depth,
                             clip_tracks(clip, noise_px=0.3))
        written = camera_track(CameraTrackConfig(track_file=paths["tracks"],
                                                 depth_video=paths["depth"], xfov=60.0,
                                                 color_video=paths["colour"], debug_video=True))
        poses = read_transformations(written["transformations"])
        with VideoReader(written["debug_video"]) as video:
            debug = video.read(FRAME)
        rescaled_path = rescale_depth(RescaleConfig(depth_video=paths["depth"],
                                                    track_file=paths["tracks"],
                                                    xfov=60.0))["rescaled"]
        with DepthVideoReader(rescaled_path) as video:
            rescaled = np.stack(list(video.frames()))
    s, rotation, t = umeyama(poses[:, :3, 3], clip.world_from_cam[:, :3, 3])
    aligned = poses.copy()
    aligned[:, :3, 3] = s * poses[:, :3, 3] @ rotation.T + t
    height, width = clip.depth.shape[1:]
    step4 = row([top_view(clip.world_from_cam, aligned, (height, width)), debug],
                ["from above: truth white, estimate orange", f"debug video, frame {FRAME}"])
    cv2.imwrite(str(IMAGES / "step4_camera.png"), cv2.cvtColor(step4, cv2.COLOR_RGB2BGR))

    tiles = row([colorize_depth(d, NEAR, FAR) for d in (depth[FRAME], rescaled[FRAME],
                                                       clip.depth[FRAME])],
                ["depth given", "rescaled", "truth"])
    static = ~clip.moving_mask & np.isfinite(clip.depth)
    series = []
    for estimate, colour in ((depth, (230, 60, 60)), (rescaled, (60, 220, 60))):
        scale = float(np.median(clip.depth[static] / estimate[static]))
        series.append((np.array([np.mean(np.abs(scale * e[m] / t[m] - 1.0)) for e, t, m in
                                 zip(estimate, clip.depth, static)]), colour))
    step5 = column([tiles, labelled(chart(series, NOISE_FLOOR, (height, tiles.shape[1])),
                                    f"AbsRel per frame, 0-{100 * CHART_TOP:.0f}%: given red, "
                                    "rescaled green, noise floor grey")])
    # noise does not compress: a 128-colour palette keeps the PNG small
    Image.fromarray(step5).quantize(PALETTE_COLOURS).save(IMAGES / "step5_rescale.png",
                                                          optimize=True)


if __name__ == "__main__":
    main()
