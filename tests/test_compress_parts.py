"""Step 8's parts: encoder selection, output sizes, and stereo boxes in MP4s with 64-bit
box sizes or 'moov' before the media data (+faststart)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from metricdepth.encode.encoders import ENCODERS, encoder_opens, repair_dts, select_encoder
from metricdepth.encode.mp4boxes import Mp4Error, add_video_boxes, st3d, sv3d_vr180, top_level_boxes
from metricdepth.encode.size import fit, output_size
from metricdepth.errors import InputError
from metricdepth.io.video import VideoReader

FRAMES = 5


def test_auto_takes_nvenc_when_it_opens_else_x265():
    assert select_encoder("auto", opens=lambda name: True).name == "hevc_nvenc"
    assert select_encoder("auto", opens=lambda name: False).name == "libx265"
    assert select_encoder("libsvtav1", opens=lambda name: False).name == "libsvtav1"
    with pytest.raises(InputError, match="h264_nvenc does not open"):
        select_encoder("h264_nvenc", opens=lambda name: False)
    # the real probe: NVENC opens exactly where a device answers; software always opens
    assert encoder_opens("libx264")
    assert select_encoder("auto").name == ("hevc_nvenc" if encoder_opens("hevc_nvenc") else "libx265")


def test_encoder_options():
    assert ENCODERS["hevc_nvenc"].options(20, "slow", "p7") == {"rc": "vbr", "cq": "20", "preset": "p7",
                                                                 "b": "0"}
    assert ENCODERS["libsvtav1"].options(30, "veryslow", "p5") == {"crf": "30", "preset": "2"}
    assert ENCODERS["libx264"].options(18, "fast", "p5") == {"crf": "18", "preset": "fast"}


def test_output_size():
    assert output_size(1919, 1080, None, None, None) == (1920, 1080)   # rounded up to even
    assert output_size(3840, 1080, None, None, 720) == (2560, 720)
    assert output_size(3840, 1080, 1920, None, None) == (1920, 540)
    assert output_size(640, 480, None, 300, None) == (400, 300)
    assert output_size(1000, 333, 500, 166, None) == (500, 166)        # 166.5: within rounding
    for args, flag in (((101, None, None), "--sbs_w"), ((None, 99, None), "--sbs_h"),
                       ((640, 480, None), "--sbs_h"), ((640, None, 720), "--height")):
        with pytest.raises(InputError, match=flag):
            output_size(3840, 1080, *args)


def test_fit_pads_one_pixel_and_scales_with_lanczos():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (9, 15, 3), dtype=np.uint8)
    padded = fit(frame, 16, 10)
    np.testing.assert_array_equal(padded[:9, :15], frame)
    np.testing.assert_array_equal(padded[9, :15], frame[8])
    smooth = np.repeat(np.repeat(np.linspace(0, 250, 8, dtype=np.uint8)[None, :, None], 4, 0), 3, 2)
    scaled = fit(smooth, 16, 8)  # twice the size: a ramp stays a monotonic ramp
    assert scaled.shape == (8, 16, 3) and np.all(np.diff(scaled[4, 1:-1, 0].astype(int)) >= 0)


def _write_mp4(path: Path, faststart: bool = False) -> Path:
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "0"}
        for i in range(FRAMES):
            rgb = np.zeros((32, 64, 3), np.uint8)
            rgb[:, : 8 * (i + 1)] = (200, 40, 90)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _side_data(path: Path) -> dict[str, dict]:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                            capture_output=True, text=True, check=True)
    [video] = json.loads(result.stdout)["streams"]
    return {d["side_data_type"]: d for d in video.get("side_data_list", [])}


def _frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as video:
        return list(video)


def _kinds(path: Path) -> list[bytes]:
    with open(path, "rb") as file:
        return [box.kind for box in top_level_boxes(file, path.stat().st_size)]


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
def test_boxes_go_into_a_64_bit_mdat_file_and_a_faststart_file(tmp_path):
    plain = _write_mp4(tmp_path / "plain.mp4")
    expected = _frames(plain)
    # FFmpeg reserves 8 bytes ('free') before 'mdat' and turns them into a 64-bit 'mdat'
    # header once the media data passes 4 GiB; do the same here (no offset moves).
    data = bytearray(plain.read_bytes())
    assert _kinds(plain) == [b"ftyp", b"free", b"mdat", b"moov"]
    free = data.index(b"free") - 4
    mdat_size = struct.unpack(">I", data[free + 8:free + 12])[0]
    data[free:free + 16] = struct.pack(">I4sQ", 1, b"mdat", mdat_size + 8)
    wide = tmp_path / "wide.mp4"
    wide.write_bytes(bytes(data))
    assert _kinds(wide) == [b"ftyp", b"mdat", b"moov"]
    faststart = _write_mp4(tmp_path / "faststart.mp4", faststart=True)
    assert _kinds(faststart).index(b"moov") < _kinds(faststart).index(b"mdat")
    for path in (wide, faststart):
        add_video_boxes(path, st3d(1) + sv3d_vr180())
        side = _side_data(path)
        assert side["Stereo 3D"]["type"] == "top and bottom"
        assert "equirectangular" in side["Spherical Mapping"]["projection"]
        for got, want in zip(_frames(path), expected, strict=True):
            np.testing.assert_array_equal(got, want)  # media data still found where it is


def test_broken_box_sizes_are_one_line_errors(tmp_path):
    path = _write_mp4(tmp_path / "broken.mp4")
    data = bytearray(path.read_bytes())
    moov = data.index(b"moov") - 4
    data[moov:moov + 4] = struct.pack(">I", len(data))  # runs past the end of the file
    path.write_bytes(bytes(data))
    with pytest.raises(Mp4Error, match="'moov'.*does not fit"):
        add_video_boxes(path, st3d(2))


@pytest.mark.parametrize("dts, repaired", [(-385377899977637888, 0), (None, 0), (4096, 0),
                                           (-2 * 4096, -2 * 4096), (0, 0)])
def test_an_impossible_first_dts_becomes_the_pts(dts, repaired):
    """libx265 flushing a 1-frame clip can return an uninitialised dts (seen: huge negative
    numbers, different each run) that the MP4 muxer refuses; a possible one is kept
    (3 fps, time base 1/12288: 4096 ticks a frame)."""
    packet = av.Packet(b"\0\0\1")
    packet.time_base = Fraction(1, 12288)
    packet.pts, packet.dts = 0, dts
    repair_dts(packet, Fraction(3))
    assert packet.dts == repaired
