"""Apple's spatial video metadata for --mvhevc ('vexu', 'hfov'), written into an HEVC MP4
and read back by FFmpeg 8.1's mov demuxer (in PyAV) as stereo3d and spherical side data;
step 6 tags the eyes' baseline and field of view that it takes them from. No multiview
x265 or MP4Box is needed: the boxes go into any MP4 with an hvc1 sample entry."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from metricdepth.encode.mvhevc import write_spatial_metadata
from metricdepth.io.stereo_tags import TAG_BASELINE, TAG_PUPILLARY_DISTANCE, TAG_XFOV
from metricdepth.io.video import probe
from metricdepth.stereo.step import StereoConfig, stereo_rerender
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip

W, H, FRAMES = 64, 32, 4
PRIMARY_EYE_LEFT = 1  # libavutil/stereo3d.h AVStereo3DPrimaryEye
SPHERICAL_RECTILINEAR = 4  # libavutil/spherical.h AVSphericalProjection


@dataclass(frozen=True)
class Stereo3D:
    """FFmpeg 8's AVStereo3D as frames carry it (libavutil/stereo3d.h)."""

    type: int
    flags: int
    view: int
    primary_eye: int
    baseline_um: int
    disparity_adjustment: tuple[int, int]
    xfov: tuple[int, int]  # degrees as a fraction


def _hevc_mp4(path: Path, faststart: bool) -> Path:
    """FRAMES grey-ramp frames as HEVC (hvc1) in an MP4, 'moov' first with `faststart`."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt, stream.codec_tag = W, H, "yuv420p", "hvc1"
        stream.options = {"x265-params": "log-level=error"}
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((H, W, 3), 40 * i, np.uint8), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _decoded(path: Path) -> tuple[list[np.ndarray], Stereo3D | None, int | None]:
    """(the frames' luma, the first frame's stereo3d side data, its spherical projection)."""
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    side = {sd.type.name: bytes(memoryview(sd)) for sd in frames[0].side_data}
    stereo = None
    if "STEREO3D" in side:
        fields = struct.unpack("<4iI4i", side["STEREO3D"][:36])
        stereo = Stereo3D(*fields[:5], fields[5:7], fields[7:9])
    projection = struct.unpack("<i", side["SPHERICAL"][:4])[0] if "SPHERICAL" in side else None
    return [f.to_ndarray(format="gray") for f in frames], stereo, projection


@pytest.mark.parametrize("faststart", [False, True], ids=["moov_last", "moov_first"])
def test_baseline_and_fov_come_back_through_ffmpegs_demuxer(tmp_path, faststart):
    path = _hevc_mp4(tmp_path / "spatial.mp4", faststart)
    before, stereo, _ = _decoded(path)
    assert stereo is None  # nothing there yet
    said = write_spatial_metadata(path, {TAG_BASELINE: "64.5", TAG_XFOV: "63.48"})
    assert "baseline 64.5 mm" in said and "horizontal FOV 63.48 degrees" in said
    after, stereo, projection = _decoded(path)
    assert stereo is not None
    assert stereo.baseline_um == 64500
    assert stereo.xfov[0] / stereo.xfov[1] == 63.48 and stereo.xfov[1] == 1000
    assert stereo.primary_eye == PRIMARY_EYE_LEFT
    assert stereo.disparity_adjustment[0] == 0
    assert projection == SPHERICAL_RECTILINEAR
    assert len(after) == FRAMES and all(np.array_equal(a, b) for a, b in zip(before, after))


def test_without_the_tags_the_eyes_are_described_but_no_numbers(tmp_path):
    """A stereo video from before step 6 tagged its cameras: 'vexu' without a baseline,
    no 'hfov'; an old pupillary-distance tag stands in for the baseline."""
    bare, old = (_hevc_mp4(tmp_path / f"{name}.mp4", False) for name in ("bare", "old"))
    write_spatial_metadata(bare, {})
    write_spatial_metadata(old, {TAG_PUPILLARY_DISTANCE: "63"})
    _, stereo, projection = _decoded(bare)
    assert stereo is not None and (stereo.baseline_um, stereo.xfov[0]) == (0, 0)
    assert stereo.primary_eye == PRIMARY_EYE_LEFT and projection == SPHERICAL_RECTILINEAR
    _, stereo, _ = _decoded(old)
    assert stereo is not None and (stereo.baseline_um, stereo.xfov[0]) == (63000, 0)


def test_step_6_tags_the_eyes_baseline_and_fov(tmp_path):
    """Plain eyes: the pupillary distance; with --master_xfov 90 on a 60-degree camera the
    baseline is scaled by tan(45) / tan(30), as the renderer does."""
    clip = make_scene(seed=2, width=W, height=H, frames=2, xfov=60.0)
    files = write_clip(clip, tmp_path / "clip.mkv")
    config = StereoConfig(depth_video=str(files["depth"]), color_video=str(files["colour"]),
                          pupillary_distance=63.0, master_xfov=90.0)
    tags = probe(stereo_rerender(config)["stereo"]).tags
    assert float(tags[TAG_XFOV]) == pytest.approx(60.0, abs=1e-4)
    expected = 63.0 * math.tan(math.radians(45)) / math.tan(math.radians(30))
    assert float(tags[TAG_BASELINE]) == pytest.approx(expected, rel=1e-5)
