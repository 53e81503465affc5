"""stereo_rerender end to end: the files it writes, resuming, layouts, and bad input."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest
from metricdepth.errors import InputError
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.mask_video import MaskVideoWriter
from metricdepth.io.video import VideoReader, probe
from metricdepth.stereo import step as step_module
from metricdepth.stereo.convergence import convergence_shift_px
from metricdepth.stereo.render import render_eyes, stereo_eyes
from metricdepth.stereo.step import StereoConfig, stereo_rerender
from metricdepth.synthetic import make_scene
from metricdepth.synthetic.export import write_clip

REPO = Path(__file__).resolve().parents[1]
W, H, N = 64, 48, 7


@pytest.fixture(scope="module")
def clip():
    return make_scene(seed=2, width=W, height=H, frames=N, xfov=60.0)


@pytest.fixture
def files(tmp_path, clip):
    return write_clip(clip, tmp_path / "clip.mkv")


def _config(files, **flags):
    return StereoConfig(depth_video=str(files["depth"]), color_video=str(files["colour"]),
                        chunk_frames=3, **flags)


def test_writes_stereo_and_mask_that_match_the_renderer(files, clip):
    paths = stereo_rerender(_config(files, convergence="2.0"))
    assert paths["stereo"].name == "clip.mkv_depth.mkv_stereo.mkv"
    assert paths["infill_mask"].name == "clip.mkv_depth.mkv_stereo.mkv_infillmask.mkv"
    for path in paths.values():
        info = probe(path)
        assert (info.width, info.height, info.frame_count, info.fps) == (2 * W, H, N, clip.fps)
    assert not list(files["colour"].parent.glob("*.chunks"))
    # frame 4 equals the renderer's output for that frame (the FOV came from the xfovs file)
    depth = DepthVideoReader(files["depth"]).read(4)
    intr = clip.intrinsics
    eyes = stereo_eyes(intr, 0.063, convergence_shift_px(intr.fx, 0.063, 2.0))
    left, right = render_eyes(clip.colour[4], depth, intr, eyes)
    with VideoReader(paths["stereo"]) as video:
        assert np.array_equal(video.read(4), np.concatenate([left.colour, right.colour], 1))
    with VideoReader(paths["infill_mask"]) as video:
        mask = video.read(4)
    assert np.array_equal(mask, np.concatenate([left.mask, right.mask], 1))
    assert mask.any()


def test_resumed_run_is_byte_identical(files, monkeypatch):
    reference = stereo_rerender(_config(files))
    digests = {k: file_digest(p) for k, p in reference.items()}
    for path in reference.values():
        path.unlink()
    original = step_module._FrameRenderer.render
    calls = []

    def crash_after_four(self, index, *args):
        calls.append(index)
        if len(calls) > 4:
            raise KeyboardInterrupt
        return original(self, index, *args)

    monkeypatch.setattr(step_module._FrameRenderer, "render", crash_after_four)
    with pytest.raises(KeyboardInterrupt):
        stereo_rerender(_config(files))
    monkeypatch.setattr(step_module._FrameRenderer, "render", original)
    assert not reference["stereo"].exists()
    with pytest.raises(InputError, match="--resume"):
        stereo_rerender(_config(files))
    resumed = stereo_rerender(_config(files, resume=True))
    assert {k: file_digest(p) for k, p in resumed.items()} == digests


@pytest.mark.parametrize("layout, size", [("half_sbs", (W, H)), ("top_bottom", (W, 2 * H)),
                                          ("anaglyph", (W, H)), ("vr180", (2 * 256, 256))])
def test_layouts(files, layout, size):
    paths = stereo_rerender(_config(files, layout=layout, vr180_size=256 if layout == "vr180" else 0,
                                    max_frames=2, green_and_black_infill_mask=True))
    for path in paths.values():
        info = probe(path)
        assert (info.width, info.height, info.frame_count) == (*size, 2)
    with VideoReader(paths["infill_mask"]) as video:
        mask = video.read(0)
    colours = {tuple(c) for c in mask.reshape(-1, 3)}
    assert colours <= {(0, 0, 0), (0, 255, 0)} and (0, 255, 0) in colours


def test_subject_convergence_and_stabilised_rendering_run(files):
    paths = stereo_rerender(_config(files, mask_video=str(files["mask"]),
                                    transformation_file=str(files["transformations"]),
                                    master_xfov=90.0))
    assert probe(paths["stereo"]).frame_count == N


def test_subject_convergence_is_written_and_renders_the_same_when_given_back(files, tmp_path):
    """D_convergence_depths.json holds the distances the subject convergence used: given
    back as --convergence (no mask), it renders the same frames, pixel for pixel."""
    first = stereo_rerender(_config(files, mask_video=str(files["mask"])))
    values = json.loads(first["convergence"].read_text())
    assert first["convergence"].name.endswith("_depth.mkv_convergence_depths.json")
    assert len(values) == N and all(v > 0 for v in values[1:])
    again = tmp_path / "again"
    again.mkdir()
    colour = again / files["colour"].name
    depth = again / files["depth"].name
    colour.symlink_to(files["colour"])
    depth.symlink_to(files["depth"])
    second = stereo_rerender(dataclasses.replace(
        _config(files), color_video=str(colour), depth_video=str(depth),
        xfov_file=str(files["xfovs"]), convergence=str(first["convergence"])))
    with VideoReader(first["stereo"]) as a, VideoReader(second["stereo"]) as b:
        for left, right in zip(a.frames(), b.frames(), strict=True):
            np.testing.assert_array_equal(left, right)


def _no_outputs(files):
    return not [p for p in files["colour"].parent.iterdir() if "_depth.mkv_stereo" in p.name]


def test_missing_fov_names_the_flag(files):
    files["xfovs"].unlink()
    with pytest.raises(InputError, match="--xfov: no field of view given: pass --xfov or --yfov"):
        stereo_rerender(_config(files))
    assert _no_outputs(files)


def test_convergence_file_of_the_wrong_length(files, tmp_path):
    bad = tmp_path / "convergence.json"
    bad.write_text(json.dumps([2.0] * (N - 1)))
    with pytest.raises(InputError, match=f"has {N - 1} convergence distances, the video has {N}"):
        stereo_rerender(_config(files, convergence=str(bad)))
    assert _no_outputs(files)


@pytest.mark.parametrize("flags, message", [
    ({"convergence": "-1"}, "--convergence: -1 is not a distance"),
    ({"xfov": 200.0}, r"--xfov: 200.0 is out of range: must be in \(1, 179\)"),
    ({"master_xfov": 0.5}, r"--master_xfov: 0.5 is out of range: must be in \(1, 179\)"),
    ({"pupillary_distance": 0.0}, "--pupillary_distance"),
    ({"cut_threshold": 9.0}, "--cut_threshold"),
    ({"mask_video": "MASK", "convergence": "2"}, "give --convergence or --mask_video"),
])
def test_bad_flags(files, flags, message):
    flags = {k: str(files["mask"]) if v == "MASK" else v for k, v in flags.items()}
    with pytest.raises(InputError, match=message):
        stereo_rerender(_config(files, **flags))
    assert _no_outputs(files)


def test_mask_of_another_size_is_refused(files, tmp_path):
    other = tmp_path / "small_mask.mkv"
    with MaskVideoWriter(other, W // 2, H, 30) as writer:
        for _ in range(N):
            writer.write(np.zeros((H, W // 2), bool))
    with pytest.raises(InputError, match="mask video is 32x48"):
        stereo_rerender(_config(files, mask_video=str(other)))
    assert _no_outputs(files)


def test_script_exit_code_and_existing_output(files):
    cmd = [sys.executable, str(REPO / "stereo_rerender.py"), "--depth_video", str(files["depth"]),
           "--color_video", str(files["colour"]), "-q"]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    stereo = files["depth"].with_name(files["depth"].name + "_stereo.mkv")
    before = file_digest(stereo)
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("already exists; pass --overwrite to replace it")
    assert len(result.stderr.strip().splitlines()) == 1
    assert file_digest(stereo) == before
