"""How the two eyes are packed into one frame: the one layout registry of steps 6, 7 and 8.

Step 6 renders in a layout and writes its name into the stereo video's `layout` tag
(`io/stereo_tags.py`); step 7 keeps the tag; step 8 reads it, writes the stereo metadata
players read for it and names the file with the tokens players detect it by.

Layouts (frame size for eyes of W x H; content):

- `full_sbs` (2W x H): left eye in the left half, right eye in the right half (default).
- `half_sbs` (2(W//2) x H): the same, each eye squeezed to half width (pairs of columns
  averaged; a mask pixel is a hole if either column is).
- `top_bottom` (W x 2H): left eye on top, right eye below.
- `half_top_bottom` (W x 2(H//2)): the same, each eye squeezed to half height (pairs of
  rows averaged).
- `anaglyph` (W x H): red from the left eye, green and blue from the right (red-cyan
  glasses); mask: the left eye's where it has a hole, else the right eye's.
- `vr180` (2S x S): each eye remapped to a 180 x 180 degree equirectangular image S x S
  (S = `vr180_size`, default pi * fx rounded to even: the source's resolution at the
  centre), side by side; outside the source's view: black, and not a hole.

File-name tokens (Meta Quest's player, DeoVR, Skybox, Pigasus look for `SBS`/`LR`,
`TB`/`OU`, `Half`, `180`): `_LRF_Full_SBS`, `_LR_Half_SBS`, `_TB_Full_OU`, `_TB_Half_OU`,
`_Anaglyph`, `_180_LRF_Full_SBS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..camera import Intrinsics


@dataclass(frozen=True)
class Layout:
    """name: the flag and tag value. packing: "side_by_side", "top_bottom" or "anaglyph".
    half: each eye squeezed to half width (side by side) or half height (top-bottom).
    vr180: eyes are 180-degree equirectangular images. file_tag: step 8's name suffix."""

    name: str
    packing: str
    half: bool
    vr180: bool
    file_tag: str

    @property
    def matroska_stereo_mode(self) -> str:
        """Matroska StereoMode, as FFmpeg's muxer names it."""
        return {"side_by_side": "left_right", "top_bottom": "top_bottom", "anaglyph": "anaglyph_cyan_red"}[
            self.packing
        ]

    @property
    def st3d_mode(self) -> int | None:
        """MP4 'st3d' stereo_mode (Spherical Video V2): 1 top-bottom (left eye on top),
        2 left-right (left eye left); None for anaglyph, which 'st3d' cannot describe."""
        return {"side_by_side": 2, "top_bottom": 1}.get(self.packing)

    @property
    def full_eyes(self) -> bool:
        """Both eyes stored whole, so `split` recovers them and other layouts can be made."""
        return not self.half and self.packing != "anaglyph"

    def split(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) eye images of a (H, W, C) frame of this layout (full_eyes only)."""
        if not self.full_eyes:
            raise ValueError(f"{self.name} does not store both eyes whole")
        if self.packing == "top_bottom":
            half = frame.shape[0] // 2
            return frame[:half], frame[half:]
        half = frame.shape[1] // 2
        return frame[:, :half], frame[:, half:]


REGISTRY = {
    layout.name: layout
    for layout in (
        Layout("full_sbs", "side_by_side", half=False, vr180=False, file_tag="_LRF_Full_SBS"),
        Layout("half_sbs", "side_by_side", half=True, vr180=False, file_tag="_LR_Half_SBS"),
        Layout("top_bottom", "top_bottom", half=False, vr180=False, file_tag="_TB_Full_OU"),
        Layout("half_top_bottom", "top_bottom", half=True, vr180=False, file_tag="_TB_Half_OU"),
        Layout("anaglyph", "anaglyph", half=False, vr180=False, file_tag="_Anaglyph"),
        Layout("vr180", "side_by_side", half=False, vr180=True, file_tag="_180_LRF_Full_SBS"),
    )
}
LAYOUTS = tuple(REGISTRY)
LAYOUT_HELP = (
    "full_sbs (2W x H), half_sbs (W x H), top_bottom (W x 2H), half_top_bottom "
    "(W x H), anaglyph (red-cyan, W x H), vr180 (equirectangular per eye, side by side)"
)


def vr180_size(intr: Intrinsics) -> int:
    """Default per-eye side (pixels) of the VR180 layout: pi * fx, rounded to even."""
    return 2 * max(1, round(math.pi * intr.fx / 2))


def frame_size(layout: str, width: int, height: int, eye_side: int = 0) -> tuple[int, int]:
    """(width, height) of a stereo frame for eyes of `width` x `height` pixels."""
    sizes = {
        "full_sbs": (2 * width, height),
        "half_sbs": (2 * (width // 2), height),
        "top_bottom": (width, 2 * height),
        "half_top_bottom": (width, 2 * (height // 2)),
        "anaglyph": (width, height),
        "vr180": (2 * eye_side, eye_side),
    }
    return sizes[layout]


def equirect_maps(intr: Intrinsics, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Source pixel of each pixel of a `side` x `side` 180-degree equirectangular image.

    Longitude and latitude run over [-90, 90] degrees across the pixel edges; direction
    (sin lon cos lat, sin lat, cos lon cos lat) in camera axes (y down). Returns (S, S)
    float32 maps (x, y) for cv2.remap; -1 where the direction is outside the source."""
    angles = (np.arange(side) + 0.5) / side * np.pi - np.pi / 2
    lon, lat = np.meshgrid(angles, angles)
    dx, dy, dz = np.sin(lon) * np.cos(lat), np.sin(lat), np.cos(lon) * np.cos(lat)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = intr.fx * dx / dz + intr.cx
        my = intr.fy * dy / dz + intr.cy
    outside = (dz <= 1e-9) | (mx < -0.5) | (mx > intr.width - 0.5) | (my < -0.5) | (my > intr.height - 0.5)
    mx[outside] = -1e6
    my[outside] = -1e6
    return mx.astype(np.float32), my.astype(np.float32)


def _half_width(image: np.ndarray, is_mask: bool) -> np.ndarray:
    """Pairs of columns averaged (masks: a hole if either column is one)."""
    even = image[:, : 2 * (image.shape[1] // 2)]
    a, b = even[:, 0::2], even[:, 1::2]
    if is_mask:
        return np.where(a.any(axis=-1, keepdims=True), a, b)
    return ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8)


def compose(
    layout: str,
    left: np.ndarray,
    right: np.ndarray,
    is_mask: bool,
    maps: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Pack two (H, W, 3) uint8 eye images (colours, or infill masks when `is_mask`)
    into one frame of `layout`; `maps` from equirect_maps for vr180."""
    if layout == "full_sbs":
        return np.concatenate([left, right], axis=1)
    if layout == "half_sbs":
        return np.concatenate([_half_width(left, is_mask), _half_width(right, is_mask)], axis=1)
    if layout == "top_bottom":
        return np.concatenate([left, right], axis=0)
    if layout == "half_top_bottom":
        halves = [_half_width(eye.transpose(1, 0, 2), is_mask).transpose(1, 0, 2) for eye in (left, right)]
        return np.concatenate(halves, axis=0)
    if layout == "anaglyph":
        if is_mask:
            return np.where(left.any(axis=-1, keepdims=True), left, right)
        return np.concatenate([left[..., :1], right[..., 1:]], axis=-1)
    if layout == "vr180":
        if maps is None:
            raise ValueError("vr180 needs the maps of equirect_maps")
        interpolation = cv2.INTER_NEAREST if is_mask else cv2.INTER_LINEAR
        eyes = [
            cv2.remap(eye, maps[0], maps[1], interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            for eye in (left, right)
        ]
        return np.concatenate(eyes, axis=1)
    raise ValueError(f"unknown layout {layout!r}; choose from {LAYOUTS}")
