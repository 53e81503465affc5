"""Weight-free masks of what moves independently of the camera (the `motion` backend).

Pass 1 tracks points with the Lucas-Kanade tracker (`tracking/lk.py`). For every frame t
the points seen both in t and `baseline` frames earlier are explained by one robust
model of the camera's motion, fitted with RANSAC: a homography (camera turning, or a
distant scene) or the fundamental matrix (a translating camera and a 3D scene), chosen
per frame pair. Each point gets a vote: does it disagree with the model by more than
`threshold` pixels? A point is moving in frame f when, among its votes within `window`
frames of f, enough disagree (consistently, not once).

Pass 2 grows the moving points into a dense mask along colour (and, with a depth video,
depth) edges: moving points are foreground seeds, static points and everything far from
any moving point are background seeds, and a marker-based watershed on the image decides
the pixels in between. Frames are streamed in both passes; only the tracks are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ..io.sidecars import FrameTracks
from ..progress import progress
from ..tracking.lk import LKSettings, LKTracker, texture_map

MODELS = ("auto", "homography", "fundamental")
MIN_CELL_PX = 6  # smallest seeding grid cell, pixels
MIN_POINTS = 12  # fewer common points than this: no model, no votes for that frame pair
RANSAC_CONFIDENCE = 0.999
# auto: the homography is used when it explains at least this fraction of the points
# the fundamental matrix explains (then the camera's motion is a rotation, or the scene far).
HOMOGRAPHY_ENOUGH = 0.95
BACKGROUND, SUBJECT = 1, 2  # watershed marker labels
UNKNOWN, STATIC, MOVING = 0, 1, 2  # what the votes say about a point


@dataclass(frozen=True)
class MotionSettings:
    """model: camera-motion model, one of MODELS. baseline: frames between the two views
    compared. threshold: pixels; a point further than this from the model's prediction
    disagrees. window: votes within this many frames of a frame count for it.
    min_votes: disagreeing votes needed (and `vote_fraction` of all votes) to call a point
    moving. reach: fraction of the image width; a pixel further than this from every
    moving point is background. flat_distance: fraction of the image width; untextured
    pixels further than this from every moving point are background; untextured means a
    structure-tensor minimum eigenvalue below `flat_texture` (lk.py units). marker_radius:
    pixels; each point marks a disc this big for the watershed. points_across: seeding
    grid cells across the image width (the tracker's cell size follows from it). lk: the
    tracker's other settings."""

    model: str = "auto"
    baseline: int = 3
    threshold: float = 0.5
    window: int = 6
    min_votes: int = 3
    vote_fraction: float = 0.6
    reach: float = 0.08
    flat_distance: float = 0.05
    flat_texture: float = 5e-6
    marker_radius: int = 2
    points_across: int = 40
    lk: LKSettings = field(default_factory=lambda: LKSettings(min_ncc=0.95, seed_interval=1))

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.baseline < 1 or self.window < 0 or self.min_votes < 1 or self.threshold <= 0:
            raise ValueError("baseline >= 1, window >= 0, min_votes >= 1, threshold > 0 needed")


def model_residuals(a: np.ndarray, b: np.ndarray, model: str, threshold: float) -> np.ndarray | None:
    """Pixels by which the points of one view disagree with the dominant camera motion.

    a, b: (N, 2) float pixels (x, y) of the same N points in two frames. Returns (N,)
    float64 pixels (transfer error for a homography, Sampson distance for a fundamental
    matrix), or None when there are too few points or no model is found.
    """
    if len(a) < MIN_POINTS:
        return None
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    results = {}
    if model in ("auto", "homography"):
        H, _ = cv2.findHomography(a64, b64, cv2.RANSAC, threshold, confidence=RANSAC_CONFIDENCE)
        if H is not None:
            results["homography"] = _transfer_error(H, a64, b64)
    if model in ("auto", "fundamental"):
        F, _ = cv2.findFundamentalMat(a64, b64, cv2.FM_RANSAC, threshold, RANSAC_CONFIDENCE)
        if F is not None and F.shape == (3, 3):
            results["fundamental"] = _sampson(F, a64, b64)
    if not results:
        return None
    if model != "auto" or len(results) == 1:
        return next(iter(results.values()))
    inliers_h = np.sum(results["homography"] < threshold)
    inliers_f = np.sum(results["fundamental"] < threshold)
    return results["homography"] if inliers_h >= HOMOGRAPHY_ENOUGH * inliers_f else results["fundamental"]


def _transfer_error(H: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    mapped = cv2.perspectiveTransform(a.reshape(-1, 1, 2), H).reshape(-1, 2)
    return np.linalg.norm(mapped - b, axis=1)


def _sampson(F: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ha = np.column_stack([a, np.ones(len(a))])
    hb = np.column_stack([b, np.ones(len(b))])
    Fa, Ftb = ha @ F.T, hb @ F
    num = np.einsum("ij,ij->i", hb, Fa) ** 2
    den = Fa[:, 0] ** 2 + Fa[:, 1] ** 2 + Ftb[:, 0] ** 2 + Ftb[:, 1] ** 2
    return np.sqrt(num / np.maximum(den, 1e-12))


class VoteBook:
    """Per track id, the frames at which it was judged and whether it disagreed."""

    def __init__(self) -> None:
        self._votes: dict[int, list[tuple[int, bool]]] = {}

    def add(self, frame: int, ids: np.ndarray, disagree: np.ndarray) -> None:
        for i, d in zip(ids.tolist(), disagree.tolist()):
            self._votes.setdefault(i, []).append((frame, d))

    def judge(self, frame: int, ids: np.ndarray, settings: MotionSettings) -> np.ndarray:
        """(N,) int8 per id in `frame`: MOVING, STATIC, or UNKNOWN (too few votes yet)."""
        out = np.full(len(ids), UNKNOWN, np.int8)
        for k, i in enumerate(ids.tolist()):
            votes = [d for f, d in self._votes.get(i, ()) if abs(f - frame) <= settings.window]
            against = sum(votes)
            if against >= settings.min_votes and against >= settings.vote_fraction * len(votes):
                out[k] = MOVING
            elif len(votes) - against >= settings.min_votes:
                out[k] = STATIC
        return out


def collect_votes(
    frames: Iterator[np.ndarray], count: int, settings: MotionSettings
) -> tuple[list[FrameTracks], VoteBook]:
    """Pass 1: track (H, W, 3) uint8 RGB frames and vote on every point's motion."""
    tracker = None
    tracks: list[FrameTracks] = []
    book = VoteBook()
    for t, frame in enumerate(progress(frames, total=count, desc="motion: tracking")):
        if tracker is None:
            cell = max(MIN_CELL_PX, frame.shape[1] // settings.points_across)
            tracker = LKTracker(replace(settings.lk, cell=cell))
        tracks.append(tracker.update(frame))
        if t == 0:
            continue
        earlier = tracks[max(0, t - settings.baseline)]
        common, ia, ib = np.intersect1d(earlier.ids, tracks[t].ids, return_indices=True)
        residual = model_residuals(earlier.xy[ia], tracks[t].xy[ib], settings.model, settings.threshold)
        if residual is not None:
            book.add(t, common, residual > settings.threshold)
    return tracks, book


def edge_image(frame: np.ndarray, depth: np.ndarray | None) -> np.ndarray:
    """(H, W, 3) uint8 BGR image the watershed floods: the frame, with (when depth, (H, W)
    float32 metres, is given) its blue channel replaced by log-depth stretched over the
    frame's range, so that region boundaries follow depth edges as well as colour edges."""
    image = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
    if depth is not None:
        log_depth = np.log(np.maximum(depth, 1e-3))
        lo, hi = np.percentile(log_depth, [1, 99])
        image[..., 0] = np.clip((log_depth - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    return image


def dense_mask(
    frame: np.ndarray,
    tracks: FrameTracks,
    state: np.ndarray,
    settings: MotionSettings,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Pass 2 for one frame: (H, W) bool mask of the moving content.

    frame: (H, W, 3) uint8 RGB. tracks: the frame's points; state: (N,) int8 per point,
    MOVING, STATIC or UNKNOWN (no marker). depth: optional (H, W) float32 metres (z-depth).
    """
    h, w = frame.shape[:2]
    if not (state == MOVING).any():
        return np.zeros((h, w), bool)
    pts = np.rint(tracks.xy).astype(np.int32)
    near = np.zeros((h, w), np.uint8)
    for x, y in pts[state == MOVING]:
        cv2.circle(near, (int(x), int(y)), int(settings.reach * w), 1, -1)
    markers = np.where(near == 0, BACKGROUND, 0).astype(np.int32)
    # Untextured areas show no motion either way; away from the moving points they are
    # taken as background, so the subject does not flood across a bare floor or wall.
    close = np.zeros((h, w), np.uint8)
    radius = int(settings.flat_distance * w)
    for x, y in pts[state == MOVING]:
        cv2.circle(close, (int(x), int(y)), radius, 1, -1)
    flat = texture_map(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)) < settings.flat_texture
    markers[flat & (close == 0)] = BACKGROUND
    for label, kind in ((BACKGROUND, STATIC), (SUBJECT, MOVING)):
        for x, y in pts[state == kind]:
            cv2.circle(markers, (int(x), int(y)), settings.marker_radius, label, -1)
    cv2.watershed(edge_image(frame, depth), markers)
    mask = markers == SUBJECT
    # watershed leaves -1 on the boundary lines between regions: give them to the subject
    # when they touch it, so masks have no one-pixel cracks
    boundary = markers == -1
    mask |= boundary & (cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    return mask


def motion_masks(
    open_frames: Callable[[], Iterator[np.ndarray]],
    count: int,
    settings: MotionSettings | None = None,
    open_depth: Callable[[], Iterator[np.ndarray]] | None = None,
) -> Iterator[np.ndarray]:
    """Yield one (H, W) bool mask per frame (True = moving independently of the camera).

    open_frames: returns a fresh iterator of the `count` (H, W, 3) uint8 RGB frames (it is
    called twice: the frames are streamed, never held). open_depth: optionally, the same
    for (H, W) float32 depth frames in metres.
    """
    settings = settings or MotionSettings()
    tracks, book = collect_votes(open_frames(), count, settings)
    depths = open_depth() if open_depth is not None else None
    for t, frame in enumerate(open_frames()):
        depth = next(depths) if depths is not None else None
        yield dense_mask(frame, tracks[t], book.judge(t, tracks[t].ids, settings), settings, depth)
