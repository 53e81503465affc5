"""Pixels without depth are filled from their surroundings, not drawn at infinity: exact
values on synthetic depth, and on the real TUM desk the rendered stereo keeps the monitor
one surface across the rows the Kinect does not cover (the tear of issue 14)."""

from __future__ import annotations

import cv2
import numpy as np

from conftest import write_video
from metricdepth.camera import Intrinsics
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.missing import FILLED_TAG, fill_missing_depth
from metricdepth.depth.step import convert
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.video import probe
from metricdepth.stereo.render import render_eyes, stereo_eyes

TUM_SCALE = 1 / 5000
TUM_XFOV = 63.48    # 2 atan(320 / 517.3): the Kinect's focal length
MAX_DEPTH = 20.0


def test_holes_take_the_far_side_and_border_bands_continue_the_surface():
    rows, cols = np.mgrid[0:12, 0:16]
    depth = np.where(cols < 8, 1.0, 3.0) + 0.001 * cols          # near left, far right
    missing = np.zeros_like(depth, bool)
    missing[4:10, 6:10] = True       # a shadow between the two surfaces
    missing[:3] = True               # rows the sensor does not cover
    out = fill_missing_depth(depth, missing)
    np.testing.assert_array_equal(out[~missing], depth[~missing].astype(np.float32))
    # the shadow: the far surface's nearest depth (right of it, column 10) everywhere
    np.testing.assert_array_equal(out[4:10, 6:10], np.float32(3.010))
    # the band: only the column below has depth; each column continues its first valid row
    np.testing.assert_array_equal(out[:3], np.broadcast_to(depth[3], (3, 16)).astype(np.float32))
    # an L along two borders: its corner has nothing in its rows or columns and grows
    # from its neighbours, which continue row 3 and column 3
    border = np.zeros_like(missing)
    border[:3] = border[:, :3] = True
    grown = fill_missing_depth(depth, border)
    np.testing.assert_array_equal(grown[:3, 3:], np.broadcast_to(depth[3, 3:], (3, 13)).astype(np.float32))
    np.testing.assert_array_equal(grown[:3, :3], np.float32(depth[3, 3]))


def test_tum_stereo_keeps_the_monitor_whole(tmp_path, shared_data):
    tum = shared_data / "rgbd" / "tum_fr1_desk_9frames"
    rgb = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                    for p in sorted((tum / "rgb").glob("*.png"))])
    video = write_video(tmp_path / "tum.mkv", rgb)
    [path] = convert(DepthConfig(color_video=str(video), backend="frames", depth_frames=str(tum / "depth"),
                                 depth_scale=TUM_SCALE, max_depth=MAX_DEPTH))[:1]
    assert FILLED_TAG in probe(path).tags
    frame = 4  # the walkthrough's frame
    depth = DepthVideoReader(path).read(frame)
    raw = cv2.imread(str(sorted((tum / "depth").glob("*.png"))[frame]), cv2.IMREAD_UNCHANGED)
    assert (raw[:34] == 0).mean() > 0.99  # the Kinect leaves the top rows without depth ...
    assert depth.max() < 5.0      # ... and none of them is drawn far away any more
    valid = raw > 0
    assert np.abs(depth - raw * TUM_SCALE)[valid].max() <= depth_step(MAX_DEPTH) / 2 + 1e-6
    intr = Intrinsics.from_fov(640, 480, TUM_XFOV)
    for eye in render_eyes(rgb[frame], depth, intr, stereo_eyes(intr, 0.063)):
        # the monitor's face spans columns 60-160 from its top edge (rows 20-28) down past
        # row 100; the sensor's band ends at row 34-39. Its rows stay on one plane.
        face = eye.inverse_depth[:, 60:160]
        plane = np.median(face[60:100])
        deviation = np.median(np.abs(face[28:60] - plane), axis=1) / plane
        assert deviation.max() < 0.1, deviation.round(2)  # drawn at infinity: 0.99
