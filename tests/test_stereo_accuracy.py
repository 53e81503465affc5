"""The rendered eyes against ground truth: synthetic scenes with exact views, and real
stereo pairs with ground-truth disparity. The bar is the oracle of
metricdepth.evaluate.stereo_scores (a backward warp that knows the eye's exact depth)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from metricdepth.evaluate.stereo_scores import real_pair_scores, synthetic_scores
from metricdepth.synthetic import make_scene

HALF_BASELINE_M = 0.0315  # eyes 63 mm apart, symmetric about the source camera
MAX_PSNR_LOSS_DB = 1.0
MIN_HOLE_IOU = 0.9


SEEDS = range(12)  # outline.py's constants were chosen on seeds 0-5; 6-11 came after
SIZES = {"640x480": (640, 480), "320x240": (320, 240)}


@pytest.fixture(scope="module")
def clips():
    """One-frame scenes, made once per (size, seed)."""
    cache = {}

    def get(size: str, seed: int):
        if (size, seed) not in cache:
            width, height = SIZES[size]
            cache[(size, seed)] = make_scene(seed=seed, width=width, height=height, frames=1,
                                             xfov=60.0)
        return cache[(size, seed)]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("offset", [HALF_BASELINE_M, -HALF_BASELINE_M], ids=["right", "left"])
def test_synthetic_eye_matches_the_exact_view(clips, size, seed, offset):
    scores = synthetic_scores(clips(size, seed), 0, offset)
    assert scores.ours_db >= scores.oracle_db - MAX_PSNR_LOSS_DB, scores
    assert scores.hole_iou >= MIN_HOLE_IOU, scores


@pytest.mark.slow
def test_stabilised_eye_from_another_frame():
    """General 3D path: frame 5 rendered from frame 0's camera (the camera has moved
    about 0.8 m and turned about 12 degrees). Measured: 1-2 dB below the oracle
    (docs/step6_stereo.md), held here to 2.5 dB and the holes to IoU 0.9."""
    clip = make_scene(seed=0, width=320, height=240, frames=7, xfov=60.0)
    scores = synthetic_scores(clip, 5, HALF_BASELINE_M, world_from_centre=clip.world_from_cam[0])
    assert scores.ours_db >= scores.oracle_db - 2.5, scores
    assert scores.hole_iou >= MIN_HOLE_IOU, scores


def _pair(folder, left, right, disparity, scale):
    read = lambda name: cv2.imread(str(folder / name), cv2.IMREAD_COLOR)[..., ::-1].copy()  # noqa: E731
    gt = cv2.imread(str(folder / disparity), cv2.IMREAD_UNCHANGED).astype(np.float32) / scale
    return read(left), read(right), gt


@pytest.mark.parametrize("name, files", [
    ("middlebury2003_teddy", ("im2.png", "im6.png", "disp2.png", 4.0)),
    ("aloe", ("aloeL.jpg", "aloeR.jpg", "aloeGT.png", 1.0)),
])
def test_real_right_view_from_the_left_and_true_disparity(shared_data, name, files):
    left, right, disparity = _pair(shared_data / "stereo" / name, *files)
    scores = real_pair_scores(left, right, disparity)
    assert scores.pixels > 0.5 * disparity.size
    assert scores.ours_db >= scores.oracle_db - MAX_PSNR_LOSS_DB, scores
