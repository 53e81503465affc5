"""run_pipeline.py --preview N on the synthetic clip of test_pipeline_e2e: every Nth frame
through all eight steps into outputs named after the preview clip; the full run before
and after it is unaffected (its files equal a run that never saw a preview).

What the preview shares with the full run's frames 0, N, 2N, ..., step by step: the
colour and the depth exactly; tracks, poses and masks are its own (made from the sampled
frames: inherent); step 5's depth differs from the full run's by one scale for the clip
(the gauge, the mean depth scale over the frames it has) and noise; from the same depth,
step 6 is exact (checked by rendering the full run's rescaled frames with the preview
clip); step 7 fills the holes from neighbouring frames, which the preview does not have.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest
from metricdepth.errors import InputError
from metricdepth.evaluate.stereo_scores import psnr
from metricdepth.io.depth_video import DepthVideoReader, DepthVideoWriter
from metricdepth.io.stereo_tags import TAG_LAYOUT
from metricdepth.io.video import VideoReader, probe
from metricdepth.pipeline import build_config, run_pipeline
from metricdepth.pipeline.steps import ClipFiles
from metricdepth.pipeline.summary import RAN, SKIPPED
from metricdepth.stereo.step import StereoConfig, stereo_rerender
from test_pipeline_e2e import HEIGHT, WIDTH, XFOV, flags, write_inputs

EVERY = 10
SEED = 7  # not one of the seeds (0-6) the bounds below were measured on
# Measured on seeds 0-6 (worst frame each): the preview's rescaled depth over the full
# run's, median log ratio per frame, is -0.3% to -0.9% when the sampled frames' tracks
# place every camera (seeds 0, 1, 3-6: the gauge, the mean depth scale over 4 frames
# instead of 32, and noise), 6.4% where LK loses the camera between frames 10 apart and
# step 4 starts a frame from the previous pose (seed 2); step 6's frames then are 43.5-53
# dB from the full run's (37.5 dB seed 2), step 7's 39.3-47 dB (34.4 dB). The bounds
# cover the worst case with some margin.
MAX_RESCALED_LOG_RATIO = 0.08
MIN_STEREO_PSNR_DB = 35.0
MIN_INFILLED_PSNR_DB = 32.0


def _frames(path: Path) -> np.ndarray:
    with VideoReader(path) as video:
        return np.stack(list(video))


def _depths(path: Path) -> np.ndarray:
    return np.stack(list(DepthVideoReader(path)))


def _digests(folder: Path) -> dict[str, str]:
    """Digests of the run's files (not the step 7 log, which holds timings)."""
    return {p.name: file_digest(p) for p in folder.iterdir() if p.is_file() and p.suffix != ".log"}


def _psnrs(ours: np.ndarray, theirs: np.ndarray) -> list[float]:
    return [psnr(a, b, np.ones(a.shape[:2], bool)) for a, b in zip(ours, theirs, strict=True)]


def test_preview_then_full_run(tmp_path):
    folder, reference = tmp_path / "clip", tmp_path / "reference"
    write_inputs(folder, SEED)
    write_inputs(reference, SEED)
    # the depth video names its frames' folder in a tag: both runs read the same one
    run_pipeline(build_config({**flags(reference), "depth_frames": str(folder / "depth")}))
    preview = run_pipeline(build_config({**flags(folder), "preview": EVERY}))
    assert preview.video.name == f"clip.mkv_preview{EVERY}.mkv"
    assert [r.status for r in preview.records] == [RAN] * 8
    assert preview.final.name.startswith(preview.video.name) and preview.final.is_file()
    full = run_pipeline(build_config(flags(folder)))
    assert [r.status for r in full.records] == [RAN] * 8  # nothing of the preview reused
    # the full run's files are those of a run that never saw a preview
    made = {k: v for k, v in _digests(folder).items() if "preview" not in k}
    assert made == {k: v for k, v in _digests(reference).items() if k in made}
    assert set(_digests(reference)) <= set(made)

    sampled = ClipFiles(preview.video)
    whole = ClipFiles(folder / "clip.mkv")
    np.testing.assert_array_equal(_frames(preview.video), _frames(whole.colour)[::EVERY])
    np.testing.assert_array_equal(_depths(sampled.depth), _depths(whole.depth)[::EVERY])
    # step 5: the gauge and noise (and where step 4 lost the camera, more)
    full_rescaled = _depths(whole.rescaled)[::EVERY]
    ratios = [float(np.median(np.log(a / b))) for a, b in zip(_depths(sampled.rescaled), full_rescaled)]
    assert max(map(abs, ratios)) <= MAX_RESCALED_LOG_RATIO, ratios
    # step 6 from the full run's rescaled frames gives the full run's frames, bit for bit
    exact = tmp_path / "exact" / "rescaled.mkv"
    exact.parent.mkdir()
    with DepthVideoWriter(exact, WIDTH, HEIGHT, probe(preview.video).fps,
                          max_depth=DepthVideoReader(whole.rescaled).max_depth) as writer:
        for depth in full_rescaled:
            writer.write(depth)
    np.testing.assert_array_equal(_depths(exact), full_rescaled)
    rendered = stereo_rerender(StereoConfig(depth_video=exact, color_video=preview.video, xfov=XFOV))
    np.testing.assert_array_equal(_frames(rendered["stereo"]), _frames(whole.stereo)[::EVERY])
    np.testing.assert_array_equal(_frames(rendered["infill_mask"]), _frames(whole.infill_mask)[::EVERY])
    # what the preview's own step 5 changes, and step 7's holes filled without neighbours
    stereo = _psnrs(_frames(sampled.stereo), _frames(whole.stereo)[::EVERY])
    assert min(stereo) >= MIN_STEREO_PSNR_DB, stereo
    assert probe(sampled.infilled).tags[TAG_LAYOUT] == "full_sbs"  # step 7 keeps step 6's tags
    infilled = _psnrs(_frames(sampled.infilled), _frames(whole.infilled)[::EVERY])
    assert len(infilled) == 4 and min(infilled) >= MIN_INFILLED_PSNR_DB, infilled
    # a second preview finds everything done
    again = run_pipeline(build_config({**flags(folder), "preview": EVERY}))
    assert [r.status for r in again.records] == [SKIPPED] * 8


def test_preview_of_one_is_refused_before_anything_is_written(tmp_path):
    write_inputs(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InputError, match="--preview: 1 is every frame"):
        run_pipeline(build_config({**flags(tmp_path), "preview": 1}))
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_one_frame_clip_goes_through_every_step(tmp_path, caplog):
    """--preview 32 of the 32-frame clip leaves frame 0 alone: the camera step gives the
    identity pose, step 5 keeps the depth (nothing to triangulate) and says so."""
    write_inputs(tmp_path, seed=4)
    with caplog.at_level(logging.INFO):
        result = run_pipeline(build_config({**flags(tmp_path), "preview": 32}))
    assert [r.status for r in result.records] == [RAN] * 8
    files = ClipFiles(result.video)
    assert json.loads(files.poses.read_text()) == [np.eye(4).tolist()]
    depth = np.stack(list(DepthVideoReader(files.depth)))
    assert depth.shape == (1, HEIGHT, WIDTH)
    np.testing.assert_array_equal(np.stack(list(DepthVideoReader(files.rescaled))), depth)
    assert "one frame: nothing to triangulate, its depth is kept" in caplog.text
    with VideoReader(result.final) as final:
        assert final.frame_count == 1


# Measured on the TUM import (frame 0): step 5 keeps the preview's depth, the full run's
# fit moves it by 0.9%; step 6's frame 43.8 dB from the full run's, step 7's 35.3 dB
# (its holes filled from neighbouring frames in the full run).
MIN_TUM_STEREO_PSNR_DB = 40.0
MIN_TUM_INFILLED_PSNR_DB = 32.0


def test_preview_of_the_tum_rgbd_import(tmp_path, shared_data):
    """--preview 10 of the 9-frame real RGB-D import leaves frame 0 alone: every step runs
    on it, and the full run afterwards makes its own outputs."""
    video = tmp_path / "tum.mkv"
    tum = {"video": str(video), "xfov": 63.48, "rgbd": str(shared_data / "rgbd" / "tum_fr1_desk_9frames")}
    result = run_pipeline(build_config({**tum, "preview": EVERY}))
    assert result.video.name == f"tum.mkv_preview{EVERY}.mkv"
    assert [r.status for r in result.records] == [RAN] * 8
    with VideoReader(result.final) as final:
        assert final.frame_count == 1
    assert not ClipFiles(video).depth.exists()  # the full run's outputs are not made
    full = run_pipeline(build_config(tum))
    assert [r.status for r in full.records] == [RAN] * 8
    sampled, whole = ClipFiles(result.video), ClipFiles(video)
    np.testing.assert_array_equal(_depths(sampled.depth), _depths(whole.depth)[:1])
    np.testing.assert_array_equal(_depths(sampled.rescaled), _depths(sampled.depth))
    stereo = _psnrs(_frames(sampled.stereo), _frames(whole.stereo)[:1])
    assert stereo[0] >= MIN_TUM_STEREO_PSNR_DB, stereo
    infilled = _psnrs(_frames(sampled.infilled), _frames(whole.infilled)[:1])
    assert infilled[0] >= MIN_TUM_INFILLED_PSNR_DB, infilled
