#!/usr/bin/env python3
"""Pictures for docs/viewer.md (re-run to regenerate; writes docs/images/viewer_*.png).

The real clip is the 9 TUM RGB-D frames in ../shared/data (fr1/desk, Kinect depth =
value / 5000 m, motion-capture poses), converted to our formats in a temporary folder:
colour and depth videos, poses relative to frame 0, and the FOV from fx = 517.3 px.
(Our viewer assumes a centred principal point; TUM's lies 16 px below the centre, which
tilts the drawn geometry by about 2 degrees; it does not matter for these pictures.)

viewer_tum_views.png: frame 8 of the real clip drawn by view_3d's headless renderer:
  through the recorded camera; world-locked from a camera above and behind, with the
  recorded camera drawn (orange) and step-5-style background cloud (frame 0, grey);
  as a mesh with --remove_edges from the side.
viewer_tum_window.png: the interactive window under Xvfb (if installed), frame 4.
viewer_synthetic_check.png: the accuracy check: a synthetic room's frame 3 rendered as a
  mesh from a new viewpoint, the exact ray-cast view from there, and their difference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from metricdepth.camera import fov_from_focal, invert_pose, look_at, make_pose
from metricdepth.io.depth_video import DepthVideoWriter
from metricdepth.io.ply import PointCloud, write_ply
from metricdepth.io.sidecars import write_transformations, write_xfovs
from metricdepth.io.video import VideoWriter
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from metricdepth.viewer import ViewerConfig
from metricdepth.viewer.render import RenderCamera, render_views
from metricdepth.viewer.source import FrameSource
from picture_labels import labelled, row

DOCS = Path(__file__).resolve().parent
IMAGES = DOCS / "images"
TUM = DOCS.parent.parent / "shared" / "data" / "rgbd" / "tum_fr1_desk_9frames"
TUM_FX, TUM_DEPTH_SCALE = 517.3, 5000.0
TILE_WIDTH = 320


def _stamp(path: Path) -> float:
    return float(path.stem)


def tum_clip(folder: Path) -> tuple[Path, Path]:
    """Write the TUM frames in our formats into `folder`; return (colour, poses) paths."""
    rgb_files = sorted((TUM / "rgb").glob("*.png"), key=_stamp)
    depth_files = sorted((TUM / "depth").glob("*.png"), key=_stamp)
    depth_stamps = np.array([_stamp(p) for p in depth_files])
    truth = np.loadtxt(TUM / "groundtruth.txt")
    times = np.array([_stamp(p) for p in rgb_files])
    rotations = Slerp(truth[:, 0], Rotation.from_quat(truth[:, 4:8]))(times)
    positions = np.stack([np.interp(times, truth[:, 0], truth[:, i]) for i in (1, 2, 3)], axis=1)
    world_from_cam = np.stack([make_pose(r.as_matrix(), t) for r, t in zip(rotations, positions)])
    relative = invert_pose(world_from_cam[0]) @ world_from_cam  # world = camera of frame 0
    relative[0] = np.eye(4)
    height, width = cv2.imread(str(rgb_files[0])).shape[:2]
    colour = folder / "tum.mkv"
    with VideoWriter(colour, width, height, 30) as video, \
            DepthVideoWriter(folder / "tum.mkv_depth.mkv", width, height, 30) as depth:
        for path, stamp in zip(rgb_files, times):
            video.write(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            raw = cv2.imread(str(depth_files[np.argmin(np.abs(depth_stamps - stamp))]),
                             cv2.IMREAD_UNCHANGED)
            depth.write(raw.astype(np.float32) / TUM_DEPTH_SCALE, invalid=raw == 0)
    write_xfovs(folder / "tum.mkv_depth.mkv_xfovs.json",
                np.full(len(rgb_files), fov_from_focal(width, TUM_FX)))
    poses = folder / "tum.mkv_depth.mkv_transformations.json"
    write_transformations(poses, relative)
    return colour, poses


def _render(**settings) -> np.ndarray:
    source = FrameSource(ViewerConfig(render_width=TILE_WIDTH, **settings))
    [(_, colour, _)] = list(render_views(source, RenderCamera(source)))
    return colour


def _save(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"{path} ({path.stat().st_size // 1024} KB)")


def tum_views(colour: Path, poses: Path, folder: Path) -> None:
    # A frame-0 cloud as the static background (what step 5's averaged cloud would be).
    source = FrameSource(ViewerConfig(color_video=colour, draw_frame=0))
    with source.open() as reader:
        first = reader.read(0).geometry(source.style(mesh=False)).surface
    grey = PointCloud(first.points[::3], np.full((len(first.points[::3]), 3), 90, np.uint8))
    background = write_ply(folder / "frame0_grey.ply", grey)
    common = dict(color_video=colour, transformation_file=poses, draw_frame=8)
    tiles = [
        _render(**common),
        _render(**common, x=0.6, y=-1.2, z=-1.0, look_at="0,0,1.2", render_xfov=70,
                show_camera=True, background_ply=[background], point_size=1.5),
        _render(**common, x=-1.0, y=-0.3, z=0.2, look_at="0,0,1.2", render_xfov=70,
                mesh=True, remove_edges=True),
    ]
    _save(IMAGES / "viewer_tum_views.png", row(tiles, [
        "frame 8 through the recorded camera", "from above: recorded camera, frame-0 cloud (grey)",
        "mesh with --remove_edges, from the side"]))


WINDOW_SCRIPT = """
import sys
from pathlib import Path
import cv2
from metricdepth.viewer import ViewerConfig
from metricdepth.viewer.playback import Player
from metricdepth.viewer.source import FrameSource
source = FrameSource(ViewerConfig(color_video=Path(sys.argv[1]), transformation_file=Path(sys.argv[2])))
with Player(source) as player:
    player.play_frames(4)
    cv2.imwrite(sys.argv[3], cv2.cvtColor(player.screenshot(), cv2.COLOR_RGB2BGR))
"""


def tum_window(colour: Path, poses: Path, folder: Path) -> None:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("Xvfb not installed: no window picture")
        return
    display = ":93"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "800x600x24", "-nolisten", "tcp"])
    try:
        shot = folder / "window.png"
        subprocess.run([sys.executable, "-c", WINDOW_SCRIPT, str(colour), str(poses), str(shot)],
                       env={**os.environ, "DISPLAY": display, "XDG_RUNTIME_DIR": str(folder)},
                       check=True)
        image = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB)
        small = cv2.resize(image, (TILE_WIDTH * 3 // 2, image.shape[0] * TILE_WIDTH * 3 // 2
                                   // image.shape[1]), interpolation=cv2.INTER_AREA)
        _save(IMAGES / "viewer_tum_window.png", labelled(small, "the window (Xvfb), frame 4"))
    finally:
        server.terminate()
        server.wait()


def synthetic_check(folder: Path) -> None:
    clip = make_scene(seed=5, width=192, height=144, frames=6, moving=None,
                      camera_translation_m=0.8)
    paths = write_clip(clip, folder / "room.mkv")
    eye, target = np.array([0.35, -0.2, -0.4]), np.array([0.0, 0.0, 3.0])
    source = FrameSource(ViewerConfig(color_video=paths["colour"], draw_frame=3, mesh=True,
                                      remove_edges=True, transformation_file=paths["transformations"],
                                      x=eye[0], y=eye[1], z=eye[2], look_at="0,0,3"))
    camera = RenderCamera(source)
    [(_, rendered, depth)] = list(render_views(source, camera))
    exact = clip.render(look_at(eye, target), 3, camera.intrinsics(3)).colour
    covered = np.isfinite(depth)
    error = np.abs(rendered.astype(np.int16) - exact).max(axis=-1).astype(np.uint8)
    difference = np.where(covered[..., None], np.repeat(np.minimum(error * 4, 255)[..., None], 3, -1), 0)
    mse = np.mean((rendered.astype(float) - exact)[covered] ** 2)
    _save(IMAGES / "viewer_synthetic_check.png", row(
        [rendered, exact, difference.astype(np.uint8)],
        ["viewer, new viewpoint", "exact ray-cast view",
         f"|diff| x4: {10 * np.log10(255**2 / mse):.1f} dB"]))


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        colour, poses = tum_clip(folder)
        tum_views(colour, poses, folder)
        tum_window(colour, poses, folder)
        synthetic_check(folder)


if __name__ == "__main__":
    main()
