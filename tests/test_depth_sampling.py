"""Frame sampling of step 1: --sample keyframes picks exactly the frames the container
flags as key frames (checked against ffprobe's packet flags on real clips) and decodes
each alone, identical to the frame decoded in sequence; MDVT's command line parses with
its meaning (-1 = all)."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from metricdepth.cli import parse_step_args, step_parser
from metricdepth.config import config_from_args
from metricdepth.depth.base import BackendOptions
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.registry import build_backend
from metricdepth.depth.sampling import keyframe_numbers, select_frames, selected_frames
from metricdepth.depth.step import convert
from metricdepth.depth.tiny import TINY_INPUT_SIZE, tiny_da2
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.exports import read_annolid_ndjson
from metricdepth.io.video import VideoReader, probe

CLIPS = ["davis_rollercoaster/davis_rollercoaster.mp4", "dog/01_dog.mp4"]


def _ffprobe_keyframes(path: Path, fps: Fraction) -> list[int]:
    """Frame numbers of the packets ffprobe flags K (presentation time x fps)."""
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe not installed")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    rows = [line.split(",") for line in out.splitlines() if line.strip()]
    return sorted(round(Fraction(pts) * fps) for pts, flags in rows if "K" in flags)


@pytest.mark.parametrize("clip", CLIPS)
def test_keyframes_are_the_packets_ffprobe_flags(shared_data, clip):
    info = probe(shared_data / "video" / clip)
    expected = _ffprobe_keyframes(info.path, info.fps)
    assert len(expected) >= 2 and len(expected) < info.frame_count / 10  # a real GOP structure
    assert keyframe_numbers(info) == expected
    selection = select_frames(info, sample="keyframes")
    assert selection.indices() == expected and selection.count == len(expected)
    # decoded alone, each key frame is the very frame sequential decoding gives
    with VideoReader(info.path, info) as reader:
        frames = list(selected_frames(reader, selection))
        assert [number for number, _ in frames] == expected
        for number, frame in frames:
            assert np.array_equal(frame, reader.read(number))


def test_keyframes_follow_start_duration_max_frames_and_preview(shared_data):
    info = probe(shared_data / "video" / CLIPS[0])  # key frames 0, 12, 24, 36, 48, 60 at 24 fps
    assert keyframe_numbers(info) == [0, 12, 24, 36, 48, 60]
    assert select_frames(info, sample="keyframes").fps == 2  # one key frame per 12 frames
    assert select_frames(info, start=0.6, sample="keyframes").indices() == [24, 36, 48, 60]
    assert select_frames(info, start=0.6, duration=1.0, sample="keyframes").indices() == [24, 36]
    assert select_frames(info, max_frames=2, sample="keyframes").indices() == [0, 12]
    assert select_frames(info, preview=2, sample="keyframes").indices() == [0, 24, 48]
    with VideoReader(info.path, info) as reader:  # resuming after output frame 2
        selection = select_frames(info, sample="keyframes")
        assert [n for n, _ in selected_frames(reader, selection, start=2)] == [24, 36, 48, 60]


def test_mdvt_command_line_parses_with_its_meaning(tmp_path):
    """The older toolbox's line: -1 means all frames / the source rate."""
    import video_metric_convert

    parser = step_parser(video_metric_convert.__doc__, DepthConfig)
    args = parse_step_args(parser, DepthConfig, [
        "--color_video", "X.mp4", "--input_size", "518", "--model", "vitl", "--max_frames", "-1",
        "--target_fps", "-1", "--max_depth", "100", "--fp32"])
    config = config_from_args(DepthConfig, args)
    assert (config.color_video, config.input_size, config.model, config.max_frames,
            config.target_fps, config.max_depth, config.fp32) == ("X.mp4", 518, "vitl", None,
                                                                  None, 100.0, True)


def test_step_on_keyframes_runs_the_model_on_exactly_those_frames(tmp_path, shared_data):
    """End to end on the real clip: six output frames at 2 fps, each the model's depth of
    the key frame (no stabiliser), NDJSON records carrying the colour-video numbers."""
    torch.set_num_threads(1)
    checkpoint = tiny_da2(tmp_path / "da2")
    video = tmp_path / "roller.mp4"
    shutil.copy(shared_data / "video" / CLIPS[0], video)
    paths = convert(DepthConfig(color_video=str(video), backend="da2", checkpoint=str(checkpoint),
                                device="cpu", input_size=TINY_INPUT_SIZE, sample="keyframes",
                                stabilise=False, save_ndjson=True, max_depth=20.0))
    reader = DepthVideoReader(paths[0])
    depth = np.stack(list(reader))
    assert depth.shape == (6, 540, 960) and reader.fps == 2
    backend = build_backend("da2", checkpoint, BackendOptions(device="cpu", input_size=TINY_INPUT_SIZE))
    info = probe(video)
    with VideoReader(video, info) as colour:
        expected = [backend.infer(colour.read(n)[None], np.array([n]))[0].depth for n in range(0, 61, 12)]
    assert np.abs(depth - np.minimum(np.stack(expected), 20)).max() <= depth_step(20) / 2 + 1e-5
    records = list(read_annolid_ndjson(tmp_path / "roller.mp4_depth.ndjson"))
    assert [(index, name) for index, name, _ in records] == [(n, "roller.mp4") for n in range(0, 61, 12)]


def test_minus_one_means_all_frames_in_a_config_too():
    from metricdepth.config import validate_config

    config = DepthConfig(color_video="X.mp4", max_frames=-1, target_fps=-1)
    validate_config(config)
    assert config.max_frames is None and config.target_fps is None
