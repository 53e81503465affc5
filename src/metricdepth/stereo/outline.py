"""Where, between two source pixel centres, a depth outline really lies.

    outline = outline_positions(inv_depth, cut_edges)   # (H, W - 1), in (0, 1)
    outline[y, x] == 0.3   # the outline crosses row y at x + 0.3
    outline_at(inv_depth, y, x)                         # the same, for one edge

The renderers cut the surface at depth steps and let each side keep its own pixels up to
the outline ("caps", raster_rows.py). Depth is sampled at pixel centres, so one row alone
only says that the outline lies somewhere between the last near pixel and the first far
one; taking the middle misplaces the hole the cut opens in the eye by up to half a pixel,
and at 320x240 holes are only 0.4-3 px wide. The outline's course over neighbouring rows
and columns pins it down (docs/step6_stereo.md, "Hole outlines"):

- Straight run: the outline is followed up and down the image, row by row, as far as
  LINE_ROWS rows. Each row's crossing is known to lie in its own pixel gap; if one
  straight line passes through the gaps of at least LINE_MIN_ROWS consecutive rows
  around this one, the outline is taken at the middle of the positions such lines allow
  in this row (the longest such run decides). A slightly slanted box edge steps one
  column every few dozen rows, and each step narrows the range.
- Otherwise (a curved outline: a sphere's): a weighted quadratic is fitted to the
  outline's crossings of rows and of columns within FIT_RADIUS pixels, each crossing
  weighted by how well it fixes the curve's position in this row, and solved for this
  row.
- Neither says anything about an outline that is straight along a column; it stays in
  the middle (0.5), as does every edge whose relative inverse-depth step is at most
  MIN_REL_STEP (no outline there).

Which side a pixel belongs to is decided by its inverse depth: nearer to the edge's left
pixel's value or to its right pixel's (for the curve fit, within the connected region of
that side holding the edge's pixel). Only the depth is used, never the colour. Following
an outline stops where it is lost, and the row before is dropped: at an outline's end or
turn its crossing lies on the corner.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import numba

MIN_REL_STEP = 0.02  # relative inverse-depth step of an edge that may be an outline
LINE_ROWS = 40  # rows followed up and down for a straight run
LINE_MIN_ROWS = 31  # a straight run over this many rows decides the position
LINE_STEPS = 50  # candidate positions tried across the pixel gap
MAX_JUMP_PX = 3  # a followed outline moves at most this far from one row to the next
FIT_RADIUS = 8  # pixels: crossings this far (in x and y) join the curve fit
FIT_SIGMA = 4.0  # pixels: Gaussian weight of a crossing by its distance
_FIT_PASSES = 3  # reweighting passes (the weights depend on the fitted slope)
_MIN_SLOPE_VAR = 0.05  # floor of a crossing's variance factor (a slope of about 0.22)
_EDGE_MARGIN = 0.02  # positions stay this far inside the gap (pixels)
_CANDIDATES = (np.arange(LINE_STEPS) + 0.5) / LINE_STEPS  # c0 of _straight_position
# _fill_runs moves bits this many columns at a time: across the fit window's 2 FIT_RADIUS
# columns (bit masks of int64: at most 63)
_FILL_SHIFTS = tuple(1 << k for k in range((2 * FIT_RADIUS - 1).bit_length()))


@numba.njit(cache=True, inline="always")
def _is_step(a: float, b: float, rel: float) -> bool:
    """Whether inverse depths a, b differ by more than `rel` relative to the larger."""
    top = max(a, b)
    return top > 0.0 and abs(b - a) > rel * top


@numba.njit(cache=True, inline="always")
def _left_side(v: float, left: float, right: float) -> bool:
    """Whether inverse depth v belongs with `left` rather than `right`."""
    return abs(v - left) < abs(v - right)


@numba.njit(cache=True, inline="always")
def _crossing(here: float, next_: float, left: float, right: float) -> bool:
    """Whether the outline between inverse depths `left` and `right` crosses between
    neighbouring pixels of inverse depths `here` and `next_` (along a row). (Values, not
    the array: a call with an array argument costs more than the test in this loop.)"""
    return (
        _left_side(here, left, right)
        and not _left_side(next_, left, right)
        and _is_step(here, next_, 0.5 * MIN_REL_STEP)
    )


@numba.njit(cache=True)
def _follow(iz: np.ndarray, y: int, x: int, columns: np.ndarray) -> None:
    """Follow the outline of edge (y, x) up and down. columns: (2 LINE_ROWS + 1,) int64,
    filled with the crossing's left column in row y + j at index LINE_ROWS + j, -1 from
    where the outline is lost. Where it is lost inside the image, the last row found is
    dropped too: an outline that turns flat (a box's top edge) or ends there puts that
    row's crossing on the corner, off the straight run."""
    height, width = iz.shape
    left, right = iz[y, x], iz[y, x + 1]
    columns[:] = -1
    columns[LINE_ROWS] = x
    for sign in (1, -1):
        prev = x
        for j in range(1, LINE_ROWS + 1):
            yy = y + sign * j
            if yy < 0 or yy >= height:
                break
            best = -1
            for k in range(2 * MAX_JUMP_PX + 1):  # nearest first: prev, prev - 1, prev + 1, ...
                q = prev + (k + 1) // 2 * (1 if k % 2 == 0 else -1)
                if 0 <= q <= width - 2 and _crossing(iz[yy, q], iz[yy, q + 1], left, right):
                    best = q
                    break
            if best < 0:
                if j > 1:  # the outline ends or turns flat: its last row is the corner's
                    columns[LINE_ROWS + sign * (j - 1)] = -1
                break
            columns[LINE_ROWS + sign * j] = best
            prev = best


@numba.njit(cache=True)
def _straight_position(columns: np.ndarray, x: int, lo: np.ndarray, hi: np.ndarray) -> float:
    """Position in (0, 1) past x where straight lines through the gaps of the longest
    run of at least LINE_MIN_ROWS followed rows cross this row (middle of the allowed
    range), or NaN. lo, hi: (LINE_STEPS,) float64 scratch: per candidate position
    c0 = (g + 0.5) / LINE_STEPS, the range of slopes (pixels per row) still allowed."""
    followed = 0
    for q in columns:
        followed += q >= 0
    if followed < LINE_MIN_ROWS:
        return math.nan
    lo[:] = -np.inf
    hi[:] = np.inf
    first, last = 0, LINE_STEPS - 1  # the allowed candidates (a range: the set is convex)
    rows, found = 1, math.nan
    for m in range(1, LINE_ROWS + 1):
        for j in (-m, m):
            q = columns[LINE_ROWS + j]
            if q < 0:
                continue
            rows += 1
            # the slopes through this row's gap: (q - x - c0) / j to (q + 1 - x - c0) / j,
            # swapped for j < 0
            start, end = (q - x, q + 1 - x) if j > 0 else (q + 1 - x, q - x)
            for g in range(np.uint64(first), np.uint64(last + 1)):  # unsigned: vectorises
                lo[g] = max(lo[g], (start - _CANDIDATES[g]) / j)
                hi[g] = min(hi[g], (end - _CANDIDATES[g]) / j)
        while first <= last and lo[first] >= hi[first]:
            first += 1
        while last >= first and lo[last] >= hi[last]:
            last -= 1
        if first > last:
            break
        if rows >= LINE_MIN_ROWS:
            found = (first + last + 1.0) / (2.0 * LINE_STEPS)
    return found


@numba.njit(cache=True)
def _fit_quadratic(u: np.ndarray, v: np.ndarray, loose_u: np.ndarray, count: int, coef: np.ndarray) -> bool:
    """Weighted least-squares v = c0 + c1 u + c2 u^2 through `count` crossings (u, v),
    pixels, relative to the edge's middle. A crossing is known to half a pixel along v,
    or along u where loose_u (then its v is uncertain by the slope times that). coef: (3,)
    out. False when the crossings do not determine a quadratic."""
    coef[:] = 0.0
    gauss = np.empty(count)  # each crossing's Gaussian weight by its distance
    for i in range(count):
        gauss[i] = math.exp(-(u[i] ** 2 + v[i] ** 2) / (2.0 * FIT_SIGMA**2))
    system = np.empty((3, 4))  # the normal equations M c = r as [M | r]
    for p in range(_FIT_PASSES):
        system[:] = 0.0
        for i in range(count):
            weight = gauss[i]
            if loose_u[i]:
                slope = coef[1] + 2.0 * coef[2] * u[i]
                weight /= max(slope * slope, _MIN_SLOPE_VAR) if p > 0 else 1.0
            powers = (1.0, u[i], u[i] * u[i])
            for a in range(3):
                system[a, 3] += weight * powers[a] * v[i]
                for b in range(3):
                    system[a, b] += weight * powers[a] * powers[b]
        if not _solve3(system, coef):
            return False
    return True


@numba.njit(cache=True)
def _solve3(system: np.ndarray, out: np.ndarray) -> bool:
    """Solve M c = r, system: (3, 4) [M | r] (overwritten), by Gaussian elimination with
    partial pivoting (what LAPACK's getrf does, in plain code: its calls through
    np.linalg cost ten times the arithmetic at this size) into out: (3,). False, out
    untouched, when |det M| < 1e-12 (det: the product of the pivots)."""
    det = 1.0
    for k in range(3):
        pivot_row = k  # the largest magnitude in column k, the first of equals
        for i in range(k + 1, 3):
            if abs(system[i, k]) > abs(system[pivot_row, k]):
                pivot_row = i
        if pivot_row != k:
            for j in range(k, 4):
                system[k, j], system[pivot_row, j] = system[pivot_row, j], system[k, j]
            det = -det
        pivot = system[k, k]
        det *= pivot
        if pivot == 0.0:
            return False
        for i in range(k + 1, 3):
            factor = system[i, k] / pivot
            for j in range(k + 1, 4):
                system[i, j] -= factor * system[k, j]
    if abs(det) < 1e-12:
        return False
    for i in range(2, -1, -1):
        total = system[i, 3]
        for j in range(i + 1, 3):
            total -= system[i, j] * out[j]
        out[i] = total / system[i, i]
    return True


@numba.njit(cache=True, inline="always")
def _fill_runs(seeds: int, runs: int) -> int:
    """The runs of set bits of `runs` (a window row, bit c = column c) that hold a bit
    of `seeds` (a subset of runs): occluded fills towards both ends, 1, 2, 4, ...
    columns at a time (_FILL_SHIFTS)."""
    up, down, pro_up, pro_down = seeds, seeds, runs, runs
    for shift in _FILL_SHIFTS:
        up |= pro_up & (up << shift)
        down |= pro_down & (down >> shift)
        pro_up &= pro_up << shift
        pro_down &= pro_down >> shift
    return up | down


@numba.njit(cache=True)
def _grow(pixels: np.ndarray, r: int, c: int, region: np.ndarray) -> None:
    """The pixels of a window connected to pixel (r, c) through its set pixels
    (4-neighbours): the near or far surface itself, without other objects that happen to
    lie at a similar depth elsewhere in the window. pixels: (rows,) int64, a bit mask per
    window row (bit c = column c), holding (r, c); region: (rows,) int64 out, the same
    form. Whole rows at a time (each row's runs, then the rows above and below, until
    nothing changes): a few dozen steps where a pixel-by-pixel fill took hundreds."""
    rows = pixels.shape[0]
    region[:] = 0
    region[r] = _fill_runs(1 << c, pixels[r])
    changed = True
    while changed:
        changed = False
        for i in range(1, rows):  # down, then up
            grown = region[i - 1] & pixels[i] & ~region[i]
            if grown:
                region[i] = _fill_runs(region[i] | grown, pixels[i])
                changed = True
        for i in range(rows - 2, -1, -1):
            grown = region[i + 1] & pixels[i] & ~region[i]
            if grown:
                region[i] = _fill_runs(region[i] | grown, pixels[i])
                changed = True


@numba.njit(cache=True)
def _curve_position(
    iz: np.ndarray,
    y: int,
    x: int,
    xs: np.ndarray,
    ys: np.ndarray,
    across_row: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    loose_u: np.ndarray,
    coef: np.ndarray,
) -> float:
    """Position in (0, 1) past x from a quadratic fitted to the outline's crossings near
    the edge (between the two surfaces of the edge, _grow), or NaN. xs, ys, across_row,
    u, v, loose_u: scratch of (2 FIT_RADIUS + 1)^2 * 2 items; coef: (3,) scratch."""
    height, width = iz.shape
    left, right = iz[y, x], iz[y, x + 1]
    y0, y1 = max(y - FIT_RADIUS, 0), min(y + FIT_RADIUS, height - 1)
    x0, x1 = max(x - FIT_RADIUS + 1, 0), min(x + FIT_RADIUS, width - 1)
    rows, cols = y1 - y0 + 1, x1 - x0 + 1
    masks = np.empty((3, rows), np.int64)  # bit masks per window row (_grow)
    side, left_region, right_region = masks[0], masks[1], masks[2]
    for r in range(rows):
        bits = 0
        for c in range(cols):
            if _left_side(iz[y0 + r, x0 + c], left, right):
                bits |= 1 << c
        side[r] = bits  # the pixels on the edge's left side
    _grow(side, y - y0, x - x0, left_region)
    side ^= (1 << cols) - 1  # now those on its right side
    _grow(side, y - y0, x + 1 - x0, right_region)
    count, in_rows = 0, 0
    for r in range(rows):  # crossings between the two regions, in row order
        a, b = left_region[r], right_region[r]
        along = (a & (b >> 1)) | (b & (a >> 1))  # bit c: pixels c and c + 1 of this row
        below = (a & right_region[r + 1]) | (b & left_region[r + 1]) if r + 1 < rows else 0
        yy = y0 + r
        for c in range(cols):
            if not ((along | below) >> c) & 1:
                continue
            xx = x0 + c
            if (along >> c) & 1 and _is_step(iz[yy, xx], iz[yy, xx + 1], 0.5 * MIN_REL_STEP):
                xs[count], ys[count], across_row[count] = xx + 0.5 - (x + 0.5), yy - y, True
                count += 1
                in_rows += 1
            if (below >> c) & 1 and _is_step(iz[yy, xx], iz[yy + 1, xx], 0.5 * MIN_REL_STEP):
                xs[count], ys[count], across_row[count] = xx - (x + 0.5), yy + 0.5 - y, False
                count += 1
    steep = 2 * in_rows >= count  # mostly crossings of rows: fit x as a function of y
    for i in range(count):
        if steep:
            u[i], v[i], loose_u[i] = ys[i], xs[i], not across_row[i]
        else:
            u[i], v[i], loose_u[i] = xs[i], ys[i], across_row[i]
    if not _fit_quadratic(u, v, loose_u, count, coef):
        return math.nan
    if steep:
        return 0.5 + coef[0]
    return 0.5 + _nearest_root(coef[0], coef[1], coef[2])


@numba.njit(cache=True)
def _nearest_root(c0: float, c1: float, c2: float) -> float:
    """The root of c0 + c1 s + c2 s^2 nearest to 0 (where the fitted curve meets this
    row), or NaN when there is none."""
    if abs(c2) < 1e-9:
        return -c0 / c1 if abs(c1) > 1e-9 else math.nan
    disc = c1 * c1 - 4.0 * c2 * c0
    if disc < 0.0:
        return math.nan
    root = math.sqrt(disc)
    q = -0.5 * (c1 + math.copysign(root, c1))  # the numerically stable pair of roots
    a = q / c2
    b = c0 / q if q != 0.0 else a
    return a if abs(a) < abs(b) else b


@numba.njit(cache=True)
def outline_at(inv_depth: np.ndarray, y: int, x: int) -> float:
    """Where a depth outline between pixels (y, x) and (y, x + 1) crosses row y, as a
    fraction of the gap in [_EDGE_MARGIN, 1 - _EDGE_MARGIN]: 0.5 where the edge is no
    outline or nothing better than the middle is known. inv_depth: (H, W) float32,
    1/metres."""
    if not _is_step(inv_depth[y, x], inv_depth[y, x + 1], MIN_REL_STEP):
        return 0.5
    columns = np.empty(2 * LINE_ROWS + 1, np.int64)
    _follow(inv_depth, y, x, columns)
    pos = _straight_position(columns, x, np.empty(LINE_STEPS), np.empty(LINE_STEPS))
    if math.isnan(pos):
        size = (2 * FIT_RADIUS + 1) ** 2 * 2
        pos = _curve_position(
            inv_depth,
            y,
            x,
            np.empty(size),
            np.empty(size),
            np.empty(size, np.bool_),
            np.empty(size),
            np.empty(size),
            np.empty(size, np.bool_),
            np.empty(3),
        )
    if math.isnan(pos):
        return 0.5
    return min(max(pos, _EDGE_MARGIN), 1.0 - _EDGE_MARGIN)


@numba.njit(parallel=True, cache=True)
def outline_positions(inv_depth: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """outline_at for the horizontal edges marked in `edges`.

    inv_depth: (H, W) float32, 1/metres. edges: (H, W - 1) bool, the edges wanted (the
    cut ones: estimating costs some microseconds an edge). Returns (H, W - 1) float64,
    0.5 where not wanted."""
    height, width = inv_depth.shape
    out = np.full((height, max(width - 1, 0)), 0.5)
    ys, xs = np.nonzero(edges)
    for i in numba.prange(len(ys)):  # by edge, not by row: outlines gather in some rows
        out[ys[i], xs[i]] = outline_at(inv_depth, ys[i], xs[i])
    return out
