"""Affine patch alignment (inverse-compositional Lucas-Kanade), vectorised over points.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Smallest determinant of the Gauss-Newton matrix (relative to its trace squared): below it
# the patch has too little texture in some direction to fix all six parameters.
MIN_CONDITION = 1e-4
# A window pixel whose residual after alignment exceeds this (normalised units: the
# patch's standard deviation is 1) does not show the template's surface there: something
# is in front of it. First pass, before the gain and bias are re-fitted without them:
# OCCLUDED_FIRST_PASS.
OCCLUDED_RESIDUAL = 0.5
OCCLUDED_FIRST_PASS = 1.0
# Gaussian weight of a window pixel: sigma = half window * this factor.
WEIGHT_SIGMA_FACTOR = 0.6


def _offsets(half: int) -> tuple[np.ndarray, np.ndarray]:
    """(P,) float32 x and y offsets of a (2 half + 1)^2 window, row by row."""
    r = np.arange(-half, half + 1, dtype=np.float32)
    ox, oy = np.meshgrid(r, r)
    return ox.ravel(), oy.ravel()


def _sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of (H, W) float32 `image` at (N, P) float32 positions -> (N, P) float32."""
    return cv2.remap(
        image, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _normalise(patches: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero weighted mean, unit weighted norm rows of (N, P) patches; returns them and (N,) scale."""
    mean = (patches * weights).sum(1, keepdims=True)
    centred = patches - mean
    norm = np.sqrt((centred * centred * weights).sum(1, keepdims=True))
    return centred / np.maximum(norm, 1e-6), norm[:, 0]


@dataclass
class Templates:
    """Per-point anchor templates (N points, P = (2 half + 1)^2 window pixels).

    patch: (N, P) float32, normalised grey patch. steepest: (N, P, 6) float32, the
    weighted steepest-descent images. hessian_inv: (N, 6, 6) float32. ok: (N,) bool,
    patch textured enough to be aligned.
    """

    patch: np.ndarray
    steepest: np.ndarray
    hessian_inv: np.ndarray
    ok: np.ndarray

    def select(self, keep: np.ndarray) -> Templates:
        return Templates(self.patch[keep], self.steepest[keep], self.hessian_inv[keep], self.ok[keep])

    def assign(self, rows: np.ndarray, other: Templates) -> None:
        self.patch[rows], self.steepest[rows] = other.patch, other.steepest
        self.hessian_inv[rows], self.ok[rows] = other.hessian_inv, other.ok

    @staticmethod
    def concat(a: Templates, b: Templates) -> Templates:
        return Templates(
            *(
                np.concatenate([x, y])
                for x, y in zip(
                    (a.patch, a.steepest, a.hessian_inv, a.ok), (b.patch, b.steepest, b.hessian_inv, b.ok)
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
            np.zeros((0, p, 6), np.float32),
            np.zeros((0, 6, 6), np.float32),
            np.zeros(0, bool),
        )

    def templates(self, grey: np.ndarray, xy: np.ndarray) -> Templates:
        """Templates of (N, 2) float32 pixels (x, y) in (H, W) uint8 `grey`."""
        if len(xy) == 0:
            return self.empty()
        image = grey.astype(np.float32)
        gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
        gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
        x = xy[:, 0, None] + self.ox
        y = xy[:, 1, None] + self.oy
        patch, scale = _normalise(_sample(image, x, y), self.weights)
        inv = 1.0 / np.maximum(scale, 1e-6)[:, None]
        tx, ty = _sample(gx, x, y) * inv, _sample(gy, x, y) * inv
        # d warp / d (m00, m01, m10, m11, tx, ty) at the identity
        steepest = np.stack([tx * self.ox, tx * self.oy, ty * self.ox, ty * self.oy, tx, ty], axis=2)
        weighted = steepest * self.weights[..., None]
        hessian = np.einsum("npi,npj->nij", weighted, steepest)
        trace = np.trace(hessian, axis1=1, axis2=2)
        ok = (scale > 0) & (
            np.linalg.det(hessian.astype(np.float64)) > MIN_CONDITION * trace.astype(np.float64) ** 6 / 6**6
        )
        hessian[~ok] = np.eye(6)
        # Damping of the four matrix parameters (Levenberg-Marquardt style): where the
        # texture hardly fixes scale or shear (smooth or striped patches), the warp stays
        # near its previous value instead of wandering off.
        diagonal = np.einsum("nii->ni", hessian)
        diagonal[:, :4] += self.damping * diagonal[:, 4:].mean(1, keepdims=True)
        return Templates(
            patch.astype(np.float32),
            weighted.astype(np.float32),
            np.linalg.inv(hessian).astype(np.float32),
            ok,
        )

    def align(
        self, templates: Templates, grey: np.ndarray, xy: np.ndarray, warp: np.ndarray, iterations: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Align templates with (H, W) uint8 `grey`, starting from centres (N, 2) float32
        pixels and matrices (N, 2, 2). Returns refined centres (N, 2) float32, matrices
        (N, 2, 2) float32 and (N,) float32 normalised cross-correlation after alignment."""
        if len(xy) == 0:
            return xy, warp, np.zeros(0, np.float32)
        image = grey.astype(np.float32)
        centre = xy.astype(np.float32).copy()
        m = warp.astype(np.float32).copy()
        for _ in range(iterations):
            x = centre[:, 0, None] + m[:, 0, 0, None] * self.ox + m[:, 0, 1, None] * self.oy
            y = centre[:, 1, None] + m[:, 1, 0, None] * self.ox + m[:, 1, 1, None] * self.oy
            current, _ = _normalise(_sample(image, x, y), self.weights)
            error = current - templates.patch
            delta = np.einsum(
                "nij,nj->ni", templates.hessian_inv, np.einsum("npi,np->ni", templates.steepest, error)
            )
            # inverse composition: W <- W o dW^-1, dW = [[1 + d0, d1, d4], [d2, 1 + d3, d5]]
            dm = np.stack([1 + delta[:, 0], delta[:, 1], delta[:, 2], 1 + delta[:, 3]], 1).reshape(-1, 2, 2)
            dm_inv = np.linalg.inv(dm)
            dt = delta[:, 4:6]
            centre = centre - np.einsum("nij,nj->ni", m @ dm_inv, dt)
            m = m @ dm_inv
        x = centre[:, 0, None] + m[:, 0, 0, None] * self.ox + m[:, 0, 1, None] * self.oy
        y = centre[:, 1, None] + m[:, 1, 0, None] * self.ox + m[:, 1, 1, None] * self.oy
        current, _ = _normalise(_sample(image, x, y), self.weights)
        ncc = (current * templates.patch * self.weights).sum(1)
        ncc[~templates.ok] = 0.0
        return centre.astype(np.float32), m.astype(np.float32), ncc.astype(np.float32)

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
        image = grey.astype(np.float32)
        centre = xy.astype(np.float32).copy()
        gradient = templates.steepest[..., 4:6] / self.weights[..., None]  # (N, P, 2)
        seen = np.ones((n, p), bool)
        threshold = OCCLUDED_FIRST_PASS
        for step in range(iterations + 2):
            x = centre[:, 0, None] + warp[:, 0, 0, None] * self.ox + warp[:, 0, 1, None] * self.oy
            y = centre[:, 1, None] + warp[:, 1, 0, None] * self.ox + warp[:, 1, 1, None] * self.oy
            weights = self.weights * seen
            weights = weights / np.maximum(weights.sum(1, keepdims=True), 1e-12)
            current, _ = _normalise(_sample(image, x, y), weights)
            template, scale = _normalise(templates.patch, weights)
            error = current - template
            if step == iterations + 1:
                break
            seen = np.abs(error) < threshold
            threshold = OCCLUDED_RESIDUAL
            if step == 0:
                continue
            g = gradient / np.maximum(scale, 1e-6)[:, None, None]
            wg = g * (weights * seen)[..., None]
            hessian = np.einsum("npi,npj->nij", wg, g) + 1e-9 * np.eye(2, dtype=np.float32)
            delta = np.linalg.solve(hessian, np.einsum("npi,np->ni", wg, error)[..., None])[..., 0]
            centre = centre - np.einsum("nij,nj->ni", warp, delta)
        ncc = (current * template * weights).sum(1)
        full = np.einsum("npi,npj,p->nij", gradient, gradient, self.weights[0])
        kept = np.einsum("npi,npj,np->nij", gradient, gradient, self.weights * seen)
        ratio = np.linalg.eigvalsh(kept)[:, 0] / np.maximum(np.linalg.eigvalsh(full)[:, 0], 1e-12)
        ncc[~templates.ok] = 0.0
        return centre.astype(np.float32), ncc.astype(np.float32), seen, ratio.astype(np.float32)
