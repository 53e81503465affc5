"""Step 1's exports in neighbouring tools' formats, end to end on the nine real TUM RGB-D
frames with their sensor depth imported (frames backend): ImmichVR's 8-bit zip,
Annolid's NDJSON and point-cloud CSVs are written by flags of the step and read back to
within their quantisation, against the depth video and against the sensor depth."""

from __future__ import annotations

import json
import math
import zipfile

import cv2
import numpy as np
import pytest

from conftest import TUM_DESK, tum_desk_frames, write_video
from metricdepth.camera import Intrinsics, unproject_depth
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.step import convert
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.exports import read_annolid_ndjson, read_depth_frames8_zip, read_point_csv

TUM_SCALE = 1 / 5000  # metres per PNG unit
MAX_DEPTH = 20.0
XFOV = math.degrees(2 * math.atan(320 / 517.3))  # TUM fr1: fx 517.3 px, 640 px wide


@pytest.fixture(scope="module")
def tum(tmp_path_factory):
    """(folder, colour (9, H, W, 3), sensor depth (9, H, W) metres, 0 = none, written paths)."""
    rgb, raw = tum_desk_frames()
    truth = raw.astype(np.float64) * TUM_SCALE
    folder = tmp_path_factory.mktemp("tum")
    video = write_video(folder / "tum.mkv", rgb)
    paths = convert(DepthConfig(color_video=str(video), backend="frames",
                                depth_frames=str(TUM_DESK / "depth"), depth_scale=TUM_SCALE,
                                max_depth=MAX_DEPTH, xfov=XFOV, save_depth_zip=True,
                                save_ndjson=True, save_csv_every=4))
    return folder, rgb, truth, paths


def _depth_video(folder):
    return np.stack(list(DepthVideoReader(folder / "tum.mkv_depth.mkv")))


def test_every_export_is_written_by_its_flag(tum):
    folder, _, _, paths = tum
    assert {p.name for p in paths} == {"tum.mkv_depth.mkv", "tum.mkv_depth.mkv_filledmask.mkv",
                                       "tum.mkv_depth_frames.zip",
                                       "tum.mkv_depth.ndjson", "tum.mkv_depth.mkv_pointclouds_csv"}
    with zipfile.ZipFile(folder / "tum.mkv_depth_frames.zip") as archive:
        names = [f"depth_frame_{i:04d}.png" for i in range(1, 10)] + ["metadata.json"]
        assert sorted(archive.namelist()) == names
    assert sorted(p.name for p in (folder / "tum.mkv_depth.mkv_pointclouds_csv").iterdir()) == \
        ["point_0000.csv", "point_0004.csv", "point_0008.csv"]


def test_immichvr_zip_round_trips_within_half_an_inverse_depth_step(tum):
    folder, _, truth, _ = tum
    depth = _depth_video(folder)
    valid = depth < MAX_DEPTH
    near, far = depth[valid].min(), depth[valid].max()
    with zipfile.ZipFile(folder / "tum.mkv_depth_frames.zip") as archive:
        metadata = json.loads(archive.read("metadata.json"))
        codes = cv2.imdecode(np.frombuffer(archive.read("depth_frame_0003.png"), np.uint8),
                             cv2.IMREAD_UNCHANGED)
    assert (metadata["near_m"], metadata["far_m"]) == pytest.approx((near, far), abs=1e-6)
    assert codes.dtype == np.uint8 and codes.shape == (480, 640)
    assert (codes[~valid[2]] == 0).all()  # no depth = 0, like far
    read = np.stack(list(read_depth_frames8_zip(folder / "tum.mkv_depth_frames.zip")))
    # normalised over the clip: its nearest depth is code 255, its farthest code 0
    assert read[valid].min() == pytest.approx(near, rel=1e-6)
    assert read[valid].max() == pytest.approx(far, rel=1e-6)
    half_step = (1 / near - 1 / far) / 255 / 2
    assert np.abs(1 / read[valid] - 1 / depth[valid]).max() <= half_step * 1.001
    # against the sensor: the depth video's step and the 8-bit step, in inverse depth
    sensor = truth > 0
    error = np.abs(1 / read[sensor] - 1 / truth[sensor])
    assert error.max() <= half_step * 1.001 + (depth_step(MAX_DEPTH) / 2 + 1e-6) / near ** 2


def test_annolid_ndjson_round_trips_within_its_16_bit_step(tum):
    folder, _, truth, _ = tum
    depth = _depth_video(folder)
    records = list(read_annolid_ndjson(folder / "tum.mkv_depth.ndjson"))
    assert [(index, name) for index, name, _ in records] == [(i, "tum.mkv") for i in range(9)]
    read = np.stack([d for _, _, d in records])
    span = depth.max(axis=(1, 2)) - depth.min(axis=(1, 2))  # per-frame min/max scale
    assert (np.abs(read - depth).max(axis=(1, 2)) <= span / 65535 / 2 + 1e-5).all()
    sensor = truth > 0
    assert np.abs(read - truth)[sensor].max() <= depth_step(MAX_DEPTH) / 2 + span.max() / 131070 + 1e-5


def test_point_csvs_hold_the_frames_points_and_colours(tum):
    folder, rgb, truth, _ = tum
    depth = _depth_video(folder)
    intr = Intrinsics.from_fov(640, 480, xfov=XFOV)
    for frame in (0, 4, 8):
        points, intensity, colours = read_point_csv(
            folder / "tum.mkv_depth.mkv_pointclouds_csv" / f"point_{frame:04d}.csv")
        keep = depth[frame] < MAX_DEPTH  # pixels without depth are left out
        assert len(points) == keep.sum() and keep.mean() > 0.5
        assert np.abs(points - unproject_depth(depth[frame], intr)[keep]).max() <= 5e-7 + 1e-6
        assert np.array_equal(intensity, points[:, 2])
        assert np.array_equal(colours, rgb[frame][keep])
        sensor = truth[frame][keep] > 0
        error = np.abs(points[sensor, 2] - truth[frame][keep][sensor])
        assert error.max() <= depth_step(MAX_DEPTH) / 2 + 1e-5
