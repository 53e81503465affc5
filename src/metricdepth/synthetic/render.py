"""Scene objects and the ray caster: exact depth, colour and surface ids for any pinhole view.

Time is a phase s in [0, 1] over the clip (frame i of N has s = i / (N - 1)); only the
moving object depends on it. Colour is view-independent: each object's albedo is shaded
once by a fixed light as seen at the object's rest pose ("baked"), so every surface point
has one colour in all views and at all times, the moving object's included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..camera import Intrinsics, make_pose, pixel_grid, rotation_about_axis
from .primitives import Shape
from .texture import WaveTexture

AMBIENT = 0.55  # shading = AMBIENT + (1 - AMBIENT) * (1 + n . light) / 2: smooth, never dark
NO_SURFACE = 0  # surface id of a ray that hits nothing (possible only from outside the room)


@dataclass(frozen=True, eq=False)
class RigidPath:
    """Smooth rigid motion over the clip phase s in [0, 1].

    centre(s) = centre + sum_j offsets[j] * sin(2 pi harmonics[j] s + phases[j])
    rotation(s) = rotation @ R(spin_axis, 2 pi spin_turns s)

    rotation: (3, 3) float64, world_from_local rotation at s = 0 (the rest pose).
    centre: (3,) float64, metres, world frame.
    offsets: (J, 3) float64, metres, world frame.
    harmonics: (J,) float64, cycles per clip. phases: (J,) float64, radians.
    spin_axis: (3,) float64, unit, local frame. spin_turns: turns per clip.
    """

    rotation: np.ndarray
    centre: np.ndarray
    offsets: np.ndarray
    harmonics: np.ndarray
    phases: np.ndarray
    spin_axis: np.ndarray
    spin_turns: float

    def world_from_local(self, s: float) -> np.ndarray:
        """(4, 4) float64 pose at phase `s`."""
        wave = np.sin(2.0 * math.pi * self.harmonics * s + self.phases)
        spin = rotation_about_axis(self.spin_axis, 2.0 * math.pi * self.spin_turns * s)
        return make_pose(self.rotation @ spin, self.centre + wave @ self.offsets)


@dataclass(frozen=True, eq=False)
class SceneObject:
    """A textured shape. Static objects have `rest_pose`; the moving one also has `path`.

    rest_pose: (4, 4) float64, world_from_local (for a moving object, its pose at s = 0).
    light: (3,) float64, unit vector towards the light, local frame (the world light as seen
        at the rest pose); it shades the albedo into a fixed per-point colour.
    """

    name: str
    shape: Shape
    texture: WaveTexture
    rest_pose: np.ndarray
    light: np.ndarray
    path: RigidPath | None = None

    def world_from_local(self, s: float) -> np.ndarray:
        """(4, 4) float64 pose at clip phase `s`."""
        return self.rest_pose if self.path is None else self.path.world_from_local(s)

    def colour(self, points: np.ndarray) -> np.ndarray:
        """points: (N, 3) float64, metres, local, on the surface. Returns (N, 3) float32 RGB."""
        lit = (1.0 + self.shape.normal(points) @ self.light) / 2.0
        shade = AMBIENT + (1.0 - AMBIENT) * lit
        return self.texture.albedo(points) * shade[:, None].astype(np.float32)


@dataclass(frozen=True, eq=False)
class SyntheticView:
    """What a camera sees at some sample points (a whole image: shape (H, W)).

    colour: (..., 3) uint8 RGB. depth: (...) float32, metres, z-depth (+inf: no surface).
    surface_ids: (...) int16, index into `Scene.surface_names` (0: no surface).
    moving_mask: (...) bool, True on the moving object.
    """

    colour: np.ndarray
    depth: np.ndarray
    surface_ids: np.ndarray
    moving_mask: np.ndarray


@dataclass(frozen=True, eq=False)
class Scene:
    """Objects in the world frame (= the camera of frame 0).

    Surface ids number the smooth pieces of the objects' surfaces from 1 in object order:
    one per room face and sphere, six per box (its faces), so within one id colour and
    depth are smooth; 0 is "no surface".
    room_from_world: (4, 4) float64, the world in the room's gravity-aligned frame
    (x right, y down, z towards the far wall, origin at the room's centre, metres).
    """

    objects: tuple[SceneObject, ...]
    room_from_world: np.ndarray

    @cached_property
    def first_ids(self) -> tuple[int, ...]:
        """Surface id of each object's first face (its faces follow consecutively)."""
        counts = [len(obj.shape.face_names) for obj in self.objects]
        return tuple(int(i) for i in 1 + np.cumsum([0] + counts[:-1]))

    @cached_property
    def surface_names(self) -> tuple[str, ...]:
        """Name of each surface id: the object's name, with the face ("box_2:+x") for boxes."""
        return ("none",) + tuple(
            f"{obj.name}:{face}" if face else obj.name
            for obj in self.objects
            for face in obj.shape.face_names
        )

    @cached_property
    def moving_ids(self) -> range:
        """Surface ids of the moving object (empty when the scene has none)."""
        for obj, first in zip(self.objects, self.first_ids):
            if obj.path is not None:
                return range(first, first + len(obj.shape.face_names))
        return range(0)

    def sample(self, intr: Intrinsics, world_from_cam: np.ndarray, xy: np.ndarray, s: float) -> SyntheticView:
        """Cast one ray through each pixel position at clip phase `s`.

        xy: (..., 2) float, pixels (x, y), any sub-pixel position.
        world_from_cam: (4, 4) float64, OpenCV camera axes. Returns a view of shape xy[..., 0].
        """
        xy = np.asarray(xy, dtype=np.float64)
        shape = xy.shape[:-1]
        xy = xy.reshape(-1, 2)
        dirs_cam = np.stack(
            [(xy[:, 0] - intr.cx) / intr.fx, (xy[:, 1] - intr.cy) / intr.fy, np.ones(len(xy))], axis=1
        )  # z = 1: the ray parameter is z-depth
        pose = np.asarray(world_from_cam, dtype=np.float64)
        depth, ids, colour = self._cast(pose[:3, 3], dirs_cam @ pose[:3, :3].T, s)
        rgb = np.clip(np.rint(colour), 0, 255).astype(np.uint8)
        moving = (ids >= self.moving_ids.start) & (ids < self.moving_ids.stop)
        return SyntheticView(
            rgb.reshape(*shape, 3),
            depth.astype(np.float32).reshape(shape),
            ids.reshape(shape),
            moving.reshape(shape),
        )

    def render(self, intr: Intrinsics, world_from_cam: np.ndarray, s: float) -> SyntheticView:
        """The full (H, W) image of a camera with pose `world_from_cam` at clip phase `s`."""
        x, y = pixel_grid(intr.width, intr.height)
        return self.sample(intr, world_from_cam, np.stack([x, y], axis=-1), s)

    def _cast(
        self, origin: np.ndarray, dirs: np.ndarray, s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest hit of rays origin + t dirs (world frame, metres).

        Returns t (N,) float64 (+inf: miss), surface ids (N,) int16, colour (N, 3) float32.
        """
        n = len(dirs)
        t_best = np.full(n, np.inf)
        hit = np.full(n, -1, dtype=np.int16)  # index of the object hit
        local = []  # per object: origin (3,) and rotation (3, 3) that take world rays local
        for k, obj in enumerate(self.objects):
            pose = obj.world_from_local(s)
            rot = pose[:3, :3]
            origin_local = (origin - pose[:3, 3]) @ rot
            t = obj.shape.intersect(origin_local, dirs @ rot)
            nearer = t < t_best
            t_best[nearer] = t[nearer]
            hit[nearer] = k
            local.append((origin_local, rot))

        ids = np.full(n, NO_SURFACE, dtype=np.int16)
        colour = np.zeros((n, 3), dtype=np.float32)
        for k, (obj, first, (origin_local, rot)) in enumerate(zip(self.objects, self.first_ids, local)):
            rows = np.flatnonzero(hit == k)
            points = origin_local + t_best[rows, None] * (dirs[rows] @ rot)
            ids[rows] = first + obj.shape.face(points)
            colour[rows] = obj.colour(points)
        return t_best, ids, colour
