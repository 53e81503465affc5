"""The older toolbox's walkthrough (docs/mdvt.md), replayed command for command.

A synthetic clip with a moving box and its exact depth (standing in for step 1) goes
through exactly the commands an MDVT user types, our script names in place of MDVT's,
with no display: every command exits 0, every output the walkthrough names exists with
the clip's size and frame count, the geometry is right (poses and rescaled depth against
the clip's exact truth), and the final plain-ffmpeg command reads our infilled file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.sidecars import read_transformations
from metricdepth.io.video import probe

ROOT = Path(__file__).resolve().parents[1]
SEED = 4711          # a scene no other test uses
FRAMES, WIDTH, HEIGHT = 36, 320, 240
YFOV = 40.0          # the walkthrough's --yfov; the clip is made with the matching xfov
XFOV = float(np.degrees(2 * np.arctan(np.tan(np.radians(YFOV / 2)) * WIDTH / HEIGHT)))
D = "X.mp4_depth.mkv"
R = D + "_rescaled.mkv"
S = R + "_stereo.mkv"

WALKTHROUGH = [
    "create_video_mask.py X.mp4",
    "track_points_in_video.py --color_video X.mp4 --nr_iterations 4 --steps_bewtwen_track_init 30",
    f"camera_track.py --color_video X.mp4 --depth_video {D} --yfov 40",
    f"rescale_depth.py --color_video X.mp4 --depth_video {D} --yfov 40 "
    f"--transformation_file {D}_transformations.json --track_file X.mp4_tracking.json "
    "--mask_video X.mp4_mask.mkv --show_scene_point_clouds --use_triangulated_points "
    "--tringulation_min_observations 20 --save_rescaled_depth --show_both_point_clouds "
    "--global_align",
    f"rescale_depth.py --color_video X.mp4 --depth_video {R} --yfov 40 "
    f"--transformation_file {D}_transformations.json --track_file X.mp4_tracking.json "
    "--mask_video X.mp4_mask.mkv --show_scene_point_clouds",
    f"view_3d.py --color_video X.mp4 --depth_video {R} --yfov 40 "
    f"--transformation_file {D}_transformations.json --background_ply {D}_avgmonodepth.ply "
    "--remove_edges --show_camera --x -0.1 --y 0 --z -3 --mask_video X.mp4_mask.mkv "
    f"--invert_mask --background_ply {R}_triangulated.ply",
    f"stereo_rerender.py --color_video X.mp4 --depth_video {R} --yfov 40 --infill_mask "
    "--remove_edges",
    f"stereo_infill.py --sbs_color_video {S} --sbs_mask_video {S}_infillmask.mkv",
]
FINAL = (f"ffmpeg -nostdin -loglevel error -i {S}_infilled.mkv -i X.wav -c:v libx265 -crf 18 "
         "-tag:v hvc1 -pix_fmt yuv420p -c:a aac -map 0:v:0 -map 1:a:0 final.mp4")
VIDEOS = ["X.mp4_mask.mkv", R, S, f"{S}_infillmask.mkv", f"{S}_infilled.mkv"]
FILES = ["X.mp4_tracking.json", f"{D}_transformations.json", f"{D}_avgmonodepth.ply",
         f"{D}_triangulated.ply", f"{R}_triangulated.ply", f"{R}_avgmonodepth.ply"]


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    words = command.split()
    argv = words if words[0] == "ffmpeg" else [sys.executable, str(ROOT / words[0]), *words[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory) -> tuple[Path, Path, dict[str, subprocess.CompletedProcess]]:
    """The generated clip's folder (with its truth) and the walkthrough's folder after
    every command ran there, with each command's result."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (install.sh installs it)")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    truth = tmp_path_factory.mktemp("truth")
    made = subprocess.run([sys.executable, str(ROOT / "make_synthetic_scene.py"), "--out",
                           str(truth), "--name", "X.mp4", "--seed", str(SEED), "--frames",
                           str(FRAMES), "--width", str(WIDTH), "--height", str(HEIGHT),
                           "--xfov", repr(XFOV), "-q"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    work = tmp_path_factory.mktemp("walkthrough")
    for name in ("X.mp4", D):
        shutil.copy(truth / name, work / name)
    seconds = FRAMES / 30
    audio = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                            f"sine=frequency=440:duration={seconds}", "-ar", "48000",
                            str(work / "X.wav")], capture_output=True, text=True)
    assert audio.returncode == 0, audio.stderr
    results = {}
    for command in WALKTHROUGH + [FINAL]:
        results[command] = _run(command, work, env)
        if results[command].returncode != 0:
            break
    return truth, work, results


@pytest.mark.slow
def test_every_command_runs_as_written(walkthrough):
    _, _, results = walkthrough
    for command in WALKTHROUGH + [FINAL]:
        assert command in results, f"not reached: {command}"
        result = results[command]
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_no_flag_is_silently_ignored_and_no_window_blocks(walkthrough):
    _, _, results = walkthrough
    log = "\n".join(r.stderr for r in results.values())
    assert "--steps_between_track_init, --nr_iterations: cotracker only; lk ignores" in log
    assert "--use_triangulated_points has no effect here" in log
    assert "--infill_mask has no effect here" in log
    assert "--remove_edges has no effect here" in log
    assert "--x/--y/--z/--look_at place the camera only with --render" not in log  # no window
    assert log.count("no display: skipping the point-cloud window") == 3  # 2 rescales + view
    assert "--track_file: using X.mp4_tracking.json (found beside X.mp4)" in log


@pytest.mark.slow
def test_every_named_output_exists_with_the_clip_size_and_length(walkthrough):
    _, work, results = walkthrough
    assert all(r.returncode == 0 for r in results.values())
    for name in FILES:
        assert (work / name).stat().st_size > 0, name
    tracks = json.loads((work / "X.mp4_tracking.json").read_text())
    assert len(tracks) == FRAMES
    for name in VIDEOS:
        info = probe(work / name)
        width = 2 * WIDTH if name.startswith(S) else WIDTH
        assert (info.width, info.height, info.frame_count) == (width, HEIGHT, FRAMES), name
    final = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,codec_tag_string,width,nb_read_frames", "-of",
                            "json", str(work / "final.mp4")], capture_output=True, text=True)
    streams = json.loads(final.stdout)["streams"]
    video, sound = (next(s for s in streams if s["codec_name"] == c) for c in ("hevc", "aac"))
    assert (video["codec_tag_string"], video["width"], int(video["nb_read_frames"])) == \
        ("hvc1", 2 * WIDTH, FRAMES)
    assert int(sound["nb_read_frames"]) > 0
    assert not [p.name for p in work.iterdir() if "partial" in p.name or p.name.endswith(".chunks")]


@pytest.mark.slow
def test_the_walkthrough_geometry_matches_the_truth(walkthrough):
    """Poses from the walkthrough's camera step and its rescaled depth against the clip's
    exact camera path and depth: a walkthrough that ran but got the geometry wrong fails."""
    truth, work, results = walkthrough
    assert all(r.returncode == 0 for r in results.values())
    true_poses = read_transformations(truth / f"{D}_transformations.json", FRAMES)
    poses = read_transformations(work / f"{D}_transformations.json", FRAMES)
    path = np.linalg.norm(np.diff(true_poses[:, :3, 3], axis=0), axis=1).sum()
    error = np.linalg.norm(poses[:, :3, 3] - true_poses[:, :3, 3], axis=1)
    assert error.max() < 0.02 * path, (error.max(), path)
    exact = DepthVideoReader(truth / D)
    rescaled = DepthVideoReader(work / R)
    for f, (z_true, z) in enumerate(zip(exact.frames(0, FRAMES), rescaled.frames(0, FRAMES))):
        valid = z_true < 0.99 * exact.max_depth
        relative = np.abs(z[valid] / z_true[valid] - 1)
        assert np.median(relative) < 0.01, (f, float(np.median(relative)))


def test_the_walkthrough_page_shows_these_commands():
    page = (ROOT / "docs" / "walkthrough.md").read_text()
    for command in WALKTHROUGH:
        script, *rest = command.split(" ", 1)
        assert f"../.venv/bin/python ../{script} {rest[0]}" in page, command
    assert FINAL.replace("-nostdin -loglevel error ", "") in page
