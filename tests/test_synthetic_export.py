"""A synthetic clip written to disk reads back as its exact ground truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.sidecars import read_transformations, read_xfovs
from metricdepth.io.video import VideoReader
from metricdepth.synthetic import make_scene, plan_scene
from metricdepth.synthetic.export import write_clip

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    clip = make_scene(seed=3, width=96, height=64, frames=6)
    paths = write_clip(clip, tmp_path_factory.mktemp("clip") / "scene.mkv")
    return clip, paths


def test_files_hold_the_exact_truth(written):
    clip, paths = written
    assert np.array_equal(np.stack(list(VideoReader(paths["colour"]))), clip.colour)
    depth = np.stack(list(DepthVideoReader(paths["depth"])))
    assert np.abs(depth - clip.depth).max() <= depth_step(100.0) / 2 + 1e-5
    assert np.array_equal(np.stack(list(MaskVideoReader(paths["mask"]))), clip.moving_mask)
    assert np.array_equal(read_transformations(paths["transformations"], 6), clip.world_from_cam)
    assert np.allclose(read_xfovs(paths["xfovs"], 6), clip.xfov)


def test_truth_stereo_is_two_eyes_symmetric_about_the_camera(written):
    clip, paths = written
    with VideoReader(paths["truth_stereo"]) as stereo:
        assert (stereo.width, stereo.height, stereo.frame_count) == (192, 64, 6)
        frame = stereo.read(2)
    assert np.array_equal(frame[:, :96], clip.second_eye(2, -0.0315).colour)
    assert np.array_equal(frame[:, 96:], clip.second_eye(2, 0.0315).colour)


def test_script_refuses_to_replace_and_rejects_bad_fov(tmp_path):
    script = [sys.executable, str(REPO / "make_synthetic_scene.py"), "--out", str(tmp_path),
              "--frames", "3", "--width", "32", "--height", "24", "-q"]
    assert subprocess.run(script, capture_output=True).returncode == 0
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    again = subprocess.run(script, capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = subprocess.run(script[:-1] + ["--xfov", "179.5", "--name", "other.mkv"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--xfov" in bad.stderr and "Traceback" not in bad.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.iterdir()) == before


def test_planned_shot_streams_the_same_files(written, tmp_path):
    """Rendering frame by frame while writing (constant memory) gives the same bytes."""
    _, paths = written
    streamed = write_clip(plan_scene(seed=3, width=96, height=64, frames=6), tmp_path / "scene.mkv")
    assert {r: file_digest(p) for r, p in streamed.items()} == \
        {r: file_digest(p) for r, p in paths.items()}


def test_bad_flags_leave_no_folder_and_a_failed_write_leaves_no_file(tmp_path):
    script = [sys.executable, str(REPO / "make_synthetic_scene.py"), "--frames", "2",
              "--width", "16", "--height", "12", "-q"]
    for bad in (["--width", "100000"], ["--frames", "0"], ["--xfov", "nan"], ["--seed", "-1"],
                ["--name", "a/b.mkv"]):
        result = subprocess.run(script + ["--out", str(tmp_path / "new")] + bad,
                                capture_output=True, text=True)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "synthetic.mkv_mask.mkv").mkdir()  # the mask video cannot be written
    result = subprocess.run(script + ["--out", str(tmp_path), "--overwrite"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "synthetic.mkv_mask.mkv: is a folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic.mkv_mask.mkv"]
