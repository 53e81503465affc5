"""Depth-aware weight-free masks: what the camera's motion through a static scene of the
given depth does not explain (the `motion` backend when a depth video is at hand).

For a static point seen at pixel p with z-depth Z, another view sees it at
p' ~ K [R | t] (K^-1 p, 1/Z) = P (x, y, 1, 1/Z): one 3x4 matrix P per frame pair maps
(pixel, inverse depth) to the other view's pixel, whatever the intrinsics and whatever
the depth's scale. P is fitted robustly (RANSAC, the moving object being a minority) to
dense optical flow (OpenCV DIS) at textured pixels whose flow is forward-backward
consistent. Every pixel then gets two scores, in units of the pair's noise level:
the flow residual |observed flow - flow predicted from its depth|, and the photometric
residual |I_a(p) - I_b(P (p, 1/Z))| (low wherever the static-scene prediction is right,
even where the estimated flow is smeared across an object's outline). Each score is the
smaller over the frames `baseline` before and after (a pixel hidden in one of them is
usually seen in the other).

Temporal consistency: each frame's scores are the median of its own and the two
neighbours' (t - baseline, t + baseline), carried to it along the flow, so a one-frame
blip neither appears nor makes a hole. Segmentation: parts scoring above `strong`, away
from depth edges (where flow smears) and at least `min_area` big, seed the subject; it
grows through pixels of high flow residual that the photometric test does not explain
as static, without crossing a depth edge; holes are filled.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..tracking.lk import texture_map, to_grey
from .ahead import run_ahead

MIN_SAMPLES = 50  # fewer usable flow samples than this in a pair: no model, no residual
RANSAC_ITERATIONS = 300
RANSAC_JUDGES = 500  # candidates are compared on this many of the samples
RANSAC_POINTS = 6  # a 3x4 projection matrix (11 unknowns) from 6 correspondences
PHOTO_BLUR = 1.0  # Gaussian sigma, pixels, before photometric comparisons
SCORE_CAP = 10.0  # scores (residual / noise) are capped here before the temporal median
AHEAD = 2  # frames read and flows computed ahead of the scoring, on a thread of their own
WORK_LONG_SIDE = 640  # pixels: larger frames are shrunk to this first (tested up to 640x480)


@dataclass(frozen=True)
class ParallaxSettings:
    """baseline: frames between the views compared. inlier_px: RANSAC inlier threshold,
    pixels. min_residual_px: a pixel's residual counts as motion only beyond this many
    pixels, or `noise_factor` times the pair's robust noise level, whichever is larger.
    strong: flow score (residual in those units) that seeds the mask; pixels above 1 can
    join a seed's part. min_area: fraction of the frame; smaller seed parts are dropped.
    fb_px: forward-backward flow disagreement, pixels, beyond which a pixel's flow is not
    used for the fit. sample_step: pixels between flow samples for the fit. min_photo:
    grey levels; the photometric residual's unit is at least this (or `noise_factor`
    times its noise level). edge_step: log-depth change between neighbouring pixels that
    makes a depth edge; edge_band: pixels around depth edges where no seed starts."""

    baseline: int = 2
    inlier_px: float = 1.0
    min_residual_px: float = 1.0
    noise_factor: float = 3.0
    strong: float = 2.0
    min_area: float = 0.001
    fb_px: float = 1.0
    sample_step: int = 4
    min_photo: float = 6.0
    edge_step: float = 0.03
    edge_band: int = 8

    def __post_init__(self) -> None:
        if self.baseline < 1 or self.sample_step < 1 or self.edge_band < 0:
            raise ValueError("baseline >= 1, sample_step >= 1, edge_band >= 0 needed")
        if (
            min(
                self.inlier_px,
                self.min_residual_px,
                self.noise_factor,
                self.fb_px,
                self.min_photo,
                self.edge_step,
            )
            <= 0
            or self.strong < 1
            or not 0 <= self.min_area < 1
        ):
            raise ValueError("positive pixel thresholds, strong >= 1, 0 <= min_area < 1 needed")


def masks_at_working_size(
    masker: ParallaxMasker,
    frames: Iterator[np.ndarray],
    depths: Iterator[np.ndarray],
    width: int,
    height: int,
    long_side: int = WORK_LONG_SIDE,
) -> Iterator[np.ndarray]:
    """`masker.run` on frames shrunk to at most `long_side` pixels (its thresholds are in
    pixels of such frames), each mask brought back to (height, width) bool. Frames that
    are small enough go through as they are."""
    scale = long_side / max(width, height)
    if scale >= 1:
        yield from masker.run(frames, depths)
        return
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = (cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames)
    # nearest: averaging depth across an edge would invent surfaces between
    small_depth = (cv2.resize(d, size, interpolation=cv2.INTER_NEAREST) for d in depths)
    for mask in masker.run(small, small_depth):
        grown = cv2.resize(mask.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR)
        yield grown > 127


def dense_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 flow (dx, dy pixels) from (H, W) uint8 grey `a` to `b`."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    return dis.calc(a, b, None)


def pair_flows(a: _View, b: _View) -> tuple[np.ndarray, np.ndarray]:
    """The dense flows a -> b and b -> a between two frames' views."""
    return dense_flow(a.grey, b.grey), dense_flow(b.grey, a.grey)


def sample_at(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(H, W, ...) float32 `image` sampled bilinearly at the (H', W') float32 positions
    `x`, `y` (pixels); positions outside the image take the nearest border value."""
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=2)
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 x and y of every pixel; made once per frame size, read-only."""
    x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x.flags.writeable = y.flags.writeable = False
    return x, y


def _normaliser(h: int, w: int, inverse: np.ndarray) -> np.ndarray:
    """(4, 4) float64 T with T @ (x, y, 1, 1/Z) well conditioned: pixels centred and
    scaled to about [-1, 1], inverse depth scaled by its median."""
    s = 2.0 / max(h, w)
    med = float(np.median(inverse)) or 1.0
    return np.array(
        [[s, 0, 0, -s * (w - 1) / 2], [0, s, 0, -s * (h - 1) / 2], [0, 0, 1, 0], [0, 0, 0, 0]], np.float64
    ) + np.diag([0, 0, 0, 1 / med])


def _dlt(X: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Algebraic least-squares 3x4 matrices P with x ~ P X.

    X: (S, N, 4) homogeneous sources; x: (S, N, 2) targets (normalised pixels).
    Returns (S, 3, 4) float64 (unit Frobenius norm)."""
    s, n = X.shape[:2]
    A = np.zeros((s, 2 * n, 12))  # rows (X, 0, -x X) then (0, X, -y X)
    A[:, :n, :4] = X
    A[:, n:, 4:8] = X
    np.multiply(-x[..., :1], X, out=A[:, :n, 8:])
    np.multiply(-x[..., 1:], X, out=A[:, n:, 8:])
    _, vectors = np.linalg.eigh(np.swapaxes(A, -1, -2) @ A)  # ascending eigenvalues
    return vectors[..., 0].reshape(s, 3, 4)


def project_points(P: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(..., 2) pixels P X of (..., 4) homogeneous points; P: (3, 4) or (S, 3, 4) with X
    (S, N, 4)."""
    h = X @ np.swapaxes(P, -1, -2)
    w = h[..., 2:]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    return h[..., :2] / w


def _inliers(P: np.ndarray, X: np.ndarray, x: np.ndarray, s: float, inlier_px: float) -> np.ndarray:
    """(..., N) bool: |P X - x| / s < inlier_px, i.e. within `inlier_px` pixels, for P
    (3, 4) or (S, 3, 4), X (..., N, 4) and x (..., N, 2) in normalised units (`s` of them
    a pixel). `project_points` and the norm written out per coordinate: the same values,
    without broadcasting a length-1 axis or summing over a length-2 one, both slow."""
    h = X @ np.swapaxes(P, -1, -2)
    w = h[..., 2]
    w = np.where(np.abs(w) < 1e-12, 1e-12, w)
    dx = h[..., 0] / w - x[..., 0]
    dy = h[..., 1] / w - x[..., 1]
    return np.sqrt(dx * dx + dy * dy) / s < inlier_px


def project_grid(
    P: np.ndarray, x: np.ndarray, y: np.ndarray, inverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 x and y, pixels, of P (x, y, 1, 1/Z) for every pixel: P (3, 4)
    float64, `x`, `y` (H, W) float32 pixel positions (`pixel_grid`), `inverse` (H, W)
    float32 1/Z. Float32 throughout (pixel positions to about 1e-4 px), which
    `project_points` on the whole frame in float64 is several times slower at."""
    m = P.astype(np.float32)
    rows = [m[i, 0] * x + m[i, 1] * y + m[i, 3] * inverse + m[i, 2] for i in range(3)]
    w = rows[2]
    w = np.where(np.abs(w) < 1e-12, np.float32(1e-12), w)
    return rows[0] / w, rows[1] / w


def fit_projection(
    src: np.ndarray,
    inverse: np.ndarray,
    dst: np.ndarray,
    inlier_px: float,
    shape: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray | None:
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
    picks = rng.integers(0, n, (RANSAC_ITERATIONS, RANSAC_POINTS))
    candidates = _dlt(X[picks], x[picks])
    judge = rng.choice(n, min(n, RANSAC_JUDGES), replace=False)
    votes = _inliers(candidates, X[judge][None], x[judge][None], s, inlier_px).sum(axis=1)
    P = candidates[np.argmax(votes)]
    best = _inliers(P, X, x, s, inlier_px)
    for _ in range(3):  # refit on the inliers, re-select
        if best.sum() < MIN_SAMPLES:
            return None
        P = _dlt(X[best][None], x[best][None])[0]
        best = _inliers(P, X, x, s, inlier_px)
    # back to pixels: x_px = x / s + shift, X_norm = T X_px
    back = np.array([[1 / s, 0, shift[0]], [0, 1 / s, shift[1]], [0, 0, 1]])
    return back @ P @ T


@dataclass
class _View:
    """What the pair scores need of one frame, computed once however many pairs it is in."""

    grey: np.ndarray  # (H, W) uint8
    depth: np.ndarray  # (H, W) float32 z-depth, metres (<= 0 or nan: unknown)
    known: np.ndarray  # (H, W) bool: depth known
    inverse: np.ndarray  # (H, W) float32 1/Z, 1/metres (0 where unknown)
    textured: np.ndarray  # (H, W) bool: texture above the frame's 25th percentile
    smooth: np.ndarray  # (H, W) float32 grey blurred by PHOTO_BLUR, for photometric tests
    edges: np.ndarray  # (H, W) bool: `depth_edges`
    near_edges: np.ndarray  # (H, W) bool: within `edge_band` pixels of them

    @classmethod
    def of(cls, frame: np.ndarray, depth: np.ndarray, settings: ParallaxSettings) -> _View:
        """The view of an (H, W, 3) uint8 RGB frame and its (H, W) float32 depth, metres."""
        grey = to_grey(frame)
        known = np.isfinite(depth) & (depth > 0)
        inverse = np.where(known, 1 / np.where(known, depth, 1), 0).astype(np.float32)
        texture = texture_map(grey)
        textured = texture > np.percentile(texture, 25)
        smooth = cv2.GaussianBlur(grey, (0, 0), PHOTO_BLUR).astype(np.float32)
        edges = depth_edges(depth, settings.edge_step)
        near = _widen(edges, settings.edge_band)
        return cls(grey, depth, known, inverse, textured, smooth, edges, near)


@dataclass
class _Pair:
    """Everything about frames (a, b = a + baseline) the residuals need."""

    forward: np.ndarray  # (H, W, 2) flow a -> b
    backward: np.ndarray  # (H, W, 2) flow b -> a
    residual_a: np.ndarray  # (H, W) float32 flow score of a's pixels (nan: unknown)
    residual_b: np.ndarray  # (H, W) float32 flow score of b's pixels
    photo_a: np.ndarray  # (H, W) float32 photometric score of a's pixels (nan: unknown)
    photo_b: np.ndarray  # (H, W) float32 photometric score of b's pixels


class ParallaxMasker:
    """Streams (H, W) bool masks of independently moving content.

    >>> masker = ParallaxMasker(ParallaxSettings())
    >>> masks = masker.run(frames, depths)   # RGB uint8 frames, float32 metres
    """

    def __init__(self, settings: ParallaxSettings | None = None, seed: int = 0):
        self.settings = settings or ParallaxSettings()
        self.rng = np.random.default_rng(seed)

    def pair_scores(self, a: _View, b: _View, flows: tuple[np.ndarray, np.ndarray]) -> _Pair:
        """Each view's residual score (residual / noise level), given the pair's `flows`
        (a -> b, b -> a; `pair_flows`)."""
        forward, backward = flows
        flow_a, photo_a = self._score(a, b, forward, backward)
        flow_b, photo_b = self._score(b, a, backward, forward)
        return _Pair(forward, backward, flow_a, flow_b, photo_a, photo_b)

    def _score(
        self, view: _View, other: _View, flow: np.ndarray, back: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flow and photometric scores, (H, W) float32 each (nan: unknown), of the pixels of
        `view` given the flows view -> other (`flow`) and other -> view (`back`)."""
        st = self.settings
        h, w = view.grey.shape
        x, y = pixel_grid(h, w)
        tx, ty = x + flow[..., 0], y + flow[..., 1]  # where the flow takes each pixel
        inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
        judged = view.known & inside
        # the fit's samples: every `sample_step`-th pixel each way whose flow is
        # forward-backward consistent, of known depth and textured
        step = st.sample_step
        sub = (slice(step // 2, None, step),) * 2
        round_trip = flow[sub] + sample_at(back, tx[sub], ty[sub])
        fb = np.hypot(round_trip[..., 0], round_trip[..., 1])
        usable = judged[sub] & (fb < st.fb_px) & view.textured[sub]
        rows, cols = np.nonzero(usable)
        ys, xs = rows * step + step // 2, cols * step + step // 2
        P = fit_projection(
            np.column_stack([x[ys, xs], y[ys, xs]]).astype(np.float64),
            view.inverse[ys, xs].astype(np.float64),
            np.column_stack([tx[ys, xs], ty[ys, xs]]).astype(np.float64),
            st.inlier_px,
            (h, w),
            self.rng,
        )
        nan = np.float32(np.nan)
        if P is None:
            return np.full((h, w), nan), np.full((h, w), nan)
        px, py = project_grid(P, x, y, view.inverse)
        residual = np.hypot(px - tx, py - ty)
        inl = residual[ys, xs]
        inl = inl[inl < st.inlier_px * 3]
        noise = 1.4826 * float(np.median(inl)) if len(inl) else st.min_residual_px
        scale = max(st.min_residual_px, st.noise_factor * noise)
        score = np.where(judged, np.minimum(residual / scale, SCORE_CAP), nan)
        # photometric: does the other view, warped by the static-scene prediction, match?
        error = np.abs(view.smooth - sample_at(other.smooth, px, py))
        photo_noise = 1.4826 * float(np.median(error[ys, xs])) if len(ys) else st.min_photo
        lands = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
        seen = view.known & lands
        photo = np.where(seen, error / max(st.min_photo, st.noise_factor * photo_noise), nan)
        return score, photo

    def run(self, frames: Iterator[np.ndarray], depths: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield one (H, W) bool mask per (H, W, 3) uint8 RGB frame; `depths` gives the
        matching (H, W) float32 z-depth in metres. Frame t is yielded once frame
        t + 2 * baseline is read (its own and its neighbours' scores need it). The frames
        are read, and the optical flows computed, on a thread running AHEAD frames ahead."""
        b = self.settings.baseline
        store: dict[int, _View] = {}
        pairs: dict[int, _Pair] = {}  # keyed by the pair's first frame
        ends: dict[int, _Pair] = {}
        scores: dict[int, np.ndarray] = {}
        count = 0
        for n, (view, flows) in enumerate(run_ahead(self._views(frames, depths), AHEAD, "parallax-flow")):
            if view is None:  # past the last frame: `flows` holds the closing pairs'
                break
            store[n] = view
            count = n + 1
            if 1 < b and 1 <= n <= b:
                ends[n - 1] = self.pair_scores(store[n - 1], view, flows[n - 1, n])
            if n >= b:
                t = n - b
                pairs[t] = self.pair_scores(store[t], view, flows[t, n])
                scores[t] = _frame_score([pairs.get(t - b)], [pairs[t], ends.get(t)], view.depth.shape)
            if n >= 2 * b:
                yield self._output(n - 2 * b, store, pairs, scores)
        for t in range(max(count - b, 0), count):
            last = self.pair_scores(store[t - 1], store[t], flows[t - 1, t]) if (t - 1, t) in flows else None
            scores[t] = _frame_score(
                [pairs.get(t - b), last], [pairs.get(t), ends.get(t)], store[t].depth.shape
            )
        for t in range(max(count - 2 * b, 0), count):
            yield self._output(t, store, pairs, scores)

    def _views(
        self, frames: Iterator[np.ndarray], depths: Iterator[np.ndarray]
    ) -> Iterator[tuple[_View | None, dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]]:
        """For each frame n: its view and the flows (`pair_flows`) of the pairs (a, b)
        that `run` scores once frame n is read: (n - baseline, n), and (n - 1, n) for the
        first frames; then (None, the flows of the pairs (t - 1, t) it scores after the
        last frame). Deterministic (no random draws), so it can run ahead on a thread.

        The first `baseline` frames have no frame `baseline` before them: frame t + 1
        stands in as a second view after them (what t + b hides, t + 1 often shows);
        likewise t - 1 for the last `baseline` frames."""
        b = self.settings.baseline
        recent: dict[int, _View] = {}
        count = 0
        for n, (frame, depth) in enumerate(zip(frames, depths)):
            view = recent[n] = _View.of(frame, depth, self.settings)
            recent.pop(n - b - 1, None)
            count = n + 1
            wanted = [(n - 1, n)] if 1 < b and 1 <= n <= b else []
            wanted += [(n - b, n)] if n >= b else []
            yield view, {(a, n): pair_flows(recent[a], view) for a, _ in wanted}
        closing = [(t - 1, t) for t in range(max(count - b, 1), count)] if 1 < b else []
        yield None, {(a, t): pair_flows(recent[a], recent[t]) for a, t in closing}

    def _output(
        self,
        t: int,
        store: dict[int, _View],
        pairs: dict[int, _Pair],
        scores: dict[int, np.ndarray],
    ) -> np.ndarray:
        """Frame t's mask; forgets what no later frame needs."""
        b = self.settings.baseline
        mask = self._segment(store[t], _temporal(t, b, pairs, scores))
        for stored in (store, pairs, scores):
            stored.pop(t - b, None)
        return mask

    def _segment(self, view: _View, scores: np.ndarray) -> np.ndarray:
        """(H, W) bool mask of a frame (`view`) from its (H, W, 2) float32 flow and
        photometric scores (nan: unknown): seeds (flow score above `strong`, away from
        depth edges, parts of at least `min_area`) grow through pixels whose flow score is
        above 1 and whose photometric score is not below 1 (an unknown one is not), within
        the regions depth edges bound; the edges' nearer pixels next to the mask join it;
        holes fill."""
        st = self.settings
        h, w = view.depth.shape
        score, photo = scores[..., 0], scores[..., 1]
        strong = score > st.strong  # nan: no
        strong &= ~view.near_edges
        count, labels, stats, _ = cv2.connectedComponentsWithStats(strong.astype(np.uint8))
        big = stats[:, cv2.CC_STAT_AREA] >= max(st.min_area * h * w, 1)
        big[0] = False
        seeds = big[labels]
        if not seeds.any():
            return seeds
        edge = view.edges
        allowed = ~edge & (score > 1)
        allowed &= ~(photo < 1)
        count, labels = cv2.connectedComponents(allowed.astype(np.uint8), connectivity=4)
        keep = np.zeros(count, bool)
        keep[np.unique(labels[seeds & allowed])] = True
        keep[0] = False
        mask = keep[labels]
        mask |= edge & (cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
        return _fill_holes(mask)


def _frame_score(before: list[_Pair | None], after: list[_Pair | None], shape: tuple[int, ...]) -> np.ndarray:
    """(H, W, 2) float32 flow and photometric scores of a frame of (H, W) `shape`: the
    smallest of its scores in the pairs that end at it (`before`) and start at it
    (`after`), None entries skipped (nan: none known, e.g. in a 1-frame clip; `np.fmin`
    skips nan)."""
    unknown = np.full(shape, np.nan, np.float32)
    flows = [unknown] + [p.residual_b for p in before if p] + [p.residual_a for p in after if p]
    photos = [unknown] + [p.photo_b for p in before if p] + [p.photo_a for p in after if p]
    return np.stack([np.fmin.reduce(flows), np.fmin.reduce(photos)], axis=-1)


def _temporal(t: int, b: int, pairs: dict[int, _Pair], scores: dict[int, np.ndarray]) -> np.ndarray:
    """(H, W, 2) float32: median of frame t's scores and its neighbours' (t - b, t + b)
    carried to it along the flow (nan: none known)."""
    own = scores[t]
    x, y = pixel_grid(*own.shape[:2])
    values = [own]
    if t - b in scores:
        back = pairs[t - b].backward
        values.append(sample_at(scores[t - b], x + back[..., 0], y + back[..., 1]))
    if t + b in scores:
        ahead = pairs[t].forward
        values.append(sample_at(scores[t + b], x + ahead[..., 0], y + ahead[..., 1]))
    return nan_median(values)


def nan_median(values: list[np.ndarray]) -> np.ndarray:
    """Elementwise median of K <= 3 float32 arrays of one shape, nan ignored (the mean of
    the two when two are known; nan where none is): `np.nanmedian`'s values (for values
    far from float32's overflow, as scores are), without its masked-array path or a sort
    along the short axis, both slow here."""
    if not 1 <= len(values) <= 3:
        raise ValueError("nan_median takes 1 to 3 values per element")
    low, high = values[0], values[0]
    for v in values[1:]:
        low, high = np.fmin(low, v), np.fmax(high, v)  # nan only where none known
    mean = (low + high) / 2  # of the two known; the one known (v + v) / 2 = v; or nan
    if len(values) < 3:
        return mean
    a, b, c = values
    middle = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))  # nan if any is
    return np.where(np.isnan(middle), mean, middle)


def depth_edges(depth: np.ndarray, step: float) -> np.ndarray:
    """(H, W) bool: the nearer pixel of each pair of neighbours whose log-depth differs
    by more than `step`, and pixels of unknown depth (<= 0 or not finite)."""
    valid = np.isfinite(depth) & (depth > 0)
    log_depth = np.log(np.where(valid, depth, 1.0)).astype(np.float32)
    edge = ~valid
    for axis in (0, 1):
        jump = np.diff(log_depth, axis=axis)  # later minus earlier
        first = [slice(None)] * 2
        second = [slice(None)] * 2
        first[axis], second[axis] = slice(None, -1), slice(1, None)
        edge[tuple(first)] |= jump > step  # the earlier pixel is nearer
        edge[tuple(second)] |= jump < -step  # the later pixel is nearer
    return edge


def _widen(mask: np.ndarray, band: int) -> np.ndarray:
    """(H, W) bool: pixels within `band` pixels (a disc) of the (H, W) bool `mask`."""
    if band == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2)
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool `mask` with the background parts that do not touch the border filled."""
    background = (~mask).astype(np.uint8)
    count, labels = cv2.connectedComponents(background, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    hole = np.ones(count, bool)
    hole[edge] = False
    hole[0] = False
    return mask | hole[labels]
