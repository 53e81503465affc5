"""The weight-free Lucas-Kanade tracker against the exact truth of a synthetic clip, and
step 3 (track_points_in_video) end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import pattern_frames, write_video
from metricdepth.cli import run
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
from metricdepth.io.mask_video import MaskVideoWriter
from metricdepth.io.sidecars import read_tracking
from metricdepth.io.video import probe
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from metricdepth.tracking.lk import LKSettings, LKTracker
from metricdepth.tracking.step import TrackConfig, track_points
from metricdepth.evaluate.track_truth import compare_tracks

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str):
    """Import a top-level step script as a module (it is not on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, REPO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


track_points_in_video = load_script("track_points_in_video")


@pytest.fixture(scope="module")
def clip():
    return make_scene(seed=0, width=320, height=240, frames=48)


@pytest.fixture(scope="module")
def lk_tracks(clip):
    tracker = LKTracker()
    return [tracker.update(frame) for frame in clip.colour]


@pytest.fixture(scope="module")
def truth(clip, lk_tracks):
    return compare_tracks(clip, lk_tracks, horizon=30)


def test_lk_tracks_are_sub_pixel_exact_on_static_surfaces(truth):
    assert len(truth.errors) > 5000
    assert truth.median <= 0.3, truth.median
    assert truth.p95 <= 1.0, truth.p95


def test_lk_tracks_do_not_continue_on_another_surface(truth):
    """A point whose surface is hidden (occluded, out of view) is dropped within a frame,
    and visible points hardly ever stray from their surface point. (The issue asks for
    none at all; one track seeded right at a box's silhouette follows the silhouette's
    corner for 5 frames in this clip: see docs/step3_tracking.md.)"""
    assert truth.hidden <= 0.001 * truth.observations, (truth.hidden, truth.observations)
    assert truth.strays <= 0.002 * truth.observations, (truth.strays, truth.observations)


def test_lk_points_survive_on_textured_static_surfaces(truth):
    """Points seeded with their window on one static surface, visible for 30 frames:
    the issue's 90% (92-94% on seeds 0-3 without depth, 94% here; see
    docs/step3_tracking.md)."""
    assert truth.survivors_judged > 80
    assert truth.survival >= 0.9, truth.survival


@pytest.mark.xfail(strict=True, reason="without a depth video, issue 4's occlusion bar is not "
                   "reached: one track seeded at a silhouette continues 5 frames while hidden "
                   "(docs/step3_tracking.md); with depth it is (test below)")
def test_lk_meets_the_issue_bars(truth):
    assert truth.survival >= 0.9, truth.survival
    assert truth.hidden == 0, truth.hidden


def depth_through_video(clip, folder: Path, drift_and_noise: bool = False) -> list[np.ndarray]:
    """The clip's exact depth as step 1 would hand it over: written to a depth video and
    read back (1.55 mm steps). With `drift_and_noise`, as an estimated depth might be:
    each frame's scale drifts (random walk, 2% a frame) and every pixel gets 2% noise."""
    path = folder / "clip_depth.mkv"
    n, height, width = clip.depth.shape
    with DepthVideoWriter(path, width, height, clip.fps, expected_frames=n) as writer:
        for depth in clip.depth:
            writer.write(depth, invalid=~np.isfinite(depth))
    frames = list(DepthVideoReader(path).frames())
    if not drift_and_noise:
        return frames
    rng = np.random.default_rng(7)
    scale = np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    return [(f * s * (1 + 0.02 * rng.standard_normal(f.shape))).astype(np.float32)
            for f, s in zip(frames, scale)]


@pytest.mark.parametrize("seed, drift_and_noise", [(0, False), (1, False), (2, True)])
def test_lk_meets_the_issue_bars_given_a_depth_video(seed, drift_and_noise, tmp_path):
    """Issue 4's bars, all of them, when the tracker is GIVEN A DEPTH VIDEO (step 1's
    output; here the synthetic clip's exact depth through a depth video file, or that
    depth with per-frame scale drift and 2% noise): no point is seeded with a depth edge
    in its window, so none continues while hidden, and 90% survive 30 frames."""
    clip = make_scene(seed=seed, width=320, height=240, frames=48)
    depth = depth_through_video(clip, tmp_path, drift_and_noise)
    tracker = LKTracker()
    result = compare_tracks(clip, [tracker.update(f, depth=d) for f, d in zip(clip.colour, depth)],
                            horizon=30)
    assert result.survivors_judged > 80
    assert result.median <= 0.3 and result.p95 <= 1.0, (result.median, result.p95)
    assert result.survival >= 0.9, result.survival
    assert result.hidden == 0, result.hidden
    assert result.strays <= 0.002 * result.observations, result.strays


def test_lk_drops_a_point_whose_depth_jumps(clip):
    """A point whose depth jumps (a nearer surface slid over it) is dropped, whatever
    its window looks like; a whole-frame scale change (drift of estimated depth) is not
    a jump."""
    tracker = LKTracker()
    depth = np.full(clip.colour.shape[1:3], 4.0, np.float32)
    first = tracker.update(clip.colour[0], depth=depth)
    jumped = depth * 1.3
    jumped[:, :160] = depth[:, :160] * 1.05
    kept = tracker.update(clip.colour[0], depth=jumped, seed=False)
    left = first.xy[:, 0] < 155
    assert set(kept.ids.tolist()) == set(first.ids[left].tolist())


def test_lk_ids_are_unique_and_never_reused(lk_tracks):
    last_seen: dict[int, int] = {}
    for frame, tracks in enumerate(lk_tracks):
        assert len(np.unique(tracks.ids)) == len(tracks.ids)
        for i in tracks.ids.tolist():
            assert last_seen.get(i, frame - 1) == frame - 1, f"id {i} came back"
            last_seen[i] = frame


def test_lk_drops_and_never_seeds_points_in_the_excluded_area(clip):
    exclude = np.zeros(clip.colour.shape[1:3], bool)
    exclude[:, 100:200] = True
    tracker = LKTracker()
    for frame in clip.colour[:10]:
        tracks = tracker.update(frame, exclude)
        x = np.rint(tracks.xy[:, 0])
        assert not ((x >= 100) & (x < 200)).any()
        assert len(tracks) > 50


def test_lk_breaks_are_detected():
    """The truth comparison can fail: a tracker that reports seeds shifted by a pixel."""
    clip = make_scene(seed=1, width=160, height=120, frames=8)
    tracker = LKTracker(LKSettings(cell=8))
    tracks = []
    for frame in clip.colour:
        t = tracker.update(frame)
        tracks.append(type(t)(t.ids, t.xy + np.array([0.0, 1.0]) * (len(tracks) > 0)))
    assert compare_tracks(clip, tracks, horizon=4).median > 0.8


# --- the step ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip_files(tmp_path_factory, clip):
    folder = tmp_path_factory.mktemp("clip")
    paths = write_clip(make_scene(seed=2, width=160, height=120, frames=12), folder / "clip.mkv")
    return paths


def test_step_writes_tracks_and_visualisation(clip_files, tmp_path):
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    paths = track_points(TrackConfig(color_video=str(video), backend="lk",
                                     save_visualization_video=True))
    assert [p.name for p in paths] == ["clip.mkv_tracking.json",
                                       "clip.mkv_tracking.json_visualization.mkv"]
    tracks = read_tracking(paths[0], 12, (160, 120))
    assert all(len(f) > 10 for f in tracks)
    assert probe(paths[1]).frame_count == 12
    with pytest.raises(InputError, match="already exists"):
        track_points(TrackConfig(color_video=str(video), backend="lk"))
    assert read_tracking(track_points(TrackConfig(color_video=str(video), backend="lk",
                                                  max_frames=5, overwrite=True))[0]) is not None
    assert len(json.loads(paths[0].read_text())) == 5


def test_step_drops_points_in_the_mask(clip_files, tmp_path):
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    masks = tmp_path / "clip_mask.mkv"
    with MaskVideoWriter(masks, 160, 120, probe(video).fps) as writer:
        for _ in range(12):
            mask = np.zeros((120, 160), bool)
            mask[:60] = True
            writer.write(mask)
    path = track_points(TrackConfig(color_video=str(video), mask_video=str(masks), backend="lk"))[0]
    for frame in read_tracking(path):
        assert (frame.xy[:, 1] >= 59.5).all()


def survivors_of_frame_5(tracks: list, right: bool) -> tuple[set, set]:
    """Ids seen in frame 5 in the right (x > 84) or left (x < 76) part of the 160 px wide
    clip, and those of them still tracked in frame 6."""
    before = tracks[5]
    side = before.xy[:, 0] > 84 if right else before.xy[:, 0] < 76
    ids = set(before.ids[side].tolist())
    return ids, ids & set(tracks[6].ids.tolist())


def test_step_uses_the_depth_video(clip_files, tmp_path):
    """The step hands the depth video to lk: at frame 6 the depth of the right half jumps
    by 30% (a nearer surface slid over it; the left half drifts by 5%, a whole-frame scale
    change), and every point there ends; without the depth video most of them go on, and
    with it the left half's points go on too."""
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    jumping = tmp_path / "jump_depth.mkv"
    with DepthVideoWriter(jumping, 160, 120, probe(video).fps, expected_frames=12) as writer:
        for index in range(12):
            depth = np.full((120, 160), 4.0, np.float32)
            if index >= 6:
                depth[:, 80:] *= 1.3
                depth[:, :80] *= 1.05
            writer.write(depth)
    with_depth = read_tracking(track_points(TrackConfig(
        color_video=str(video), depth_video=str(jumping), backend="lk"))[0])
    without = read_tracking(track_points(TrackConfig(
        color_video=str(video), backend="lk", overwrite=True))[0])

    right, kept = survivors_of_frame_5(with_depth, right=True)
    assert len(right) >= 5 and not kept, (right, kept)
    right, kept = survivors_of_frame_5(without, right=True)
    assert len(kept) >= 0.6 * len(right) >= 3, (right, kept)
    left, kept = survivors_of_frame_5(with_depth, right=False)
    assert len(kept) >= 0.6 * len(left) >= 3, (left, kept)

    short = tmp_path / "short_depth.mkv"
    with DepthVideoWriter(short, 160, 120, probe(video).fps) as writer:
        writer.write(np.ones((120, 160), np.float32))
    with pytest.raises(InputError, match="depth video has 1 frames"):
        track_points(TrackConfig(color_video=str(video), depth_video=str(short), backend="lk",
                                 overwrite=True))


def test_script_accepts_the_old_misspelt_flag_and_refuses_bad_input(clip_files, tmp_path, capsys):
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    args = ["--color_video", str(video), "--backend", "lk", "-q"]
    assert track_points_in_video.parse_args(args + ["--steps_bewtwen_track_init", "7"]) \
        .steps_between_track_init == 7
    out = tmp_path / "clip.mkv_tracking.json"
    for bad, message in [(["--color_video", str(tmp_path / "missing.mp4")], "file not found"),
                         (args + ["--max_frames", "0"], "--max_frames"),
                         (args + ["--lk_window", "8"], "--lk_window"),
                         (args + ["--backend", "cotracker", "--overlap", "40"], "--overlap")]:
        assert run(track_points_in_video.main, bad) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    assert run(track_points_in_video.main, ["--color_video", str(not_video)]) == 2
    small = write_video(tmp_path / "small.mkv", pattern_frames(12, 80, 60))
    masks = tmp_path / "mask.mkv"
    with MaskVideoWriter(masks, 160, 120, 30) as writer:
        writer.write(np.zeros((120, 160), bool))
    assert run(track_points_in_video.main, ["--color_video", str(small), "--mask_video", str(masks)]) == 2
    assert "mask video is 160x120" in capsys.readouterr().err
    assert not (tmp_path / "small.mkv_tracking.json").exists()
