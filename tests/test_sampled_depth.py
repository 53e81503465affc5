"""A depth video of sampled frames (step 1's --preview, --target_fps, --start) given to
step 6 with the whole colour video: each depth frame is paired with its own colour frame
(the depth video's source_frames tag), so the stereo frames equal the full run's frames
at those numbers, bit for bit."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from metricdepth.depth.config import DepthConfig
from metricdepth.depth.step import convert
from metricdepth.errors import InputError
from metricdepth.geometry.camera_step import CameraTrackConfig, camera_track
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import write_depth_exr
from metricdepth.io.source_frames import TAG_SOURCE_FRAMES, source_frames
from metricdepth.io.video import VideoReader, VideoWriter, probe
from metricdepth.masks.step import MaskConfig, create_mask
from metricdepth.stereo.step import StereoConfig, stereo_rerender
from metricdepth.synthetic import make_scene

WIDTH, HEIGHT, FRAMES, XFOV = 96, 64, 11, 60.0


def _inputs(folder: Path, seed: int) -> Path:
    """The colour video and its exact depth as EXR frames in `folder`."""
    clip = make_scene(seed, WIDTH, HEIGHT, FRAMES, XFOV)
    folder.mkdir()
    video = folder / "clip.mkv"
    with VideoWriter(video, WIDTH, HEIGHT, clip.fps) as writer:
        writer.write_frames(clip.colour)
    (folder / "depth").mkdir()
    for i in range(FRAMES):
        write_depth_exr(folder / "depth" / f"depth_{i + 1:04d}.exr", clip.depth[i])
    return video


def _depth(video: Path, **sampling) -> Path:
    frames = str(video.parent / "depth")
    return convert(DepthConfig(color_video=str(video), backend="frames", depth_frames=frames, **sampling))[0]


def _stereo(depth: Path, video: Path, **flags) -> list[np.ndarray]:
    paths = stereo_rerender(StereoConfig(depth_video=depth, color_video=video, xfov=XFOV, **flags))
    with VideoReader(paths["stereo"]) as stereo, VideoReader(paths["infill_mask"]) as holes:
        assert holes.frame_count == stereo.frame_count
        # which colour frames a sampled one shows, for steps 7 and 8 (the audio starts
        # at the first); none said for every frame
        numbers = source_frames(probe(depth))
        assert source_frames(stereo.info) == (None if numbers == list(range(FRAMES)) else numbers)
        return list(stereo)


@pytest.mark.parametrize("sampling, numbers", [({"preview": 3}, [0, 3, 6, 9]),
                                               ({"start": 0.1, "target_fps": 15}, [3, 5, 7, 9])])
def test_step6_pairs_a_sampled_depth_video_with_its_colour_frames(tmp_path, caplog, sampling, numbers):
    video = _inputs(tmp_path / "sampled", seed=11)
    full_video = _inputs(tmp_path / "full", seed=11)
    depth = _depth(video, **sampling)
    assert source_frames(probe(depth)) == numbers
    full_depth = _depth(full_video)
    assert probe(full_depth).tags[TAG_SOURCE_FRAMES] == f"0:1:{FRAMES}"
    # the sampled depth frames are the full run's frames at those numbers
    np.testing.assert_array_equal(np.stack(list(DepthVideoReader(depth))),
                                  np.stack(list(DepthVideoReader(full_depth)))[numbers])
    with caplog.at_level(logging.INFO):
        ours = _stereo(depth, video, chunk_frames=3)
    assert f"holds {len(numbers)} of the {FRAMES} frames of clip.mkv" in caplog.text
    theirs = _stereo(full_depth, full_video)
    assert len(ours) == len(numbers)
    for frame, number in zip(ours, numbers):
        np.testing.assert_array_equal(frame, theirs[number])


def test_a_colour_video_without_the_depth_frames_is_refused(tmp_path):
    video = _inputs(tmp_path / "clip", seed=12)
    depth = _depth(video, preview=2)
    other = tmp_path / "other.mkv"  # the colour video cut to 4 frames
    with VideoReader(video) as frames, VideoWriter(other, WIDTH, HEIGHT, probe(depth).fps) as writer:
        writer.write_frames(np.stack(list(frames))[:4])
    refused = "holds frame 10 of the colour frames .* but colour video other.mkv has 4"
    with pytest.raises(InputError, match=refused):
        stereo_rerender(StereoConfig(depth_video=depth, color_video=other, xfov=XFOV))


def test_steps_that_need_depth_for_every_frame_say_it_was_sampled(tmp_path):
    video = _inputs(tmp_path / "clip", seed=12)
    depth = _depth(video, preview=3)
    sampled = "holds 4 of the frames of clip.mkv .step 1 sampled them"
    with pytest.raises(InputError, match=sampled):
        camera_track(CameraTrackConfig(depth_video=depth, xfov=XFOV))
    with pytest.raises(InputError, match=sampled):
        create_mask(MaskConfig(color_video=str(video), depth_video=str(depth)))
    assert not any(p.name.endswith((".json", "_mask.mkv")) for p in video.parent.iterdir())
