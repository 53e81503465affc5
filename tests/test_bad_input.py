"""Bad input to a step script: one line naming the file, exit code 2, nothing written.

Runs the real script (check_inputs.py) in a subprocess, as a user would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest, pattern_frames, write_video
from metricdepth.errors import InputError
from metricdepth.inputs import validate_depth
from metricdepth.io.depth_video import DepthVideoWriter
from metricdepth.io.mask_video import MaskVideoWriter

REPO = Path(__file__).resolve().parents[1]
W, H, N = 48, 32, 6


def _depth(path, count=N, width=W, height=H):
    with DepthVideoWriter(path, width, height, 30) as writer:
        for _ in range(count):
            writer.write(np.full((height, width), 2.0, np.float32))
    return path


def _mask(path, fps=30):
    with MaskVideoWriter(path, W, H, fps) as writer:
        for _ in range(N):
            writer.write(np.zeros((H, W), bool))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    color = write_video(d / "clip.mkv", pattern_frames(N, W, H))
    data = color.read_bytes()
    (d / "cut.mkv").write_bytes(data[: len(data) // 2])
    (d / "notes.mp4").write_text("this is not a video\n")
    (d / "tracks_bad.json").write_text("[[[1, 2]]" + ", []" * (N - 1) + "]")
    (d / "poses_shape.json").write_text(str([np.eye(3).tolist()] * N))
    (d / "fovs.json").write_text(str([60.0] * (N - 1) + [200.0]))
    (d / "truncated.json").write_text("[[[1, 2, 3]], [")
    _depth(d / "depth.mkv")
    _depth(d / "depth_small.mkv", width=W // 2)
    _depth(d / "depth_short.mkv", count=N - 1)
    _mask(d / "mask_25fps.mkv", fps=25)
    return d


CASES = [
    (["--color_video", "{d}/missing.mp4"], "missing.mp4: file not found"),
    (["--color_video", "{d}/notes.mp4"], "notes.mp4: not a readable video"),
    (["--color_video", "{d}/cut.mkv"], "cut.mkv: video is (truncated|damaged)"),
    (["--color_video", "{d}/clip.mkv", "--depth_video", "{d}/clip.mkv"],
     "clip.mkv: frame 0 is not a depth video frame"),
    (["--color_video", "{d}/clip.mkv", "--depth_video", "{d}/depth_small.mkv"],
     "depth_small.mkv: depth video is 24x32, but clip.mkv is 48x32"),
    (["--color_video", "{d}/clip.mkv", "--depth_video", "{d}/depth_short.mkv"],
     "depth_short.mkv: depth video has 5 frames, but clip.mkv has 6"),
    (["--color_video", "{d}/clip.mkv", "--mask_video", "{d}/mask_25fps.mkv"],
     "mask_25fps.mkv: mask video runs at 25 fps, but clip.mkv at 30 fps"),
    (["--color_video", "{d}/clip.mkv", "--track_file", "{d}/tracks_bad.json"],
     r"tracks_bad.json: frame 0: must be a list of \[id, x, y\]"),
    (["--color_video", "{d}/clip.mkv", "--track_file", "{d}/truncated.json"],
     "truncated.json: not valid JSON"),
    (["--color_video", "{d}/clip.mkv", "--transformation_file", "{d}/poses_shape.json"],
     "poses_shape.json: poses must be 4x4 matrices"),
    (["--color_video", "{d}/clip.mkv", "--xfov_file", "{d}/fovs.json"],
     r"fovs.json: frame 5: field of view 200 degrees is outside \(1, 179\)"),
    (["--color_video", "{d}/clip.mkv", "--xfov", "0.5"], r"--xfov: 0.5 is out of range: must be in \(1, 179\)"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_one_line_exit_2_and_nothing_touched(files, args, message):
    before = {p.name: file_digest(p) for p in files.iterdir()}
    argv = [a.format(d=files) for a in args]
    result = subprocess.run([sys.executable, str(REPO / "check_inputs.py"), *argv],
                            capture_output=True, text=True, cwd=files)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr

    assert re.search(message, lines[0]), lines[0]
    assert {p.name: file_digest(p) for p in files.iterdir()} == before


def test_good_inputs_are_summarised(files):
    result = subprocess.run([sys.executable, str(REPO / "check_inputs.py"), "--color_video",
                             str(files / "clip.mkv"), "--depth_video", str(files / "depth.mkv"),
                             "--xfov", "60"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "depth 2.00-2.00 m" in result.stdout


@pytest.mark.parametrize("value, problem", [(np.nan, "NaN"), (-0.5, "negative"), (np.inf, "infinite")])
def test_nan_or_negative_depth_is_refused_with_the_source_named(value, problem):
    depth = np.ones((4, 4), np.float32)
    depth[1, 2] = value
    with pytest.raises(InputError, match=rf"frame_0007.exr: .*{problem}.*\(2, 1\)"):
        validate_depth(depth, "frame_0007.exr")
