"""Render eyes from one colour frame and its depth, as a surface (the eye renderer).

    eyes = stereo_eyes(intr, baseline_m=0.063, convergence_m=2.0)   # left, right
    left, right = render_eyes(colour, depth, intr, eyes)
    left.colour, left.mask, left.inverse_depth

One renderer design, two implementations of it (raster_rows.py, raster_mesh.py): the
source pixels are the vertices of a mesh whose triangles are cut at depth steps, drawn
with a z-buffer, sub-pixel positions and interpolated colours. An eye that differs from
the source camera only by a move along its x axis and a horizontal image shift (the
plain stereo case) takes the fast scanline path, on the CPU (numba, one pass per row for
all eyes) or on a torch device; any other eye (rotation, other intrinsics: stabilised rendering)
takes the general triangle path on the CPU. Where the surface is cut, each side reaches
to the outline between its pixels as estimated by outline.py (on the CPU in every path;
for the scanline path only on the edges it cuts).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._numba import numba
from ..camera import Intrinsics, make_pose
from .outline import outline_positions
from .raster_mesh import render_mesh
from .raster_rows import render_rows, row_cuts

log = logging.getLogger(__name__)

DEFAULT_CUT_PX = 1.0  # parallax step (pixels, in the eye) between neighbours that cuts the surface
MAX_CUT_PX = 4.0  # beyond this a depth step would be drawn as a stretched smear
MIN_SOURCE_DEPTH_M = 1e-3  # depth is clamped to at least this (a 0 m pixel has no position)
_HORIZONTAL_TOL = 1e-9  # |R - I| and |t_y|, |t_z| (metres) below this: the scanline path


@dataclass(frozen=True)
class Eye:
    """A camera to render: its pose relative to the source camera and its intrinsics.

    eye_from_source: (4, 4) float64, maps source-camera coordinates to eye coordinates
    (metres, OpenCV axes). intrinsics: the eye's pinhole camera; same image size as the
    source (a convergence shift moves cx).
    """

    eye_from_source: np.ndarray
    intrinsics: Intrinsics


@dataclass(frozen=True)
class EyeView:
    """One rendered eye. colour: (H, W, 3) uint8 RGB, black at holes. mask: (H, W, 3)
    uint8 infill mask (infill_mask.py). inverse_depth: (H, W) float32, 1 / z-depth in the
    eye (1/metres), 0 at holes."""

    colour: np.ndarray
    mask: np.ndarray
    inverse_depth: np.ndarray

    @property
    def holes(self) -> np.ndarray:
        """(H, W) bool, True where no source pixel covers the eye."""
        return self.inverse_depth == 0


def eye_at(
    intr: Intrinsics,
    offset_m: float,
    shift_px: float = 0.0,
    world_from_source: np.ndarray | None = None,
    world_from_centre: np.ndarray | None = None,
) -> Eye:
    """A parallel eye `offset_m` metres along the x axis of a centre camera (positive =
    right), its image shifted `shift_px` pixels to the right (cx + shift_px).

    world_from_source, world_from_centre: (4, 4) poses; the centre camera is the source
    camera unless both are given (stabilised rendering: the centre is, for example, the
    camera of frame 0)."""
    centre_from_eye = make_pose(np.eye(3), np.array([offset_m, 0.0, 0.0]))
    eye_from_centre = np.linalg.inv(centre_from_eye)
    if world_from_source is None or world_from_centre is None:
        eye_from_source = eye_from_centre
    else:
        eye_from_source = eye_from_centre @ np.linalg.inv(world_from_centre) @ world_from_source
    shifted = Intrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.cx + shift_px, intr.cy)
    return Eye(eye_from_source, shifted)


def stereo_eyes(
    intr: Intrinsics,
    baseline_m: float,
    shift_px: float = 0.0,
    world_from_source: np.ndarray | None = None,
    world_from_centre: np.ndarray | None = None,
) -> tuple[Eye, Eye]:
    """(left, right) parallel eyes `baseline_m` apart, symmetric about the centre camera;
    the left image shifted by -shift_px and the right by +shift_px (convergence.py)."""
    half = baseline_m / 2.0
    return (
        eye_at(intr, -half, -shift_px, world_from_source, world_from_centre),
        eye_at(intr, half, shift_px, world_from_source, world_from_centre),
    )


def _scanline_params(eye: Eye, intr: Intrinsics) -> tuple[float, float] | None:
    """(gain, shift) of the scanline path if `eye` moves only along x, else None."""
    T, e = np.asarray(eye.eye_from_source, np.float64), eye.intrinsics
    if (
        np.abs(T[:3, :3] - np.eye(3)).max() > _HORIZONTAL_TOL
        or abs(T[1, 3]) > _HORIZONTAL_TOL
        or abs(T[2, 3]) > _HORIZONTAL_TOL
        or (e.fx, e.fy, e.cy) != (intr.fx, intr.fy, intr.cy)
    ):
        return None
    return intr.fx * T[0, 3], e.cx - intr.cx


def _check(
    colour: np.ndarray, depth: np.ndarray, intr: Intrinsics, eyes: Sequence[Eye], cut_px: float
) -> None:
    size = (intr.height, intr.width)
    if colour.shape != (*size, 3) or colour.dtype != np.uint8:
        raise ValueError(f"colour must be {size + (3,)} uint8, got {colour.shape} {colour.dtype}")
    if depth.shape != size:
        raise ValueError(f"depth must be {size}, got {depth.shape}")
    if not 0.0 < cut_px <= MAX_CUT_PX:
        raise ValueError(f"cut_px must be in (0, {MAX_CUT_PX}], got {cut_px}")
    for eye in eyes:
        if (eye.intrinsics.width, eye.intrinsics.height) != (intr.width, intr.height):
            raise ValueError("eyes must have the source image size")


def render_eyes(
    colour: np.ndarray,
    depth: np.ndarray,
    intr: Intrinsics,
    eyes: Sequence[Eye],
    *,
    cut_px: float = DEFAULT_CUT_PX,
    green_and_black: bool = False,
    black_holes: bool = False,
    device: str = "cpu",
) -> list[EyeView]:
    """Render each eye of `eyes` from one source frame.

    colour: (H, W, 3) uint8 RGB. depth: (H, W) float, metres, z-depth (clamped to at
    least MIN_SOURCE_DEPTH_M). intr: the source camera. cut_px: in (0, MAX_CUT_PX], the parallax
    difference (eye pixels) between neighbouring pixels above which the surface is cut.
    green_and_black: the mask marks holes GREEN instead of their direction.
    black_holes: leave holes black in the colour; by default each hole run takes the
    colour of its farther neighbour (the background stretched in: watchable without the
    infill step, which replaces those pixels anyway).
    device: "cpu", or a torch device ("cuda", "cuda:1") for the scanline path (the general
    path runs on the CPU). Returns one EyeView per eye, on the CPU.
    """
    _check(colour, depth, intr, eyes, cut_px)
    colour = np.ascontiguousarray(colour)
    depth = np.ascontiguousarray(depth, np.float32)
    inv_depth = _clamped_inverse(depth, MIN_SOURCE_DEPTH_M)
    fill = not black_holes
    params = [_scanline_params(eye, intr) for eye in eyes]
    views: list[EyeView | None] = [None] * len(eyes)
    fast = [(i, p) for i, p in enumerate(params) if p is not None]
    if fast:
        gains = np.array([gain for _, (gain, _) in fast], np.float64)
        shifts = np.array([shift for _, (_, shift) in fast], np.float64)
        args = (colour, inv_depth, gains, shifts, cut_px, green_and_black, fill)
        rendered = _rows_cpu(*args) if device == "cpu" else _rows_torch(*args, device)
        for (i, _), view in zip(fast, rendered):
            views[i] = view
    src = np.array([intr.fx, intr.fy, intr.cx, intr.cy])
    if any(view is None for view in views):
        depth = np.maximum(depth, np.float32(MIN_SOURCE_DEPTH_M))
    for i, eye in enumerate(eyes):
        if views[i] is not None:
            continue
        e = eye.intrinsics
        out_colour = np.empty((intr.height, intr.width, 3), np.uint8)
        out_mask = np.empty_like(out_colour)
        out_iz = np.empty((intr.height, intr.width), np.float32)
        T = np.asarray(eye.eye_from_source, np.float64)
        render_mesh(
            colour,
            depth,
            inv_depth,
            src,
            np.ascontiguousarray(T[:3, :3]),
            np.ascontiguousarray(T[:3, 3]),
            np.array([e.fx, e.fy, e.cx, e.cy]),
            cut_px,
            green_and_black,
            fill,
            out_colour,
            out_mask,
            out_iz,
        )
        views[i] = EyeView(out_colour, out_mask, out_iz)
    return [view for view in views if view is not None]  # every eye is rendered by now


@numba.njit(parallel=True, cache=True)
def _clamped_inverse(depth: np.ndarray, min_depth: float) -> np.ndarray:
    """(H, W) float32 depth, metres -> (H, W) float32 1 / max(depth, min_depth), 1/metres
    (NaN stays NaN, as with np.maximum), row by row on all threads."""
    floor = np.float32(min_depth)
    out = np.empty(depth.shape, np.float32)
    for y in numba.prange(depth.shape[0]):
        for x in range(depth.shape[1]):
            d = depth[y, x]
            out[y, x] = np.float32(1.0) / (floor if d < floor else d)
    return out


def _rows_cpu(
    colour: np.ndarray,
    inv_depth: np.ndarray,
    gains: np.ndarray,
    shifts: np.ndarray,
    cut_px: float,
    green: bool,
    fill: bool,
) -> list[EyeView]:
    count = len(gains)
    out_colour = np.empty((count, *colour.shape), np.uint8)
    out_mask = np.empty_like(out_colour)
    out_iz = np.empty((count, *inv_depth.shape), np.float32)
    render_rows(colour, inv_depth, gains, shifts, cut_px, green, fill, out_colour, out_mask, out_iz)
    return [EyeView(out_colour[e], out_mask[e], out_iz[e]) for e in range(count)]


def _rows_torch(
    colour: np.ndarray,
    inv_depth: np.ndarray,
    gains: np.ndarray,
    shifts: np.ndarray,
    cut_px: float,
    green: bool,
    fill: bool,
    device: str,
) -> list[EyeView]:
    import torch

    from .raster_torch import render_rows_torch

    dev = torch.device(device)
    cuts = row_cuts(inv_depth, gains, cut_px)  # the cut rule and outlines on the CPU
    outline = outline_positions(inv_depth, cuts.any(axis=0))
    results = render_rows_torch(
        torch.from_numpy(colour).to(dev),
        torch.from_numpy(inv_depth).to(dev),
        torch.from_numpy(cuts).to(dev),
        torch.from_numpy(outline.astype(np.float32)).to(dev),
        gains.tolist(),
        shifts.tolist(),
        green,
        fill,
    )
    return [EyeView(c.cpu().numpy(), m.cpu().numpy(), z.cpu().numpy()) for c, m, z in results]
