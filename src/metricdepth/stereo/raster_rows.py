"""The renderer's fast case, compiled for the CPU: eyes that differ from the source camera
only by a move along its x axis (and a horizontal image shift).

Then every source point keeps its row (y' = y) and moves along it to
``x' = x + shift + gain / z``, so every pixel centre of the eye lies on a row edge of the
source mesh and rasterising the mesh reduces to drawing each row's edges (scanlines):
exactly what the general renderer (raster_mesh.py) computes. One pass per row does all
of it for every eye: the cut rule, the outline estimate at each edge some eye cuts, each
eye's scanlines and its holes (infill_mask.finish_row); rows go to the threads in
interleaved groups.

Surface model, per row (the same in both renderers): each source pixel is a vertex at
its centre; neighbouring vertices are joined by a linear segment unless the edge is cut
by the rule of surface.py (a depth step seen from the eye). A vertex at a cut keeps its
own piece of the row on that side up to the outline between the two pixels (outline.py;
"cap", constant colour and depth), and a vertex at the image border its half pixel out
to the frame edge (continuing the surface's slope, surface.border_inv_depth), so a
surface ends where its outline is and a one-pixel-wide object stays about one pixel
wide. Along a joined edge colour and inverse depth are interpolated linearly in x'
(exact: for a straight 3D segment and a horizontal eye move, inverse depth and source
position are both linear in x'). Nearer wins: z-buffer on inverse depth.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import numba
from .infill_mask import finish_row, finish_whole_rows
from .outline import outline_at
from .surface import border_inv_depth, kept_along_x, relative_step

_ONE, _TWO, _THREE = np.uint64(1), np.uint64(2), np.uint64(3)  # unsigned flat-index offsets


@numba.njit(cache=True)
def _row_steps(row_iz: np.ndarray, diz: np.ndarray, rel: np.ndarray) -> None:
    """The steps along one row's edges, shared by every eye. row_iz: (W,) float32,
    1/metres. diz, rel: (W + 1,) float64 out: edge x (pixels x, x + 1) at index x + 1
    (its inverse-depth step, 1/metres, and relative step, surface.relative_step), 0 at
    both ends (no edge beyond the row)."""
    width = row_iz.shape[0]
    diz[0] = rel[0] = 0.0
    diz[width - 1 :] = 0.0
    rel[width - 1 :] = 0.0
    for x in range(width - 1):
        diz[x + 1] = row_iz[x + 1] - row_iz[x]
        rel[x + 1] = relative_step(row_iz[x], row_iz[x + 1])


@numba.njit(cache=True)
def _row_cut(diz: np.ndarray, rel: np.ndarray, gain: float, cut_px: float, cut: np.ndarray) -> None:
    """Which edges of one row the cut rule (surface.py) cuts for one eye. diz, rel: the
    row's steps (_row_steps); gain: render_rows; cut: (W - 1,) bool out."""
    for x in range(cut.shape[0]):
        cut[x] = not kept_along_x(
            gain * diz[x + 1], gain * diz[x], gain * diz[x + 2], cut_px, rel[x + 1], rel[x], rel[x + 2]
        )


@numba.njit(parallel=True, cache=True)
def row_cuts(inv_depth: np.ndarray, gains: np.ndarray, cut_px: float) -> np.ndarray:
    """Which row edges the cut rule (surface.py) cuts, per eye (for the torch path;
    render_rows finds them row by row itself).

    inv_depth: (H, W) float32, 1/metres; gains: (E,) float64 (render_rows); cut_px: the
    cut rule's threshold, pixels. Returns (E, H, W - 1) bool, True where the edge from
    (y, x) to (y, x + 1) is cut for eye e."""
    height, width = inv_depth.shape
    eyes = gains.shape[0]
    cuts = np.zeros((eyes, height, max(width - 1, 0)), np.bool_)
    for y in numba.prange(height):
        diz = np.empty(width + 1)
        rel = np.empty(width + 1)
        _row_steps(inv_depth[y], diz, rel)
        for e in range(eyes):
            _row_cut(diz, rel, gains[e], cut_px, cuts[e, y])
    return cuts


@numba.njit(cache=True)
def _row_outlines(
    inv_depth: np.ndarray, y: int, cuts: np.ndarray, cut_any: np.ndarray, outline: np.ndarray
) -> None:
    """The outline estimate (outline.outline_at) at each edge of row y that some eye
    cuts. cuts: (E, W - 1) bool (_row_cut); cut_any: (W - 1 rounded up to a multiple of
    8,) uint8 scratch, 0 beyond W - 1; outline: (W - 1,) float64 out, set at the cut
    edges only. Cut edges are rare: the row is searched for them 8 edges at a time."""
    edges = cuts.shape[1]
    cut_any[:edges] = 0
    for e in range(cuts.shape[0]):
        for x in range(edges):
            cut_any[x] |= cuts[e, x]
    words = cut_any.view(np.uint64)
    for w in range(words.shape[0]):
        if words[w] == 0:
            continue
        for x in range(8 * w, 8 * w + 8):
            if cut_any[x]:
                outline[x] = outline_at(inv_depth, y, x)


@numba.njit(cache=True)
def _colour_steps(src: np.ndarray, base: np.ndarray, step: np.ndarray) -> None:
    """A source row's colours as the scanlines interpolate them, shared by every eye.
    src: (W, 3) uint8; base: (W, 3) float64 out, the colours; step: (W, 3) float64 out,
    the difference to the next pixel's (0 for the last)."""
    flat, base_flat, step_flat = src.ravel(), base.ravel(), step.ravel()
    size = flat.shape[0]
    for i in range(size):
        base_flat[i] = flat[i]
    for i in range(size - 3):
        step_flat[i] = np.float32(flat[i + 3]) - np.float32(flat[i])
    step_flat[max(size - 3, 0) :] = 0.0


@numba.njit(cache=True, error_model="numpy")
def _draw_row(
    base: np.ndarray,
    step: np.ndarray,
    row_iz: np.ndarray,
    cut: np.ndarray,
    outline: np.ndarray,
    gain: float,
    shift: float,
    zbuf: np.ndarray,
    out: np.ndarray,
) -> None:
    """Draw one row of one eye. base, step: (W, 3) float64, the source row's colours and
    their steps (_colour_steps); row_iz: (W,) float32, 1/metres; cut: (W - 1,) bool, its
    cut edges (_row_cut); outline: (W - 1,) float64, the outline position at each cut
    edge (outline.outline_at); gain, shift: render_rows. zbuf: (W,) float32, zeroed, the
    eye row's inverse depth out; out: (W, 3) uint8.

    A joined edge from x' = a to x' = b interpolates inverse depth and colour linearly
    at every pixel centre in [a, b]; with b <= a it faces away from the eye (the surface
    folds behind itself) and is not drawn. The other pieces, from x' = lo to hi, have one
    pixel's colour: the two caps of a cut edge and the border vertices' half pixels.
    Nearer wins. Joined edges, nearly all of them, take a loop of their own (a tenth
    faster than one loop over all pieces) that indexes flat rows with unsigned integers
    (no tests for negative indices), and no helper taking arrays is called (numba counts
    references at each such call). Every division is by a positive length (numpy's error
    model: no test for zero)."""
    width = row_iz.shape[0]
    last_x = width - 1
    base_flat, step_flat, out_flat = base.ravel(), step.ravel(), out.ravel()
    # per vertex, in loops that vectorise: its x', the first pixel centre at or right of
    # it and one past the last at or left of it (both within the row; unsigned: indexing
    # with them skips the test for negative indices)
    pos = np.empty(width)
    first_at = np.empty(width, np.uint64)
    end_at = np.empty(width, np.uint64)
    for v in range(width):
        pos[v] = v + shift + gain * row_iz[v]
    for v in range(width):
        first_at[v] = max(int(math.ceil(pos[v])), 0)
        end_at[v] = max(min(int(math.floor(pos[v])), last_x) + 1, 0)
    iza, a = row_iz[0], pos[0]  # inverse depth and x' of vertex x
    b = izb = 0.0  # x' and inverse depth of vertex x + 1
    for x in range(-1, width):  # -1: the left border; x: the edge (x, x + 1); W - 1: the right border
        if 0 <= x < last_x and not cut[x]:  # a joined edge (most of them): no pieces
            ux = np.uint64(x)
            izb, b = row_iz[ux + _ONE], pos[ux + _ONE]
            if b > a:
                scale = 1.0 / (b - a)
                diz = izb - iza
                src = ux * _THREE  # vertex x's colour, flat
                c0, c1, c2 = base_flat[src], base_flat[src + _ONE], base_flat[src + _TWO]
                d0, d1, d2 = step_flat[src], step_flat[src + _ONE], step_flat[src + _TWO]
                for X in range(first_at[ux], end_at[ux + _ONE]):  # the pixel centres in [a, b]
                    t = (X - a) * scale
                    iz = iza + t * diz
                    if iz > zbuf[X]:
                        zbuf[X] = iz
                        dst = X * _THREE
                        out_flat[dst] = np.uint8(int(c0 + t * d0 + 0.5))
                        out_flat[dst + _ONE] = np.uint8(int(c1 + t * d1 + 0.5))
                        out_flat[dst + _TWO] = np.uint8(int(c2 + t * d2 + 0.5))
            a, iza = b, izb
            continue
        if x == -1:
            iz_edge = border_inv_depth(row_iz, 0, width > 1 and not cut[0], 0.5)
            lo, hi, iz0, iz1, xa, pieces = -0.5 + shift + gain * iz_edge, a, iz_edge, iza, 0, 1
        elif x == last_x:
            iz_edge = border_inv_depth(row_iz, last_x, width > 1 and not cut[width - 2], 0.5)
            lo, hi, iz0, iz1, xa, pieces = a, width - 0.5 + shift + gain * iz_edge, iza, iz_edge, last_x, 1
        else:  # the near cap (the far one follows); caps always have hi > lo
            izb, b = row_iz[x + 1], pos[x + 1]
            lo, hi, iz0, iz1, xa, pieces = a, a + outline[x], iza, iza, x, 2
        for piece in range(pieces):
            if piece == 1:  # the far cap of a cut edge
                lo, hi, iz0, iz1, xa = b - (1.0 - outline[x]), b, izb, izb, x + 1
            if hi <= lo:
                continue
            # the pixel centres in [lo, hi] and in the row (unsigned, as first_at)
            first = np.uint64(max(int(math.ceil(lo)), 0))
            end = np.uint64(max(min(int(math.floor(hi)), last_x) + 1, 0))
            scale = 1.0 / (hi - lo)
            for X in range(first, end):
                t = (X - lo) * scale
                iz = iz0 + t * (iz1 - iz0)
                if iz > zbuf[X]:
                    zbuf[X] = iz
                    for ch in range(3):
                        out[X, ch] = np.uint8(int(base[xa, ch] + 0.5))  # source xa's colour
        if x >= 0:
            a, iza = b, izb


ROW_GROUPS = 64  # rows are handed to threads in this many interleaved groups (y mod 64):
# outlines to estimate gather in some parts of the image, so each thread gets rows from all


@numba.njit(parallel=True, cache=True)
def render_rows(
    colour: np.ndarray,
    inv_depth: np.ndarray,
    gains: np.ndarray,
    shifts: np.ndarray,
    cut_px: float,
    green: bool,
    fill: bool,
    out_colour: np.ndarray,
    out_mask: np.ndarray,
    out_inv_depth: np.ndarray,
) -> None:
    """Render E eyes of one frame, row by row: the cut rule (surface.py), the outline
    estimate at each edge cut for some eye (outline.outline_at), each eye's scanlines
    and its holes (infill_mask.finish_row).

    colour: (H, W, 3) uint8 source image. inv_depth: (H, W) float32, 1/metres (z-depth).
    gains: (E,) float64, pixels * metres: an eye moved by t_x metres along the source
        camera's x axis sees x' = x + shift + gain * inv_depth with gain = fx * t_x
        (t_x the x translation of eye_from_source: -offset for an eye moved right).
    shifts: (E,) float64, pixels: horizontal image shift (target cx - source cx).
    cut_px: the cut rule's threshold, pixels.
    green: write the green-and-black mask instead of directions.
    fill: colour holes with the background next to them (infill_mask.finish_row), else black.
    out_colour: (E, H, W, 3) uint8; out_mask: (E, H, W, 3) uint8 infill mask;
    out_inv_depth: (E, H, W) float32, the eye's inverse z-depth, 0 at holes.
    """
    height, width = inv_depth.shape
    eyes = gains.shape[0]
    unresolved = np.zeros((eyes, height), np.int64)
    groups = min(ROW_GROUPS, height)
    for group in numba.prange(groups):
        diz = np.empty(width + 1)
        rel = np.empty(width + 1)
        cuts = np.empty((eyes, max(width - 1, 0)), np.bool_)
        outline = np.empty(max(width - 1, 0))
        cut_any = np.zeros(-(-max(width - 1, 0) // 8) * 8, np.uint8)  # whole 64-bit words
        base = np.empty((width, 3))
        step = np.empty((width, 3))
        dir_x = np.zeros(width, np.float32)  # no cut directions needed: the row rule
        dir_y = np.zeros(width, np.float32)  # finds the far side of every hole
        for y in range(group, height, groups):
            row_iz = inv_depth[y]
            _row_steps(row_iz, diz, rel)
            for e in range(eyes):
                _row_cut(diz, rel, gains[e], cut_px, cuts[e])
            _row_outlines(inv_depth, y, cuts, cut_any, outline)
            _colour_steps(colour[y], base, step)
            for e in range(eyes):
                zbuf, out = out_inv_depth[e, y], out_colour[e, y]
                zbuf[:] = 0.0
                _draw_row(base, step, row_iz, cuts[e], outline, gains[e], shifts[e], zbuf, out)
                unresolved[e, y] = finish_row(zbuf, out, out_mask[e, y], dir_x, dir_y, green, fill)
    for e in range(eyes):
        if unresolved[e].any():
            finish_whole_rows(out_inv_depth[e], out_mask[e], green)
