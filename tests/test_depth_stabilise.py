"""Temporal stabiliser and metric alignment on synthetic depth with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from metricdepth.depth.fitting import robust_affine_fit
from metricdepth.depth.metric_align import MetricAligner
from metricdepth.depth.stabilise import Stabiliser
from metricdepth.errors import InputError
from metricdepth.synthetic import make_scene

N = 24


def _drifted(depth: np.ndarray, seed: int) -> np.ndarray:
    """Depth (N, H, W) metres corrupted as a per-frame model does: per-frame scale and
    shift drift in inverse depth (random walk, about 8 % and 0.02 /m per frame)."""
    rng = np.random.default_rng(seed)
    scale = np.exp(np.cumsum(rng.normal(0, 0.08, len(depth))))[:, None, None]
    shift = np.cumsum(rng.normal(0, 0.02, len(depth)))[:, None, None]
    return (1.0 / (scale / depth + shift)).astype(np.float32)


def _change(depth: np.ndarray, moving: np.ndarray) -> float:
    """Mean frame-to-frame relative depth change on static pixels."""
    static = ~(moving[1:] | moving[:-1])
    return float((np.abs(depth[1:] - depth[:-1]) / depth[:-1])[static].mean())


@pytest.mark.parametrize("camera_m, turn_deg", [(0.0, 0.0), (0.5, 5.0)], ids=["still", "moving"])
def test_stabiliser_cuts_drift_to_under_a_third(camera_m, turn_deg):
    clip = make_scene(seed=3, width=160, height=120, frames=N, camera_translation_m=camera_m,
                      camera_rotation_deg=turn_deg)
    drifted = _drifted(clip.depth, seed=0)
    stabiliser = Stabiliser(relative=False)
    out = np.stack([stabiliser(clip.colour[i], drifted[i]) for i in range(N)])
    before, after = _change(drifted, clip.moving_mask), _change(out, clip.moving_mask)
    truth = _change(clip.depth, clip.moving_mask)  # the camera's own motion (0 when still)
    assert after - truth <= (before - truth) / 3
    assert stabiliser.cuts == 0


def test_stabiliser_resets_at_a_scene_cut_and_resumes_exactly():
    first = make_scene(seed=3, width=96, height=72, frames=6, camera_translation_m=0,
                        camera_rotation_deg=0)
    second = make_scene(seed=9, width=96, height=72, frames=6, camera_translation_m=0,
                        camera_rotation_deg=0)
    colour = np.concatenate([first.colour, second.colour])
    depth = _drifted(np.concatenate([first.depth, second.depth]), seed=1)
    stabiliser = Stabiliser(relative=False)
    out = [stabiliser(colour[i], depth[i]) for i in range(8)]
    assert stabiliser.cuts == 1
    assert np.allclose(out[6], depth[6], rtol=1e-6)  # first frame after the cut: as it is
    state = {k: np.asarray(v) for k, v in stabiliser.state().items()}
    resumed = Stabiliser(relative=False)
    resumed.restore(state)
    for i in range(8, 12):
        assert np.array_equal(resumed(colour[i], depth[i]), stabiliser(colour[i], depth[i]))


def test_robust_fit_survives_forty_percent_outliers():
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 2.0, 5000)
    y = 0.7 * x + 0.3 + rng.normal(0, 1e-4, x.size)
    bad = rng.random(x.size) < 0.4
    y[bad] = rng.uniform(-5, 5, bad.sum())
    s, t = robust_affine_fit(x, y)
    assert abs(s - 0.7) < 1e-3 and abs(t - 0.3) < 1e-3
    assert robust_affine_fit(np.ones(10), np.arange(10.0)) is None


def test_metric_alignment_recovers_scale_and_shift_despite_outliers_and_sky():
    """Relative inverse depth r with 1/d = s r + t; the anchor depth has 30 % outliers
    (factor 0.3..3) and a sky band at the anchor's cap where the relative model says 0."""
    clip = make_scene(seed=1, width=160, height=120, frames=3)
    s, t = 0.37, 0.12
    rng = np.random.default_rng(0)
    aligner = MetricAligner()
    for depth in clip.depth:
        relative = (1 / depth - t) / s
        anchor = depth.copy()
        wrong = rng.random(depth.shape) < 0.3
        anchor[wrong] *= rng.uniform(0.3, 3, wrong.sum())
        anchor[:30], relative[:30] = 20.0, 0.0  # sky
        aligner.add(relative, anchor, sky_depth=18.0)
    fit = aligner.solve()
    assert np.allclose(fit, (s, t), rtol=1e-4)
    relative = (1 / clip.depth[0] - t) / s
    assert np.allclose(aligner.apply(relative), clip.depth[0], rtol=1e-4)
    restored = MetricAligner()
    restored.restore(aligner.state())
    assert restored.fit == aligner.fit


def test_metric_alignment_with_only_sky_is_refused():
    aligner = MetricAligner()
    aligner.add(np.ones((40, 40), np.float32), np.full((40, 40), 20.0, np.float32), sky_depth=18.0)
    with pytest.raises(InputError, match="metric alignment failed: 0 usable anchor pixels"):
        aligner.solve()


def _step_response(smoothing: float, frames: int = 60) -> np.ndarray:
    """Fraction of a 3 % inverse-depth step (in a block of an otherwise unchanged, still
    scene, from frame 1 on) that the stabiliser's output has reached, frame by frame."""
    clip = make_scene(seed=3, width=64, height=48, frames=1, camera_translation_m=0,
                      camera_rotation_deg=0)
    base = (1.0 / clip.depth[0]).astype(np.float32)
    stepped = base.copy()
    stepped[16:32, 20:44] *= 1.03
    stabiliser = Stabiliser(relative=True, smoothing=smoothing)
    stabiliser(clip.colour[0], base)
    block = (slice(16, 32), slice(20, 44))
    reached = [np.median((stabiliser(clip.colour[0], stepped) - base)[block] / (stepped - base)[block])
               for _ in range(frames)]
    return np.array(reached)


@pytest.mark.parametrize("smoothing", [0.0, 1.0, 3.0])
def test_smoothing_is_an_average_with_that_many_frames_of_lag(smoothing):
    """--smoothing L: an exponential moving average with alpha = 1 / (1 + L); the first
    frame reaches alpha of a change, and the mean delay (sum of what is still missing)
    is L frames; 0 passes every change at once."""
    reached = _step_response(smoothing)
    alpha = 1 / (1 + smoothing)
    assert reached[0] == pytest.approx(alpha, abs=0.01)
    assert np.sum(1 - reached) == pytest.approx(smoothing, abs=0.05 + 0.03 * smoothing)


def test_a_scene_cut_resets_even_strong_smoothing():
    first = make_scene(seed=3, width=96, height=72, frames=3, camera_translation_m=0,
                       camera_rotation_deg=0)
    second = make_scene(seed=9, width=96, height=72, frames=1, camera_translation_m=0,
                        camera_rotation_deg=0)
    stabiliser = Stabiliser(relative=False, smoothing=20.0)
    for i in range(3):
        stabiliser(first.colour[i], first.depth[i])
    after_cut = stabiliser(second.colour[0], second.depth[0])
    assert stabiliser.cuts == 1 and np.allclose(after_cut, second.depth[0], rtol=1e-6)
    with pytest.raises(ValueError, match="smoothing must be in"):
        Stabiliser(relative=False, smoothing=-1.0)
