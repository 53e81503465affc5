"""The interactive window, opened under a virtual display (Xvfb, started here): it plays
frames, and what it shows matches the headless render of the same frame and camera."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from metricdepth.viewer import ViewerConfig
from metricdepth.viewer.render import RenderCamera, render_views
from metricdepth.viewer.source import FrameSource
from test_viewer_render import feature_motion

PLAYED = 3            # frames the window plays before the screenshots
XVFB_START_S = 10.0   # seconds to wait for Xvfb's socket
MAX_MOTION_PX = 0.3   # window vs headless mesh: features may differ by this much (measured 0.03)
# Run in a child process: the window needs DISPLAY, and a crash must not take pytest down.
WINDOW_SCRIPT = """
import sys
import time
from pathlib import Path
import numpy as np
from metricdepth.viewer import ViewerConfig
from metricdepth.viewer.playback import Player
from metricdepth.viewer.source import FrameSource

colour, poses, out = map(Path, sys.argv[1:4])
source = FrameSource(ViewerConfig(color_video=colour, transformation_file=poses,
                                  screenshot_dir=out.parent))
with Player(source) as player:
    player.play_frames(int(sys.argv[4]))
    player.reset_view()                    # look through the shown frame's camera
    points = player.screenshot()
    player.toggle_mesh()
    mesh = player.screenshot()
    index = player.index
    saved = [player.save_screenshot().name for _ in range(2)]
    player.step(-1)
    player.step(-1)
    stepped = player.index
    player.toggle_play()                   # play in real time through the GUI loop
    deadline = time.monotonic() + 10
    while player.index == stepped and time.monotonic() < deadline:
        assert player.tick()
    np.savez(out, index=index, points=points, mesh=mesh, saved=saved,
             paused=stepped, playing_to=player.index)
"""


@pytest.fixture(scope="module")
def display():
    """A fresh Xvfb display ':N' for this module; skipped if Xvfb is not installed."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb)")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists()
                  and not Path(f"/tmp/.X11-unix/X{n}").exists())
    process = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "640x480x24", "-nolisten",
                                "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + XVFB_START_S
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.skip(f"Xvfb :{number} did not start")
        time.sleep(0.05)
    yield f":{number}"
    process.terminate()
    process.wait()


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    error = (a.astype(np.float64) - b.astype(np.float64))[where]
    return float(10 * np.log10(255.0**2 / np.mean(error**2)))


def test_window_plays_and_shows_what_the_headless_renderer_shows(display, tmp_path):
    clip = make_scene(seed=2, width=160, height=120, frames=6)
    paths = write_clip(clip, tmp_path / "clip.mkv")
    out = tmp_path / "shots.npz"
    env = {**os.environ, "DISPLAY": display, "XDG_RUNTIME_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", WINDOW_SCRIPT, str(paths["colour"]),
                             str(paths["transformations"]), str(out), str(PLAYED)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    shots = np.load(out)
    assert int(shots["index"]) == PLAYED
    assert int(shots["paused"]) == PLAYED - 2 and int(shots["playing_to"]) == PLAYED - 1
    assert list(shots["saved"]) == ["clip.mkv_frame_0004.png", "clip.mkv_frame_0004_2.png"]
    assert all((tmp_path / name).stat().st_size > 1000 for name in shots["saved"])
    for mode in ("points", "mesh"):
        source = FrameSource(ViewerConfig(color_video=paths["colour"], draw_frame=PLAYED,
                                          transformation_file=paths["transformations"],
                                          mesh=mode == "mesh"))
        [(_, headless, depth)] = list(render_views(source, RenderCamera(source)))
        shot = shots[mode]
        covered = np.isfinite(depth)
        assert shot.shape == headless.shape and shot.std() > 10   # not empty
        correlation = np.corrcoef(shot[covered].ravel(), headless[covered].ravel())[0, 1]
        motion = feature_motion(headless, shot)
        print(f"window vs headless, {mode}: correlation {correlation:.3f}, "
              f"PSNR {psnr(shot, headless, covered):.1f} dB, features moved {motion:.2f} px")
        assert correlation > 0.9
        if mode == "mesh":  # points are squares whose placement differs by half a pixel
            assert psnr(shot, headless, covered) > 28
            assert motion < MAX_MOTION_PX
