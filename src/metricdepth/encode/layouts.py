"""Stereo frame layouts of the final file and the file-name tags players detect them by.

Players (Meta Quest's media player, DeoVR, Skybox, Pigasus, ...) guess the layout from
tokens in the file name: ``SBS``/``LR`` side by side, ``TB``/``OU`` top-bottom, ``Half``
for half resolution per eye, ``180`` for VR180. Our names carry several of them so that
every common player recognises the file: ``_LRF_Full_SBS`` (full side by side, as the
metric_depth_video_toolbox names it), ``_LR_Half_SBS``, ``_TB_Full_OU``, ``_TB_Half_OU``;
VR180 files add ``_180``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Layout:
    """name: the flag value. tag: file-name suffix. top_bottom: eyes stacked (left on top)
    rather than side by side. half: each eye squeezed to half width (SBS) or half height
    (TB), so the frame keeps the size of one eye times (2, 1) or (1, 2) halved."""

    name: str
    tag: str
    top_bottom: bool
    half: bool

    @property
    def matroska_stereo_mode(self) -> str:
        """Matroska StereoMode (as FFmpeg's muxer names it)."""
        return "top_bottom" if self.top_bottom else "left_right"

    @property
    def st3d_mode(self) -> int:
        """MP4 'st3d' stereo_mode: 1 top-bottom, 2 left-right (Spherical Video V2)."""
        return 1 if self.top_bottom else 2

    def frame_size(self, eye_width: int, eye_height: int) -> tuple[int, int]:
        """(width, height) of an output frame for eyes of the given size, pixels."""
        if self.top_bottom:
            return eye_width, eye_height * (1 if self.half else 2)
        return eye_width * (1 if self.half else 2), eye_height

    def arrange(self, sbs: np.ndarray) -> np.ndarray:
        """A side-by-side frame (H, 2W, 3) uint8 RGB in this layout."""
        height, width = sbs.shape[0], sbs.shape[1] // 2
        left, right = sbs[:, :width], sbs[:, width:]
        if self.half:
            size = (width, height // 2) if self.top_bottom else (width // 2, height)
            left, right = (cv2.resize(eye, size, interpolation=cv2.INTER_AREA) for eye in (left, right))
        return np.ascontiguousarray(np.concatenate([left, right], axis=0 if self.top_bottom else 1))


LAYOUTS = {layout.name: layout for layout in (
    Layout("sbs", "_LRF_Full_SBS", top_bottom=False, half=False),
    Layout("half_sbs", "_LR_Half_SBS", top_bottom=False, half=True),
    Layout("tb", "_TB_Full_OU", top_bottom=True, half=False),
    Layout("half_tb", "_TB_Half_OU", top_bottom=True, half=True),
)}
VR180_TAG = "_180"
MVHEVC_TAG = "_spatial"
