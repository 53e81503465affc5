"""stereo_rerender.py --touchly1: MDVT's Touchly1 frame, colour above grey depth."""

from __future__ import annotations

import numpy as np

from metricdepth.cli import run
from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
from metricdepth.io.video import VideoReader, probe
from metricdepth.stereo.touchly import touchly_grey

import stereo_rerender
from conftest import pattern_frames, write_video


def test_grey_is_white_near_black_far_and_linear_between():
    depth = np.array([[0.5, 1.0, 3.0, 5.0, 9.0]], np.float32)
    np.testing.assert_array_equal(touchly_grey(depth, 1.0, 5.0), [[255, 255, 127, 0, 0]])


def test_touchly1_video_holds_the_colour_above_its_depth(tmp_path):
    frames, width, height = 4, 48, 32
    colour = pattern_frames(frames, width, height)
    video = write_video(tmp_path / "clip.mkv", colour)
    ramp = np.linspace(0.5, 6.0, width, dtype=np.float32)[None, :].repeat(height, 0)
    depth_path = tmp_path / "clip.mkv_depth.mkv"
    with DepthVideoWriter(depth_path, width, height, 30) as writer:
        for f in range(frames):
            writer.write(ramp + 0.1 * f)
    code = run(stereo_rerender.main, ["--color_video", str(video), "--depth_video",
                                      str(depth_path), "--xfov", "60", "--touchly1",
                                      "--touchly_min_depth", "1", "--touchly_max_depth", "4",
                                      "-q"])
    assert code == 0
    out = tmp_path / "clip.mkv_depth.mkv_Touchly1.mkv"
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (width, 2 * height, frames)
    assert not (tmp_path / "clip.mkv_depth.mkv_stereo.mkv").exists()
    decoded = list(DepthVideoReader(depth_path).frames())
    with VideoReader(out) as reader:
        for f, frame in enumerate(reader.frames()):
            np.testing.assert_array_equal(frame[:height], colour[f])
            grey = touchly_grey(decoded[f], 1.0, 4.0)
            np.testing.assert_array_equal(frame[height:], np.repeat(grey[..., None], 3, 2))
            assert frame[height:, 0].min() == 255 and frame[height:, -1].max() == 0
    assert run(stereo_rerender.main, ["--color_video", str(video), "--depth_video",
                                      str(depth_path), "--xfov", "60", "--touchly1",
                                      "--touchly_min_depth", "4", "--touchly_max_depth", "4",
                                      "--overwrite"]) == 2


def test_sbs_depth_video_holds_each_eyes_depth_with_the_masks_holes(tmp_path):
    """A wall 2 m away seen by parallel eyes: every covered pixel of both eyes is at 2 m;
    the uncovered border strips are holes (max_depth), exactly where the infill mask says."""
    frames, width, height = 3, 64, 40
    video = write_video(tmp_path / "wall.mkv", pattern_frames(frames, width, height))
    depth_path = tmp_path / "wall.mkv_depth.mkv"
    with DepthVideoWriter(depth_path, width, height, 30) as writer:
        for _ in range(frames):
            writer.write(np.full((height, width), 2.0, np.float32))
    code = run(stereo_rerender.main, ["--color_video", str(video), "--depth_video",
                                      str(depth_path), "--xfov", "60",
                                      "--create_sbs_depth_video", "-q"])
    assert code == 0
    stereo = tmp_path / "wall.mkv_depth.mkv_stereo.mkv"
    sbs_depth = DepthVideoReader(tmp_path / "wall.mkv_depth.mkv_stereo.mkv_depth.mkv")
    assert (sbs_depth.info.width, sbs_depth.info.height, sbs_depth.info.frame_count) == \
        (2 * width, height, frames)
    with VideoReader(str(stereo) + "_infillmask.mkv") as masks:
        for z, mask in zip(sbs_depth.frames(), masks.frames()):
            holes = mask.any(axis=-1)
            assert 0 < holes.mean() < 0.1
            np.testing.assert_allclose(z[~holes], 2.0, atol=0.002)
            np.testing.assert_allclose(z[holes], sbs_depth.max_depth, rtol=1e-6)
