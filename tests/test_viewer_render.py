"""Headless rendering proven against exact ray-cast views of synthetic clips, world-locked
playback, and the files `view_3d.py` writes (video, image, PLY)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from metricdepth.camera import look_at
from metricdepth.io.ply import read_ply
from metricdepth.io.video import VideoReader, probe
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from metricdepth.viewer import ViewerConfig, view_3d
from metricdepth.viewer.render import RenderCamera, render_views
from metricdepth.viewer.source import FrameSource

FRAMES = 6
MIN_PSNR_DB = 25.0          # the bar for the headless render against the exact view
MAX_LOCKED_SHIFT_PX = 1.0   # a static room may move at most this much in a world-locked render


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """Peak signal-to-noise ratio, dB, of uint8 images on pixels `where`."""
    error = (a.astype(np.float64) - b.astype(np.float64))[where]
    return float(10 * np.log10(255.0**2 / np.mean(error**2)))


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A static synthetic room, written in our formats: (clip, paths by role)."""
    clip = make_scene(seed=5, width=192, height=144, frames=FRAMES, moving=None,
                      camera_translation_m=0.8)
    paths = write_clip(clip, tmp_path_factory.mktemp("viewer") / "room.mkv")
    return clip, paths


def config(paths: dict[str, Path], **changes) -> ViewerConfig:
    """World-locked playback of the written clip (FOV from the xfovs file beside the depth)."""
    return ViewerConfig(color_video=paths["colour"], transformation_file=paths["transformations"],
                        **changes)


def test_headless_render_from_a_new_viewpoint_matches_the_exact_view(scene):
    """Frame 3's mesh seen by a camera 0.35 m aside and 0.4 m back, looking at the room's
    centre: the rendered colours and depths match the exact ray-cast view of that camera."""
    clip, paths = scene
    frame, eye, target = 3, np.array([0.35, -0.2, -0.4]), np.array([0.0, 0.0, 3.0])
    source = FrameSource(config(paths, mesh=True, remove_edges=True, draw_frame=frame,
                                x=eye[0], y=eye[1], z=eye[2], look_at="0,0,3"))
    camera = RenderCamera(source)
    [(_, colour, depth)] = list(render_views(source, camera))
    exact = clip.render(look_at(eye, target), frame, camera.intrinsics(frame))
    covered = np.isfinite(depth)
    assert covered.mean() > 0.7
    value = psnr(colour, exact.colour, covered)
    relative = np.abs(depth - exact.depth)[covered] / exact.depth[covered]
    print(f"new viewpoint: PSNR {value:.1f} dB on {covered.mean():.0%} covered pixels, "
          f"median depth error {np.median(relative):.3%}")
    assert value >= MIN_PSNR_DB
    assert np.median(relative) < 0.002


def test_following_the_recorded_camera_reproduces_the_frames(scene):
    """Points drawn from the recorded camera give back the recorded frame exactly
    (1-pixel points: Open3D's half-pixel convention handled)."""
    clip, paths = scene
    source = FrameSource(config(paths, point_size=1.0, max_frames=2))
    for index, colour, depth in render_views(source, RenderCamera(source)):
        covered = np.isfinite(depth)
        assert covered.mean() > 0.99
        np.testing.assert_array_equal(colour[covered], clip.colour[index][covered])
        np.testing.assert_allclose(depth[covered], clip.depth[index][covered], atol=2e-3)


def feature_motion(a: np.ndarray, b: np.ndarray) -> float:
    """Median displacement, pixels, of SIFT features matched between RGB images a and b
    (Lowe's ratio test): how far the picture's content moved from a to b."""
    sift = cv2.SIFT_create()
    (ka, da), (kb, db) = (sift.detectAndCompute(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), None)
                          for x in (a, b))
    pairs = cv2.BFMatcher().knnMatch(da, db, k=2)
    good = [m for m, n in pairs if m.distance < 0.7 * n.distance]
    assert len(good) >= 20, f"only {len(good)} features matched"
    moves = [np.subtract(kb[m.trainIdx].pt, ka[m.queryIdx].pt) for m in good]
    return float(np.median(np.linalg.norm(moves, axis=1)))


@pytest.mark.parametrize("poses", [True, False])
def test_world_locked_room_stays_still_from_a_fixed_camera(scene, poses):
    """Every frame drawn with the ground-truth poses and rendered by one fixed camera: the
    static room's features stay put, against the exact ray-cast view of that camera. Without
    the poses (camera-locked) they move by many pixels, so the measure can fail."""
    clip, paths = scene
    source = FrameSource(dataclasses.replace(
        config(paths, mesh=True, remove_edges=True, x=0.0, y=-0.3, z=-0.8, look_at="0,0,3",
               render_xfov=75.0),
        transformation_file=paths["transformations"] if poses else None))
    camera = RenderCamera(source)
    exact = clip.render(camera.pose(0), 0, camera.intrinsics(0)).colour
    motion = [feature_motion(exact, colour) for _, colour, _ in render_views(source, camera)]
    print(f"{'world' if poses else 'camera'}-locked: static features move "
          f"{', '.join(f'{m:.2f}' for m in motion)} px")
    if poses:
        assert max(motion) < MAX_LOCKED_SHIFT_PX
    else:
        assert max(motion) > 5 * MAX_LOCKED_SHIFT_PX


def test_render_writes_a_video_and_a_png(scene, tmp_path):
    clip, paths = scene
    out = view_3d(config(paths, render=tmp_path / "room.mp4", max_frames=3, show_camera=True,
                         x=0.2, y=-0.5, z=-1.0, render_width=128))
    assert out == [tmp_path / "room.mp4"]
    info = probe(out[0])
    assert (info.width, info.height, info.frame_count, info.fps) == (128, 96, 3, clip.fps)
    assert VideoReader(out[0]).read(1).mean() > 20  # not a black video
    [png] = view_3d(config(paths, render=tmp_path / "frame.png", draw_frame=2, point_size=1.0))
    image = cv2.imread(str(png))[..., ::-1]
    assert image.shape == (144, 192, 3)
    assert (image == clip.colour[2]).all(axis=-1).mean() > 0.99
    with pytest.raises(Exception, match="already exists"):
        view_3d(config(paths, render=png, draw_frame=2))


def test_export_ply_writes_world_frame_points_per_frame(scene, tmp_path):
    clip, paths = scene
    written = view_3d(config(paths, export_ply=tmp_path / "ply", start_frame=2, max_frames=2))
    assert [p.name for p in written] == ["frame_0003.ply", "frame_0004.ply"]
    cloud = read_ply(written[1])
    assert len(cloud) == 192 * 144
    # The first pixel's point, placed by frame 3's pose.
    exact = clip.sample(clip.world_from_cam[3], np.array([[0.0, 0.0]]), 3)
    intr = clip.intrinsics
    cam = np.array([(0 - intr.cx) / intr.fx, (0 - intr.cy) / intr.fy, 1.0]) * exact.depth[0]
    world = clip.world_from_cam[3][:3, :3] @ cam + clip.world_from_cam[3][:3, 3]
    np.testing.assert_allclose(cloud.points[0], world, atol=2e-3)


def test_mask_keeps_the_subject_or_with_invert_the_background(tmp_path):
    clip = make_scene(seed=4, width=64, height=48, frames=3, moving="sphere")
    paths = write_clip(clip, tmp_path / "moving.mkv")
    mask = clip.moving_mask[1]
    assert 0 < mask.sum() < mask.size
    for invert, expected in ((False, mask), (True, ~mask)):
        [ply] = view_3d(config(paths, mask_video=paths["mask"], invert_mask=invert, draw_frame=1,
                               export_ply=tmp_path / f"ply_{invert}"))
        cloud = read_ply(ply)
        assert len(cloud) == expected.sum()
        np.testing.assert_array_equal(cloud.colors, clip.colour[1][expected])
