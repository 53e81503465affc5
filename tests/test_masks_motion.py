"""The weight-free motion mask against the exact moving-object mask of a synthetic clip;
prompt parsing; step 2 (create_video_mask) end to end with the motion backend."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import pattern_frames, write_video
from metricdepth.cli import run
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoWriter
from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.video import probe
from metricdepth.masks.motion import model_residuals, motion_masks
from metricdepth.masks.prompts import group_objects, parse_boxes, parse_points
from metricdepth.masks.step import MaskConfig, create_mask, finish_mask
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip
from test_tracking_lk import load_script

create_video_mask = load_script("create_video_mask")


@pytest.fixture(scope="module")
def clip():
    return make_scene(seed=1, width=320, height=240, frames=40)


@pytest.fixture(scope="module")
def masks(clip):
    return np.array(list(motion_masks(lambda: iter(clip.colour), clip.frames)))


def test_motion_mask_matches_the_moving_object(clip, masks):
    truth = clip.moving_mask
    iou = (masks & truth).sum() / (masks | truth).sum()
    static_marked = (masks & ~truth).sum() / (~truth).sum()
    assert iou >= 0.7, iou
    assert static_marked < 0.02, static_marked


def test_motion_mask_is_empty_for_a_static_scene():
    clip = make_scene(seed=3, width=160, height=120, frames=16, moving=None)
    masks = np.array(list(motion_masks(lambda: iter(clip.colour), clip.frames)))
    assert masks.mean() < 0.02


def test_residuals_single_out_points_that_move_differently():
    """3D points seen by a camera that turns and moves sideways (parallax: no homography
    explains them) and ten points that move on their own."""
    from metricdepth.camera import Intrinsics, project, rotation_about_axis

    rng = np.random.default_rng(0)
    intr = Intrinsics.from_fov(320, 240, xfov=60)
    points = np.column_stack([rng.uniform(-2, 2, 200), rng.uniform(-1.5, 1.5, 200), rng.uniform(2, 8, 200)])
    a, _ = project(points, intr)
    moved = (points - [0.3, 0.0, 0.1]) @ rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.05).T
    moved[:10] += rng.normal(0, 0.2, (10, 3))
    b, _ = project(moved, intr)
    for model in ("auto", "fundamental"):
        residual = model_residuals(a, b, model, 0.5)
        assert (residual[:10] > 0.5).sum() >= 9 and (residual[10:] < 0.05).all()
    assert model_residuals(a[:5], b[:5], "auto", 0.5) is None


# --- prompts ----------------------------------------------------------------------

def test_prompts_parse_and_group():
    points = parse_points("10,20 30.5,40,3;", "--points", True, 100, 80, 10)
    assert [(p.x, p.y, p.frame) for p in points] == [(10, 20, 0), (30.5, 40, 3)]
    negatives = parse_points("1,2", "--negative_points", False, 100, 80, 10)
    boxes = parse_boxes("5,5,50,60,2", "--box", 100, 80, 10)
    objects = group_objects(points + negatives, boxes, separate=False)
    assert [o.object_id for o in objects] == [1, 2]
    assert objects[0].box == boxes[0] and objects[0].first_frame == 2
    assert sum(p.positive for p in objects[1].points) == 2
    assert len(group_objects(points + negatives, boxes, separate=True)) == 3


@pytest.mark.parametrize("flag, text, message", [
    ("--points", "120,20", "outside the 100x80 image"),
    ("--points", "10,-3", "outside"),
    ("--points", "10", "must have 2 numbers"),
    ("--points", "a,b", "not a list of numbers"),
    ("--points", "10,20,12", "frame 12 is outside"),
    ("--points", "10,20,1.5", "integer"),
    ("--box", "50,5,10,60", "x0 < x1"),
    ("--box", "5,60,50,10", "y0 < y1"),
    ("--box", "5,5,500,60", "outside"),
])
def test_malformed_prompts_are_refused(flag, text, message):
    with pytest.raises(InputError, match=message) as error:
        if flag == "--box":
            parse_boxes(text, flag, 100, 80, 10)
        else:
            parse_points(text, flag, True, 100, 80, 10)
    assert str(error.value).startswith(flag)


# --- the step ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    return write_clip(make_scene(seed=4, width=160, height=120, frames=12), folder / "clip.mkv")


def test_finish_mask_dilates_then_inverts():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    grown = finish_mask(mask, 2, False)
    assert grown[4, 2] and grown[2, 4] and not grown[2, 2] and not grown[4, 1]
    assert (finish_mask(mask, 0, True) == ~mask).all()


def test_step_writes_mask_and_preview(clip_files, tmp_path):
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    paths = create_mask(MaskConfig(color_video=str(video), backend="motion", dilate=2,
                                   depth_video=str(clip_files["depth"]),
                                   save_visualization_video=True))
    assert [p.name for p in paths] == ["clip.mkv_mask.mkv", "clip.mkv_mask.mkv_visualization.mkv"]
    reader = MaskVideoReader(paths[0])
    assert reader.frame_count == 12 and probe(paths[1]).frame_count == 12
    with pytest.raises(InputError, match="already exists"):
        create_mask(MaskConfig(color_video=str(video), backend="motion"))
    before = list(reader)
    inverted = create_mask(MaskConfig(color_video=str(video), backend="motion", invert=True,
                                      dilate=2, depth_video=str(clip_files["depth"]),
                                      overwrite=True))[0]
    assert all((a == ~b).all() for a, b in zip(MaskVideoReader(inverted), before))
    assert any(m.any() for m in before) and not all(m.all() for m in before)
    short = create_mask(MaskConfig(color_video=str(video), backend="motion", max_frames=6,
                                   overwrite=True))[0]
    assert MaskVideoReader(short).frame_count == 6


def test_script_refuses_bad_input_and_writes_nothing(clip_files, tmp_path, capsys):
    video = tmp_path / "clip.mkv"
    video.symlink_to(clip_files["colour"])
    out = tmp_path / "clip.mkv_mask.mkv"
    base = ["--color_video", str(video), "-q"]
    cases = [
        (["--color_video", str(tmp_path / "missing.mp4")], "file not found"),
        (base + ["--backend", "sam2", "--points", "500,20"], "--points"),
        (base + ["--backend", "sam2", "--box", "50,5,10,60"], "x0 < x1"),
        (base + ["--backend", "sam2"], "need a subject"),
        (base + ["--backend", "sam"], "need a subject"),
        (base + ["--backend", "sam", "--points", "10,10"], "segment-anything"),
        (base + ["--dilate", "-1"], "--dilate"),
        (base + ["--max_frames", "0"], "--max_frames"),
    ]
    small_depth = tmp_path / "depth.mkv"
    with DepthVideoWriter(small_depth, 80, 60, 30) as writer:
        writer.write(np.ones((60, 80), np.float32))
    cases.append((base + ["--backend", "motion", "--depth_video", str(small_depth)], "80x60"))
    for args, message in cases:
        assert run(create_video_mask.main, args) == 2, args
        assert message in capsys.readouterr().err
        assert not out.exists()
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    assert run(create_video_mask.main, ["--color_video", str(not_video)]) == 2
    truncated = tmp_path / "cut.mkv"
    data = write_video(tmp_path / "whole.mkv", pattern_frames(20, 64, 48)).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert run(create_video_mask.main, ["--color_video", str(truncated), "--backend", "motion"]) == 2
    assert not (tmp_path / "cut.mkv_mask.mkv").exists()
