"""The frames backend: importing existing depth (16-bit PNG or EXR frames with a scale)
must reproduce it exactly, within the quantisation steps, on synthetic ground truth and
on real TUM RGB-D frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from conftest import write_video
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.missing import fill_missing_depth
from metricdepth.depth.step import convert
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.exports import write_depth_exr
from metricdepth.synthetic import make_scene

TUM_SCALE = 1 / 5000  # TUM RGB-D: metres = value / 5000
MAX_DEPTH = 20.0


@pytest.fixture(scope="module")
def scene():
    return make_scene(seed=2, width=80, height=60, frames=5)


def _convert(video: Path, folder: Path, **flags) -> np.ndarray:
    path = convert(DepthConfig(color_video=str(video), backend="frames", depth_frames=str(folder),
                               max_depth=MAX_DEPTH, **flags))[0]
    return np.stack(list(DepthVideoReader(path)))


def test_png16_import_is_exact_within_the_quantisation(tmp_path, scene):
    folder = tmp_path / "depth"
    folder.mkdir()
    codes = np.round(scene.depth / TUM_SCALE).astype(np.uint16)
    codes[:, :3, :5] = 0  # no depth here: filled from the surroundings
    for i, frame in enumerate(codes):
        cv2.imwrite(str(folder / f"depth_{i + 1}.png"), frame)  # 1..5: natural order
    video = write_video(tmp_path / "clip.mkv", scene.colour)
    depth = _convert(video, folder, depth_scale=TUM_SCALE)
    valid = codes > 0
    tolerance = depth_step(MAX_DEPTH) / 2 + TUM_SCALE / 2 + 1e-6
    assert np.abs(depth - scene.depth)[valid].max() <= tolerance
    filled = np.stack([fill_missing_depth(c * TUM_SCALE, c == 0) for c in codes])
    assert np.abs(depth - filled)[~valid].max() <= depth_step(MAX_DEPTH) / 2 + 1e-6


def test_exr_import_is_exact_within_the_depth_video_step(tmp_path, scene):
    folder = tmp_path / "depth"
    folder.mkdir()
    for i, frame in enumerate(scene.depth):
        write_depth_exr(folder / f"{i:04d}.exr", frame)
    video = write_video(tmp_path / "clip.mkv", scene.colour)
    depth = _convert(video, folder)
    assert np.abs(depth - scene.depth).max() <= depth_step(MAX_DEPTH) / 2 + 1e-6


def test_real_tum_frames(tmp_path, shared_data):
    """Nine real TUM RGB-D frames (value / 5000 m, 0 = invalid) come back exactly."""
    tum = shared_data / "rgbd" / "tum_fr1_desk_9frames"
    rgb = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted((tum / "rgb").glob("*.png"))]
    video = write_video(tmp_path / "tum.mkv", np.stack(rgb))
    depth = _convert(video, tum / "depth", depth_scale=TUM_SCALE)
    truth = np.stack([cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
                      for p in sorted((tum / "depth").glob("*.png"))]).astype(np.float64) * TUM_SCALE
    valid = truth > 0
    assert depth.shape == (9, 480, 640) and valid.mean() > 0.5
    assert np.abs(depth - truth)[valid].max() <= depth_step(MAX_DEPTH) / 2 + 1e-6
    filled = np.stack([fill_missing_depth(t, t == 0) for t in truth])
    assert np.abs(depth - filled)[~valid].max() <= depth_step(MAX_DEPTH) / 2 + 1e-6


def test_bad_depth_frames_are_refused_naming_the_file(tmp_path, scene):
    video = write_video(tmp_path / "clip.mkv", scene.colour)
    folder = tmp_path / "depth"
    folder.mkdir()
    for i, frame in enumerate(scene.depth):
        bad = frame.copy()
        if i == 3:
            bad[4, 7] = np.nan  # as another tool might write it (our writer never does)
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        with OpenEXR.File(header, {"Z": bad}) as exr:
            exr.write(str(folder / f"{i:04d}.exr"))
    with pytest.raises(InputError, match=r"0003.exr: NaN depth .* at pixel \(7, 4\)"):
        _convert(video, folder)
    (folder / "0004.exr").unlink()
    with pytest.raises(InputError, match="has 4 depth frames, the colour video has 5"):
        _convert(video, folder)
    eight_bit = tmp_path / "eight"
    eight_bit.mkdir()
    for i in range(5):
        cv2.imwrite(str(eight_bit / f"{i}.png"), np.zeros((60, 80), np.uint8))
    with pytest.raises(InputError, match="0.png: not a single-channel 16-bit PNG"):
        _convert(video, eight_bit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "depth", "eight"]
