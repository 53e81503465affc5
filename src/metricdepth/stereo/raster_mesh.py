"""The renderer's general case, compiled for the CPU: an eye anywhere (rotation and
translation relative to the source camera, other intrinsics), as stabilised rendering
with a transformation file needs.

The surface model is the one of raster_rows.py, in two dimensions: each source pixel is
a vertex at its centre; each square of four neighbouring vertices is split into two
triangles along its (x, y)-(x+1, y+1) diagonal; a triangle is cut when one of its edges
is (surface.py; a vertex's parallax is its position in the eye minus where a point at
infinity on the same ray would be). A vertex next to a cut triangle or on the image
border also draws its own pixel square at its own depth ("cap", constant colour; along
the row it reaches the outline estimated by outline.py instead of half a pixel, and at
the left and right image border it continues the surface's slope,
surface.border_inv_depth), so surfaces end where their outlines are. Inside a triangle,
inverse depth is interpolated linearly on screen and colour perspective-correctly;
nearer wins (z-buffer on inverse depth). Cut triangles are drawn into a separate
"ghost" buffer only to know, for each hole, the direction from the near to the far side
of the cut (infill_mask.py). The triangles are drawn in bands of source rows, one band
per thread, each into buffers of its own; merging them (nearer wins, the earlier band on
a tie) gives exactly the image of drawing every triangle in order into one z-buffer. The
caps follow on one thread.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import numba
from .infill_mask import finish_row, finish_whole_rows
from .outline import outline_at
from .surface import border_inv_depth, kept, relative_step

MIN_EYE_DEPTH_M = 1e-3  # vertices closer to (or behind) the eye than this are dropped
_INSIDE_EPS = 1e-4  # barycentric tolerance (about pixels for these unit triangles)
_EDGE_PX = 1e-4  # the bounding box reaches this far (pixels): centres on an edge (a row of
# the source, say) are drawn even when rounding puts them a hair outside


@numba.njit(cache=True)
def _project(
    R: np.ndarray, t: np.ndarray, src: np.ndarray, dst: np.ndarray, x: float, y: float, z: float
) -> tuple[float, float, float, float, float, bool]:
    """Source pixel (x, y) at z-depth z -> eye pixel (x', y'), eye inverse depth and the
    parallax (x' - x_inf, y' - y_inf); src, dst: (fx, fy, cx, cy). ok = False when the
    point or its ray's point at infinity is not in front of the eye."""
    rx = (x - src[2]) / src[0]
    ry = (y - src[3]) / src[1]
    dx = R[0, 0] * rx + R[0, 1] * ry + R[0, 2]
    dy = R[1, 0] * rx + R[1, 1] * ry + R[1, 2]
    dz = R[2, 0] * rx + R[2, 1] * ry + R[2, 2]
    qx, qy, qz = dx * z + t[0], dy * z + t[1], dz * z + t[2]
    if qz < MIN_EYE_DEPTH_M or dz <= 0.0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, False
    xe = dst[0] * qx / qz + dst[2]
    ye = dst[1] * qy / qz + dst[3]
    return xe, ye, 1.0 / qz, xe - (dst[0] * dx / dz + dst[2]), ye - (dst[1] * dy / dz + dst[3]), True


@numba.njit(cache=True)
def _bounds(px: np.ndarray, py: np.ndarray, height: int, width: int) -> tuple[int, int, int, int, float]:
    """Pixel rows/columns (x0, x1, y0, y1, inclusive) a triangle with corners px, py (3,)
    can cover in an image of height x width, and 1 / its signed area. A degenerate
    triangle gets an empty range."""
    area = (px[1] - px[0]) * (py[2] - py[0]) - (px[2] - px[0]) * (py[1] - py[0])
    if abs(area) < 1e-12:
        return 0, -1, 0, -1, 0.0
    x0 = max(int(math.ceil(min(px[0], px[1], px[2]) - _EDGE_PX)), 0)
    x1 = min(int(math.floor(max(px[0], px[1], px[2]) + _EDGE_PX)), width - 1)
    y0 = max(int(math.ceil(min(py[0], py[1], py[2]) - _EDGE_PX)), 0)
    y1 = min(int(math.floor(max(py[0], py[1], py[2]) + _EDGE_PX)), height - 1)
    return x0, x1, y0, y1, 1.0 / area


@numba.njit(cache=True)
def _weights(
    px: np.ndarray, py: np.ndarray, x: float, y: float, inv_area: float
) -> tuple[float, float, float]:
    """Barycentric weights of pixel (x, y) in the triangle px, py (3,)."""
    w0 = ((px[1] - x) * (py[2] - y) - (px[2] - x) * (py[1] - y)) * inv_area
    w1 = ((px[2] - x) * (py[0] - y) - (px[0] - x) * (py[2] - y)) * inv_area
    return w0, w1, 1.0 - w0 - w1


@numba.njit(cache=True, inline="always")
def _depth_at(
    px: np.ndarray, py: np.ndarray, iz: np.ndarray, x: float, y: float, inv_area: float
) -> tuple[bool, np.float32, float, float, float]:
    """Whether pixel (x, y) lies in the triangle px, py (3,), its inverse depth there
    interpolated from iz (3,) and rounded to float32 as the buffers store it (so equal
    depths compare as ties, whatever order the triangles come in), and its barycentric
    weights."""
    w0, w1, w2 = _weights(px, py, x, y, inv_area)
    inside = w0 >= -_INSIDE_EPS and w1 >= -_INSIDE_EPS and w2 >= -_INSIDE_EPS
    return inside, np.float32(w0 * iz[0] + w1 * iz[1] + w2 * iz[2]), w0, w1, w2


@numba.njit(cache=True)
def _triangle(
    px: np.ndarray,
    py: np.ndarray,
    iz: np.ndarray,
    cols: np.ndarray,
    zbuf: np.ndarray,
    out: np.ndarray,
    margin: float,
) -> None:
    """Draw one triangle. px, py: (3,) eye pixels; iz: (3,) eye inverse depth;
    cols: (3, 3) float32 vertex colours; zbuf (H, W) float32; out (H, W, 3) uint8.
    A pixel is taken when empty or when the triangle is nearer by more than `margin`
    (inverse depth, 1/metres; 0 for the mesh, more for caps)."""
    height, width = zbuf.shape
    x0, x1, y0, y1, inv_area = _bounds(px, py, height, width)
    for Y in range(y0, y1 + 1):
        for X in range(x0, x1 + 1):
            inside, z, w0, w1, w2 = _depth_at(px, py, iz, X, Y, inv_area)
            if not inside:
                continue
            if zbuf[Y, X] > 0.0 and z <= zbuf[Y, X] + margin:
                continue
            zbuf[Y, X] = z
            l0, l1, l2 = w0 * iz[0] / z, w1 * iz[1] / z, w2 * iz[2] / z
            for ch in range(3):
                v = l0 * cols[0, ch] + l1 * cols[1, ch] + l2 * cols[2, ch]
                out[Y, X, ch] = np.uint8(min(max(int(v + 0.5), 0), 255))


@numba.njit(cache=True)
def _ghost(
    px: np.ndarray, py: np.ndarray, iz: np.ndarray, nx: float, ny: float, gbuf: np.ndarray, gdir: np.ndarray
) -> None:
    """Draw a cut triangle into the ghost buffer with direction (nx, ny)."""
    height, width = gbuf.shape
    x0, x1, y0, y1, inv_area = _bounds(px, py, height, width)
    for Y in range(y0, y1 + 1):
        for X in range(x0, x1 + 1):
            inside, z, _, _, _ = _depth_at(px, py, iz, X, Y, inv_area)
            if inside and z > gbuf[Y, X]:
                gbuf[Y, X] = z
                gdir[Y, X, 0] = nx
                gdir[Y, X, 1] = ny


@numba.njit(cache=True)
def _edge(
    parx: np.ndarray,
    pary: np.ndarray,
    ize: np.ndarray,
    ok: np.ndarray,
    x: int,
    y: int,
    dx: int,
    dy: int,
    cut_px: float,
) -> tuple[float, bool]:
    """Parallax step size and whether it is kept, for the edge from vertex (x, y) to
    (x + dx, y + dy), with the collinear edges before and after it (ize: the vertices'
    eye inverse depths, for the relative steps)."""
    height, width = ok.shape
    sx = parx[y + dy, x + dx] - parx[y, x]
    sy = pary[y + dy, x + dx] - pary[y, x]
    rel = relative_step(ize[y, x], ize[y + dy, x + dx])
    bx = by = ax = ay = rel_b = rel_a = 0.0
    if x - dx >= 0 and y - dy >= 0 and ok[y - dy, x - dx]:
        bx, by = parx[y, x] - parx[y - dy, x - dx], pary[y, x] - pary[y - dy, x - dx]
        rel_b = relative_step(ize[y - dy, x - dx], ize[y, x])
    x2, y2 = x + 2 * dx, y + 2 * dy
    if x2 < width and y2 < height and ok[y2, x2]:
        ax = parx[y2, x2] - parx[y + dy, x + dx]
        ay = pary[y2, x2] - pary[y + dy, x + dx]
        rel_a = relative_step(ize[y + dy, x + dx], ize[y2, x2])
    return math.hypot(sx, sy), kept(sx, sy, bx, by, ax, ay, cut_px, rel, rel_b, rel_a)


# the two triangles of the square (x, y)..(x+1, y+1), as (dx, dy) of their vertices
_TRIANGLES = np.array([[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1], [0, 1]]], np.int64)


BAND_ROWS = 32  # source rows of squares per band of the parallel triangle pass
_MAX_BAND_OVERLAP = 4.0  # bands reaching more eye rows than this many frames in all: one band


@numba.njit(cache=True)
def _bands(ye: np.ndarray, ok: np.ndarray, band_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the squares' source rows into bands of `band_rows` for the parallel triangle
    pass. Returns, for B bands, int64 arrays: the bands' source rows (B + 1,) (band b
    draws the squares whose top row is in [rows[b], rows[b + 1])), the first eye row
    each band's buffer holds (B,), and the buffers' row offsets into one array (B + 1,).
    A band's buffer spans the eye rows its vertices reach. If the bands together would
    reach more than _MAX_BAND_OVERLAP frames (a strongly rolled eye), one band over the
    whole frame is used instead."""
    height, width = ye.shape
    count = max((height - 1 + band_rows - 1) // band_rows, 1)
    rows = np.minimum(np.arange(count + 1) * band_rows, height - 1)
    first_row = np.zeros(count, np.int64)
    offsets = np.zeros(count + 1, np.int64)
    for b in range(count):
        lo, hi = np.inf, -np.inf
        for y in range(rows[b], min(rows[b + 1] + 1, height)):
            for x in range(width):
                if ok[y, x]:
                    lo = min(lo, ye[y, x])
                    hi = max(hi, ye[y, x])
        if lo <= hi:
            first_row[b] = max(int(math.floor(lo)) - 1, 0)
            last = min(int(math.ceil(hi)) + 1, height - 1)
            offsets[b + 1] = offsets[b] + max(last - first_row[b] + 1, 0)
        else:
            offsets[b + 1] = offsets[b]
    if offsets[count] > _MAX_BAND_OVERLAP * height:
        return (np.array([0, height - 1], np.int64), np.zeros(1, np.int64), np.array([0, height], np.int64))
    return rows, first_row, offsets


@numba.njit(parallel=True, cache=True)
def _merge_bands(
    first_row: np.ndarray,
    offsets: np.ndarray,
    zband: np.ndarray,
    cband: np.ndarray,
    gband: np.ndarray,
    dband: np.ndarray,
    zbuf: np.ndarray,
    out: np.ndarray,
    gdir: np.ndarray,
) -> None:
    """Merge the bands' buffers (row i of all bands stacked, _bands' layout) into the
    frame's zbuf (H, W), out (H, W, 3) and gdir (H, W, 2): nearer wins, the earlier band
    on a tie, for the surface and for the ghosts alike."""
    height, width = zbuf.shape
    for Y in numba.prange(height):
        zbuf[Y] = 0.0
        gbest = np.zeros(width, np.float32)
        for b in range(len(first_row)):
            row = Y - first_row[b]
            if row < 0 or row >= offsets[b + 1] - offsets[b]:
                continue
            i = offsets[b] + row
            for X in range(width):
                if zband[i, X] > zbuf[Y, X]:
                    zbuf[Y, X] = zband[i, X]
                    out[Y, X] = cband[i, X]
                if gband[i, X] > gbest[X]:
                    gbest[X] = gband[i, X]
                    gdir[Y, X] = dband[i, X]


@numba.njit(cache=True)
def _draw_band(
    y0: int,
    y1: int,
    row0: int,
    colour: np.ndarray,
    xe: np.ndarray,
    ye: np.ndarray,
    ize: np.ndarray,
    parx: np.ndarray,
    pary: np.ndarray,
    ok: np.ndarray,
    cut_px: float,
    capped: np.ndarray,
    zbuf: np.ndarray,
    out: np.ndarray,
    gbuf: np.ndarray,
    gdir: np.ndarray,
) -> None:
    """Draw the two triangles of every square with top-left vertex in source rows
    [y0, y1): joined ones into zbuf / out, cut ones into the ghost buffers gbuf / gdir;
    row 0 of all four buffers is eye row row0 (rows outside are not drawn). Marks the
    vertices of cut or invalid triangles in `capped` (H, W) bool. The other arrays are
    render_mesh's."""
    width = ok.shape[1]
    px = np.empty(3)
    py = np.empty(3)
    iz = np.empty(3)
    cols = np.empty((3, 3), np.float32)
    vy = np.empty(3, np.int64)
    vx = np.empty(3, np.int64)
    for y in range(y0, y1):
        for x in range(width - 1):
            for tri in range(2):
                valid = True
                for k in range(3):
                    vx[k] = x + _TRIANGLES[tri, k, 0]
                    vy[k] = y + _TRIANGLES[tri, k, 1]
                    valid = valid and ok[vy[k], vx[k]]
                if not valid:
                    for k in range(3):
                        capped[vy[k], vx[k]] = True
                    continue
                worst, near, far, joined = -1.0, 0, 0, True
                for k in range(3):
                    i, j = k, (k + 1) % 3
                    if vx[j] + vy[j] < vx[i] + vy[i]:
                        i, j = j, i  # walk the edge in +x / +y
                    diff, keep = _edge(
                        parx, pary, ize, ok, vx[i], vy[i], vx[j] - vx[i], vy[j] - vy[i], cut_px
                    )
                    joined = joined and keep
                    if diff > worst:
                        worst = diff
                        if ize[vy[i], vx[i]] >= ize[vy[j], vx[j]]:
                            near, far = i, j
                        else:
                            near, far = j, i
                for k in range(3):
                    px[k] = xe[vy[k], vx[k]]
                    py[k] = ye[vy[k], vx[k]] - row0
                    iz[k] = ize[vy[k], vx[k]]
                if joined:
                    for k in range(3):
                        for ch in range(3):
                            cols[k, ch] = colour[vy[k], vx[k], ch]
                    _triangle(px, py, iz, cols, zbuf, out, 0.0)
                else:
                    for k in range(3):
                        capped[vy[k], vx[k]] = True
                    nx, ny = px[far] - px[near], py[far] - py[near]
                    norm = math.hypot(nx, ny)
                    if norm > 0.0:
                        _ghost(px, py, iz, nx / norm, ny / norm, gbuf, gdir)


@numba.njit(parallel=True, cache=True)
def render_mesh(
    colour: np.ndarray,
    depth: np.ndarray,
    inv_depth: np.ndarray,
    src: np.ndarray,
    R: np.ndarray,
    t: np.ndarray,
    dst: np.ndarray,
    cut_px: float,
    green: bool,
    fill: bool,
    out_colour: np.ndarray,
    out_mask: np.ndarray,
    out_inv_depth: np.ndarray,
    band_rows: int = BAND_ROWS,
) -> None:
    """Render one eye of one frame.

    colour: (H, W, 3) uint8 source image; depth: (H, W) float32, metres, z-depth.
    inv_depth: (H, W) float32, 1 / depth (for outline.outline_at).
    src, dst: (4,) float64 (fx, fy, cx, cy) of the source camera and of the eye, pixels.
    R: (3, 3), t: (3,) float64, eye_from_source (metres). cut_px: the cut rule's
    threshold (surface.py), pixels. green: green-and-black mask.
    fill: colour holes with the background next to them, else black.
    out_colour, out_mask: (H, W, 3) uint8; out_inv_depth: (H, W) float32, 0 at holes.
    band_rows: source rows per band of the parallel triangle pass (any value gives the
    same image; at least the image height: one band, the triangles in order).
    """
    height, width = depth.shape
    xe = np.empty((height, width))
    ye = np.empty((height, width))
    ize = np.empty((height, width))
    parx = np.empty((height, width))
    pary = np.empty((height, width))
    ok = np.empty((height, width), np.bool_)
    for y in numba.prange(height):
        for x in range(width):
            xe[y, x], ye[y, x], ize[y, x], parx[y, x], pary[y, x], ok[y, x] = _project(
                R, t, src, dst, x, y, depth[y, x]
            )

    # the triangles, in bands of source rows drawn in parallel, each into buffers of the
    # eye rows it can reach; merged in band order, nearer wins and the earlier band on a
    # tie: exactly what drawing them all one by one gives
    capped = np.zeros((height, width), np.bool_)
    capped[0, :] = True
    capped[-1, :] = True
    capped[:, 0] = True
    capped[:, -1] = True
    rows, first_row, offsets = _bands(ye, ok, band_rows)
    zband = np.zeros((offsets[-1], width), np.float32)
    cband = np.zeros((offsets[-1], width, 3), np.uint8)
    gband = np.zeros((offsets[-1], width), np.float32)
    dband = np.zeros((offsets[-1], width, 2), np.float32)
    for band in numba.prange(len(first_row)):
        lo, hi = offsets[band], offsets[band + 1]
        _draw_band(
            rows[band],
            rows[band + 1],
            first_row[band],
            colour,
            xe,
            ye,
            ize,
            parx,
            pary,
            ok,
            cut_px,
            capped,
            zband[lo:hi],
            cband[lo:hi],
            gband[lo:hi],
            dband[lo:hi],
        )
    zbuf = out_inv_depth
    gdir = np.zeros((height, width, 2), np.float32)
    _merge_bands(first_row, offsets, zband, cband, gband, dband, zbuf, out_colour, gdir)

    px = np.empty(3)
    py = np.empty(3)
    iz = np.empty(3)
    cols = np.empty((3, 3), np.float32)
    # caps: the pixel square of each vertex at a cut or border, at its own depth, reaching
    # across the row to the outlines on either side (outline.py); a cap
    # covers what is empty, or a surface it would have been cut from (its parallax
    # differs by more than cut_px: inverse depth by more than cut_px / (f |t|)), never
    # its own joined neighbours
    reach = max(dst[0], dst[1]) * math.sqrt(t[0] ** 2 + t[1] ** 2 + t[2] ** 2)
    margin = cut_px / reach if reach > 0.0 else np.inf
    for y in range(height):
        known_x, known = -1, 0.5  # the last outline found in this row: edge (x, x + 1)
        for x in range(width):
            if not (capped[y, x] and ok[y, x]):
                continue
            valid = True
            last_x, last_y, last_iz = 0.0, 0.0, 0.0
            if x > 0:
                reach_left = 1.0 - (known if known_x == x - 1 else outline_at(inv_depth, y, x - 1))
            else:
                reach_left = 0.5
            reach_right = outline_at(inv_depth, y, x) if x < width - 1 else 0.5
            known_x, known = x, reach_right
            joined = False  # a border vertex's edge inwards: its cap follows that slope
            if x == 0 and width > 1:
                joined = ok[y, 1] and _edge(parx, pary, ize, ok, 0, y, 1, 0, cut_px)[1]
            elif x == width - 1 and width > 1:
                joined = ok[y, x - 1] and _edge(parx, pary, ize, ok, x - 1, y, 1, 0, cut_px)[1]
            for k in range(4):
                cx = x + (reach_right if k == 1 or k == 2 else -reach_left)
                cy = y + (0.5 if k >= 2 else -0.5)
                z = depth[y, x]
                if joined:
                    z = 1.0 / border_inv_depth(inv_depth[y], x, True, cx - x if x > 0 else x - cx)
                a, b, c, _, _, good = _project(R, t, src, dst, cx, cy, z)
                if k < 3:
                    px[k], py[k], iz[k] = a, b, c
                else:
                    last_x, last_y, last_iz = a, b, c
                valid = valid and good
            if not valid:
                continue
            for k in range(3):
                for ch in range(3):
                    cols[k, ch] = colour[y, x, ch]
            _triangle(px, py, iz, cols, zbuf, out_colour, margin)  # corners 0, 1, 2
            px[1], py[1], iz[1] = last_x, last_y, last_iz  # corners 0, 3, 2
            _triangle(px, py, iz, cols, zbuf, out_colour, margin)

    unresolved = 0
    for y in range(height):
        unresolved += finish_row(
            zbuf[y], out_colour[y], out_mask[y], gdir[y, :, 0], gdir[y, :, 1], green, fill
        )
    if unresolved:
        finish_whole_rows(zbuf, out_mask, green)
