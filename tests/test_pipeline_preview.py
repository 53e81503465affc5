"""run_pipeline.py --preview N on the synthetic clip of test_pipeline_e2e: every Nth frame
through all eight steps into outputs named after the preview clip; the full run before
and after it is unaffected (its files equal a run that never saw a preview)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import file_digest
from metricdepth.errors import InputError
from metricdepth.evaluate.stereo_scores import psnr
from metricdepth.io.depth_video import DepthVideoReader
from metricdepth.io.stereo_tags import TAG_LAYOUT
from metricdepth.io.video import VideoReader, probe
from metricdepth.pipeline import build_config, run_pipeline
from metricdepth.pipeline.steps import ClipFiles
from metricdepth.pipeline.summary import RAN, SKIPPED
from test_pipeline_e2e import HEIGHT, WIDTH, flags, write_inputs

EVERY = 10
# Measured: 35.0-37.3 dB against the full run's frames (step 5 fits its scale on the 4
# sampled frames' tracks instead of 32); the bound leaves some margin.
MIN_PREVIEW_PSNR_DB = 32.0


def _frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as video:
        return list(video)


def _digests(folder: Path) -> dict[str, str]:
    """Digests of the run's files (not the step 7 log, which holds timings)."""
    return {p.name: file_digest(p) for p in folder.iterdir() if p.is_file() and p.suffix != ".log"}


def test_preview_then_full_run(tmp_path):
    folder, reference = tmp_path / "clip", tmp_path / "reference"
    write_inputs(folder)
    write_inputs(reference)
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
    np.testing.assert_array_equal(np.stack(_frames(preview.video)), np.stack(_frames(whole.colour))[::EVERY])
    np.testing.assert_array_equal(np.stack(list(DepthVideoReader(sampled.depth))),
                                  np.stack(list(DepthVideoReader(whole.depth)))[::EVERY])
    assert probe(sampled.infilled).tags[TAG_LAYOUT] == "full_sbs"  # step 7 keeps step 6's tags
    ours, theirs = _frames(sampled.infilled), _frames(whole.infilled)[::EVERY]
    assert len(ours) == len(theirs) == 4
    scores = [psnr(a, b, np.ones(a.shape[:2], bool)) for a, b in zip(ours, theirs)]
    assert min(scores) >= MIN_PREVIEW_PSNR_DB, scores
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


def test_preview_of_the_tum_rgbd_import(tmp_path, shared_data):
    video = tmp_path / "tum.mkv"
    result = run_pipeline(build_config({"video": str(video), "xfov": 63.48, "preview": 2,
                                        "rgbd": str(shared_data / "rgbd" / "tum_fr1_desk_9frames")}))
    assert result.video.name == "tum.mkv_preview2.mkv"
    assert [r.status for r in result.records] == [RAN] * 8
    with VideoReader(result.final) as final:
        assert final.frame_count == 5  # frames 0, 2, 4, 6 and 8 of 9
    assert not ClipFiles(video).depth.exists()  # the full run's outputs are not made
