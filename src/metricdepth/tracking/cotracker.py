"""CoTracker3 adapter: long tracks from overlapping windows, ids carried over.

CoTracker3 (offline) tracks query points through a short clip at once. To follow points
through a video of any length in constant memory, frames are processed in windows of
`window` frames that overlap by `overlap` frames: a window starts where the previous
window's non-overlapping part ends, and every point the previous window sees in that
first frame is queried again there, under the same id. New points are seeded every
`steps_between_track_init` frames on a grid of textured pixels (`nr_iterations` shifted
copies of the grid: more iterations, denser points). Frames are optionally downscaled
(`downscale`) before the network sees them; results are returned in full-resolution
pixels.

The network is any callable with CoTracker's predictor signature:
    tracks, visibility = model(video, queries=queries)
    video: (1, T, 3, H, W) float32, 0..255 RGB; queries: (1, N, 3) float32 (t, x, y),
    t a frame index within the window, x, y pixels of the (downscaled) frames;
    tracks: (1, T, N, 2) pixels; visibility: (1, T, N) bool or probability.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.sidecars import FrameTracks
from .lk import texture_map, to_grey

HUB_REPO = "facebookresearch/co-tracker"
HUB_MODEL = "cotracker3_offline"
HUB_FOLDER = "facebookresearch_co-tracker_main"  # torch.hub's cache folder for HUB_REPO
INSTALL_HINT = (
    "install the CoTracker package (pip install "
    "git+https://github.com/facebookresearch/co-tracker) or load it once with "
    f"torch.hub.load('{HUB_REPO}', '{HUB_MODEL}') while online; or use --backend lk"
)
VISIBLE_THRESHOLD = 0.5  # visibility probability above which a point counts as seen
MIN_SEED_TEXTURE = 2e-4  # structure-tensor minimum eigenvalue of a seeded grid point (lk.py units)
EDGE_MARGIN_PX = 2  # seeds keep this far from the image edge


@dataclass(frozen=True)
class CoTrackerSettings:
    """window: frames per network call. overlap: frames shared by consecutive windows
    (0 < overlap < window). steps_between_track_init: frames between seeding rounds.
    grid_spacing: pixels between grid points (full resolution). nr_iterations: shifted
    grids per seeding round. downscale: integer factor the frames are shrunk by first.
    min_distance: a new point keeps this many pixels (full resolution) from tracked ones."""

    window: int = 32
    overlap: int = 8
    steps_between_track_init: int = 16
    grid_spacing: int = 24
    nr_iterations: int = 1
    downscale: int = 1
    min_distance: float = 8.0

    def __post_init__(self) -> None:
        if not 0 < self.overlap < self.window:
            raise InputError(
                "--overlap", f"must be between 0 and the window ({self.window}), got {self.overlap}"
            )
        for name in ("steps_between_track_init", "grid_spacing", "nr_iterations", "downscale"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name}", f"must be at least 1, got {getattr(self, name)}")


def _hub_dir() -> Path | None:
    try:
        import torch
    except ImportError:
        return None
    path = Path(torch.hub.get_dir()) / HUB_FOLDER
    return path if path.is_dir() else None


def cotracker_available() -> bool:
    """Whether CoTracker can be loaded here without a download."""
    return importlib.util.find_spec("cotracker") is not None or _hub_dir() is not None


def load_cotracker(checkpoint: str | Path | None, device: str) -> Callable:
    """The CoTracker3 offline predictor from the `cotracker` package (weights from
    `checkpoint`, a .pth file) or from the torch.hub cache; InputError if neither exists."""
    import torch

    if importlib.util.find_spec("cotracker") is not None:
        from cotracker.predictor import CoTrackerPredictor

        if checkpoint is not None and not Path(checkpoint).is_file():
            raise InputError(checkpoint, "checkpoint file not found")
        model = CoTrackerPredictor(checkpoint=None if checkpoint is None else str(checkpoint))
    elif (hub := _hub_dir()) is not None:
        model = torch.hub.load(str(hub), HUB_MODEL, source="local")
    else:
        raise InputError("--backend cotracker", f"CoTracker is not available: {INSTALL_HINT}")
    return model.to(device).eval()


def seed_grid(
    grey: np.ndarray,
    spacing: int,
    iterations: int,
    exclude: np.ndarray | None,
    taken: np.ndarray,
    min_distance: float,
) -> np.ndarray:
    """Grid points on textured pixels: (M, 2) float32 pixels (x, y).

    grey: (H, W) uint8. `iterations` grids, each shifted by spacing / iterations along the
    diagonal. exclude: optional (H, W) bool, no seeds where True. taken: (K, 2) pixels of
    points already tracked; seeds keep `min_distance` from them.
    """
    h, w = grey.shape
    strength = texture_map(grey)
    points = []
    for k in range(iterations):
        shift = spacing * k / iterations + spacing / 2
        xs = np.arange(shift, w - EDGE_MARGIN_PX, spacing)
        ys = np.arange(shift, h - EDGE_MARGIN_PX, spacing)
        gx, gy = np.meshgrid(xs, ys)
        points.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
    xy = np.concatenate(points).astype(np.float32)
    col, row = np.rint(xy[:, 0]).astype(int), np.rint(xy[:, 1]).astype(int)
    keep = strength[row, col] >= MIN_SEED_TEXTURE
    if exclude is not None:
        keep &= ~exclude[row, col]
    xy = xy[keep]
    if len(taken) and len(xy):
        from scipy.spatial import cKDTree

        distance, _ = cKDTree(taken).query(xy)
        xy = xy[distance >= min_distance]
    return xy


class WindowedTracker:
    """Runs a CoTracker-like `model` over a frame stream in overlapping windows.

    >>> tracker = WindowedTracker(model, CoTrackerSettings(), device="cpu")
    >>> for tracks in tracker.track(frames, masks):   # one FrameTracks per frame
    ...     ...
    """

    def __init__(self, model: Callable, settings: CoTrackerSettings, device: str = "cpu"):
        self.model, self.settings, self.device = model, settings, device
        self._next_id = 0

    def track(
        self, frames: Iterator[np.ndarray], masks: Iterator[np.ndarray] | None = None
    ) -> Iterator[FrameTracks]:
        """frames: (H, W, 3) uint8 RGB; masks: matching (H, W) bool, True = no points there.
        Yields one FrameTracks per frame, full-resolution pixels, in order."""
        s = self.settings
        step = s.window - s.overlap
        buffer: list[tuple[np.ndarray, np.ndarray | None]] = []
        start = 0
        carried = (np.zeros(0, np.int64), np.zeros((0, 2), np.float32))
        masks = iter(masks) if masks is not None else None
        exhausted = False
        frames = iter(frames)
        while not exhausted or buffer:
            while len(buffer) < s.window and not exhausted:
                frame = next(frames, None)
                if frame is None:
                    exhausted = True
                    break
                buffer.append((frame, next(masks) if masks is not None else None))
            if not buffer:
                break
            results, carried = self._window(buffer, start, carried)
            emit = len(buffer) if exhausted else step
            yield from results[:emit]
            buffer = buffer[emit:]
            start += emit
            if exhausted and not buffer:
                break

    def _window(
        self, buffer: list, start: int, carried: tuple[np.ndarray, np.ndarray]
    ) -> tuple[list[FrameTracks], tuple]:
        """Track one window of frames (global indices start ..); returns its per-frame
        tracks and the (ids, xy) seen in frame `start + window - overlap`.

        New points are seeded at the window's seeding frames away from the points
        tracked there; for a seeding frame after the first, where those points are is
        only known after a network pass, so the window is tracked once per such frame."""
        s = self.settings
        n = len(buffer)
        h, w = buffer[0][0].shape[:2]
        video, sx, sy = self._video(buffer)
        ids = carried[0].astype(np.int64)
        queries = np.column_stack([np.zeros(len(ids)), carried[1]]).astype(np.float32)
        tracks = visible = None
        for t in (t for t in range(n) if (start + t) % s.steps_between_track_init == 0):
            if t == 0:
                taken = carried[1]
            else:
                tracks, visible = self._predict(video, queries, sx, sy, n, w, h, buffer)
                taken = tracks[t][visible[t]]
            frame, mask = buffer[t]
            new = seed_grid(to_grey(frame), s.grid_spacing, s.nr_iterations, mask, taken, s.min_distance)
            ids = np.concatenate([ids, np.arange(self._next_id, self._next_id + len(new))])
            self._next_id += len(new)
            seeded = np.column_stack([np.full(len(new), t), new])
            queries = np.concatenate([queries, seeded]).astype(np.float32)
            tracks = None
        if not len(ids):
            empty = FrameTracks(np.zeros(0, np.int64), np.zeros((0, 2)))
            return [empty] * n, carried
        if tracks is None or visible is None:
            tracks, visible = self._predict(video, queries, sx, sy, n, w, h, buffer)
        results = [FrameTracks(ids[visible[t]], tracks[t][visible[t]].astype(np.float64)) for t in range(n)]
        handover = min(s.window - s.overlap, n - 1)
        return results, (results[handover].ids, results[handover].xy.astype(np.float32))

    def _video(self, buffer: list):
        """The window as the network's (1, T, 3, h, w) float tensor, and the x, y scale
        factors from full-resolution to network pixels."""
        import torch

        s = self.settings
        h, w = buffer[0][0].shape[:2]
        small = [
            cv2.resize(
                f,
                (max(1, round(w / s.downscale)), max(1, round(h / s.downscale))),
                interpolation=cv2.INTER_AREA,
            )
            if s.downscale > 1
            else f
            for f, _ in buffer
        ]
        video = torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2)[None].float().to(self.device)
        return video, small[0].shape[1] / w, small[0].shape[0] / h

    def _predict(
        self, video, queries: np.ndarray, sx: float, sy: float, n: int, w: int, h: int, buffer: list
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on (N, 3) queries (t, x, y full-resolution pixels). Returns
        tracks (T, N, 2) full-resolution pixels and (T, N) bool: seen, inside the image,
        not masked, and not before its query frame."""
        import torch

        q = queries.copy()
        q[:, 1] = (q[:, 1] + 0.5) * sx - 0.5
        q[:, 2] = (q[:, 2] + 0.5) * sy - 0.5
        with torch.no_grad():
            tracks, visibility = self.model(video, queries=torch.from_numpy(q)[None].to(self.device))
        tracks = tracks[0].float().cpu().numpy()  # (T, N, 2) network pixels
        visibility = visibility[0].float().cpu().numpy()
        if visibility.ndim == 3:
            visibility = visibility[..., 0]
        if tracks.shape != (n, len(q), 2) or visibility.shape != (n, len(q)):
            raise RuntimeError(
                f"tracker returned tracks {tracks.shape} and visibility "
                f"{visibility.shape} for {n} frames and {len(q)} queries"
            )
        tracks[..., 0] = (tracks[..., 0] + 0.5) / sx - 0.5
        tracks[..., 1] = (tracks[..., 1] + 0.5) / sy - 0.5
        valid = (visibility > VISIBLE_THRESHOLD) & (queries[None, :, 0] <= np.arange(n)[:, None])
        valid &= (
            np.isfinite(tracks).all(-1)
            & (tracks[..., 0] >= -0.5)
            & (tracks[..., 0] <= w - 0.5)
            & (tracks[..., 1] >= -0.5)
            & (tracks[..., 1] <= h - 0.5)
        )
        for t, (_, mask) in enumerate(buffer):
            if mask is not None and valid[t].any():
                col = np.clip(np.rint(tracks[t, :, 0]).astype(int), 0, w - 1)
                row = np.clip(np.rint(tracks[t, :, 1]).astype(int), 0, h - 1)
                valid[t] &= ~mask[row, col]
        return tracks, valid
