"""run_pipeline.py's settings and refusals, and the real TUM RGB-D frames end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from conftest import write_video
from metricdepth.camera import make_pose
from metricdepth.errors import InputError
from metricdepth.geometry.align import relative_pose_errors
from metricdepth.io.video import probe
from metricdepth.pipeline import build_config, run_pipeline
from metricdepth.pipeline.rgbd import rgbd_pairs
from metricdepth.pipeline.steps import ClipFiles, step_named

REPO = Path(__file__).resolve().parents[1]
TUM = "rgbd/tum_fr1_desk_9frames"
TUM_XFOV = 63.48  # 2 atan(320 / 517.3): the Kinect's fx from the dataset's README


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / "clip.mkv", np.zeros((4, 16, 16, 3), np.uint8))


def test_file_sections_reach_the_steps_and_flags_win(tmp_path, video):
    (tmp_path / "p.toml").write_text('[pipeline]\nxfov = 50\nmask_backend = "auto"\n'
                                     '[stereo]\npupillary_distance = 65\n')
    config = build_config({"video": str(video), "config": str(tmp_path / "p.toml"), "xfov": 70.0})
    assert config.xfov == 70.0 and config.mask_backend == "auto"
    stereo = step_named("stereo").settings(config, ClipFiles(video))
    assert stereo.pupillary_distance == 65 and stereo.xfov == 70.0 and stereo.resume
    assert stereo.depth_video == ClipFiles(video).rescaled


@pytest.mark.parametrize("text, words", [
    ("[stereo]\npupilary_distance = 65\n", "unknown settings pupilary_distance"),
    ("[stereo]\ndepth_video = 'x.mkv'\n", "pipeline sets itself"),
    ("[render]\nx = 1\n", "unknown section [render]"),
    ("[stereo\n", "not valid TOML"),
])
def test_bad_config_files_are_refused(tmp_path, video, text, words):
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(InputError, match=r"p\.toml") as caught:
        config = build_config({"video": str(video), "config": str(tmp_path / "p.toml")})
        step_named("stereo").settings(config, ClipFiles(video))
    assert words in str(caught.value)


def _script(args, cwd, env=None):
    return subprocess.run([sys.executable, str(REPO / "run_pipeline.py"), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)


def test_missing_fov_and_missing_weights_are_explained(tmp_path, video):
    out = _script([str(video)], tmp_path)
    assert out.returncode == 2 and "--xfov: no field of view" in out.stderr
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = _script([str(video), "--xfov", "60"], tmp_path, env)
    assert out.returncode == 2
    assert "install.sh --models small" in out.stderr and "--depth_backend frames" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv"]  # nothing written


def test_from_needs_the_earlier_steps(tmp_path, video):
    with pytest.raises(InputError, match="the earlier step depth .* is not complete"):
        run_pipeline(build_config({"video": str(video), "xfov": 60.0, "start_step": "stereo"}))


def test_real_tum_rgbd_frames_become_a_stereo_file(shared_data, tmp_path):
    folder = shared_data / TUM
    pairs = rgbd_pairs(folder)
    assert len(pairs) == 9  # associate.txt lists 2; the rest are paired by timestamp
    stamps = np.array([[float(c.stem), float(d.stem)] for c, d in pairs])
    assert np.all(np.abs(stamps[:, 0] - stamps[:, 1]) < 0.02)
    result = run_pipeline(build_config({"video": str(tmp_path / "tum.mkv"), "rgbd": str(folder),
                                        "xfov": TUM_XFOV, "track_backend": "lk"}))
    assert probe(result.final).frame_count == 9
    truth = np.loadtxt(folder / "groundtruth.txt")
    poses = np.array(json.loads(ClipFiles(tmp_path / "tum.mkv").poses.read_text()))
    assert len(poses) == 9
    rows = [truth[np.argmin(np.abs(truth[:, 0] - float(c.stem)))] for c, _ in pairs]
    true_poses = np.array([make_pose(Rotation.from_quat(r[4:8]).as_matrix(), r[1:4]) for r in rows])
    _, rotation_error = relative_pose_errors(poses[[0, -1]], true_poses[[0, -1]])
    print(f"TUM: rotation error over the 9 frames {rotation_error[0]:.2f} degrees")
    assert rotation_error[0] < 2.0
