"""Depth-aware weight-free masks: what the camera's motion through a static scene of the
given depth does not explain (the `motion` backend when a depth video is at hand).

For a static point seen at pixel p with z-depth Z, the next view sees it at
p' ~ K [R | t] (K^-1 p, 1/Z) = P (x, y, 1, 1/Z): one 3x4 matrix P per frame pair maps
(pixel, inverse depth) to the other view's pixel, whatever the intrinsics and whatever
the depth's scale. P is fitted robustly (RANSAC, the moving object being a minority) to
dense optical flow (OpenCV DIS) at textured pixels whose flow is forward-backward
consistent; every pixel's residual is then |observed flow - flow predicted from its
depth|, taken as the smaller over the frames `baseline` before and after (a pixel hidden
in one of them is usually seen in the other), in units of the pair's noise level.

Temporal consistency: each frame's score is the median of its own and the two
neighbours' scores, carried to it along the flow, so a one-frame blip neither appears
nor makes a hole. Segmentation: hysteresis (strong seeds grow through weaker pixels),
small parts dropped, holes filled, and the outline snapped to colour and depth edges by
a marker watershed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..tracking.lk import texture_map, to_grey
from .motion import BACKGROUND, SUBJECT, edge_image

MIN_SAMPLES = 50  # fewer usable flow samples than this in a pair: no model, no residual
RANSAC_ITERATIONS = 300
RANSAC_POINTS = 6  # a 3x4 projection matrix (11 unknowns) from 6 correspondences
SCORE_CAP = 10.0  # scores (residual / noise) are capped here before the temporal median


@dataclass(frozen=True)
class ParallaxSettings:
    """baseline: frames between the views compared. inlier_px: RANSAC inlier threshold,
    pixels. min_residual_px: a pixel's residual counts as motion only beyond this many
    pixels, or `noise_factor` times the pair's robust noise level, whichever is larger.
    strong: score (residual in those units) that seeds the mask; pixels above 1 join a
    seed's connected part. min_area: fraction of the frame; smaller parts are dropped.
    fb_px: forward-backward flow disagreement, pixels, beyond which a pixel's flow is
    unreliable. sample_step: pixels between flow samples for the fit. edge_band: pixels
    either side of the outline the watershed may move it by."""

    baseline: int = 2
    inlier_px: float = 1.0
    min_residual_px: float = 1.0
    noise_factor: float = 3.0
    strong: float = 2.0
    min_area: float = 0.001
    fb_px: float = 1.0
    sample_step: int = 4
    edge_band: int = 3

    def __post_init__(self) -> None:
        if self.baseline < 1 or self.sample_step < 1 or self.edge_band < 0:
            raise ValueError("baseline >= 1, sample_step >= 1, edge_band >= 0 needed")
        if min(self.inlier_px, self.min_residual_px, self.noise_factor, self.fb_px) <= 0 \
                or self.strong < 1 or not 0 <= self.min_area < 1:
            raise ValueError("positive pixel thresholds, strong >= 1, 0 <= min_area < 1 needed")


def dense_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 flow (dx, dy pixels) from (H, W) uint8 grey `a` to `b`."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def sample_at(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(H, W, ...) float32 `image` sampled bilinearly at (H, W, 2) float32 positions
    (x, y); positions outside the image take the nearest border value."""
    return cv2.remap(image, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def pixel_grid(h: int, w: int) -> np.ndarray:
    """(H, W, 2) float32 pixel positions (x, y)."""
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.stack([x, y], axis=-1)


def _normaliser(h: int, w: int, inverse: np.ndarray) -> np.ndarray:
    """(4, 4) float64 T with T @ (x, y, 1, 1/Z) well conditioned: pixels centred and
    scaled to about [-1, 1], inverse depth scaled by its median."""
    s = 2.0 / max(h, w)
    med = float(np.median(inverse)) or 1.0
    return np.array([[s, 0, 0, -s * (w - 1) / 2], [0, s, 0, -s * (h - 1) / 2],
                     [0, 0, 1, 0], [0, 0, 0, 0]], np.float64) + np.diag([0, 0, 0, 1 / med])


def _dlt(X: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Algebraic least-squares 3x4 matrices P with x ~ P X.

    X: (S, N, 4) homogeneous sources; x: (S, N, 2) targets (normalised pixels).
    Returns (S, 3, 4) float64 (unit Frobenius norm)."""
    s, n = X.shape[:2]
    zeros = np.zeros_like(X)
    rows_x = np.concatenate([X, zeros, -x[..., :1] * X], axis=-1)
    rows_y = np.concatenate([zeros, X, -x[..., 1:] * X], axis=-1)
    A = np.concatenate([rows_x, rows_y], axis=1)  # (S, 2N, 12)
    _, _, vt = np.linalg.svd(A, full_matrices=True)
    return vt[:, -1].reshape(s, 3, 4)


def project_points(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(..., 2) pixels P X of (..., 4) homogeneous points; P: (3, 4) or (S, 3, 4) with X
    (S, N, 4)."""
    h = X @ np.swapaxes(P, -1, -2)
    w = h[..., 2:]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    return h[..., :2] / w


def fit_projection(src: np.ndarray, inverse: np.ndarray, dst: np.ndarray, inlier_px: float,
                   shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray | None:
    """Robust 3x4 P (pixels and inverse depth of view a -> pixels of view b), or None.

    src, dst: (N, 2) float pixels (x, y) of the same points in views a and b; inverse:
    (N,) 1/metres (any common scale) in view a. The returned (3, 4) float64 acts on
    (x, y, 1, 1/Z) in pixels."""
    n = len(src)
    if n < MIN_SAMPLES:
        return None
    h, w = shape
    T = _normaliser(h, w, inverse)
    s = T[0, 0]  # pixels -> normalised units, for the targets too
    shift = np.array([(w - 1) / 2, (h - 1) / 2])
    X = np.column_stack([src, np.ones(n), inverse]) @ T.T
    x = (dst - shift) * s
    picks = np.argsort(rng.random((RANSAC_ITERATIONS, n)), axis=1)[:, :RANSAC_POINTS]
    candidates = _dlt(X[picks], x[picks])
    errors = np.linalg.norm(project_points(candidates, X[None]) - x[None], axis=-1) / s
    inliers = errors < inlier_px
    best = inliers[np.argmax(inliers.sum(axis=1))]
    for _ in range(3):  # refit on the inliers, re-select
        if best.sum() < MIN_SAMPLES:
            return None
        P = _dlt(X[best][None], x[best][None])[0]
        best = np.linalg.norm(project_points(P, X) - x, axis=-1) / s < inlier_px
    # back to pixels: x_px = x / s + shift, X_norm = T X_px
    back = np.array([[1 / s, 0, shift[0]], [0, 1 / s, shift[1]], [0, 0, 1]])
    return back @ P @ T


@dataclass
class _Pair:
    """Everything about frames (a, b = a + baseline) the residuals need."""

    forward: np.ndarray   # (H, W, 2) flow a -> b
    backward: np.ndarray  # (H, W, 2) flow b -> a
    residual_a: np.ndarray  # (H, W) float32 score of a's pixels (nan: unknown)
    residual_b: np.ndarray  # (H, W) float32 score of b's pixels


class ParallaxMasker:
    """Streams (H, W) bool masks of independently moving content.

    >>> masker = ParallaxMasker(ParallaxSettings())
    >>> masks = masker.run(frames, depths)   # RGB uint8 frames, float32 metres
    """

    def __init__(self, settings: ParallaxSettings | None = None, seed: int = 0):
        self.settings = settings or ParallaxSettings()
        self.rng = np.random.default_rng(seed)

    def pair_scores(self, grey_a: np.ndarray, grey_b: np.ndarray, depth_a: np.ndarray,
                    depth_b: np.ndarray) -> _Pair:
        """Flows both ways and each view's residual score (residual / noise level) for
        (H, W) uint8 greys and (H, W) float32 depths (metres, <= 0 or nan unknown)."""
        forward, backward = dense_flow(grey_a, grey_b), dense_flow(grey_b, grey_a)
        return _Pair(forward, backward,
                     self._score(grey_a, depth_a, forward, backward),
                     self._score(grey_b, depth_b, backward, forward))

    def _score(self, grey: np.ndarray, depth: np.ndarray, flow: np.ndarray,
               back: np.ndarray) -> np.ndarray:
        st = self.settings
        h, w = grey.shape
        grid = pixel_grid(h, w)
        target = grid + flow
        fb = np.linalg.norm(flow + sample_at(back, target), axis=-1)
        valid_depth = np.isfinite(depth) & (depth > 0)
        inverse = np.where(valid_depth, 1 / np.where(valid_depth, depth, 1), 0).astype(np.float32)
        inside = ((target[..., 0] >= 0) & (target[..., 0] <= w - 1)
                  & (target[..., 1] >= 0) & (target[..., 1] <= h - 1))
        reliable = valid_depth & inside & (fb < st.fb_px)
        textured = texture_map(grey) > np.percentile(texture_map(grey), 25)
        usable = reliable & textured
        step = st.sample_step
        sub = np.zeros_like(usable)
        sub[step // 2::step, step // 2::step] = True
        ys, xs = np.nonzero(usable & sub)
        P = fit_projection(grid[ys, xs].astype(np.float64), inverse[ys, xs].astype(np.float64),
                           target[ys, xs].astype(np.float64), st.inlier_px, (h, w), self.rng)
        score = np.full((h, w), np.nan, np.float32)
        if P is None:
            return score
        X = np.concatenate([grid, np.ones((h, w, 1), np.float32), inverse[..., None]], axis=-1)
        predicted = project_points(P, X.astype(np.float64))
        residual = np.linalg.norm(predicted - target, axis=-1).astype(np.float32)
        inl = residual[ys, xs]
        inl = inl[inl < st.inlier_px * 3]
        noise = 1.4826 * float(np.median(inl)) if len(inl) else st.min_residual_px
        scale = max(st.min_residual_px, st.noise_factor * noise)
        score[reliable] = np.minimum(residual[reliable] / scale, SCORE_CAP)
        return score

    def run(self, frames: Iterator[np.ndarray], depths: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield one (H, W) bool mask per (H, W, 3) uint8 RGB frame; `depths` gives the
        matching (H, W) float32 z-depth in metres."""
        b = self.settings.baseline
        greys: dict[int, np.ndarray] = {}
        depth: dict[int, np.ndarray] = {}
        colour: dict[int, np.ndarray] = {}
        pairs: dict[int, _Pair] = {}   # keyed by the pair's first frame
        scores: dict[int, np.ndarray] = {}
        end = None
        t_next = 0  # next frame to output
        source = zip(frames, depths)
        loaded = 0
        while end is None or t_next < end:
            # load until frame t_next's score and its neighbours' scores are known
            while end is None and loaded <= t_next + 2 * b:
                item = next(source, None)
                if item is None:
                    end = loaded
                    break
                colour[loaded], depth[loaded] = item
                greys[loaded] = to_grey(item[0])
                if loaded - b >= 0:
                    pairs[loaded - b] = self.pair_scores(greys[loaded - b], greys[loaded],
                                                         depth[loaded - b], depth[loaded])
                loaded += 1
            if end is not None and t_next >= end:
                break
            for t in (t_next - b, t_next, t_next + b):
                if 0 <= t < loaded and t not in scores and (t + b < loaded or end is not None):
                    scores[t] = self._frame_score(t, pairs)
            yield self._segment(colour[t_next], depth[t_next], self._temporal(t_next, pairs, scores))
            for key in [k for k in greys if k < t_next - 2 * b]:
                for store in (greys, depth, colour, scores):
                    store.pop(key, None)
                pairs.pop(key, None)
            t_next += 1

    def _frame_score(self, t: int, pairs: dict[int, _Pair]) -> np.ndarray:
        """(H, W) float32: the smaller of frame t's scores against t - b and t + b."""
        b = self.settings.baseline
        options = [p.residual_b for p in [pairs.get(t - b)] if p is not None]
        options += [p.residual_a for p in [pairs.get(t)] if p is not None]
        if not options:
            return np.zeros_like(next(iter(pairs.values())).residual_a) if pairs else None
        stack = np.stack(options)
        return np.nan_to_num(np.nanmin(np.where(np.isnan(stack), np.inf, stack), axis=0),
                             posinf=0.0).astype(np.float32)

    def _temporal(self, t: int, pairs: dict[int, _Pair], scores: dict[int, np.ndarray]) -> np.ndarray:
        """(H, W) float32: median of frame t's score and its neighbours' (t - b, t + b)
        sampled along the flow."""
        b = self.settings.baseline
        own = scores[t]
        grid = pixel_grid(*own.shape)
        stack = [own]
        if t - b in scores and t - b in pairs:
            stack.append(sample_at(scores[t - b], grid + pairs[t - b].backward))
        if t + b in scores and t in pairs:
            stack.append(sample_at(scores[t + b], grid + pairs[t].forward))
        return np.median(np.stack(stack), axis=0).astype(np.float32)

    def _segment(self, frame: np.ndarray, depth: np.ndarray, score: np.ndarray) -> np.ndarray:
        st = self.settings
        h, w = score.shape
        weak = (score > 1).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
        strong_labels = np.unique(labels[(score > st.strong) & (weak > 0)])
        keep = np.zeros(count, bool)
        keep[strong_labels] = True
        keep[0] = False
        keep &= stats[:, cv2.CC_STAT_AREA] >= st.min_area * h * w
        mask = keep[labels]
        if not mask.any():
            return mask
        mask = _fill_holes(mask)
        if st.edge_band == 0:
            return mask
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * st.edge_band + 1,) * 2)
        inner = cv2.erode(mask.astype(np.uint8), kernel) > 0
        outer = cv2.dilate(mask.astype(np.uint8), kernel) > 0
        markers = np.zeros((h, w), np.int32)
        markers[~outer] = BACKGROUND
        markers[inner] = SUBJECT
        cv2.watershed(edge_image(frame, depth), markers)
        refined = markers == SUBJECT
        boundary = markers == -1
        refined |= boundary & (cv2.dilate(refined.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
        return refined


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool `mask` with the background parts that do not touch the border filled."""
    background = (~mask).astype(np.uint8)
    count, labels = cv2.connectedComponents(background, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    hole = np.ones(count, bool)
    hole[edge] = False
    hole[0] = False
    return mask | hole[labels]
