"""The renderer's fast case, compiled for the CPU: eyes that differ from the source camera
only by a move along its x axis (and a horizontal image shift).

Then every source point keeps its row (y' = y) and moves along it to
``x' = x + shift + gain / z``, so every pixel centre of the eye lies on a row edge of the
source mesh and rasterising the mesh reduces to drawing each row's edges (scanlines):
exactly what the general renderer (raster_mesh.py) computes, one row per thread.

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
from .surface import border_inv_depth, kept_along_x, relative_step


@numba.njit(cache=True, inline="always")
def _put(
    X: int, iz: float, c0: np.ndarray, c1: np.ndarray, t: float, zbuf: np.ndarray, out: np.ndarray
) -> None:
    """Z-test pixel X of the row at inverse depth iz; write colour (1 - t) c0 + t c1."""
    if iz > zbuf[X]:
        zbuf[X] = iz
        for ch in range(3):
            v = c0[ch] + t * (np.float32(c1[ch]) - np.float32(c0[ch]))
            out[X, ch] = np.uint8(int(v + 0.5))


@numba.njit(cache=True, inline="always")
def _cap(lo: float, hi: float, iz: float, c: np.ndarray, zbuf: np.ndarray, out: np.ndarray) -> None:
    """Constant-colour, constant-depth piece [lo, hi] (pixels) of one vertex."""
    width = zbuf.shape[0]
    first = max(int(math.ceil(lo)), 0)
    last = min(int(math.floor(hi)), width - 1)
    for X in range(first, last + 1):
        _put(X, iz, c, c, 0.0, zbuf, out)


@numba.njit(cache=True, inline="always")
def _span(
    a: float,
    b: float,
    iza: float,
    izb: float,
    ca: np.ndarray,
    cb: np.ndarray,
    zbuf: np.ndarray,
    out: np.ndarray,
) -> None:
    """Joined edge from x' = a to x' = b: interpolate inverse depth and colour. An edge
    with b <= a faces away from the eye (the surface folds behind itself): not drawn."""
    width = zbuf.shape[0]
    if b <= a:
        return
    first = max(int(math.ceil(a)), 0)
    last = min(int(math.floor(b)), width - 1)
    scale = 1.0 / (b - a)
    for X in range(first, last + 1):
        t = (X - a) * scale
        _put(X, iza + t * (izb - iza), ca, cb, t, zbuf, out)


@numba.njit(parallel=True, cache=True)
def row_cuts(inv_depth: np.ndarray, gains: np.ndarray, cut_px: float) -> np.ndarray:
    """Which row edges the cut rule (surface.py) cuts, per eye.

    inv_depth: (H, W) float32, 1/metres; gains: (E,) float64 (render_rows); cut_px: the
    cut rule's threshold, pixels. Returns (E, H, W - 1) bool, True where the edge from
    (y, x) to (y, x + 1) is cut for eye e."""
    height, width = inv_depth.shape
    eyes = gains.shape[0]
    cuts = np.zeros((eyes, height, max(width - 1, 0)), np.bool_)
    for y in numba.prange(height):
        row_iz = inv_depth[y]
        diz = np.zeros(width + 1)  # inverse depth steps, 0 beyond the row
        rel = np.zeros(width + 1)  # relative steps (surface.relative_step)
        for x in range(width - 1):
            diz[x + 1] = row_iz[x + 1] - row_iz[x]
            rel[x + 1] = relative_step(row_iz[x], row_iz[x + 1])
        for e in range(eyes):
            gain = gains[e]
            for x in range(width - 1):
                cuts[e, y, x] = not kept_along_x(
                    gain * diz[x + 1],
                    gain * diz[x],
                    gain * diz[x + 2],
                    cut_px,
                    rel[x + 1],
                    rel[x],
                    rel[x + 2],
                )
    return cuts


@numba.njit(parallel=True, cache=True)
def render_rows(
    colour: np.ndarray,
    inv_depth: np.ndarray,
    cuts: np.ndarray,
    outline: np.ndarray,
    gains: np.ndarray,
    shifts: np.ndarray,
    green: bool,
    fill: bool,
    out_colour: np.ndarray,
    out_mask: np.ndarray,
    out_inv_depth: np.ndarray,
) -> None:
    """Render E eyes of one frame.

    colour: (H, W, 3) uint8 source image. inv_depth: (H, W) float32, 1/metres (z-depth).
    cuts: (E, H, W - 1) bool, the cut edges of each eye (row_cuts).
    outline: (H, W - 1) float64, where the outline between pixels x and x + 1 of each row
        lies, as a fraction of the gap (outline.outline_positions); used at cuts.
    gains: (E,) float64, pixels * metres: an eye moved by t_x metres along the source
        camera's x axis sees x' = x + shift + gain * inv_depth with gain = fx * t_x
        (t_x the x translation of eye_from_source: -offset for an eye moved right).
    shifts: (E,) float64, pixels: horizontal image shift (target cx - source cx).
    green: write the green-and-black mask instead of directions.
    fill: colour holes with the background next to them (infill_mask.finish_row), else black.
    out_colour: (E, H, W, 3) uint8; out_mask: (E, H, W, 3) uint8 infill mask;
    out_inv_depth: (E, H, W) float32, the eye's inverse z-depth, 0 at holes.
    """
    height, width = inv_depth.shape
    eyes = gains.shape[0]
    unresolved = np.zeros((eyes, height), np.int64)
    for y in numba.prange(height):
        dir_x = np.zeros(width, np.float32)  # no cut directions needed: the row rule
        dir_y = np.zeros(width, np.float32)  # finds the far side of every hole
        src = colour[y]
        row_iz = inv_depth[y]
        for e in range(eyes):
            gain, shift = gains[e], shifts[e]
            zbuf = out_inv_depth[e, y]
            out = out_colour[e, y]
            zbuf[:] = 0.0
            iza = row_iz[0]
            a = shift + gain * iza
            iz_edge = border_inv_depth(row_iz, 0, width > 1 and not cuts[e, y, 0], 0.5)
            _span(-0.5 + shift + gain * iz_edge, a, iz_edge, iza, src[0], src[0], zbuf, out)
            for x in range(width - 1):
                izb = row_iz[x + 1]
                b = x + 1.0 + shift + gain * izb
                if cuts[e, y, x]:
                    edge = outline[y, x]
                    _cap(a, a + edge, iza, src[x], zbuf, out)
                    _cap(b - (1.0 - edge), b, izb, src[x + 1], zbuf, out)
                else:
                    _span(a, b, iza, izb, src[x], src[x + 1], zbuf, out)
                a, iza = b, izb
            iz_edge = border_inv_depth(row_iz, width - 1, width > 1 and not cuts[e, y, width - 2], 0.5)
            _span(
                a,
                width - 0.5 + shift + gain * iz_edge,
                iza,
                iz_edge,
                src[width - 1],
                src[width - 1],
                zbuf,
                out,
            )
            unresolved[e, y] = finish_row(zbuf, out, out_mask[e, y], dir_x, dir_y, green, fill)
    for e in range(eyes):
        if unresolved[e].any():
            finish_whole_rows(out_inv_depth[e], out_mask[e], green)
