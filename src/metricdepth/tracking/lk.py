"""Weight-free point tracker: pyramidal Lucas-Kanade with a forward-backward check.

Frame by frame (constant memory), `LKTracker.update` moves every live point into the new
frame with OpenCV's pyramidal Lucas-Kanade, starting from where its last motion predicts
it (few pyramid levels; the whole pyramid for points without a prediction), tracks it
back again and keeps it only if it returns to where it started (forward-backward check).
Each point then gets a sub-pixel refinement against its *anchor*: the patch around it in
the frame it was seeded (or last re-anchored) in, aligned with the current frame under an
affine warp (`affine.py`). Chained frame-to-frame steps add up their small errors like a
random walk, and a translation-only window drifts when the view zooms or turns; the
affine alignment with the anchor does neither. A point is dropped when its aligned patch
no longer matches the anchor's (normalised cross-correlation below `min_ncc`), which is
what happens when something passes in front of it or when its "corner" is really an
occlusion boundary: a track never continues on another surface.

New points are seeded on a texture-aware grid: the image is cut into square cells, and
every cell without a live point receives one point where the structure tensor shows
texture in all directions (minimum eigenvalue), refined to sub-pixel precision with
`cv2.cornerSubPix`. A point keeps its id for as long as it stays valid; ids are never
reused.

Optional depth (step 1's depth video, any scale): no point is seeded with a depth edge
in its window (it could lie on the far side of a silhouette and be followed onto the
near side), and a point whose depth jumps from one frame to the next is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .._numba import numba
from ..io.sidecars import FrameTracks
from .affine import AffineAligner, Templates
from .threads import split_rows

# Lucas-Kanade termination: at most this many iterations or this step (pixels).
LK_MAX_ITERATIONS = 30
LK_EPSILON_PX = 0.003
# Structure-tensor window (pixels) of the corner measure used for seeding.
EIGEN_BLOCK_PX = 7
# The corner measure is split over the CPUs in strips of at least this many rows.
MIN_STRIP_ROWS = 64
# cv2.cornerSubPix: half window (pixels) and termination.
SUBPIX_HALF_WINDOW_PX = 3
SUBPIX_MAX_ITERATIONS = 20
SUBPIX_EPSILON_PX = 0.01
# Pyramid levels used from a good starting point (the position predicted from a point's
# last motion, or the known answer for the backward check): a prediction may be off by
# about a window side.
NEAR_LEVELS = 1
# A partly occluded point (see LKTracker._partly_seen) is kept only if the pixels within
# this radius (pixels) of it are seen,
CENTRE_RADIUS_PX = 2.5
# the seen pixels keep at least this fraction of the window's texture in its weakest
# direction (else the position could slide along an edge),
MIN_SEEN_TEXTURE = 0.3
# and it moved within this many pixels of where its last motion predicted.
PARTIAL_MAX_JUMP_PX = 0.5
# Frames a point must have been tracked with its whole window matching before it may be
# kept on part of it (its motion, which predicts where it is, is known by then).
TRUSTED_FRAMES = 1
# Hidden pixels of a partly occluded window this close (pixels, chessboard distance) to
# each other count as one region (see _one_region_from_edge).
HIDDEN_GAP_PX = 1
# Depth cue (optional; step 1's depth video). A point is not seeded where its window holds
# a depth edge: two neighbouring pixels whose inverse depths differ by more than this
# fraction of the larger (a silhouette: a point seeded there may lie on the far side and
# be followed onto the near one). Smooth surfaces change far less between neighbours
# (a wall or floor: < 2% except within a few pixels of the horizon; 2% noise per pixel
# rarely reaches it).
DEPTH_EDGE_STEP = 0.15
# A point is dropped when the inverse depth at its position changes from one frame to
# the next by more than this fraction, after dividing out the median change over all
# points (the whole depth map's scale may drift from frame to frame): static surfaces
# under smooth camera motion change by about 1% a frame; a nearer surface moving over
# the point, or the track sliding onto one, changes it by tens of percent.
DEPTH_JUMP = 0.15


@dataclass(frozen=True)
class LKSettings:
    """Settings of the Lucas-Kanade tracker (pixels are those of the frames it is given).

    window: side of the square Lucas-Kanade window, pixels (odd).
    levels: pyramid levels above full resolution (more: larger motions).
    fb_threshold: largest forward-backward distance, pixels, for a point to stay valid.
    cell: side of a seeding grid cell, pixels; at most one new point per empty cell.
    seed_interval: seed new points every this many frames (1: every frame).
    min_texture: smallest minimum eigenvalue of the structure tensor (OpenCV's
        normalised units for 8-bit images) at which a corner is seeded.
    texture_cap: texture above this counts as equally good when choosing a cell's seed
        (then the pixel nearest the cell centre is taken).
    min_distance: new points keep at least this many pixels from live points.
    border: no point is seeded or kept within this many pixels of the image edge.
    anchor_frames: a point is aligned with its anchor patch for at most this many
        frames; then the current frame becomes its new anchor.
    anchor_max_shift: largest correction, pixels, the anchor alignment may apply to the
        frame-to-frame estimate.
    min_ncc: smallest normalised cross-correlation between the aligned patch and its
        anchor; below it the point is dropped (occluded, lost, or not a surface point).
    min_seen: smallest Gaussian-weighted fraction of a partly occluded point's window
        that must still show its anchor for the point to be kept.
    align_iterations: Gauss-Newton steps of the affine alignment per frame.
    warp_damping: damping of the alignment's scale/shear parameters, relative to the
        translation terms (keeps the warp steady on weakly textured patches).
    """

    window: int = 15
    levels: int = 3
    fb_threshold: float = 2.0
    cell: int = 16
    seed_interval: int = 4
    min_texture: float = 2e-4
    texture_cap: float = 1e-3
    min_distance: float = 6.0
    border: int = 4
    anchor_frames: int = 30
    anchor_max_shift: float = 3.0
    min_ncc: float = 0.985
    min_seen: float = 0.6
    align_iterations: int = 3
    warp_damping: float = 1.0

    def __post_init__(self) -> None:
        if self.window < 5 or self.window % 2 == 0:
            raise ValueError(f"window must be odd and at least 5, got {self.window}")
        if self.levels < 0 or self.cell < 2 or self.fb_threshold <= 0 or self.anchor_frames < 1:
            raise ValueError("levels >= 0, cell >= 2, fb_threshold > 0, anchor_frames >= 1 needed")


def to_grey(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 grey."""
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def texture_map(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32: minimum eigenvalue of the structure tensor of (H, W) uint8 grey
    (cv2.cornerMinEigenVal, which runs on one CPU: here in row strips over the CPUs; a
    value depends on the rows within EIGEN_BLOCK_PX // 2 + 1, Sobel's included)."""
    return split_rows(
        lambda rows: cv2.cornerMinEigenVal(rows, EIGEN_BLOCK_PX),
        grey,
        EIGEN_BLOCK_PX // 2 + 1,
        MIN_STRIP_ROWS,
    )


@dataclass
class _Points:
    """The live points of a tracker, one row each (N points, the same order in every
    array); `select` and `concat` keep the arrays together."""

    ids: np.ndarray  # (N,) int64
    xy: np.ndarray  # (N, 2) float32 pixels (x, y), current frame
    warp: np.ndarray  # (N, 2, 2) float32, anchor patch -> current frame
    velocity: np.ndarray  # (N, 2) float32, last frame-to-frame motion, pixels
    anchor_frame: np.ndarray  # (N,) int64, the frame the anchor patch was taken in
    partial: np.ndarray  # (N,) bool, kept on the seen part of its window last frame
    whole: np.ndarray  # (N,) int64, frames tracked with the whole window matching
    inv_depth: np.ndarray  # (N,) float32, inverse depth at the point (NaN: unknown)
    templates: Templates  # the anchor patches

    @classmethod
    def new(cls, ids: np.ndarray, xy: np.ndarray, frame: int, templates: Templates) -> _Points:
        """Points just seeded in `frame` at `xy` with their anchor `templates`."""
        n = len(ids)
        return cls(
            ids.astype(np.int64),
            xy.astype(np.float32),
            np.tile(np.eye(2, dtype=np.float32), (n, 1, 1)),
            np.zeros((n, 2), np.float32),
            np.full(n, frame, np.int64),
            np.zeros(n, bool),
            np.zeros(n, np.int64),
            np.full(n, np.nan, np.float32),
            templates,
        )

    def select(self, keep: np.ndarray) -> _Points:
        """The points `keep` ((N,) bool or indices) selects."""
        return _Points(
            self.ids[keep],
            self.xy[keep],
            self.warp[keep],
            self.velocity[keep],
            self.anchor_frame[keep],
            self.partial[keep],
            self.whole[keep],
            self.inv_depth[keep],
            self.templates.select(keep),
        )

    def concat(self, other: _Points) -> _Points:
        """These points followed by `other`."""

        def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.concatenate([a, b])

        return _Points(
            cat(self.ids, other.ids),
            cat(self.xy, other.xy),
            cat(self.warp, other.warp),
            cat(self.velocity, other.velocity),
            cat(self.anchor_frame, other.anchor_frame),
            cat(self.partial, other.partial),
            cat(self.whole, other.whole),
            cat(self.inv_depth, other.inv_depth),
            Templates.concat(self.templates, other.templates),
        )


class LKTracker:
    """Tracks points through a stream of frames; call `update` once per frame, in order.

    >>> tracker = LKTracker(LKSettings())
    >>> for frame in frames:                      # (H, W, 3) uint8 RGB
    ...     tracks = tracker.update(frame)         # FrameTracks: ids and (x, y) pixels
    """

    def __init__(self, settings: LKSettings | None = None):
        self.settings = settings or LKSettings()
        s = self.settings
        self._lk: dict[str, Any] = dict(
            winSize=(s.window, s.window),
            maxLevel=s.levels,
            criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, LK_MAX_ITERATIONS, LK_EPSILON_PX),
        )
        self._lk_near = dict(self._lk, maxLevel=min(s.levels, NEAR_LEVELS))
        self._aligner = AffineAligner(s.window // 2, s.warp_damping)
        self._frame = -1
        self._grey: np.ndarray | None = None
        self._points = _Points.new(np.zeros(0, np.int64), np.zeros((0, 2)), 0, self._aligner.empty())
        self._centre = np.hypot(self._aligner.ox, self._aligner.oy) <= CENTRE_RADIUS_PX
        self._penalty = _centre_penalty(s.cell, s.texture_cap)
        self._next_id = 0

    def update(
        self,
        frame: np.ndarray,
        exclude: np.ndarray | None = None,
        seed: bool = True,
        depth: np.ndarray | None = None,
    ) -> FrameTracks:
        """Advance to the next frame and return the points visible in it.

        frame: (H, W, 3) uint8 RGB. exclude: optional (H, W) bool, True where no point may
        be (e.g. a subject mask); points inside are dropped and none are seeded there.
        seed: whether new points may be seeded in empty cells of this frame (they are
            every `seed_interval` frames).
        depth: optional (H, W) float32 z-depth of this frame, metres, any scale (step 1's
            depth video; non-finite or <= 0: unknown, treated as far). Given on every
            frame, no point is seeded with a depth edge in its window (DEPTH_EDGE_STEP)
            and a point whose depth jumps (DEPTH_JUMP) is dropped.
        """
        grey = to_grey(frame)
        self._frame += 1
        inverse = None if depth is None else _inverse_depth(depth)
        if self._grey is not None and len(self._points.ids):
            self._select(self._advance(self._grey, grey))
        if exclude is not None and len(self._points.ids):
            self._select(~_inside(exclude, self._points.xy))
        if inverse is not None and len(self._points.ids):
            self._select(self._depth_steady(inverse))
        self._grey = grey
        self._reanchor(grey)
        if seed and self._frame % self.settings.seed_interval == 0:
            no_seed = exclude
            if inverse is not None:
                edges = _near_depth_edge(inverse, self.settings.window)
                no_seed = edges if exclude is None else edges | exclude
            self._seed(grey, no_seed)
        if inverse is not None:
            self._points.inv_depth = _bilinear(inverse, self._points.xy)
        return FrameTracks(self._points.ids.copy(), self._points.xy.astype(np.float64))

    def _depth_steady(self, inverse: np.ndarray) -> np.ndarray:
        """(N,) bool: points whose inverse depth in (H, W) float32 `inverse` changed by at
        most DEPTH_JUMP since the last frame, relative to the median change (scale drift).
        Points without a previous value (no depth given before) are kept."""
        now = _bilinear(inverse, self._points.xy)
        before = self._points.inv_depth
        known = np.isfinite(before) & (before > 0) & (now > 0)
        ratio = np.where(known, now / np.where(known, before, 1), 1)
        scale = float(np.median(ratio[known])) if known.any() else 1.0
        return ~known | (np.abs(ratio / scale - 1) <= DEPTH_JUMP)

    # -- tracking --------------------------------------------------------------------
    def _advance(self, prev_grey: np.ndarray, grey: np.ndarray) -> np.ndarray:
        """Move the points from (H, W) uint8 `prev_grey` into `grey`; return (N,) bool:
        which points stay valid."""
        s, p = self.settings, self._points
        guess, keep = self._flow(prev_grey, grey, p.xy, p.xy + p.velocity, self._lk_near)
        # Points without a usable prediction (new, or whose motion changed) are tracked
        # again through the whole pyramid, from no motion.
        retry = np.flatnonzero(~keep)
        if len(retry):
            guess[retry], keep[retry] = self._flow(prev_grey, grey, p.xy[retry], p.xy[retry], self._lk)
        xy, warp, ncc = self._aligner.align(p.templates, grey, guess, p.warp, s.align_iterations)
        shift = np.linalg.norm(xy - guess, axis=1)
        keep &= np.isfinite(xy).all(1) & (shift < s.anchor_max_shift) & (ncc >= s.min_ncc)
        # Only points with a known motion (tracked whole for TRUSTED_FRAMES) get a second
        # chance on the seen part of their window.
        partial = self._partly_seen(
            grey, np.flatnonzero(~keep & p.templates.ok & (p.whole >= TRUSTED_FRAMES))
        )
        xy[partial.index], warp[partial.index] = partial.xy, p.warp[partial.index]
        keep[partial.index] = partial.keep
        p.partial[:] = False
        p.partial[partial.index] = partial.keep
        p.whole = np.where(keep & ~p.partial, p.whole + 1, p.whole)
        p.velocity = np.where(keep[:, None], xy - p.xy, 0).astype(np.float32)
        p.xy = np.where(keep[:, None], xy, p.xy).astype(np.float32)
        p.warp = np.where(keep[:, None, None], warp, p.warp).astype(np.float32)
        return keep & _in_image(p.xy, grey.shape, s.border)

    def _partly_seen(self, grey: np.ndarray, index: np.ndarray) -> _Partial:
        """Points `index` (M,) whose whole window no longer matches their anchor: aligned
        again on the pixels that still show it, from the position their motion predicts.
        A point is kept only if what hides the rest could be something in front of its
        surface near, not on, the point: the disc of CENTRE_RADIUS_PX around it is seen,
        at least `min_seen` of the window (Gaussian weight) is seen, the hidden pixels
        form one region reaching the window's edge (an occluder comes in from one side),
        the seen pixels still fix the position in both directions (MIN_SEEN_TEXTURE),
        they match the anchor as well as a whole window must (`min_ncc`), and the point
        moved within PARTIAL_MAX_JUMP_PX of where its last motion predicted. Its warp
        matrix is kept, and it is not re-anchored while partly hidden (the anchor would
        take in the occluder)."""
        s = self.settings
        predicted = self._points.xy[index] + self._points.velocity[index]
        xy, ncc, seen, texture = self._aligner.align_seen(
            self._points.templates.select(index),
            grey,
            predicted,
            self._points.warp[index],
            s.align_iterations,
        )
        side = s.window
        hidden = ~seen.reshape(-1, side, side)
        weight = (seen * self._aligner.weights).sum(1)
        keep = (
            np.isfinite(xy).all(1)
            & (ncc >= s.min_ncc)
            & (weight >= s.min_seen)
            & seen[:, self._centre].all(1)
            & (texture >= MIN_SEEN_TEXTURE)
            & (np.linalg.norm(xy - predicted, axis=1) <= PARTIAL_MAX_JUMP_PX)
            & _one_region_from_edge(hidden)
        )
        return _Partial(index, xy, keep)

    def _flow(
        self, prev_grey: np.ndarray, grey: np.ndarray, xy: np.ndarray, start: np.ndarray, lk: dict
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lucas-Kanade of (N, 2) float32 pixels `xy` from (H, W) uint8 `prev_grey` into
        `grey`, starting from (N, 2) pixels `start`, with `lk` options; checked by tracking
        back from the answer to the known start, with only NEAR_LEVELS pyramid levels (the
        coarse levels' large windows can lock onto other structure, such as a moving
        object nearby, and pull a correct point away). Returns (N, 2) float32 positions
        and (N,) bool: found, and back within `fb_threshold` pixels."""
        prev = xy.reshape(-1, 1, 2)
        fwd, ok_f, _ = cv2.calcOpticalFlowPyrLK(
            prev_grey,
            grey,
            prev,
            start.astype(np.float32).reshape(-1, 1, 2),
            flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
            **lk,
        )
        back, ok_b, _ = cv2.calcOpticalFlowPyrLK(
            grey, prev_grey, fwd, prev.copy(), flags=cv2.OPTFLOW_USE_INITIAL_FLOW, **self._lk_near
        )
        fb = np.linalg.norm(back.reshape(-1, 2) - xy, axis=1)
        ok = ok_f.ravel().astype(bool) & ok_b.ravel().astype(bool) & (fb < self.settings.fb_threshold)
        return fwd.reshape(-1, 2), ok

    def _select(self, keep: np.ndarray) -> None:
        self._points = self._points.select(keep)

    def _reanchor(self, grey: np.ndarray) -> None:
        """Points anchored `anchor_frames` ago get the current frame as their new anchor."""
        old = np.flatnonzero(
            (self._frame - self._points.anchor_frame >= self.settings.anchor_frames) & ~self._points.partial
        )
        if len(old):
            self._points.templates.assign(old, self._aligner.templates(grey, self._points.xy[old]))
            self._points.anchor_frame[old] = self._frame
            self._points.warp[old] = np.eye(2, dtype=np.float32)

    # -- seeding ---------------------------------------------------------------------
    def _seed(self, grey: np.ndarray, exclude: np.ndarray | None) -> None:
        """Put the strongest corner of every empty grid cell on the point list."""
        s = self.settings
        h, w = grey.shape
        strength = texture_map(grey)
        if exclude is not None:
            strength[exclude] = 0
        rows, cols = h // s.cell, w // s.cell
        if rows == 0 or cols == 0:
            return
        occupied = np.zeros((rows, cols), bool)
        cx = (self._points.xy[:, 0] // s.cell).astype(np.int64)
        cy = (self._points.xy[:, 1] // s.cell).astype(np.int64)
        ok = (cx >= 0) & (cx < cols) & (cy >= 0) & (cy < rows)
        occupied[cy[ok], cx[ok]] = True
        # Texture above `texture_cap` counts as good enough: among those pixels the one
        # nearest the cell's centre wins, so seeds spread over textured areas instead of
        # piling onto the strongest corners, which are often occlusion boundaries.
        xy = _cell_corners(
            strength,
            self._penalty,
            occupied,
            np.float32(s.texture_cap),
            np.float32(s.min_texture),
            s.border,
        )
        if not len(xy):
            return
        corners = xy.astype(np.float32).reshape(-1, 1, 2)
        corners = cv2.cornerSubPix(
            grey,
            corners,
            (SUBPIX_HALF_WINDOW_PX,) * 2,
            (-1, -1),
            (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, SUBPIX_MAX_ITERATIONS, SUBPIX_EPSILON_PX),
        ).reshape(-1, 2)
        corners = corners[_in_image(corners, grey.shape, s.border)]
        if exclude is not None:
            corners = corners[~_inside(exclude, corners)]
        if len(self._points.xy) and len(corners):
            distance, _ = cKDTree(self._points.xy).query(corners)
            corners = corners[distance >= s.min_distance]
        templates = self._aligner.templates(grey, corners)
        corners = corners[templates.ok]
        n = len(corners)
        new = _Points.new(
            np.arange(self._next_id, self._next_id + n), corners, self._frame, templates.select(templates.ok)
        )
        self._next_id += n
        self._points = self._points.concat(new)


@dataclass(frozen=True)
class _Partial:
    """Partly occluded points: (M,) indices, (M, 2) float32 aligned positions, (M,) kept."""

    index: np.ndarray
    xy: np.ndarray
    keep: np.ndarray


def _one_region_from_edge(hidden: np.ndarray) -> np.ndarray:
    """(N,) bool: whether the True pixels of each (N, S, S) bool window form at most one
    region, and that region touches the window's edge. Pixels up to HIDDEN_GAP_PX apart
    count as one region: where the occluder happens to look like the hidden texture a
    thin line of its pixels passes the residual test and would cut the region."""
    if not hidden.size:
        return np.ones(len(hidden), bool)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    if HIDDEN_GAP_PX:
        square = np.zeros((1, 2 * HIDDEN_GAP_PX + 1, 2 * HIDDEN_GAP_PX + 1), bool)
        square[0] = True
        hidden = ndimage.binary_dilation(hidden, square)
    labels, _ = ndimage.label(hidden, structure)
    # Labels are given in scan order and regions never join across windows, so each
    # window's labels are a contiguous range.
    flat = labels.reshape(len(hidden), -1)
    last = flat.max(1)
    first = np.where(flat > 0, flat, np.iinfo(flat.dtype).max).min(1)
    edge = np.zeros(last.max() + 1, bool)
    edge[np.concatenate([labels[:, [0, -1], :].ravel(), labels[:, :, [0, -1]].ravel()])] = True
    return (last == 0) | ((last == first) & edge[last])


def _inverse_depth(depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 inverse depth, 1/metres, of (H, W) depth in metres (0 where the
    depth is unknown: non-finite or <= 0)."""
    depth = np.asarray(depth, np.float32)
    valid = np.isfinite(depth) & (depth > 0)
    return np.where(valid, 1 / np.where(valid, depth, 1), 0).astype(np.float32)


def _near_depth_edge(inverse: np.ndarray, window: int) -> np.ndarray:
    """(H, W) bool: pixels whose `window`-pixel square window holds two neighbouring
    pixels of (H, W) float32 inverse depth differing by more than DEPTH_EDGE_STEP of the
    larger."""
    edge = np.zeros(inverse.shape, np.uint8)
    for axis in (0, 1):
        a = inverse[:-1] if axis == 0 else inverse[:, :-1]
        b = inverse[1:] if axis == 0 else inverse[:, 1:]
        step = np.abs(a - b) > DEPTH_EDGE_STEP * np.maximum(np.maximum(a, b), 1e-12)
        if axis == 0:
            edge[:-1] |= step
            edge[1:] |= step
        else:
            edge[:, :-1] |= step
            edge[:, 1:] |= step
    return cv2.dilate(edge, np.ones((window, window), np.uint8)).astype(bool)


def _bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N,) float32: (H, W) float32 `image` sampled bilinearly at (N, 2) pixels (x, y)
    (clamped to the image)."""
    h, w = image.shape
    x = np.clip(xy[:, 0].astype(np.float64), 0, w - 1)
    y = np.clip(xy[:, 1].astype(np.float64), 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _centre_penalty(cell: int, scale: float) -> np.ndarray:
    """(cell, cell) float32: a tie-breaker below `scale` growing with the distance from the
    centre of a `cell`-pixel grid cell, row by row."""
    offsets = (np.arange(cell) - (cell - 1) / 2) / cell
    return (scale * 1e-3 * (offsets[None, :] ** 2 + offsets[:, None] ** 2)).astype(np.float32)


@numba.njit(cache=True)
def _cell_corners(
    strength: np.ndarray,
    penalty: np.ndarray,
    occupied: np.ndarray,
    cap: np.float32,
    min_texture: np.float32,
    border: int,
) -> np.ndarray:
    """The seed of every grid cell not `occupied` ((rows, cols) bool; square cells of
    `penalty`'s side, from the image's top-left corner): its pixel of highest score
    min(strength, cap) - penalty ((H, W) float32 `strength`; the first such pixel in row
    order), if its strength reaches `min_texture`. Pixels within `border` of the image
    edge count as textureless. Returns (M, 2) int64 pixels (x, y), cell by cell in row
    order."""
    h, w = strength.shape
    rows, cols = occupied.shape
    cell = penalty.shape[0]
    seeds = np.empty((rows * cols, 2), np.int64)
    found = 0
    for row in range(rows):
        for col in range(cols):
            if occupied[row, col]:
                continue
            best, best_x, best_y, best_strength = -np.inf, 0, 0, np.float32(0)
            for a in range(cell):
                y = row * cell + a
                for b in range(cell):
                    x = col * cell + b
                    inside = border <= y < h - border and border <= x < w - border
                    value = strength[y, x] if inside else np.float32(0)
                    score = min(value, cap) - penalty[a, b]
                    if score > best:
                        best, best_x, best_y, best_strength = score, x, y, value
            if best_strength >= min_texture:
                seeds[found, 0], seeds[found, 1] = best_x, best_y
                found += 1
    return seeds[:found]


def _in_image(xy: np.ndarray, shape: tuple[int, ...], border: float) -> np.ndarray:
    """(N,) bool: (N, 2) pixels (x, y) at least `border` pixels inside an image of `shape`."""
    h, w = shape[:2]
    return (
        (xy[:, 0] >= border)
        & (xy[:, 0] <= w - 1 - border)
        & (xy[:, 1] >= border)
        & (xy[:, 1] <= h - 1 - border)
    )


def _inside(mask: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N,) bool: whether (N, 2) pixels (x, y) fall on True pixels of (H, W) bool `mask`."""
    h, w = mask.shape
    x = np.clip(np.rint(xy[:, 0]).astype(np.int64), 0, w - 1)
    y = np.clip(np.rint(xy[:, 1]).astype(np.int64), 0, h - 1)
    return mask[y, x]
