"""The whole pipeline on a synthetic clip with exact ground truth, CPU, no weights.

Depth is the scene's exact depth with a known per-frame scale drift (1 at frame 0 to
1 + DRIFT at the last frame), imported from EXR frames with the frames backend; every
other step runs its weight-free backend. Checked at the end: the player-ready file
(ffprobe), the camera poses against the true ones (after a similarity alignment), the
rescaled depth against the truth (AbsRel on static pixels after one global scale, better
than the drifted input), and the rendered right eye against the exact second eye. Then a
run killed with SIGKILL in the middle of the stereo step is finished by the same
command without redoing the finished steps, giving the same bytes as the uninterrupted
run (in another process); and steps 1-5 give the same bytes in two processes run at the
same time with different thread counts.

The depth video names the depth frames' folder in a tag, so runs whose files are compared
byte for byte read the same folder (or the depth video is compared frame by frame).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metricdepth.geometry.align import absolute_trajectory_error, path_length
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.exports import write_depth_exr
from metricdepth.io.video import VideoReader, VideoWriter
from metricdepth.pipeline import STEP_NAMES, build_config, run_pipeline
from metricdepth.pipeline.cluster import ONE_THREAD_ENV
from metricdepth.pipeline.steps import ClipFiles, step_named
from metricdepth.evaluate.stereo_scores import psnr
from metricdepth.synthetic import make_scene

from conftest import file_digest

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, FRAMES, XFOV = 160, 120, 32, 60.0
DRIFT = 0.2                 # depth scale grows linearly from 1 to 1 + DRIFT over the clip
HALF_EYES_M = 0.0315        # half the default 63 mm pupillary distance
# Measured on this clip: ATE 3.4 cm over a 1.56 m path, AbsRel 0.047 drifted -> 0.0017
# rescaled, right-eye PSNR 32.8 dB (30.7 dB worst frame). The bounds leave some margin.
MAX_ATE_FRACTION = 0.05     # of the camera's path length
MAX_RESCALED_ABSREL = 0.01
MIN_RIGHT_EYE_PSNR_DB = 30.0
CONFIG = "[stereo]\nchunk_frames = 4\n[compress]\nencoder = \"libx264\"\npreset = \"ultrafast\"\n"


def write_inputs(folder: Path, seed: int = 0):
    """The colour video, drifted EXR depth frames and the config file; return the clip."""
    clip = make_scene(seed, WIDTH, HEIGHT, FRAMES, XFOV)
    folder.mkdir(parents=True, exist_ok=True)
    with VideoWriter(folder / "clip.mkv", WIDTH, HEIGHT, clip.fps) as writer:
        writer.write_frames(clip.colour)
    (folder / "depth").mkdir()
    for i in range(FRAMES):
        write_depth_exr(folder / "depth" / f"depth_{i + 1:04d}.exr", clip.depth[i] * drift(i))
    (folder / "pipeline.toml").write_text(CONFIG)
    return clip


def drift(frame: int) -> float:
    return 1.0 + DRIFT * frame / (FRAMES - 1)


def flags(folder: Path) -> dict:
    return {"video": str(folder / "clip.mkv"), "xfov": XFOV, "depth_backend": "frames",
            "depth_frames": str(folder / "depth"), "track_backend": "lk",
            "config": str(folder / "pipeline.toml")}


def cli_args(folder: Path, **overrides) -> list[str]:
    args = []
    for key, value in {**flags(folder), **overrides}.items():
        args += [value] if key == "video" else [f"--{key}", str(value)]
    return args


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    clip = write_inputs(folder)
    result = run_pipeline(build_config(flags(folder)))
    return clip, folder, result


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def static_absrel(clip, depths: np.ndarray) -> float:
    """AbsRel on static pixels with depth after one global (median) scale."""
    static = ~clip.moving_mask & np.isfinite(clip.depth)
    scale = np.median(clip.depth[static] / depths[static])
    return float(np.mean(np.abs(depths[static] * scale - clip.depth[static]) / clip.depth[static]))


def test_final_file_is_player_ready(finished):
    clip, folder, result = finished
    assert [r.status for r in result.records] == ["ran"] * 8
    assert result.final.name.endswith("_LRF_Full_SBS.mp4") and result.final.is_file()
    stream = ffprobe(result.final)["streams"][0]
    assert stream["codec_name"] == "h264"
    assert (stream["width"], stream["height"]) == (2 * WIDTH, HEIGHT)
    assert int(stream["nb_read_packets"]) == FRAMES
    side_data = [d.get("side_data_type", "") for d in stream.get("side_data_list", [])]
    assert "Stereo 3D" in side_data


def test_camera_poses_match_the_truth(finished):
    clip, folder, _ = finished
    poses = np.array(json.loads(ClipFiles(folder / "clip.mkv").poses.read_text()))
    ate = absolute_trajectory_error(poses, clip.world_from_cam, with_scale=True)
    assert ate < MAX_ATE_FRACTION * path_length(clip.world_from_cam)


def test_rescaled_depth_removes_the_drift(finished):
    clip, folder, _ = finished
    drifted = clip.depth * np.array([drift(i) for i in range(FRAMES)])[:, None, None]
    rescaled = np.array(list(DepthVideoReader(ClipFiles(folder / "clip.mkv").rescaled).frames()))
    before, after = static_absrel(clip, drifted), static_absrel(clip, rescaled)
    assert before > 0.03  # the drift is there to remove
    assert after < MAX_RESCALED_ABSREL and after < before / 4


def test_right_eye_matches_the_exact_second_eye(finished):
    clip, folder, _ = finished
    frames = list(VideoReader(ClipFiles(folder / "clip.mkv").infilled).frames())
    scores = [psnr(frames[f][:, WIDTH:], clip.second_eye(f, HALF_EYES_M).colour,
                   np.ones((HEIGHT, WIDTH), bool)) for f in range(0, FRAMES, 4)]
    assert np.mean(scores) > MIN_RIGHT_EYE_PSNR_DB


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def test_killed_run_finishes_without_redoing_steps(finished, tmp_path):
    _, reference_folder, reference_result = finished
    write_inputs(tmp_path)
    files = ClipFiles(tmp_path / "clip.mkv")
    command = [sys.executable, str(REPO / "run_pipeline.py"), *cli_args(tmp_path), "-q"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marker = files.stereo.with_name(files.stereo.name + ".chunks") / "chunk_000001.done.npz"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert marker.exists(), "the run ended before the stereo step wrote its second chunk"
    assert not files.stereo.exists() and not files.infilled.exists()

    finished_before = [files.depth, files.mask, files.tracks, files.poses, files.rescaled,
                       files.triangulated, files.avgmonodepth]
    before = [_identity(p) for p in finished_before]
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    rows = [line.split() for line in again.stdout.splitlines()]
    statuses = {row[0]: row[1] for row in rows if row and row[0] in STEP_NAMES}
    assert statuses == {"depth": "complete", "masks": "complete", "tracks": "complete",
                        "camera": "complete", "rescale": "complete", "stereo": "resumed",
                        "infill": "ran", "compress": "ran"}
    assert [_identity(p) for p in finished_before] == before
    # The uninterrupted reference: the module's run, in this process, of the same inputs.
    reference = ClipFiles(reference_folder / "clip.mkv")
    # (the depth video's tag names its own depth folder: compared frame by frame)
    assert all(np.array_equal(mine, theirs) for mine, theirs in zip(
        DepthVideoReader(files.depth).frames(), DepthVideoReader(reference.depth).frames(), strict=True))
    for mine, theirs in [(files.mask, reference.mask), (files.tracks, reference.tracks),
                         (files.poses, reference.poses), (files.rescaled, reference.rescaled),
                         (files.triangulated, reference.triangulated),
                         (files.avgmonodepth, reference.avgmonodepth),
                         (files.stereo, reference.stereo),
                         (files.infill_mask, reference.infill_mask),
                         (files.infilled, reference.infilled)]:
        assert file_digest(mine) == file_digest(theirs), mine.name
    final = Path(again.stdout.strip().splitlines()[-1].split(": ", 1)[1])
    assert final.name == reference_result.final.name
    assert file_digest(final) == file_digest(reference_result.final)


FIRST_FIVE = STEP_NAMES[:5]  # depth, masks, tracks, camera, rescale


def test_steps_1_to_5_give_the_same_bytes_in_two_processes(tmp_path):
    """Steps 1-5 in two processes at once (each loads the machine for the other), one
    with every thread pool at one thread: every output is byte-identical."""
    write_inputs(tmp_path / "a")
    (tmp_path / "b").mkdir()
    for name in ("clip.mkv", "pipeline.toml"):
        shutil.copy2(tmp_path / "a" / name, tmp_path / "b" / name)
    shared_depth = str(tmp_path / "a" / "depth")  # the depth video's tag names it
    runs = [subprocess.Popen([sys.executable, str(REPO / "run_pipeline.py"),
                              *cli_args(tmp_path / folder, depth_frames=shared_depth),
                              "--until", "rescale", "-q"], cwd=tmp_path / folder,
                             env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for folder, env in (("a", {}), ("b", ONE_THREAD_ENV))]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    a, b = ClipFiles(tmp_path / "a" / "clip.mkv"), ClipFiles(tmp_path / "b" / "clip.mkv")
    config = build_config(flags(tmp_path / "a"))
    for name in FIRST_FIVE:
        step = step_named(name)
        mine, theirs = step.outputs(a, step.settings(config, a)), step.outputs(b, step.settings(config, b))
        assert len(mine) == len(theirs) > 0
        for path, other in zip(mine, theirs):
            assert file_digest(path) == file_digest(other), path.name
