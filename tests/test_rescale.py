"""Step 5 on the cheap geometric room (exact poses written as step 4 would): a global
fit undoes a wrong depth scale and shift exactly; bad input is refused, nothing written.
(Accuracy on the textured synthetic scene with step 4's own poses: test_camera_track.py.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from metricdepth.cli import run
from metricdepth.evaluate.synthetic_tracks import room_tracks, write_inputs
from metricdepth.geometry.rescale_step import RescaleConfig, rescale_depth
from metricdepth.io.depth_video import DepthVideoReader, depth_step
from metricdepth.io.ply import read_ply
from metricdepth.io.sidecars import write_transformations

REPO = Path(__file__).resolve().parents[1]
FRAMES = 40


@pytest.fixture
def room_inputs(tmp_path):
    """Room clip whose depth is wrong by 1/z' = 1.25/z - 0.02; true poses beside it."""
    room = room_tracks(frames=FRAMES, tracks_per_frame=150, noise_px=0.2)
    truth = np.stack([room.depth(f) for f in range(FRAMES)])
    wrong = (1.0 / (1.25 / truth - 0.02)).astype(np.float32)
    paths = write_inputs(tmp_path / "room.mkv", None, wrong, room.tracks)
    write_transformations(Path(str(paths["depth"]) + "_transformations.json"), room.world_from_cam)
    return room, truth, paths


def test_global_align_undoes_scale_and_shift(room_inputs):
    room, truth, paths = room_inputs
    written = rescale_depth(RescaleConfig(depth_video=paths["depth"], track_file=paths["tracks"],
                                          xfov=60.0, global_align=True))
    with DepthVideoReader(written["rescaled"]) as video:
        rescaled = np.stack(list(video.frames()))
    assert np.median(np.abs(rescaled - truth) / truth) < 2e-3
    cloud = read_ply(written["triangulated"])
    # 0.2 px noise, 6 m away, a few degrees of parallax: about 1 cm of depth uncertainty
    assert np.median(np.linalg.norm(cloud.points - room.points[cloud.ids], axis=1)) < 0.02
    assert cloud.colors is None


def _fail(argv, capsys) -> str:
    spec = importlib.util.spec_from_file_location("rescale_depth", REPO / "rescale_depth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert run(module.main, [str(a) for a in argv]) == 2
    return capsys.readouterr().err


def test_bad_input(room_inputs, tmp_path, capsys):
    _, _, paths = room_inputs
    base = ["--depth_video", paths["depth"], "--track_file", paths["tracks"], "--xfov", 60]
    poses = tmp_path / "poses.json"
    poses.write_text(json.dumps([np.eye(4).tolist()] * (FRAMES - 2)))
    assert "poses.json: has 38 poses, the video has 40 frames" in \
        _fail(base + ["--transformation_file", poses], capsys)
    assert "none.json: file not found" in \
        _fail(base + ["--transformation_file", tmp_path / "none.json"], capsys)
    assert "--yfov: give only one of" in _fail(base + ["--yfov", 40], capsys)
    assert "--max_frames: 1 is out of range: must be >= 2" in _fail(base + ["--max_frames", 1], capsys)
    assert not list(tmp_path.glob("*rescaled*")) and not list(tmp_path.glob("*.ply"))


def test_too_few_points_blames_the_threshold_that_rejected_them(room_inputs, capsys):
    _, _, paths = room_inputs
    base = ["--depth_video", paths["depth"], "--track_file", paths["tracks"], "--xfov", 60]
    strict = _fail(base + ["--max_error", 0.001], capsys)  # 0.2 px noise: every track fails
    assert ": error: --max_error: only 0 observations of triangulated points" in strict
    assert "reprojection error above 0.001 px" in strict and len(strict.splitlines()) == 1


def test_missing_poses_and_existing_output(room_inputs, capsys):
    _, _, paths = room_inputs
    Path(str(paths["depth"]) + "_transformations.json").unlink()
    base = ["--depth_video", paths["depth"], "--track_file", paths["tracks"], "--xfov", 60]
    assert "--transformation_file: no camera poses given" in _fail(base, capsys)
    assert depth_step(100.0) < 2e-3  # the codec is fine enough for the 2e-3 checks above
