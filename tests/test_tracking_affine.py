"""The compiled affine alignment of the LK tracker against exact answers: its templates'
gradients are OpenCV's Sobel derivatives (border included), and it recovers a known
affine warp of a texture given as a formula (so the warped frame is exact, not
resampled)."""

from __future__ import annotations

import cv2
import numpy as np

from metricdepth.tracking.affine import AffineAligner

WAVES = 12


def texture(seed: int):
    """A smooth random texture: grey level of continuous pixel positions (x, y), a sum of
    WAVES plane waves (wavelengths 10-24 px), about 128 +- 3 x 35."""
    rng = np.random.default_rng(seed)
    direction = rng.uniform(-1, 1, (WAVES, 2))
    k = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    k *= 2 * np.pi / rng.uniform(10, 24, (WAVES, 1))
    phase = rng.uniform(0, 2 * np.pi, WAVES)

    def grey(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        waves = np.sin(x[..., None] * k[:, 0] + y[..., None] * k[:, 1] + phase)
        return 128 + 60 / np.sqrt(WAVES) * waves.sum(-1)

    return grey


def as_image(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def test_template_gradients_are_sobel_up_to_the_border():
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float64)
    grey = as_image(texture(0)(xx, yy))
    aligner = AffineAligner(7)
    # integer centres, so window pixels fall on pixels; windows reach 3 px beyond the edge
    xy = np.array([[4, 4], [80, 60], [155, 115], [4, 115]], np.float32)
    templates = aligner.templates(grey, xy)
    image = grey.astype(np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    h, w = grey.shape
    weights = aligner.weights[0]
    for point, (x, y) in enumerate(xy.astype(int)):
        cols = np.clip(x + aligner.ox.astype(int), 0, w - 1)  # border replicated
        rows = np.clip(y + aligner.oy.astype(int), 0, h - 1)
        patch = image[rows, cols]
        scale = np.sqrt((weights * (patch - (weights * patch).sum()) ** 2).sum())
        expected = np.stack([gx[rows, cols], gy[rows, cols]], axis=1) / scale
        np.testing.assert_allclose(templates.gradient[point], expected, rtol=1e-4, atol=1e-6)


def test_alignment_recovers_a_known_affine_warp():
    """Templates are taken in the texture; the frame shows it under a known affine map
    (scale 1.03, rotation 2 degrees, shear 0.01, sub-pixel shift). Started 0.3 px or less
    from the right place and from the identity matrix, the points land within 0.1 px of
    where the map puts them, median 0.03 (0.064 and 0.015 here, as with the numpy
    alignment before it: what is left is the bilinear sampling of the windows), with the
    map's matrix."""
    grey = texture(1)
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float64)
    angle = np.deg2rad(2.0)
    matrix = 1.03 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix[0, 1] += 0.01
    shift = np.array([2.37, -1.61])  # template pixel p -> frame pixel matrix p + shift
    source = np.stack([xx - shift[0], yy - shift[1]], axis=-1) @ np.linalg.inv(matrix).T
    frame = as_image(grey(source[..., 0], source[..., 1]))
    rng = np.random.default_rng(2)
    xy = rng.uniform(60, 180, (40, 2)).astype(np.float32)
    truth = xy @ matrix.T + shift
    start = (truth + rng.uniform(-0.3, 0.3, truth.shape)).astype(np.float32)
    identity = np.tile(np.eye(2, dtype=np.float32), (len(xy), 1, 1))
    aligner = AffineAligner(7, damping=1.0)
    templates = aligner.templates(as_image(grey(xx, yy)), xy)
    centre, warp, ncc = aligner.align(templates, frame, start, identity, iterations=10)
    assert templates.ok.all()
    error = np.linalg.norm(centre - truth, axis=1)
    assert error.max() < 0.1 and np.median(error) < 0.03, (error.max(), np.median(error))
    assert (ncc > 0.999).all(), ncc.min()
    np.testing.assert_allclose(warp, np.broadcast_to(matrix, warp.shape), atol=0.025)
