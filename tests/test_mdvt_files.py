"""Files the older toolbox (MDVT) writes are read here: its depth videos (OpenCV FFV1
bgr0, low bytes truncated, no tags), its lossy x265 masks, and its grey depth exports are
refused by name."""

from __future__ import annotations

import av
import numpy as np
import pytest

from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.mask_video import MaskVideoReader

W, H, N = 64, 48, 3
MDVT_STEP_M = 100 * 65536 / 255 ** 4  # one 16-bit step at max_depth 100 (~1.55 mm)


def _write(path, frames_rgb, codec, pix_fmt, options=None):
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.options = options or {}
        for rgb in frames_rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_mdvt_depth_video_reads_within_one_step(tmp_path):
    depth = np.linspace(0.3, 90.0, W * H).reshape(H, W)
    q32 = np.floor(depth * 255 ** 4 / 100).astype(np.uint64)  # MDVT: floor, then truncate
    high, low = ((q32 >> 24) & 255).astype(np.uint8), ((q32 >> 16) & 255).astype(np.uint8)
    path = tmp_path / "X.mp4_depth.mkv"
    _write(path, [np.stack([high, high, low], -1)] * N, "ffv1", "bgr0")
    reader = DepthVideoReader(path)
    assert reader.max_depth == 100 and reader.info.frame_count == N
    for frame in reader.frames():
        error = depth - frame
        assert error.min() > -1e-6 and error.max() < MDVT_STEP_M  # truncation: never above (float32)


def test_mdvt_lossy_x265_mask_reads_as_the_subject(tmp_path):
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 20:40] = 255
    path = tmp_path / "X.mp4_mask.mkv"
    _write(path, [np.repeat(mask[..., None], 3, 2)] * N, "libx265", "yuv420p",
           {"crf": "23", "x265-params": "log-level=error"})
    for frame in MaskVideoReader(path).frames():
        np.testing.assert_array_equal(frame, mask > 127)


def test_mdvt_grey_depth_export_is_refused_by_name(tmp_path):
    grey = np.linspace(0, 255, W * H).reshape(H, W).astype(np.uint8)
    path = tmp_path / "X.mp4_depth.mkv_grey_depth.mkv"
    _write(path, [np.repeat(grey[..., None], 3, 2)] * N, "ffv1", "bgr0")
    with pytest.raises(InputError, match="looks like MDVT's grey export"):
        next(DepthVideoReader(path).frames())
