"""Bad input to view_3d.py: one line naming the file or flag, exit code 2, nothing written
and no window opened."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest, pattern_frames, write_video
from metricdepth.cli import run
from metricdepth.io.depth_video import DepthVideoWriter
from metricdepth.io.mask_video import MaskVideoWriter
from metricdepth.io.sidecars import write_transformations, write_xfovs

REPO = Path(__file__).resolve().parents[1]
W, H, N = 48, 32, 6


def _load_script():
    spec = importlib.util.spec_from_file_location("view_3d_script", REPO / "view_3d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("viewer_inputs")
    write_video(d / "clip.mkv", pattern_frames(N, W, H))
    write_video(d / "nofov.mkv", pattern_frames(N, W, H))
    for name, width in (("clip.mkv_depth.mkv", W), ("nofov.mkv_depth.mkv", W),
                        ("depth_small.mkv", W // 2)):
        with DepthVideoWriter(d / name, width, H, 30) as writer:
            for _ in range(N):
                writer.write(np.full((H, width), 2.0, np.float32))
    write_xfovs(d / "clip.mkv_depth.mkv_xfovs.json", np.full(N, 60.0))
    for name, width in (("mask.mkv", W), ("mask_small.mkv", W - 8)):
        with MaskVideoWriter(d / name, width, H, 30) as writer:
            for _ in range(N):
                writer.write(np.ones((H, width), bool))
    write_transformations(d / "poses_short.json", np.broadcast_to(np.eye(4), (N - 1, 4, 4)))
    (d / "poses_bad.json").write_text(json.dumps([np.diag([1.0, 1, 2, 1]).tolist()] * N))
    (d / "fovs_short.json").write_text(json.dumps([60.0] * (N - 2)))
    (d / "cloud.ply").write_text("not a ply\n")
    (d / "taken.mp4").write_text("an existing output\n")
    return d


CLIP = ["--color_video", "{d}/clip.mkv"]
CASES = [
    (["--color_video", "{d}/nofov.mkv"],
     r"--xfov: no field of view given: pass --xfov or --yfov \(degrees\) or --xfov_file .*"
     r"nofov.mkv_depth.mkv_xfovs.json beside the depth video is used when present"),
    (["--color_video", "{d}/missing.mkv"], "missing.mkv: file not found"),
    ([*CLIP, "--transformation_file", "{d}/poses_short.json"],
     "poses_short.json: has 5 poses, the video has 6 frames"),
    ([*CLIP, "--transformation_file", "{d}/poses_bad.json"],
     "poses_bad.json: pose 0: rotation part is not a rotation"),
    ([*CLIP, "--mask_video", "{d}/mask_small.mkv"],
     "mask_small.mkv: mask video is 40x32, but clip.mkv is 48x32"),
    ([*CLIP, "--depth_video", "{d}/depth_small.mkv"],
     "depth_small.mkv: depth video is 24x32, but clip.mkv is 48x32"),
    ([*CLIP, "--xfov_file", "{d}/fovs_short.json"], "fovs_short.json: has 4 FOVs, the video has 6"),
    ([*CLIP, "--xfov", "60", "--yfov", "40"], "--yfov: give only one of --xfov, --yfov, --xfov_file"),
    ([*CLIP, "--yfov", "179.5"], r"--yfov: 179.5 is out of range: must be in \(1, 179\)"),
    ([*CLIP, "--background_ply", "{d}/cloud.ply"], "cloud.ply: not a PLY file"),
    ([*CLIP, "--draw_frame", "6"], r"--draw_frame: frame 6 is outside the video's frames 0..5"),
    ([*CLIP, "--render", "{d}/out.avi"], "out.avi: --render: unknown extension '.avi'"),
    ([*CLIP, "--render", "{d}/out.png"], "out.png: --render: a .png holds one frame, 6 were"),
    ([*CLIP, "--render", "{d}/taken.mp4"], "taken.mp4: already exists; pass --overwrite"),
    ([*CLIP, "--render", "{d}/out.mp4", "--x", "1", "--look_at", "1,2"],
     "--look_at: expected three numbers 'X,Y,Z' in metres, got '1,2'"),
    ([*CLIP, "--render", "{d}/out.mp4", "--look_at", "1,2,3"], "--look_at: needs a fixed camera"),
    ([*CLIP, "--export_ply", "{d}/clip.mkv"], "clip.mkv: already exists; pass --overwrite"),
    ([*CLIP, "--point_size", "0"], r"--point_size: 0 is out of range: must be in \(0, 100\]"),
    ([*CLIP, "--show_filled", "255,0,255"],
     "--show_filled: there is no clip.mkv_depth.mkv_filledmask.mkv beside the depth video"),
    ([*CLIP, "--show_filled", "255,0"], "--show_filled: expected a colour 'R,G,B' of three integers 0-255"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_one_line_exit_2_and_nothing_touched(files, args, message, capsys):
    before = {p.name: file_digest(p) for p in files.iterdir()}
    code = run(_load_script().main, [a.format(d=files) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(message, lines[0]), lines[0]
    assert {p.name: file_digest(p) for p in files.iterdir()} == before


def test_script_in_a_subprocess_refuses_a_mask_of_another_size(files):
    """As a user runs it: exit code 2, one line on stderr, nothing written."""
    result = subprocess.run([sys.executable, str(REPO / "view_3d.py"), "--color_video",
                             str(files / "clip.mkv"), "--mask_video", str(files / "mask_small.mkv"),
                             "--render", str(files / "new.mp4")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("mask_small.mkv: mask video is 40x32, but clip.mkv is 48x32")
    assert not (files / "new.mp4").exists()


def test_without_a_display_the_window_is_skipped_with_one_line(files, monkeypatch, caplog):
    """The older toolbox's window commands run headless: one warning, exit 0, nothing
    written, nothing waiting for a window that cannot appear."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    before = sorted(p.name for p in files.iterdir())
    with caplog.at_level("WARNING"):
        code = run(_load_script().main, ["--color_video", str(files / "clip.mkv"), "-q"])
    assert code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["no display: skipping the point-cloud window; use view_3d.py --render FILE"]
    assert sorted(p.name for p in files.iterdir()) == before
