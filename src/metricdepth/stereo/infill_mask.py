"""The infill mask: which pixels of a rendered eye no source pixel covers, and which way
their content should come from.

Format (docs/formats.md, "Stereo video and infill mask"): black = keep; any other colour
is a hole, coloured with a unit direction n in the eye's camera frame as
round((n * 0.5 + 0.5) * 255) per channel (R = x, G = y, B = z). n lies in the image
plane (z = 0) and points from the hole towards the surface whose content belongs there:

- a hole opened by a cut depth edge: from the near side of the cut to the far side (the
  background that the foreground uncovered);
- a hole at the image border (the eye sees past the source frame's edge): a fixed
  direction into the image, ``BORDER_LEFT`` = (+1, 0, 0) for a hole run touching the left
  edge, ``BORDER_RIGHT`` = (-1, 0, 0) for the right edge, and, for hole runs along a whole
  row (general 3D path only), ``BORDER_TOP`` = (0, +1, 0) / ``BORDER_BOTTOM`` = (0, -1, 0).

No unit vector encodes to black or to pure green, so ``--green_and_black_infill_mask``
(hole = ``GREEN``, keep = black, for tools that only want holes) cannot be confused with
the direction-coded mask.

The helpers here are compiled (numba) so the renderers can call them per pixel.
"""

from __future__ import annotations

import numpy as np

from .._numba import numba

GREEN = (0, 255, 0)  # a hole in the green-and-black mask
BORDER_LEFT = (1.0, 0.0, 0.0)  # direction of holes touching the left image edge
BORDER_RIGHT = (-1.0, 0.0, 0.0)
BORDER_TOP = (0.0, 1.0, 0.0)  # y points down: from the top edge into the image
BORDER_BOTTOM = (0.0, -1.0, 0.0)
_BLOCK = 16  # finish_row looks for holes this many pixels at a time


def direction_colour(n: np.ndarray) -> np.ndarray:
    """(..., 3) unit directions, eye camera frame -> (..., 3) uint8 mask colours."""
    return np.rint((np.asarray(n, np.float64) * 0.5 + 0.5) * 255.0).astype(np.uint8)


def mask_directions(mask: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 direction-coded mask -> (..., 3) float32 directions (0 where keep).

    Decoding is exact to 1/255 per component; renormalise if a unit vector is needed."""
    n = mask.astype(np.float32) / 255.0 * 2.0 - 1.0
    n[~holes(mask)] = 0.0
    return n


def holes(mask: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 infill mask (either style) -> (...) bool, True = hole."""
    return np.asarray(mask.any(axis=-1))


@numba.njit(cache=True, inline="always")
def _encode(v: float) -> np.uint8:
    """One direction component in [-1, 1] -> its uint8 code, rounded half up."""
    return np.uint8(int((v * 0.5 + 0.5) * 255.0 + 0.5))


@numba.njit(cache=True, inline="always")
def write_hole(mask: np.ndarray, i: int, nx: float, ny: float, green: bool) -> None:
    """Write hole pixel i of a mask row. mask: (W, 3) uint8; (nx, ny): unit direction in
    the image plane; green: write GREEN instead of the direction. (The row and an index,
    inlined: a pixel's view, or a call with the row, costs an atomic reference count on
    the whole frame's array, which the threads rendering its other rows contend for.)"""
    if green:
        mask[i, 0] = 0
        mask[i, 1] = 255
        mask[i, 2] = 0
    else:
        mask[i, 0] = _encode(nx)
        mask[i, 1] = _encode(ny)
        mask[i, 2] = _encode(0.0)


@numba.njit(cache=True)
def finish_row(
    inv_depth: np.ndarray,
    colour: np.ndarray,
    mask: np.ndarray,
    dir_x: np.ndarray,
    dir_y: np.ndarray,
    green: bool,
    fill: bool,
) -> int:
    """Encode the holes of one rendered row (inv_depth == 0) and colour them.

    inv_depth: (W,) float32, 1/metres, 0 = hole. colour, mask: (W, 3) uint8 row views.
    dir_x, dir_y: (W,) float32 direction of each hole pixel already known (a cut
    edge's), or (0, 0) where not known: those get the row rule. Row rule: a hole run
    touching only the left edge gets BORDER_LEFT, only the right edge BORDER_RIGHT; a run
    between two covered pixels points to the farther of them (the background); a run
    spanning the whole row is left black here for `finish_whole_rows`.
    fill: colour a hole run with its farther covered neighbour (the background stretched
    into the hole, a fallback for viewers that skip infill); else black.
    Returns the number of pixels left black in the mask (whole-row holes).
    """
    width = inv_depth.shape[0]
    unresolved = 0
    mask[:] = 0
    x = 0
    while x < width:
        if x + _BLOCK <= width:  # skip covered pixels a block at a time (a loop that vectorises)
            covered = True
            for i in range(x, x + _BLOCK):
                covered &= inv_depth[i] > 0.0
            if covered:
                x += _BLOCK
                continue
        if inv_depth[x] > 0.0:
            x += 1
            continue
        start = x
        while x < width and inv_depth[x] == 0.0:
            x += 1
        left, right = start - 1, x  # covered neighbours (or outside the row)
        source = -1  # the farther covered neighbour
        if left < 0 and right >= width:
            rx, ry = 0.0, 0.0
        elif left < 0:
            rx, ry, source = BORDER_LEFT[0], BORDER_LEFT[1], right
        elif right >= width:
            rx, ry, source = BORDER_RIGHT[0], BORDER_RIGHT[1], left
        elif inv_depth[right] < inv_depth[left]:
            rx, ry, source = 1.0, 0.0, right
        else:
            rx, ry, source = -1.0, 0.0, left
        for i in range(start, x):
            for c in range(3):
                colour[i, c] = colour[source, c] if fill and source >= 0 else 0
            nx, ny = dir_x[i], dir_y[i]
            if nx == 0.0 and ny == 0.0:
                nx, ny = rx, ry
            if nx == 0.0 and ny == 0.0:
                unresolved += 1  # left black for finish_whole_rows
                continue
            write_hole(mask, i, nx, ny, green)
    return unresolved


@numba.njit(cache=True)
def finish_whole_rows(inv_depth: np.ndarray, mask: np.ndarray, green: bool) -> None:
    """Encode the holes that `finish_row` left: rows with nothing covered (the eye looks
    past the source frame's top or bottom edge). Rows above the first covered row get
    BORDER_TOP, rows below it BORDER_BOTTOM (with nothing covered at all: the upper half
    BORDER_TOP). inv_depth: (H, W) float32, 0 = hole; mask: (H, W, 3) uint8."""
    height, width = inv_depth.shape
    first = -1
    for y in range(height):
        for x in range(width):
            if inv_depth[y, x] > 0.0:
                first = y
                break
        if first >= 0:
            break
    for y in range(height):
        empty = True
        for x in range(width):
            if inv_depth[y, x] > 0.0:
                empty = False
                break
        if not empty:
            continue
        above = y < first if first >= 0 else y < height // 2
        n = BORDER_TOP if above else BORDER_BOTTOM
        row = mask[y]
        for x in range(width):
            if row[x, 0] == 0 and row[x, 1] == 0 and row[x, 2] == 0:
                write_hole(row, x, n[0], n[1], green)
