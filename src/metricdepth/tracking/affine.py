"""Affine patch alignment (inverse-compositional Lucas-Kanade), compiled, over many points.

Each point carries a template: the square patch around it in its anchor frame. Aligning
the template with a later frame under an affine warp (translation plus a 2x2 matrix for
scale, rotation and shear) finds the same surface point again without the bias a
translation-only window suffers when the view changes (perspective, zoom), so a point
does not drift however many frames it is tracked. Patches are compared after removing
their mean and contrast (gain and bias invariant) and weighted by a Gaussian centred
on the point. The normalised cross-correlation after alignment says how well the patch
still matches: a patch that straddles an occlusion boundary cannot be explained by one
affine warp and scores low.

Warp of template offset u (pixels, (x, y) relative to the template centre) into the
current frame: x = centre + M u, M (2, 2).

Building templates and aligning them runs compiled (numba), one point at a time: each
point's Gauss-Newton steps touch only its own window, so no (N, P, 6) arrays are built
per frame, and the points of a frame's alignment are split over the CPUs (threads.py).
Windows are sampled with exact bilinear interpolation (the border replicated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._numba import numba
from .threads import split_points

# Smallest determinant of the Gauss-Newton matrix (relative to its trace squared): below it
# the patch has too little texture in some direction to fix all six parameters.
MIN_CONDITION = 1e-4
# A window pixel whose residual after alignment exceeds this (normalised units: the
# patch's standard deviation is 1) does not show the template's surface there: something
# is in front of it. First pass, before the gain and bias are re-fitted without them:
# OCCLUDED_FIRST_PASS.
OCCLUDED_RESIDUAL = 0.5
OCCLUDED_FIRST_PASS = 1.0
# The affine alignment of a point stops once a step moves no window pixel by more than
# this (pixels): most points start within a few thousandths of a pixel of their answer
# (the frame-to-frame estimate and last frame's matrix), and what further steps would add
# is below this too (they shrink geometrically). Its correlation is then that of the
# window before that step (it differs from the one after by far less than `min_ncc`'s
# margin), which saves sampling the window again.
CONVERGED_PX = 0.01
# Gaussian weight of a window pixel: sigma = half window * this factor.
WEIGHT_SIGMA_FACTOR = 0.6
# The alignment is split over threads only in slices of at least this many points.
MIN_POINTS_PER_THREAD = 256


def _offsets(half: int) -> tuple[np.ndarray, np.ndarray]:
    """(P,) float32 x and y offsets of a (2 half + 1)^2 window, row by row."""
    r = np.arange(-half, half + 1, dtype=np.float32)
    ox, oy = np.meshgrid(r, r)
    return ox.ravel(), oy.ravel()


# Floating-point freedoms of the compiled loops: reordered sums (vectorised), no NaN or
# infinity assumptions (non-finite positions are handled).
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}


@numba.njit(cache=True, inline="always", fastmath=FASTMATH)
def _bilinear(image: np.ndarray, x: float, y: float) -> np.float32:
    """Bilinear sample (float32) of (H, W) `image` at pixel (x, y), the border replicated
    outside (a non-finite position samples the top-left pixel)."""
    h, w = image.shape
    if not x >= 0:
        x = 0
    if not y >= 0:
        y = 0
    x = min(x, w - 1)
    y = min(y, h - 1)
    x0, y0 = int(x), int(y)
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = np.float32(x - x0), np.float32(y - y0)
    a, b = np.float32(image[y0, x0]), np.float32(image[y0, x1])
    c, d = np.float32(image[y1, x0]), np.float32(image[y1, x1])
    top = a + fx * (b - a)
    bottom = c + fx * (d - c)
    return top + fy * (bottom - top)


@numba.njit(cache=True, inline="always", fastmath=FASTMATH)
def _window(
    image: np.ndarray,
    cx: float,
    cy: float,
    m00: float,
    m01: float,
    m10: float,
    m11: float,
    ox: np.ndarray,
    oy: np.ndarray,
    out: np.ndarray,
) -> None:
    """The window of (H, W) `image` at offsets (P,) `ox`, `oy` around centre (cx, cy)
    under matrix [[m00, m01], [m10, m11]] (pixels), into (P,) float32 `out`."""
    for k in range(len(ox)):
        out[k] = _bilinear(image, cx + m00 * ox[k] + m01 * oy[k], cy + m10 * ox[k] + m11 * oy[k])


@numba.njit(cache=True, inline="always", fastmath=FASTMATH)
def _normalise_into(values: np.ndarray, weights: np.ndarray, out: np.ndarray) -> float:
    """(P,) `values` with zero mean and unit norm, both weighted by (P,) `weights` (which
    sum to 1), into (P,) float32 `out` (may be `values`): gain and bias removed. Returns
    the weighted norm before normalising (0: a flat window)."""
    p = len(values)
    mean = np.float32(0.0)
    for k in range(p):
        mean += weights[k] * values[k]
    norm = np.float32(0.0)
    for k in range(p):
        out[k] = values[k] - mean
        norm += weights[k] * out[k] * out[k]
    scale = np.sqrt(norm)
    inv = np.float32(1.0) / max(scale, np.float32(1e-6))
    for k in range(p):
        out[k] *= inv
    return scale


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH)
def _align_kernel(
    patch: np.ndarray,
    gradient: np.ndarray,
    hessian_inv: np.ndarray,
    centre_in: np.ndarray,
    warp_in: np.ndarray,
    image: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    weights: np.ndarray,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AffineAligner.align for every point (arguments as there, the per-point ones first;
    `weights` (P,)); a point stops early once converged (CONVERGED_PX). The correlation
    of points whose template is not ok is left to the caller."""
    n, p = patch.shape
    centre = np.empty((n, 2), np.float32)
    warp = np.empty((n, 2, 2), np.float32)
    ncc = np.empty(n, np.float32)
    reach = max(np.abs(ox).max(), np.abs(oy).max())
    for i in range(n):
        current = np.empty(p, np.float32)
        b = np.empty(6)
        d = np.empty(6)
        cx, cy = np.float64(centre_in[i, 0]), np.float64(centre_in[i, 1])
        m00, m01 = np.float64(warp_in[i, 0, 0]), np.float64(warp_in[i, 0, 1])
        m10, m11 = np.float64(warp_in[i, 1, 0]), np.float64(warp_in[i, 1, 1])
        for step in range(iterations + 1):
            _window(image, cx, cy, m00, m01, m10, m11, ox, oy, current)
            _normalise_into(current, weights, current)
            if step == iterations:
                break
            # b = steepest-descent images (weighted) . error
            b0 = b1 = b2 = b3 = b4 = b5 = np.float32(0.0)
            for k in range(p):
                e = weights[k] * (current[k] - patch[i, k])
                tx, ty = gradient[i, k, 0] * e, gradient[i, k, 1] * e
                b0 += tx * ox[k]
                b1 += tx * oy[k]
                b2 += ty * ox[k]
                b3 += ty * oy[k]
                b4 += tx
                b5 += ty
            b[0], b[1], b[2], b[3], b[4], b[5] = b0, b1, b2, b3, b4, b5
            for j in range(6):
                d[j] = 0.0
                for k in range(6):
                    d[j] += hessian_inv[i, j, k] * b[k]
            # inverse composition: W <- W o dW^-1, dW = [[1 + d0, d1, d4], [d2, 1 + d3, d5]]
            det = (1.0 + d[0]) * (1.0 + d[3]) - d[1] * d[2]
            if det == 0.0 or not np.isfinite(det):
                cx = cy = np.float64(np.nan)
                break
            i00, i01, i10, i11 = (1.0 + d[3]) / det, -d[1] / det, -d[2] / det, (1.0 + d[0]) / det
            m00, m01, m10, m11 = (
                m00 * i00 + m01 * i10,
                m00 * i01 + m01 * i11,
                m10 * i00 + m11 * i10,
                m10 * i01 + m11 * i11,
            )
            cx -= m00 * d[4] + m01 * d[5]
            cy -= m10 * d[4] + m11 * d[5]
            # converged: no window pixel moved by CONVERGED_PX (template units)
            if abs(d[4]) + abs(d[5]) + reach * (abs(d[0]) + abs(d[1]) + abs(d[2]) + abs(d[3])) < CONVERGED_PX:
                break
        score = np.float32(0.0)
        for k in range(p):
            score += weights[k] * current[k] * patch[i, k]
        centre[i, 0], centre[i, 1] = cx, cy
        warp[i, 0, 0], warp[i, 0, 1], warp[i, 1, 0], warp[i, 1, 1] = m00, m01, m10, m11
        ncc[i] = score
    return centre, warp, ncc


@numba.njit(cache=True, inline="always")
def _smallest_eigenvalue(a: float, b: float, c: float) -> float:
    """Smallest eigenvalue of the symmetric matrix [[a, b], [b, c]]."""
    return 0.5 * (a + c) - np.sqrt(0.25 * (a - c) ** 2 + b * b)


@numba.njit(cache=True, fastmath=FASTMATH)
def _align_seen_kernel(
    image: np.ndarray,
    patch: np.ndarray,
    gradient: np.ndarray,
    centre_in: np.ndarray,
    warp: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    window_weights: np.ndarray,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """AffineAligner.align_seen for every point (arguments as there, `window_weights`
    (P,)); the correlation of points whose template is not ok is left to the caller."""
    n, p = patch.shape
    centre = np.empty((n, 2), np.float32)
    ncc = np.empty(n, np.float32)
    seen = np.ones((n, p), np.bool_)
    ratio = np.empty(n, np.float32)
    current = np.empty(p, np.float32)
    template = np.empty(p, np.float32)
    weights = np.empty(p, np.float32)
    for i in range(n):
        cx, cy = np.float64(centre_in[i, 0]), np.float64(centre_in[i, 1])
        m00, m01, m10, m11 = warp[i, 0, 0], warp[i, 0, 1], warp[i, 1, 0], warp[i, 1, 1]
        threshold = OCCLUDED_FIRST_PASS
        for step in range(iterations + 2):
            # gain and bias fitted on the seen pixels only
            total = np.float32(0.0)
            for k in range(p):
                weights[k] = window_weights[k] if seen[i, k] else np.float32(0.0)
                total += weights[k]
            total = max(total, np.float32(1e-12))
            for k in range(p):
                weights[k] /= total
            _window(image, cx, cy, m00, m01, m10, m11, ox, oy, current)
            _normalise_into(current, weights, current)
            scale = _normalise_into(patch[i], weights, template)
            if step == iterations + 1:
                break
            for k in range(p):
                seen[i, k] = abs(current[k] - template[k]) < threshold
            threshold = OCCLUDED_RESIDUAL
            if step == 0:
                continue
            # translation-only Gauss-Newton step on the seen pixels
            inv = 1.0 / max(scale, 1e-6)
            h00 = h01 = h11 = b0 = b1 = 0.0
            for k in range(p):
                if seen[i, k]:
                    gx, gy = gradient[i, k, 0] * inv, gradient[i, k, 1] * inv
                    wgx, wgy = weights[k] * gx, weights[k] * gy
                    error = current[k] - template[k]
                    h00 += wgx * gx
                    h01 += wgx * gy
                    h11 += wgy * gy
                    b0 += wgx * error
                    b1 += wgy * error
            h00 += 1e-9
            h11 += 1e-9
            det = h00 * h11 - h01 * h01
            if not det > 0:
                continue
            d0, d1 = (h11 * b0 - h01 * b1) / det, (h00 * b1 - h01 * b0) / det
            cx -= m00 * d0 + m01 * d1
            cy -= m10 * d0 + m11 * d1
        score = np.float32(0.0)
        for k in range(p):
            score += current[k] * template[k] * weights[k]
        # translation Gauss-Newton matrices of the whole window and of its seen pixels
        f00 = f01 = f11 = s00 = s01 = s11 = 0.0
        for k in range(p):
            gx, gy, w = gradient[i, k, 0], gradient[i, k, 1], window_weights[k]
            f00 += w * gx * gx
            f01 += w * gx * gy
            f11 += w * gy * gy
            if seen[i, k]:
                s00 += w * gx * gx
                s01 += w * gx * gy
                s11 += w * gy * gy
        centre[i, 0], centre[i, 1] = cx, cy
        ncc[i] = score
        ratio[i] = _smallest_eigenvalue(s00, s01, s11) / max(_smallest_eigenvalue(f00, f01, f11), 1e-12)
    return centre, ncc, seen, ratio


@numba.njit(cache=True, inline="always")
def _reflect(i: int, n: int) -> int:
    """Index i of a row of n pixels, reflected at the ends without repeating them (OpenCV's
    default border, BORDER_REFLECT_101)."""
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


@numba.njit(cache=True, inline="always")
def _sobel(image: np.ndarray, r: int, c: int) -> tuple[np.float32, np.float32]:
    """x and y derivatives of (H, W) uint8 `image` at pixel (row r, column c), as
    cv2.Sobel(ksize=3, scale=1/8) gives them there."""
    h, w = image.shape
    rows = (_reflect(r - 1, h), r, _reflect(r + 1, h))
    cols = (_reflect(c - 1, w), c, _reflect(c + 1, w))
    gx = gy = np.int64(0)
    for j in range(3):
        weight = 2 if j == 1 else 1
        gx += weight * (np.int64(image[rows[j], cols[2]]) - np.int64(image[rows[j], cols[0]]))
        gy += weight * (np.int64(image[rows[2], cols[j]]) - np.int64(image[rows[0], cols[j]]))
    return np.float32(gx) * np.float32(0.125), np.float32(gy) * np.float32(0.125)


@numba.njit(cache=True, fastmath=FASTMATH)
def _template_kernel(
    grey: np.ndarray, xy: np.ndarray, half: int, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of (H, W) uint8 `grey` around (N, 2) pixels `xy` (x, y), side 2 half + 1,
    sampled bilinearly (border replicated) with their Sobel gradient. Returns the (N, P)
    float32 patches normalised as `_normalise_into` does, their (N,) float32 scale (weighted
    norm before normalising), the (N, P, 2) float32 gradients in normalised units, and the
    (N, 6, 6) float64 Gauss-Newton matrices of the affine parameters (m00, m01, m10, m11,
    tx, ty) at the identity, weighted by (P,) `weights`."""
    h, w = grey.shape
    n, side = len(xy), 2 * half + 1
    p = side * side
    patch = np.empty((n, p), np.float32)
    scale = np.empty(n, np.float32)
    gradient = np.empty((n, p, 2), np.float32)
    hessian = np.zeros((n, 6, 6))
    # the window's pixels fall between the same corners of an integer grid, one pixel larger
    value = np.empty((side + 1, side + 1), np.float32)
    grad = np.empty((side + 1, side + 1, 2), np.float32)
    steepest = np.empty(6)
    for i in range(n):
        x, y = xy[i, 0] - half, xy[i, 1] - half
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = np.float32(x - x0), np.float32(y - y0)
        for a in range(side + 1):
            r = min(max(y0 + a, 0), h - 1)
            for b in range(side + 1):
                c = min(max(x0 + b, 0), w - 1)
                value[a, b] = grey[r, c]
                grad[a, b, 0], grad[a, b, 1] = _sobel(grey, r, c)
        mean = np.float32(0.0)
        for a in range(side):
            for b in range(side):
                k = a * side + b
                top = value[a, b] + fx * (value[a, b + 1] - value[a, b])
                bottom = value[a + 1, b] + fx * (value[a + 1, b + 1] - value[a + 1, b])
                patch[i, k] = top + fy * (bottom - top)
                mean += weights[k] * patch[i, k]
                for j in range(2):
                    top = grad[a, b, j] + fx * (grad[a, b + 1, j] - grad[a, b, j])
                    bottom = grad[a + 1, b, j] + fx * (grad[a + 1, b + 1, j] - grad[a + 1, b, j])
                    gradient[i, k, j] = top + fy * (bottom - top)
        norm = np.float32(0.0)
        for k in range(p):
            patch[i, k] -= mean
            norm += weights[k] * patch[i, k] * patch[i, k]
        scale[i] = np.sqrt(norm)
        inv = np.float32(1.0) / max(scale[i], np.float32(1e-6))
        for a in range(side):
            for b in range(side):
                k = a * side + b
                patch[i, k] *= inv
                tx, ty = gradient[i, k, 0] * inv, gradient[i, k, 1] * inv
                gradient[i, k, 0], gradient[i, k, 1] = tx, ty
                # d warp / d (m00, m01, m10, m11, tx, ty) at the identity
                u, v = b - half, a - half
                steepest[0], steepest[1], steepest[2] = tx * u, tx * v, ty * u
                steepest[3], steepest[4], steepest[5] = ty * v, tx, ty
                for row in range(6):
                    for col in range(row, 6):
                        hessian[i, row, col] += weights[k] * steepest[row] * steepest[col]
        for row in range(6):
            for col in range(row):
                hessian[i, row, col] = hessian[i, col, row]
    return patch, scale, gradient, hessian


@dataclass
class Templates:
    """Per-point anchor templates (N points, P = (2 half + 1)^2 window pixels).

    patch: (N, P) float32, normalised grey patch. gradient: (N, P, 2) float32, its (x, y)
    image gradient (in the patch's normalised units per pixel). hessian_inv: (N, 6, 6)
    float32, inverse Gauss-Newton matrix of the affine parameters (m00, m01, m10, m11,
    tx, ty). ok: (N,) bool, patch textured enough to be aligned.
    """

    patch: np.ndarray
    gradient: np.ndarray
    hessian_inv: np.ndarray
    ok: np.ndarray

    def select(self, keep: np.ndarray) -> Templates:
        return Templates(self.patch[keep], self.gradient[keep], self.hessian_inv[keep], self.ok[keep])

    def assign(self, rows: np.ndarray, other: Templates) -> None:
        self.patch[rows], self.gradient[rows] = other.patch, other.gradient
        self.hessian_inv[rows], self.ok[rows] = other.hessian_inv, other.ok

    @staticmethod
    def concat(a: Templates, b: Templates) -> Templates:
        return Templates(
            *(
                np.concatenate([x, y])
                for x, y in zip(
                    (a.patch, a.gradient, a.hessian_inv, a.ok), (b.patch, b.gradient, b.hessian_inv, b.ok)
                )
            )
        )


class AffineAligner:
    """Builds templates and aligns them, for windows of side 2 half + 1 pixels."""

    def __init__(self, half: int, damping: float = 0.0):
        self.half = half
        self.damping = damping
        self.ox, self.oy = _offsets(half)
        sigma = WEIGHT_SIGMA_FACTOR * half
        w = np.exp(-(self.ox**2 + self.oy**2) / (2 * sigma**2)).astype(np.float32)
        self.weights = (w / w.sum())[None, :]

    def empty(self) -> Templates:
        p = len(self.ox)
        return Templates(
            np.zeros((0, p), np.float32),
            np.zeros((0, p, 2), np.float32),
            np.zeros((0, 6, 6), np.float32),
            np.zeros(0, bool),
        )

    def templates(self, grey: np.ndarray, xy: np.ndarray) -> Templates:
        """Templates of (N, 2) float32 pixels (x, y) in (H, W) uint8 `grey`."""
        if len(xy) == 0:
            return self.empty()
        patch, scale, gradient, hessian = _template_kernel(
            np.ascontiguousarray(grey), np.ascontiguousarray(xy, np.float32), self.half, self.weights[0]
        )
        trace = np.trace(hessian, axis1=1, axis2=2)
        ok = (scale > 0) & (np.linalg.det(hessian) > MIN_CONDITION * trace**6 / 6**6)
        hessian[~ok] = np.eye(6)
        # Damping of the four matrix parameters (Levenberg-Marquardt style): where the
        # texture hardly fixes scale or shear (smooth or striped patches), the warp stays
        # near its previous value instead of wandering off.
        diagonal = np.einsum("nii->ni", hessian)
        diagonal[:, :4] += self.damping * diagonal[:, 4:].mean(1, keepdims=True)
        return Templates(patch, gradient, np.linalg.inv(hessian).astype(np.float32), ok)

    def align(
        self, templates: Templates, grey: np.ndarray, xy: np.ndarray, warp: np.ndarray, iterations: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Align templates with (H, W) uint8 `grey`, starting from centres (N, 2) float32
        pixels and matrices (N, 2, 2). Returns refined centres (N, 2) float32, matrices
        (N, 2, 2) float32 and (N,) float32 normalised cross-correlation after alignment
        (inverse-compositional Gauss-Newton, at most `iterations` steps: see
        CONVERGED_PX)."""
        if len(xy) == 0:
            return xy, warp, np.zeros(0, np.float32)
        centre, m, ncc = split_points(
            _align_kernel,
            (
                templates.patch,
                templates.gradient,
                templates.hessian_inv,
                np.ascontiguousarray(xy, np.float32),
                np.ascontiguousarray(warp, np.float32),
            ),
            (np.ascontiguousarray(grey), self.ox, self.oy, self.weights[0], iterations),
            MIN_POINTS_PER_THREAD,
        )
        ncc[~templates.ok] = 0.0
        return centre, m, ncc

    def align_seen(
        self, templates: Templates, grey: np.ndarray, xy: np.ndarray, warp: np.ndarray, iterations: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Align templates with (H, W) uint8 `grey` using only the pixels that still show
        them (partly occluded windows): translation only, matrices (N, 2, 2) kept; a pixel
        counts as seen while its residual is below OCCLUDED_RESIDUAL (gain and bias fitted
        on the seen pixels). Starts from centres (N, 2) float32 pixels. Returns centres
        (N, 2) float32, (N,) float32 correlation over the seen pixels, (N, P) bool seen
        pixels and (N,) float32 texture kept: the smallest eigenvalue of the seen pixels'
        translation Gauss-Newton matrix over the whole window's."""
        n, p = len(xy), len(self.ox)
        if n == 0:
            return xy, np.zeros(0, np.float32), np.zeros((0, p), bool), np.zeros(0, np.float32)
        centre, ncc, seen, ratio = _align_seen_kernel(
            np.ascontiguousarray(grey),
            templates.patch,
            templates.gradient,
            np.ascontiguousarray(xy, np.float32),
            np.ascontiguousarray(warp, np.float32),
            self.ox,
            self.oy,
            self.weights[0],
            iterations,
        )
        ncc[~templates.ok] = 0.0
        return centre, ncc, seen, ratio
