"""The weight-free infill backend (the default).

Each hole of each eye is filled in two passes:

1. with depth and camera poses given: background that neighbouring frames see, warped into
   the eye (`warp.py`); this is usually the true content of a disocclusion;
2. whatever is left: from its background side, following the direction in the infill mask
   (the first background pixel met along that direction), so the
   foreground never bleeds into the hole as it does with isotropic inpainting.

Then the fill and its background-side seam are softened together (`blend.soften_fill`).
The result depends only on the frame and its neighbours, so chunks are independent and a
resumed run gives the same bytes as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..fov import frame_intrinsics, resolve_xfovs
from ..io.checks import check_matching
from ..io.depth_video import DepthVideoReader
from ..io.mask_video import MaskVideoReader
from ..io.sidecars import read_transformations
from ..io.video import VideoInfo, VideoReader
from .backend import ChunkInput, State
from .blend import soften_fill, to_uint8
from .holes import EYES, decode_infill_mask, march_to_background, mask_pixels, split_eyes
from .warp import SourceFrame, eye_depths, fill_from_neighbours

LEFTOVER_RADIUS_PX = 3  # cv2.inpaint radius for the rare holes with no background on their line


def directional_fill(image: np.ndarray, holes: np.ndarray, direction: np.ndarray) -> None:
    """Fill `holes` of `image`, in place, from their background side.

    image: (H, W, 3) float32 RGB 0..255 (hole pixels ignored). holes: (H, W) bool.
    direction: (H, W, 2) float32 unit (x, y) vectors towards the background side.
    Each hole pixel gets the first background pixel along its direction (averaging more
    of them measured worse on the synthetic scenes: it blurs texture that the seam blur
    then blurs again); pixels whose line holds no background are inpainted from around.
    """
    if not holes.any():
        return
    height, width = holes.shape
    ys, xs = march_to_background(holes, direction, max_steps=max(height, width))
    hy, hx = mask_pixels(holes)
    sy, sx = ys[hy, hx], xs[hy, hx]
    reached = sy >= 0
    image[hy[reached], hx[reached]] = image[sy[reached], sx[reached]]  # never a hole: no chains
    if not reached.all():
        leftover = np.zeros_like(holes)
        leftover[hy[~reached], hx[~reached]] = True
        patched = cv2.inpaint(
            np.clip(image, 0, 255).astype(np.uint8),
            leftover.astype(np.uint8),
            LEFTOVER_RADIUS_PX,
            cv2.INPAINT_TELEA,
        )
        image[leftover] = patched[leftover]


@dataclass(frozen=True)
class SceneInputs:
    """The optional inputs that let classical infill use other frames.

    color_video, depth_video, transformation_file: paths (same size, fps and frame count).
    xfov, yfov, xfov_file: the field of view (see `metricdepth.fov.resolve_xfovs`).
    max_depth: metres, for depth videos without a max_depth tag.
    pupillary_distance_m: distance between the eyes the stereo video was rendered with.
    neighbour_frames: how far (frames) to look before and after.
    mask_video: optional subject mask (moving things), not taken from other frames.
    """

    color_video: Path
    depth_video: Path
    transformation_file: Path
    xfov: float | None
    yfov: float | None
    xfov_file: Path | None
    max_depth: float
    pupillary_distance_m: float
    neighbour_frames: int
    mask_video: Path | None = None


def neighbour_offsets(radius: int) -> list[int]:
    """Frame offsets tried in order, nearest first: +1, -1, +2, -2, +4, -4, ... up to radius."""
    offsets, step = [], 1
    while step <= radius:
        offsets += [step, -step]
        step *= 2
    return offsets


class SceneFrames:
    """Colour, depth and pose of source frames, decoded on demand and kept while needed."""

    def __init__(self, inputs: SceneInputs, eye_size: tuple[int, int], frame_count: int):
        self.inputs = inputs
        self.colour = VideoReader(inputs.color_video)
        self.depth = DepthVideoReader(inputs.depth_video, inputs.max_depth)
        check_matching(self.colour.info, self.depth.info, "depth video")
        self.mask = None
        if inputs.mask_video is not None:
            self.mask = MaskVideoReader(inputs.mask_video)
            check_matching(self.colour.info, self.mask.info, "mask video")
        if (self.colour.width, self.colour.height) != eye_size:
            raise InputError(
                inputs.color_video,
                f"is {self.colour.width}x{self.colour.height}, but "
                f"each eye of the stereo video is {eye_size[0]}x{eye_size[1]}",
            )
        if self.colour.frame_count != frame_count:
            raise InputError(
                inputs.color_video,
                f"has {self.colour.frame_count} frames, but the stereo video has {frame_count}",
            )
        self.poses = read_transformations(inputs.transformation_file, frame_count)
        xfovs = resolve_xfovs(
            frame_count,
            *eye_size,
            xfov=inputs.xfov,
            yfov=inputs.yfov,
            xfov_file=inputs.xfov_file,
            depth_video=inputs.depth_video,
        )
        self.intrinsics = frame_intrinsics(xfovs, *eye_size)
        self.frame_count = frame_count
        self._cache: dict[int, SourceFrame] = {}

    def window(self, index: int) -> tuple[SourceFrame, list[SourceFrame]]:
        """Frame `index` and its neighbours (`neighbour_offsets` order, inside the video).

        Frames not yet decoded in the span they cover are decoded in ascending order
        (all of it: the next frames need the frames between the neighbours), so the
        readers decode on without seeking; a seek restarts the threaded decoders, which
        cost half as much again per frame as decoding on."""
        indices = [index] + [
            index + k
            for k in neighbour_offsets(self.inputs.neighbour_frames)
            if 0 <= index + k < self.frame_count
        ]
        for other in range(min(indices), max(indices) + 1):
            self.frame(other)
        return self._cache[index], [self._cache[i] for i in indices[1:]]

    def frame(self, index: int) -> SourceFrame:
        if index not in self._cache:
            self._cache[index] = SourceFrame(
                self.colour.read(index),
                self.depth.read(index),
                self.poses[index],
                self.intrinsics[index],
                self.depth.max_depth,
                None if self.mask is None else self.mask.read(index),
            )
        return self._cache[index]

    def forget_before(self, index: int) -> None:
        """Drop decoded frames before `index` (frames are visited in order)."""
        for key in [k for k in self._cache if k < index]:
            del self._cache[key]

    def eye_offsets_m(self) -> np.ndarray:
        """(2,) float64: the left and right eyes' positions along the source camera's x
        axis, metres (the stereo video's parallel eyes)."""
        half = 0.5 * self.inputs.pupillary_distance_m
        return np.array([-half, half])

    def close(self) -> None:
        for reader in (self.colour, self.depth, self.mask):
            if reader is not None:
                reader.close()


def check_scene_inputs(inputs: SceneInputs, stereo: VideoInfo) -> None:
    """Open the scene inputs and decode their first frame up front, so that a bad file
    fails before any work."""
    frames = SceneFrames(inputs, (stereo.width // 2, stereo.height), stereo.frame_count)
    try:
        frames.frame(0)
    finally:
        frames.close()


class ClassicalBackend:
    """Directional fill, preceded by neighbour-frame warping when `scene` is given."""

    name = "classical"
    carries_state = False

    def __init__(self, scene: SceneInputs | None = None, stereo: VideoInfo | None = None):
        self.scene = None
        if scene is not None:
            if stereo is None:
                raise ValueError("the stereo video's info is needed with scene inputs")
            self.scene = SceneFrames(scene, (stereo.width // 2, stereo.height), stereo.frame_count)

    def fill_frame(
        self, eyes: tuple[np.ndarray, ...], masks: tuple[np.ndarray, ...], index: int
    ) -> list[np.ndarray]:
        """Both eyes of frame `index`: eyes and masks (H, W, 3) uint8 RGB, left then right.
        Returns the filled eyes, (H, W, 3) uint8 RGB; pixels outside holes and their
        background-side band are unchanged. With a scene, the neighbours' points are
        warped once for both eyes (`warp.fill_from_neighbours`)."""
        decoded = [decode_infill_mask(mask, eye) for eye, mask in zip(EYES, masks)]
        work = [image.astype(np.float32) for image in eyes]
        todo = [holes.copy() for holes, _ in decoded]
        if self.scene is not None and any(t.any() for t in todo):
            source, neighbours = self.scene.window(index)
            offsets = self.scene.eye_offsets_m()
            marches = [
                march_to_background(holes, direction, max_steps=max(holes.shape))
                for holes, direction in decoded
            ]
            reached = [mask_pixels(ys >= 0) for ys, _ in marches]
            targets = []  # each hole's background-side pixel: where its depth is read
            for (ys, xs), (hy, hx) in zip(marches, reached):
                target = np.zeros(ys.shape, bool)
                target[ys[hy, hx], xs[hy, hx]] = True
                targets.append(target)
            seen = eye_depths(source, offsets, targets)
            backgrounds = []
            for (ys, xs), (hy, hx), depth in zip(marches, reached, seen):
                background = np.full(ys.shape, np.inf, np.float32)
                background[hy, hx] = depth[ys[hy, hx], xs[hy, hx]]
                backgrounds.append(background)
            filled = fill_from_neighbours(
                work, [h for h, _ in decoded], backgrounds, offsets, source, neighbours
            )
            for t, f in zip(todo, filled):
                t &= ~f
        out = []
        for image, fill, t, (holes, direction) in zip(eyes, work, todo, decoded):
            if not holes.any():
                out.append(image)
                continue
            directional_fill(fill, t, direction)
            soften_fill(fill, t, direction, max_steps=max(holes.shape))
            out.append(to_uint8(fill))
        return out

    def infill_chunk(self, chunk: ChunkInput, state: State | None) -> tuple[np.ndarray, dict]:
        out = chunk.stereo.copy()
        for k in range(len(out)):
            index = chunk.start + k
            if self.scene is not None:
                self.scene.forget_before(index - self.scene.inputs.neighbour_frames)
            eyes = split_eyes(out[k])
            for image, filled in zip(eyes, self.fill_frame(eyes, split_eyes(chunk.mask[k]), index)):
                image[...] = filled
        return out, {}
