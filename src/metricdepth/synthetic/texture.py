"""Band-limited procedural albedo: a sum of random plane waves in object-local 3D space.

The colour of a surface point depends on its object-local position alone, so a point
keeps one colour in every view and, for a moving object, moves with the object.
Wavelengths are bounded below, so the texture is band-limited (up to the weak harmonics of
the smooth tanh that keeps colours in range without clipping): point sampling at pixel
centres does not alias as long as the shortest wavelength covers several pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LUMA_WAVES = 96  # waves that change all three channels together (grey-level structure)
CHROMA_WAVES = 12  # waves that shift hue at constant grey level
CHROMA_VARIANCE = 0.15  # variance of the chroma field; the luma field has variance 1
CONTRAST = 0.9  # fraction of the largest swing that keeps base +- swing inside [0, 255]


@dataclass(frozen=True, eq=False)
class WaveTexture:
    """RGB albedo(p) = base + swing * tanh(sum_k weights[k] * sin(omega[k] . p + phase[k])).

    omega: (K, 3) float32, radians per metre, object-local axes (wave vectors).
    phase: (K,) float32, radians.
    weights: (K, 3) float32, unitless, each wave's contribution to R, G, B.
    base: (3,) float32, RGB levels 0..255, the mean colour.
    swing: (3,) float32, RGB levels, the largest deviation from `base` (tanh is in (-1, 1)),
        chosen so that base +- swing stays inside [0, 255]: no clipping, so albedo is smooth.
    """

    omega: np.ndarray
    phase: np.ndarray
    weights: np.ndarray
    base: np.ndarray
    swing: np.ndarray

    def albedo(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) float, metres, object-local. Returns (N, 3) float32 RGB in (0, 255)."""
        waves = points.astype(np.float32) @ self.omega.T
        waves += self.phase
        np.sin(waves, out=waves)  # in place: the (N, K) array is the bulk of the work
        return self.base + self.swing * np.tanh(waves @ self.weights)


def _unit_vectors(rng: np.random.Generator, count: int, planar: bool) -> np.ndarray:
    """(count, 3) random unit vectors; in the local xy plane when `planar`."""
    v = rng.normal(size=(count, 3))
    if planar:
        v[:, 2] = 0.0
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _amplitude(count: int, variance: float) -> float:
    """Common amplitude of `count` sines with random phases whose sum has `variance`."""
    return math.sqrt(2.0 * variance / count)  # var(a sin(random phase)) = a^2 / 2


def random_texture(
    rng: np.random.Generator, base_rgb: np.ndarray, wavelength_m: tuple[float, float], planar: bool = False
) -> WaveTexture:
    """A random wave texture around `base_rgb` ((3,) RGB levels in [1, 254]).

    Wavelengths are log-uniform in `wavelength_m` = (shortest, longest) metres, so every
    scale in the band carries the same contrast; directions are uniform. `planar`
    keeps the wave vectors in the local xy plane, for a surface lying in that plane (its
    in-plane wavelengths are then exactly those drawn, not longer projections).
    """
    lo, hi = wavelength_m
    k = LUMA_WAVES + CHROMA_WAVES
    wavelengths = np.exp(rng.uniform(math.log(lo), math.log(hi), k))
    omega = (2.0 * math.pi / wavelengths)[:, None] * _unit_vectors(rng, k, planar)
    phase = rng.uniform(0.0, 2.0 * math.pi, k)

    grey = np.ones(3) / math.sqrt(3.0)
    hue = rng.normal(size=(CHROMA_WAVES, 3))
    hue -= (hue @ grey)[:, None] * grey  # no grey component: pure colour shifts
    hue /= np.linalg.norm(hue, axis=1, keepdims=True)
    weights = np.concatenate(
        [
            np.full((LUMA_WAVES, 3), _amplitude(LUMA_WAVES, 1.0)),
            _amplitude(CHROMA_WAVES, CHROMA_VARIANCE) * math.sqrt(3.0) * hue,
        ]
    )  # a unit hue vector's squared components average 1/3: sqrt(3) restores the variance

    base = np.asarray(base_rgb, dtype=np.float64)
    swing = CONTRAST * np.minimum(base, 255.0 - base)
    f32 = np.float32
    return WaveTexture(
        omega.astype(f32), phase.astype(f32), weights.astype(f32), base.astype(f32), swing.astype(f32)
    )
