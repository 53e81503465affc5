"""Synthetic clips with exact ground truth: `make_scene(seed) -> SyntheticClip`.

`plan_scene` (same arguments) gives the scene and the camera path without rendering any
frame: a `SyntheticShot`, whose `view(i)` renders frame i on demand, for writing long or
large clips in constant memory. `make_scene` is the shot with every frame rendered.

A textured room (floor, ceiling, four walls) with static boxes and spheres and one moving
object, seen by a smoothly moving pinhole camera. Depth is ray-cast analytically (exact to
float64 before the float32 cast), poses are exact, and a surface point has the same
colour in every view, so geometry steps can be checked against the truth.

World frame = the camera of frame 0 (project convention): `world_from_cam[0]` is the
identity and the poses can be written as the transformations JSON as they are. The room's
gravity-aligned frame is available as `clip.scene.room_from_world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from ..camera import Intrinsics, stereo_eye_pose
from .layout import LayoutOptions, build_scene
from .render import Scene, SyntheticView

MOVING_KINDS = ("sphere", "box")
MAX_CAMERA_TRANSLATION_M = 2.0  # beyond this the camera path could leave the room's middle
MAX_CAMERA_ROTATION_DEG = 30.0


def clip_phase(frame: float, frames: int) -> float:
    """Phase s = frame / (frames - 1) in [0, 1] of frame time `frame` in a clip of `frames`."""
    return frame / (frames - 1) if frames > 1 else 0.0


@dataclass(frozen=True, eq=False)
class SyntheticShot:
    """A clip of N = `frames` frames as a scene and a camera path; frames are rendered
    when asked for (`view`), so nothing grows with N but the (N, 4, 4) poses.

    scene: the geometry, to render any other view. intrinsics: the pinhole camera of every
    frame (pixels). fps: frames per second, an exact fraction.
    world_from_cam: (N, 4, 4) float64, camera-to-world, OpenCV axes (x right, y down,
        z forward), world = camera of frame 0, so world_from_cam[0] is the identity.
    xfov: full horizontal field of view, degrees (as asked; `intrinsics` derives from it).
    Time: frame i is at clip phase s = i / (N - 1); the camera and the moving object run
    their whole paths over the clip whatever N is, so more frames mean smaller steps.
    """

    scene: Scene
    intrinsics: Intrinsics
    fps: Fraction
    xfov: float
    world_from_cam: np.ndarray

    @property
    def frames(self) -> int:
        """Number of frames N."""
        return len(self.world_from_cam)

    def phase(self, frame: float) -> float:
        """Clip phase s in [0, 1] of (possibly fractional) frame time `frame` in [0, N - 1]."""
        if not 0.0 <= frame <= self.frames - 1:
            raise ValueError(f"frame {frame} is outside the clip's frames 0..{self.frames - 1}")
        return clip_phase(frame, self.frames)

    def view(self, frame: int) -> SyntheticView:
        """The exact (H, W) view of frame `frame` (colour, depth, surface ids, moving mask)."""
        return self.render(self.world_from_cam[frame], frame)

    def render(
        self, world_from_cam: np.ndarray, frame: float, intrinsics: Intrinsics | None = None
    ) -> SyntheticView:
        """The exact (H, W) view of any camera at frame time `frame` (fractional allowed).

        world_from_cam: (4, 4) float64, OpenCV axes, world = camera of frame 0; the camera
        should be inside the room. `intrinsics` defaults to the clip's.
        """
        intr = self.intrinsics if intrinsics is None else intrinsics
        return self.scene.render(intr, world_from_cam, self.phase(frame))

    def sample(self, world_from_cam: np.ndarray, xy: np.ndarray, frame: float) -> SyntheticView:
        """Exact colour, depth and ids at any sub-pixel positions of a camera with the
        clip's intrinsics. xy: (..., 2) float, pixels (x, y). Returns arrays of shape xy[..., 0]."""
        return self.scene.sample(self.intrinsics, world_from_cam, xy, self.phase(frame))

    def second_eye(self, frame: int, offset_m: float) -> SyntheticView:
        """The exact view of a parallel eye `offset_m` metres along frame `frame`'s camera x
        axis (positive = right), at the same time: x_other = x - fx * offset_m / z."""
        return self.render(stereo_eye_pose(self.world_from_cam[frame], offset_m), frame)


@dataclass(frozen=True, eq=False)
class SyntheticClip(SyntheticShot):
    """A `SyntheticShot` with every frame rendered (N, H, W arrays; see `plan_scene` for
    clips too long to hold).

    colour: (N, H, W, 3) uint8 RGB.
    depth: (N, H, W) float32, metres, z-depth (along the optical axis, not the ray).
    moving_mask: (N, H, W) bool, True where the moving object is seen.
    surface_ids: (N, H, W) int16, index into `scene.surface_names` (never 0 inside the room).
    """

    colour: np.ndarray
    depth: np.ndarray
    moving_mask: np.ndarray
    surface_ids: np.ndarray

    def view(self, frame: int) -> SyntheticView:
        """Frame `frame` as stored (the same as rendering it again)."""
        return SyntheticView(
            self.colour[frame], self.depth[frame], self.surface_ids[frame], self.moving_mask[frame]
        )


def _check(
    seed: int,
    width: int,
    height: int,
    frames: int,
    moving: str | None,
    static_objects: int,
    camera_translation_m: float,
    camera_rotation_deg: float,
    texture_scale: float,
    fps: Fraction,
) -> None:
    """Refuse settings the generator cannot honour, saying what is allowed."""
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if width < 2 or height < 2 or frames < 1:
        raise ValueError(f"need width, height >= 2 and frames >= 1, got {width}x{height}, {frames}")
    if moving is not None and moving not in MOVING_KINDS:
        raise ValueError(f"moving must be one of {MOVING_KINDS} or None, got {moving!r}")
    if static_objects < 0:
        raise ValueError(f"static_objects must be >= 0, got {static_objects}")
    if not 0.0 <= camera_translation_m <= MAX_CAMERA_TRANSLATION_M:
        raise ValueError(
            f"camera_translation_m must be in [0, {MAX_CAMERA_TRANSLATION_M}], got {camera_translation_m}"
        )
    if not 0.0 <= camera_rotation_deg <= MAX_CAMERA_ROTATION_DEG:
        raise ValueError(
            f"camera_rotation_deg must be in [0, {MAX_CAMERA_ROTATION_DEG}], got {camera_rotation_deg}"
        )
    if not texture_scale > 0.0:
        raise ValueError(f"texture_scale must be > 0, got {texture_scale}")
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")


def plan_scene(
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    frames: int = 64,
    xfov: float = 60.0,
    *,
    fps: Fraction | int = Fraction(30),
    moving: Literal["sphere", "box"] | None = "sphere",
    static_objects: int = 5,
    camera_translation_m: float = 1.0,
    camera_rotation_deg: float = 10.0,
    texture_scale: float = 1.0,
) -> SyntheticShot:
    """A random synthetic clip, deterministic from `seed`, with no frame rendered yet.

    width, height: image size, pixels. frames: clip length. xfov: full horizontal field of
    view, degrees (square pixels, centred principal point).
    fps: frame rate as an exact fraction (only recorded: motion is spread over the clip).
    moving: the moving object, "sphere" (radius 0.35 m, spinning) or "box"
        (0.6 x 0.44 x 0.36 m, spinning), or None for a fully static scene.
    static_objects: how many boxes and spheres to try to place (fewer if the room is full).
    camera_translation_m: the camera's sideways travel over the clip, metres (it also moves
        forward by about a third of this and back); 0 keeps it in place (rotation only).
    camera_rotation_deg: the camera's turn over the clip, degrees (pitch and roll smaller).
    texture_scale: multiplies every texture wavelength (at 1.0: 0.1-0.8 m on objects,
        0.3-2 m on the room, sized for about 320x240); raise it for smaller images to
        limit aliasing, lower it for finer detail in larger ones.
    """
    fps = Fraction(fps)
    _check(
        seed,
        width,
        height,
        frames,
        moving,
        static_objects,
        camera_translation_m,
        camera_rotation_deg,
        texture_scale,
        fps,
    )
    intr = Intrinsics.from_fov(width, height, xfov=xfov)
    options = LayoutOptions(moving, static_objects, camera_translation_m, camera_rotation_deg, texture_scale)
    scene, world_from_cam = build_scene(np.random.default_rng(seed), frames, options)
    return SyntheticShot(scene, intr, fps, float(xfov), world_from_cam)


def make_scene(
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    frames: int = 64,
    xfov: float = 60.0,
    *,
    fps: Fraction | int = Fraction(30),
    moving: Literal["sphere", "box"] | None = "sphere",
    static_objects: int = 5,
    camera_translation_m: float = 1.0,
    camera_rotation_deg: float = 10.0,
    texture_scale: float = 1.0,
) -> SyntheticClip:
    """`plan_scene` (same arguments) with every frame rendered (see `SyntheticClip`)."""
    shot = plan_scene(
        seed,
        width,
        height,
        frames,
        xfov,
        fps=fps,
        moving=moving,
        static_objects=static_objects,
        camera_translation_m=camera_translation_m,
        camera_rotation_deg=camera_rotation_deg,
        texture_scale=texture_scale,
    )
    n, intr = shot.frames, shot.intrinsics
    colour = np.empty((n, intr.height, intr.width, 3), dtype=np.uint8)
    depth = np.empty((n, intr.height, intr.width), dtype=np.float32)
    moving_mask = np.empty((n, intr.height, intr.width), dtype=bool)
    surface_ids = np.empty((n, intr.height, intr.width), dtype=np.int16)
    for i in range(n):
        view = shot.view(i)
        colour[i], depth[i] = view.colour, view.depth
        moving_mask[i], surface_ids[i] = view.moving_mask, view.surface_ids
    return SyntheticClip(
        shot.scene, intr, shot.fps, shot.xfov, shot.world_from_cam, colour, depth, moving_mask, surface_ids
    )
