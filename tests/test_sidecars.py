"""JSON sidecars: round trips and every malformed case a user can hand us."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metricdepth.camera import invert_pose, look_at
from metricdepth.errors import InputError, OutputExistsError
from metricdepth.io.naming import DEPTH, TRACKING, output_path
from metricdepth.io.sidecars import (
    FrameTracks,
    read_tracking,
    read_transformations,
    read_xfovs,
    write_tracking,
    write_transformations,
    write_xfovs,
)
from metricdepth.stereo.convergence import read_convergence_file


def _poses(n=5):
    cams = [look_at([0.1 * i, 0.02 * i, 0.0], [0.0, 0.0, 4.0]) for i in range(n)]
    first = invert_pose(cams[0])
    return np.stack([first @ c for c in cams])


def test_tracking_round_trip_keeps_sub_pixel_positions(tmp_path):
    rng = np.random.default_rng(0)
    frames = [FrameTracks(np.arange(k, dtype=np.int64) * 7, rng.uniform(0, 99, (k, 2)))
              for k in (3, 0, 5)]
    path = write_tracking(tmp_path / "t.json", frames)
    back = read_tracking(path, frame_count=3, size=(100, 100))
    for a, b in zip(frames, back):
        assert np.array_equal(a.ids, b.ids)
        assert a.xy.shape == b.xy.shape and np.all(np.abs(a.xy - b.xy) <= 0.5e-3)


def test_tracking_reads_integer_coordinates(tmp_path):
    (tmp_path / "t.json").write_text("[[[1, 10, 20]], [[1, 11, 21], [4, 0, 0]]]")
    back = read_tracking(tmp_path / "t.json")
    assert back[1].ids.tolist() == [1, 4] and back[1].xy.tolist() == [[11, 21], [0, 0]]


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"frames": []}', "must be a list"),
    ("[[[1, 2]]]", r"frame 0: must be a list of \[id, x, y\]"),
    ("[[1, 2, 3]]", r"frame 0: must be a list of \[id, x, y\]"),
    ('[[[1, "a", 3]]]', r"frame 0: must be a list of \[id, x, y\]"),
    ("[[[1.5, 2, 3]]]", "ids must be integers"),
    ("[[[1, 2, 3], [1, 4, 5]]]", "appears twice"),
    ("[[[1, NaN, 3]]]", "NaN"),
    ("[[[1, 120, 3]]]", r"outside the 100x50 image"),
    ("[[], []]", "has 2 frames of tracks, the video has 1 frames"),
])
def test_malformed_tracking_is_refused_with_the_file_named(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as info:
        read_tracking(path, frame_count=1, size=(100, 50))
    assert str(info.value).startswith(str(path))


def test_transformations_round_trip_exactly(tmp_path):
    poses = _poses()
    path = write_transformations(tmp_path / "p.json", poses)
    assert np.array_equal(read_transformations(path, frame_count=5), poses)
    assert json.loads(path.read_text())[0] == np.eye(4).tolist()  # row-major nested lists


def test_writer_refuses_poses_not_starting_at_identity(tmp_path):
    poses = _poses()
    with pytest.raises(ValueError, match="identity"):
        write_transformations(tmp_path / "p.json", poses[1:])


@pytest.mark.parametrize("mutate, problem", [
    (lambda p: p[:3], "has 3 poses, the video has 5 frames"),
    (lambda p: p[:, :3, :], "4x4"),
    (lambda p: p * np.array([1, 1, 1, 1])[:, None] * 2, "not a rotation|bottom row"),
    (lambda p: np.where(np.arange(4)[:, None] == 3, p, p * 1.1), "not a rotation"),
])
def test_malformed_transformations_are_refused(tmp_path, mutate, problem):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(mutate(_poses()).tolist()))
    with pytest.raises(InputError, match=problem):
        read_transformations(path, frame_count=5)


def test_xfovs_round_trip_and_range(tmp_path):
    fovs = np.array([60.0, 61.25, 59.5])
    assert np.array_equal(read_xfovs(write_xfovs(tmp_path / "f.json", fovs), 3), fovs)
    for bad, problem in [("[60, 180]", r"frame 1: field of view 180 .* outside \(1, 179\)"),
                         ("[0.5]", "outside"), ('["60"]', "list of numbers"), ("[true]", "list of numbers")]:
        (tmp_path / "bad.json").write_text(bad)
        with pytest.raises(InputError, match=problem):
            read_xfovs(tmp_path / "bad.json")


def test_json_writers_never_replace_silently(tmp_path):
    path = write_xfovs(tmp_path / "f.json", [60.0])
    with pytest.raises(OutputExistsError):
        write_xfovs(path, [70.0])
    assert read_xfovs(path).tolist() == [60.0]
    write_xfovs(path, [70.0], overwrite=True)
    assert read_xfovs(path).tolist() == [70.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_naming_appends_to_the_full_name(tmp_path):
    depth = output_path(tmp_path / "clip.mp4", DEPTH)
    assert depth.name == "clip.mp4_depth.mkv"
    assert output_path(depth, TRACKING).name == "clip.mp4_depth.mkv_tracking.json"


@pytest.mark.parametrize("reader", [read_tracking, read_transformations, read_xfovs])
@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_refused_with_the_file_named(tmp_path, reader, depth):
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    with pytest.raises(InputError) as caught:
        reader(path)
    assert caught.value.source == str(path)


def test_convergence_nan_holds_the_last_valid_distance(tmp_path):
    path = tmp_path / "convergence.json"
    path.write_text("[NaN, NaN, 2.5, NaN, 3, null, NaN]")  # the older toolbox's bare NaN
    assert read_convergence_file(path, 7).tolist() == [2.5, 2.5, 2.5, 2.5, 3, 3, 3]
    path.write_text("[NaN, null]")
    assert read_convergence_file(path, 2).tolist() == [0, 0]
    path.write_text("[1, Infinity]")
    with pytest.raises(InputError, match="frame 1: convergence inf"):
        read_convergence_file(path, 2)


def test_megasam_files_with_one_extra_identity_pose_are_read(tmp_path, caplog):
    """MDVT's sam_track_video.py writes N + 1 poses, an identity first: it is dropped
    (and said); N + 1 poses without that identity are refused with what to do."""
    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[1:, 0, 3] = [0.1, 0.2]
    path = tmp_path / "megasam.json"
    path.write_text(json.dumps([np.eye(4).tolist()] + poses.tolist()))
    with caplog.at_level("INFO"):
        np.testing.assert_array_equal(read_transformations(path, 3), poses)
    assert "sam_track_video.py (MegaSaM)" in caplog.text and "dropped" in caplog.text
    shifted = poses.copy()
    shifted[:, 1, 3] = 0.5
    path.write_text(json.dumps(shifted.tolist() + [np.eye(4).tolist()]))
    with pytest.raises(InputError, match="has 4 poses for 3 frames, like the file of MDVT"):
        read_transformations(path, 3)


def test_poses_far_beyond_any_scene_are_refused(tmp_path):
    poses = np.tile(np.eye(4), (2, 1, 1))
    poses[1, 2, 3] = 1e300
    path = tmp_path / "far.json"
    path.write_text(json.dumps(poses.tolist()))
    with pytest.raises(InputError, match="pose 1: translation .* is beyond 1e\\+06 m"):
        read_transformations(path, 2)


def test_integer_pixels_write_mdvts_whole_pixel_tracks(tmp_path):
    frames = [FrameTracks(np.array([3, 5]), np.array([[10.4, 20.6], [0.5, 7.49]]))]
    path = write_tracking(tmp_path / "t.json", frames, integer_pixels=True)
    assert json.loads(path.read_text()) == [[[3, 10, 21], [5, 0, 7]]]
    assert all(isinstance(v, int) for point in json.loads(path.read_text())[0] for v in point)
