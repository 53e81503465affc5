"""The CoTracker adapter's windowing, id carrying, seeding, downscaling and masking.

CoTracker's model class cannot be built without its package (not installed here), so the
adapter is driven by a tiny torch module with CoTracker's call signature that knows the
true motion of the test video (every pixel moves by VELOCITY per frame): whatever the
adapter asks, the answer is exact, and any mistake in the adapter's bookkeeping shows.
A real-weight test is marked `weights` and skipped where CoTracker is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import write_video  # noqa: E402
from metricdepth.io.sidecars import read_tracking  # noqa: E402
from metricdepth.io.video import probe  # noqa: E402
from metricdepth.tracking import cotracker as cotracker_module  # noqa: E402
from metricdepth.tracking.cotracker import (CoTrackerSettings, WindowedTracker,  # noqa: E402
                                            cotracker_available)
from metricdepth.tracking.step import TrackConfig, track_points  # noqa: E402

W, H, N = 96, 72, 40
VELOCITY = np.array([0.75, 0.5])  # pixels per frame, full resolution


class ShiftOracle(torch.nn.Module):
    """CoTracker's predictor signature; every point moves by `velocity` per frame (in the
    pixels of the video it is given) and is invisible once it leaves the image."""

    def __init__(self, velocity: np.ndarray):
        super().__init__()
        self.velocity = torch.tensor(velocity, dtype=torch.float32)
        self.calls: list[tuple[int, int]] = []

    def forward(self, video, queries):
        _, t, _, h, w = video.shape
        self.calls.append((t, queries.shape[1]))
        times = torch.arange(t, dtype=torch.float32)[:, None, None]
        start = queries[0, :, 1:][None]
        tracks = start + (times - queries[0, :, 0][None, :, None]) * self.velocity
        inside = (tracks[..., 0] >= 0) & (tracks[..., 0] <= w - 1) & (tracks[..., 1] >= 0) \
            & (tracks[..., 1] <= h - 1)
        return tracks[None], inside[None].float()


def moving_texture() -> np.ndarray:
    """(N, H, W, 3) uint8: random texture, frame t sampled at x - t vx, y - t vy."""
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (H + 64, W + 64, 3), dtype=np.uint8)
    big = np.repeat(np.repeat(big[::4, ::4], 4, 0), 4, 1)[: H + 64, : W + 64]
    out = np.empty((N, H, W, 3), np.uint8)
    for t in range(N):
        dx, dy = np.rint(t * VELOCITY).astype(int)
        out[t] = big[32 - dy: 32 - dy + H, 32 - dx: 32 - dx + W]
    return out


SETTINGS = CoTrackerSettings(window=16, overlap=4, steps_between_track_init=10, grid_spacing=12)


def run(settings=SETTINGS, masks=None, scale=1):
    model = ShiftOracle(VELOCITY * scale)
    tracks = list(WindowedTracker(model, settings).track(iter(moving_texture()), masks))
    return tracks, model


def test_ids_carry_across_overlapping_windows_with_exact_positions():
    tracks, model = run()
    assert len(tracks) == N
    # windows start at 0, 12, 24, 36; each runs once more per seeding frame after its first
    assert [t for t, _ in model.calls] == [16, 16, 16, 16, 16, 16, 4]
    first_seen: dict[int, tuple[int, np.ndarray]] = {}
    for t, frame in enumerate(tracks):
        assert len(np.unique(frame.ids)) == len(frame.ids)
        for i, xy in zip(frame.ids.tolist(), frame.xy):
            start = first_seen.setdefault(i, (t, xy))
            assert np.allclose(xy, start[1] + (t - start[0]) * VELOCITY, atol=1e-3), (i, t)
    # seeds only at multiples of steps_between_track_init; carried points keep their ids
    births = sorted({t for t, _ in first_seen.values()})
    assert births == [0, 10, 20, 30]
    lifetimes = [sum(i in set(f.ids.tolist()) for f in tracks) for i in first_seen]
    assert max(lifetimes) > 30  # points born at frame 0 live through 3 windows


def test_downscale_returns_full_resolution_pixels():
    full, _ = run()
    half, model = run(CoTrackerSettings(window=16, overlap=4, steps_between_track_init=10,
                                        grid_spacing=12, downscale=2), scale=0.5)
    assert model.calls and all(t <= 16 for t, _ in model.calls)
    for a, b in zip(full[:12], half[:12]):
        common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
        assert len(common) > 0.5 * len(a)
        assert np.allclose(a.xy[ia], b.xy[ib], atol=1e-3)


def test_masked_points_are_dropped_and_not_seeded():
    masks = [np.zeros((H, W), bool) for _ in range(N)]
    for m in masks:
        m[:, : W // 2] = True
    tracks, _ = run(masks=iter(masks))
    assert sum(len(f) for f in tracks) > 100
    for frame in tracks:
        assert (np.rint(frame.xy[:, 0]) >= W // 2).all()


def test_step_uses_the_adapter_and_writes_tracks(tmp_path, monkeypatch):
    """The step passes its flags to the adapter and writes exactly the adapter's tracks
    (to the file's 1/1000 px), which follow the true motion."""
    video = write_video(tmp_path / "clip.mkv", moving_texture())  # lossless: same frames
    oracle = ShiftOracle(VELOCITY)
    monkeypatch.setattr("metricdepth.tracking.step.load_cotracker",
                        lambda checkpoint, device: oracle)
    paths = track_points(TrackConfig(color_video=str(video), backend="cotracker",
                                     window_frames=16, overlap=4, steps_between_track_init=10,
                                     grid_spacing=12, save_visualization_video=True))
    written = read_tracking(paths[0], N, (W, H))
    direct, model = run()
    assert oracle.calls == model.calls  # same windows, same number of queries each
    assert len(written) == N
    for t, (ours, theirs) in enumerate(zip(written, direct)):
        assert np.array_equal(ours.ids, theirs.ids), t
        assert np.abs(ours.xy - theirs.xy).max(initial=0) <= 5e-4 + 1e-6, t
    assert sum(len(f) for f in written) > 300
    first = written[0]
    later = dict(zip(written[9].ids.tolist(), written[9].xy))
    moved = [later[i] - xy for i, xy in zip(first.ids.tolist(), first.xy) if i in later]
    assert len(moved) > 10 and np.allclose(moved, 9 * VELOCITY, atol=1e-3)
    assert probe(paths[1]).frame_count == N


@pytest.mark.weights
def test_real_cotracker_follows_a_shifting_texture(tmp_path):
    if not cotracker_available():
        pytest.skip("CoTracker package or torch.hub cache not present")
    model = cotracker_module.load_cotracker(None, "cpu")
    tracks = list(WindowedTracker(model, SETTINGS).track(iter(moving_texture())))
    first = {int(i): xy for i, xy in zip(tracks[0].ids, tracks[0].xy)}
    errors = [np.linalg.norm(xy - first[i] - 10 * VELOCITY)
              for i, xy in zip(tracks[10].ids.tolist(), tracks[10].xy) if i in first]
    assert len(errors) > 10 and np.median(errors) < 1.0
