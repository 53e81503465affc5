"""Background seen in other frames, warped into the eyes with depth and camera poses.

A hole of an eye at frame i is a surface the source camera of frame i does not see. A
neighbouring frame j often sees it (the camera moved, or the foreground did). Points of
frame j that frame i does not see are projected into the eye (a z-buffer keeps the
nearest); each hole pixel that receives one is traced back into frame j at the depth found
and coloured there (bilinear), if frame j does see that point. This recovers true content
instead of inventing it. A moving object seen in frame j lies elsewhere at frame i; where
it lies in front of what frame i sees, the same test drops it, and a subject mask
(step 2's mask video) drops it everywhere.

The eyes are the source camera of frame i moved sideways (`offsets_m`, parallel eyes with
the source's intrinsics), so one pass over frame j's pixels, compiled (numba), serves both
eyes: each point is moved into frame i's camera once, tested against what frame i sees
once, and only the hidden ones (a few per cent) are splatted into each eye's z-buffer.
Frame j is walked in tiles: a tile whose frustum (its pixels between its nearest and
farthest depth, kept per frame for all the frames it serves) cannot reach a hole of
either eye is skipped whole, and one that may is tested again as four quarter tiles, down
to 4-pixel tiles, so mostly the pixels near holes are reprojected. The trace
back runs over hole pixels only. The kernels release the GIL, so chunks of a
video run in parallel threads (`scheduler`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .._numba import numba
from ..camera import Intrinsics, invert_pose
from .holes import mask_pixels

HIDDEN_TOLERANCE = 0.02  # relative: a point is hidden in a frame when it is this much behind
SAME_POINT_TOLERANCE = 0.02  # relative depth difference still counted as the same point
FAR_FRACTION = 0.999  # depth at or beyond this fraction of max_depth is "no depth"
# A disocclusion continues the surface on its background side: a candidate whose depth
# differs from that side's depth by more than this factor (either way) is another surface
# (say the wall behind a subject cut by the image border) and is not used.
BACKGROUND_DEPTH_RATIO = 1.5
# Pixels are warped in square tiles of this side; a tile whose points cannot land near a
# pixel that is read afterwards (a hole, or a hole's background side) is skipped whole,
# and one whose points may is split in four, TILE_LEVELS - 1 times (16, 8, 4 pixels: at
# 720p this reprojects 60 % fewer pixels for 85 % more, cheaper, tile tests).
TILE_PX = 16
TILE_LEVELS = 3
FINEST_TILE_PX = TILE_PX >> (TILE_LEVELS - 1)


@dataclass(frozen=True)
class SourceFrame:
    """One frame of the source video with its geometry.

    colour: (H, W, 3) uint8 RGB. depth: (H, W) float32, metres, z-depth.
    world_from_cam: (4, 4) float64, OpenCV axes, world = camera of frame 0.
    intrinsics: the frame's pinhole camera (pixels). max_depth: metres; depth at (nearly)
    max_depth means "no depth" (the depth video's convention for invalid pixels).
    subject: optional (H, W) bool, True on moving things (a step-2 mask); never warped
    into other frames, since their pose differs between frames.
    """

    colour: np.ndarray
    depth: np.ndarray
    world_from_cam: np.ndarray
    intrinsics: Intrinsics
    max_depth: float
    subject: np.ndarray | None = None

    @cached_property
    def has_depth(self) -> np.ndarray:
        """(H, W) bool: pixels with a usable depth."""
        return (self.depth > 0) & (self.depth < FAR_FRACTION * self.max_depth)

    @cached_property
    def static(self) -> np.ndarray:
        """(H, W) bool: pixels with a usable depth that may be warped to other times."""
        return self.has_depth if self.subject is None else self.has_depth & ~self.subject

    @cached_property
    def depth_ranges(self) -> tuple[np.ndarray, ...]:
        """`tile_ranges` of the pixels with depth (kept: a frame serves many others)."""
        return tile_ranges(self.depth, self.has_depth)

    @cached_property
    def static_ranges(self) -> tuple[np.ndarray, ...]:
        """`tile_ranges` of the static pixels."""
        return tile_ranges(self.depth, self.static)


def _camera(intr: Intrinsics) -> np.ndarray:
    """(4,) float64 fx, fy, cx, cy: an `Intrinsics` in the form the kernels take."""
    return np.array([intr.fx, intr.fy, intr.cx, intr.cy], np.float64)


@numba.njit(cache=True, nogil=True, inline="always")
def _nearest_depth(depth: np.ndarray, cam: np.ndarray, x: float, y: float, z: float) -> float:
    """Depth (metres) of the pixel nearest to where camera point (x, y, z) projects;
    +inf when it projects outside the image or lies behind the camera."""
    if not z > 0:
        return np.inf
    u = np.rint(x / z * cam[0] + cam[2])
    v = np.rint(y / z * cam[1] + cam[3])
    height, width = depth.shape
    if not (0 <= u < width and 0 <= v < height):
        return np.inf
    return depth[int(v), int(u)]


@numba.njit(cache=True, nogil=True, inline="always")
def _hidden(depth: np.ndarray, cam: np.ndarray, x: float, y: float, z: float) -> bool:
    """Whether the camera with `depth` (H, W) and `cam` does not see camera point
    (x, y, z) metres: outside its image, behind it, or behind the surface it sees there."""
    if not z > 0:
        return True
    seen = _nearest_depth(depth, cam, x, y, z)
    return not seen < np.inf or z > seen * (1 + HIDDEN_TOLERANCE)


@numba.njit(cache=True, nogil=True, inline="always")
def _splat(zbufs: np.ndarray, cam: np.ndarray, offsets: np.ndarray, x: float, y: float, z: float) -> None:
    """Z-buffer source camera point (x, y, z), z > 0, into each eye's (E, H, W) `zbufs`
    (eyes moved by `offsets` (E,) metres along x): it covers the 2 x 2 pixels around
    where it projects (no cracks when a surface is magnified up to 2x)."""
    height, width = zbufs.shape[1:]
    py = y / z * cam[1] + cam[3]  # the same row in every eye
    if not -1 < py < height:
        return
    y0 = int(math.floor(py))
    zf = np.float32(z)
    for e in range(len(offsets)):
        px = (x - offsets[e]) / z * cam[0] + cam[2]
        if not -1 < px < width:
            continue
        x0 = int(math.floor(px))
        for v in range(max(y0, 0), min(y0 + 2, height)):
            for u in range(max(x0, 0), min(x0 + 2, width)):
                if zf < zbufs[e, v, u]:
                    zbufs[e, v, u] = zf


def tile_ranges(depth: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, ...]:
    """The `_tile_ranges` of (H, W) float32 `depth` for tiles of TILE_PX, TILE_PX / 2, ...
    pixels (TILE_LEVELS sizes, largest first); tile (ty, tx) of one size is split into
    tiles (2 ty + i, 2 tx + j), i, j in {0, 1}, of the next."""
    levels = [_tile_ranges(depth, valid)]
    for _ in range(TILE_LEVELS - 1):
        levels.append(_merge_quads(levels[-1]))
    return tuple(levels[::-1])


@numba.njit(cache=True, nogil=True)
def _tile_ranges(depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(TH, TW, 2) float32: nearest and farthest `valid` depth (metres) of each
    FINEST_TILE_PX tile of (H, W) float32 `depth` ((+inf, -inf) where the tile has no
    valid pixel). The tile size is a compile-time constant: a shift, not a division."""
    height, width = depth.shape
    shape = (
        (height + FINEST_TILE_PX - 1) // FINEST_TILE_PX,
        (width + FINEST_TILE_PX - 1) // FINEST_TILE_PX,
        2,
    )
    ranges = np.full(shape, np.inf, np.float32)
    ranges[:, :, 1] = -np.inf
    for v in range(height):
        row = ranges[v // FINEST_TILE_PX]
        for u in range(width):
            if valid[v, u]:
                tile, d = row[u // FINEST_TILE_PX], depth[v, u]
                tile[0], tile[1] = min(tile[0], d), max(tile[1], d)
    return ranges


@numba.njit(cache=True, nogil=True)
def _merge_quads(ranges: np.ndarray) -> np.ndarray:
    """`_tile_ranges` of tiles twice as large, from those of (TH, TW, 2) `ranges`."""
    height, width = ranges.shape[:2]
    merged = np.full(((height + 1) // 2, (width + 1) // 2, 2), np.inf, np.float32)
    merged[:, :, 1] = -np.inf
    for ty in range(height):
        for tx in range(width):
            m = merged[ty // 2, tx // 2]
            m[0], m[1] = min(m[0], ranges[ty, tx, 0]), max(m[1], ranges[ty, tx, 1])
    return merged


@numba.njit(cache=True, nogil=True, inline="always")
def _tile_wanted(
    u0: int,
    u1: int,
    v0: int,
    v1: int,
    near: float,
    far: float,
    cam: np.ndarray,
    r: np.ndarray,
    eye_cam: np.ndarray,
    offsets: np.ndarray,
    wanted: np.ndarray,
) -> bool:
    """Whether any point of pixels u0..u1, v0..v1 at depths near..far (metres) of camera
    `cam` may splat onto a wanted pixel of an eye: the points fill a frustum whose image
    in each eye lies within its 8 corners' images (it is convex and, when every corner
    is in front of the eye, so is all of it). wanted: (E, H + 1, W + 1) integral images."""
    height, width = wanted.shape[1] - 1, wanted.shape[2] - 1
    for e in range(len(offsets)):
        xlo, xhi, ylo, yhi = np.inf, -np.inf, np.inf, -np.inf
        for u in (u0, u1):
            for v in (v0, v1):
                for z in (near, far):
                    x = (u - cam[2]) / cam[0] * z
                    y = (v - cam[3]) / cam[1] * z
                    sx = r[0, 0] * x + r[0, 1] * y + r[0, 2] * z + r[0, 3] - offsets[e]
                    sy = r[1, 0] * x + r[1, 1] * y + r[1, 2] * z + r[1, 3]
                    sz = r[2, 0] * x + r[2, 1] * y + r[2, 2] * z + r[2, 3]
                    if not sz > 0:
                        return True  # no bound: the tile is warped
                    px = sx / sz * eye_cam[0] + eye_cam[2]
                    py = sy / sz * eye_cam[1] + eye_cam[3]
                    xlo, xhi = min(xlo, px), max(xhi, px)
                    ylo, yhi = min(ylo, py), max(yhi, py)
        # a point at px covers pixels floor(px) and floor(px) + 1; one more for rounding
        xlo, xhi = max(xlo, -2.0), min(xhi, width + 2.0)  # far outside: the same as the edge
        ylo, yhi = max(ylo, -2.0), min(yhi, height + 2.0)
        a, b = max(math.floor(xlo) - 1, 0), min(math.floor(xhi) + 2, width - 1)
        c, d = max(math.floor(ylo) - 1, 0), min(math.floor(yhi) + 2, height - 1)
        if (
            a <= b
            and c <= d
            and (wanted[e, d + 1, b + 1] - wanted[e, c, b + 1] - wanted[e, d + 1, a] + wanted[e, c, a]) > 0
        ):
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _splat_tiles(
    depth: np.ndarray,
    valid: np.ndarray,
    cam: np.ndarray,
    ranges: tuple[np.ndarray, ...],
    to_source: np.ndarray,
    s_depth: np.ndarray,
    s_cam: np.ndarray,
    offsets: np.ndarray,
    wanted: np.ndarray,
    hidden_only: bool,
) -> np.ndarray:
    """(E, H, W) float32 z-buffers, in each eye, of the `valid` points of a frame (depth
    (H, W) float32 metres, camera `cam`, `ranges` its `tile_ranges`); with
    `hidden_only`, only of the points the source frame (s_depth, s_cam) does not see.
    to_source: (4, 4) source camera from the frame's camera. The eyes are the source
    camera moved by `offsets` (E,) metres along x. Only tiles that may reach a pixel of
    `wanted` (E, H + 1, W + 1) integral images are drawn: the z-buffers are exact there
    and nowhere else."""
    height, width = s_depth.shape
    zbufs = np.full((len(offsets), height, width), np.inf, np.float32)
    r = to_source
    stack = np.empty((4 * TILE_LEVELS, 3), np.int64)  # tiles to test: (level, ty, tx)
    for top in range(ranges[0].shape[0] * ranges[0].shape[1]):
        stack[0] = 0, top // ranges[0].shape[1], top % ranges[0].shape[1]
        todo = 1
        while todo:
            todo -= 1
            level, ty, tx = stack[todo]
            level_ranges = ranges[level]
            if ty >= level_ranges.shape[0] or tx >= level_ranges.shape[1]:
                continue  # a quarter beyond the image's edge
            near, far = level_ranges[ty, tx, 0], level_ranges[ty, tx, 1]
            if not near <= far:
                continue
            size = TILE_PX >> level
            v0, u0 = ty * size, tx * size
            v1, u1 = min(v0 + size, depth.shape[0]) - 1, min(u0 + size, depth.shape[1]) - 1
            if not _tile_wanted(
                u0, u1, v0, v1, np.float64(near), np.float64(far), cam, r, s_cam, offsets, wanted
            ):
                continue
            if level + 1 < len(ranges):
                for quarter in range(4):
                    stack[todo] = level + 1, 2 * ty + quarter // 2, 2 * tx + quarter % 2
                    todo += 1
                continue
            for v in range(v0, v1 + 1):
                for u in range(u0, u1 + 1):
                    if not valid[v, u]:
                        continue
                    z = np.float64(depth[v, u])
                    x = (u - cam[2]) / cam[0] * z
                    y = (v - cam[3]) / cam[1] * z
                    sx = r[0, 0] * x + r[0, 1] * y + r[0, 2] * z + r[0, 3]
                    sy = r[1, 0] * x + r[1, 1] * y + r[1, 2] * z + r[1, 3]
                    sz = r[2, 0] * x + r[2, 1] * y + r[2, 2] * z + r[2, 3]
                    if not sz > 0 or (hidden_only and not _hidden(s_depth, s_cam, sx, sy, sz)):
                        continue  # behind the eyes, or seen by the source
                    _splat(zbufs, s_cam, offsets, sx, sy, sz)
    return zbufs


def _integral(masks: list[np.ndarray]) -> np.ndarray:
    """(E, H + 1, W + 1) int32 integral images of per-eye (H, W) bool masks."""
    height, width = masks[0].shape
    out = np.empty((len(masks), height + 1, width + 1), np.int32)
    for mask, integral in zip(masks, out):
        cv2.integral(mask.view(np.uint8), sum=integral, sdepth=cv2.CV_32S)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _bilinear(image: np.ndarray, x: float, y: float, out: np.ndarray) -> None:
    """Colour (3,) of `image` (H, W, 3) uint8 at (x, y), edge pixels repeated beyond it."""
    height, width = image.shape[:2]
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    tx, ty = x - x0, y - y0
    xa, xb = min(max(x0, 0), width - 1), min(max(x0 + 1, 0), width - 1)
    ya, yb = min(max(y0, 0), height - 1), min(max(y0 + 1, 0), height - 1)
    for c in range(3):
        top = image[ya, xa, c] * (1 - tx) + image[ya, xb, c] * tx
        bottom = image[yb, xa, c] * (1 - tx) + image[yb, xb, c] * tx
        out[c] = np.float32(top * (1 - ty) + bottom * ty)


@numba.njit(cache=True, nogil=True)
def _take_candidates(
    image: np.ndarray,
    best: np.ndarray,
    hy: np.ndarray,
    hx: np.ndarray,
    zbuf: np.ndarray,
    background: np.ndarray,
    offset: float,
    s_depth: np.ndarray,
    s_cam: np.ndarray,
    n_from_src: np.ndarray,
    n_depth: np.ndarray,
    n_cam: np.ndarray,
    n_colour: np.ndarray,
) -> None:
    """Trace the eye's hole pixels (hy, hx) that received a point (`zbuf`) back into the
    neighbour and take its colour where it is the same point, hidden from the source,
    plausible against `background` and nearer than `best` (see `fill_from_neighbours`).
    image (H, W, 3) float32 and best (H, W) float32 metres are updated in place."""
    r = n_from_src
    colour = np.empty(3, np.float32)
    for k in range(len(hy)):
        y, x = hy[k], hx[k]
        zf = zbuf[y, x]
        if not zf < np.inf:
            continue
        bg = background[y, x]
        if bg < np.inf and not (zf < bg * BACKGROUND_DEPTH_RATIO and zf * BACKGROUND_DEPTH_RATIO > bg):
            continue
        if not zf < best[y, x] * (1 - SAME_POINT_TOLERANCE):
            continue
        z = np.float64(zf)
        sx = (x - s_cam[2]) / s_cam[0] * z + offset  # the eye's point in the source camera
        sy = (y - s_cam[3]) / s_cam[1] * z
        if not _hidden(s_depth, s_cam, sx, sy, z):
            continue
        nx = r[0, 0] * sx + r[0, 1] * sy + r[0, 2] * z + r[0, 3]
        ny = r[1, 0] * sx + r[1, 1] * sy + r[1, 2] * z + r[1, 3]
        nz = r[2, 0] * sx + r[2, 1] * sy + r[2, 2] * z + r[2, 3]
        seen = _nearest_depth(n_depth, n_cam, nx, ny, nz)
        if not abs(seen - nz) <= SAME_POINT_TOLERANCE * nz:
            continue
        _bilinear(n_colour, nx / nz * n_cam[0] + n_cam[2], ny / nz * n_cam[1] + n_cam[3], colour)
        best[y, x] = zf
        image[y, x] = colour


def eye_depths(source: SourceFrame, offsets_m: np.ndarray, wanted: list[np.ndarray]) -> np.ndarray:
    """(E, H, W) float32 z-depth, metres, of each eye's view of the source frame's points
    (+inf where none lands: the holes), exact on the eye's `wanted` pixels ((H, W) bool
    per eye: only the points that may land near them are drawn). offsets_m: (E,) eye
    positions along the source camera's x axis (metres, right positive); eyes have the
    source's intrinsics."""
    cam = _camera(source.intrinsics)
    return _splat_tiles(
        source.depth,
        source.has_depth,
        cam,
        source.depth_ranges,
        np.eye(4),
        source.depth,
        cam,
        np.asarray(offsets_m, np.float64),
        _integral(wanted),
        False,
    )


def fill_from_neighbours(
    images: list[np.ndarray],
    holes: list[np.ndarray],
    background_depths: list[np.ndarray],
    offsets_m: np.ndarray,
    source: SourceFrame,
    neighbours: list[SourceFrame],
) -> list[np.ndarray]:
    """Fill the holes of each eye with the nearest surface any of `neighbours` offers.

    images: per eye (H, W, 3) float32 RGB, changed in place. holes: per eye (H, W) bool.
    background_depths: per eye (H, W) float32 metres, the depth on each hole pixel's
    background side (+inf: unknown, no check); candidates off by more than
    BACKGROUND_DEPTH_RATIO are refused. offsets_m: (E,) as in `eye_depths`.
    neighbours: in order of preference (nearest in time first); a later one wins a pixel
    only with a surface nearer by more than SAME_POINT_TOLERANCE (the true surface at a
    disocclusion is the nearest one hidden from the source frame).
    Returns per eye (H, W) bool: the pixels filled.
    """
    offsets = np.asarray(offsets_m, np.float64)
    s_cam = _camera(source.intrinsics)
    cam_from_world = invert_pose(source.world_from_cam)
    holes_at = [mask_pixels(h) for h in holes]
    wanted = _integral(holes)
    best = [np.full(h.shape, np.inf, np.float32) for h in holes]
    for neighbour in neighbours:
        src_from_n = cam_from_world @ neighbour.world_from_cam
        n_cam = _camera(neighbour.intrinsics)
        zbufs = _splat_tiles(
            neighbour.depth,
            neighbour.static,
            n_cam,
            neighbour.static_ranges,
            src_from_n,
            source.depth,
            s_cam,
            offsets,
            wanted,
            True,
        )
        n_from_src = invert_pose(src_from_n)
        for e, (hy, hx) in enumerate(holes_at):
            _take_candidates(
                images[e],
                best[e],
                hy,
                hx,
                zbufs[e],
                background_depths[e],
                offsets[e],
                source.depth,
                s_cam,
                n_from_src,
                neighbour.depth,
                n_cam,
                neighbour.colour,
            )
    return [np.isfinite(b) for b in best]
