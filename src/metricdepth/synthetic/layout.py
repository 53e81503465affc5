"""Random room layouts and smooth camera paths, deterministic from a numpy Generator.

Layout is done in the room frame (x right, y down, z towards the far wall, origin at the
room's centre, metres); everything is then moved into the world frame = the camera of
frame 0. The first camera stands near the back wall looking towards the far wall; static
objects stand in the far part of the room; the moving object loops between them and the
camera, so it occludes and disoccludes walls, floor and objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..camera import invert_pose, make_pose, rotation_about_axis, transform_points
from .primitives import Box, Plane, Shape, Sphere
from .render import RigidPath, Scene, SceneObject
from .texture import WaveTexture, random_texture

ROOM_HALF_SIZE_M = ((2.5, 3.5), (1.3, 1.6), (3.5, 4.5))  # (lo, hi) half width, height, depth
EYE_HEIGHT_M = (1.4, 1.7)  # first camera above the floor
CAMERA_TO_BACK_WALL_M = 1.0
MOVING_AHEAD_M = 2.3  # moving object's mean distance ahead of the first camera
MOVING_HEIGHT_M = 1.0  # ... and above the floor
MOVING_SWING_M = (0.9, 0.25, 0.4)  # its path's amplitude across, up and down, nearer and back
MOVING_SPHERE_RADIUS_M = 0.35
MOVING_BOX_HALF_SIZE_M = (0.3, 0.22, 0.18)
MOVING_SPIN_TURNS = 0.5  # turns about a random axis over the clip
STATIC_AHEAD_M = 3.4  # static objects stand at least this far ahead of the first camera
CLEARANCE_M = 0.1  # gap between static objects' footprints, and to the walls
PLACEMENT_TRIES = 200  # per static object; an object that finds no room is left out
LIGHT_ROOM = np.array([0.3, -1.0, -0.4]) / np.linalg.norm([0.3, -1.0, -0.4])  # towards the light
ROOM_WAVELENGTHS_M = (0.3, 2.0)  # texture band of walls, floor and ceiling
OBJECT_WAVELENGTHS_M = (0.1, 0.8)  # texture band of objects (seen from nearer)
BASE_RGB = (60.0, 195.0)  # range of base colour levels

# name, axis and side of each room face, in surface-id order; the normal points inwards
ROOM_FACES = (
    ("floor", 1, +1),
    ("ceiling", 1, -1),
    ("left_wall", 0, -1),
    ("right_wall", 0, +1),
    ("back_wall", 2, -1),
    ("far_wall", 2, +1),
)


@dataclass(frozen=True)
class LayoutOptions:
    """Settings of `build_scene` (documented in `make_scene`)."""

    moving: Literal["sphere", "box"] | None
    static_objects: int
    camera_translation_m: float
    camera_rotation_deg: float
    texture_scale: float


def _frame_with_normal(normal: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose third column is `normal` (unit)."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, normal)
    u /= np.linalg.norm(u)
    return np.stack([u, np.cross(normal, u), normal], axis=1)


class _Builder:
    """Makes textured objects in room coordinates and stores them in world coordinates."""

    def __init__(self, rng: np.random.Generator, room_from_world: np.ndarray, texture_scale: float):
        self.rng = rng
        self.world_from_room = invert_pose(room_from_world)
        self.texture_scale = texture_scale
        self.light_world = self.world_from_room[:3, :3] @ LIGHT_ROOM

    def texture(self, wavelengths_m: tuple[float, float], planar: bool) -> WaveTexture:
        lo, hi = wavelengths_m
        band = (lo * self.texture_scale, hi * self.texture_scale)
        return random_texture(self.rng, self.rng.uniform(*BASE_RGB, 3), band, planar)

    def static(self, name: str, shape: Shape, room_pose: np.ndarray, planar: bool = False) -> SceneObject:
        """A static object at `room_pose` ((4, 4) room_from_local); `planar`: a room face."""
        pose = self.world_from_room @ room_pose
        band = ROOM_WAVELENGTHS_M if planar else OBJECT_WAVELENGTHS_M
        return SceneObject(name, shape, self.texture(band, planar), pose, pose[:3, :3].T @ self.light_world)


def _room_faces(b: _Builder, half: np.ndarray) -> list[SceneObject]:
    """Floor, ceiling and walls of the room with `half` ((3,) metres) half size."""
    faces = []
    for name, axis, side in ROOM_FACES:
        normal = np.zeros(3)
        normal[axis] = -side
        centre = np.zeros(3)
        centre[axis] = side * half[axis]
        faces.append(b.static(name, Plane(), make_pose(_frame_with_normal(normal), centre), True))
    return faces


def _random_static(b: _Builder, index: int) -> tuple[str, Shape, np.ndarray, float, float]:
    """A random box or sphere: name, shape, (3, 3) rotation in the room, footprint radius
    (metres) and height of its centre above the floor (metres)."""
    rng = b.rng
    if rng.random() < 0.5:
        half = rng.uniform([0.15, 0.15, 0.15], [0.6, 0.7, 0.6])
        yaw = rotation_about_axis(np.array([0.0, 1.0, 0.0]), rng.uniform(0.0, math.pi))
        return f"box_{index}", Box(half), yaw, float(np.hypot(half[0], half[2])), float(half[1])
    radius = rng.uniform(0.2, 0.5)
    lift = radius + (rng.uniform(0.0, 1.0) if rng.random() < 0.5 else 0.0)
    return f"sphere_{index}", Sphere(radius), np.eye(3), radius, lift


def _static_objects(b: _Builder, half: np.ndarray, camera_z: float, count: int) -> list[SceneObject]:
    """Up to `count` boxes and spheres on (or above) the floor, footprints not overlapping,
    at least STATIC_AHEAD_M beyond the first camera (room z `camera_z`, metres)."""
    placed: list[tuple[np.ndarray, float]] = []  # footprint centre (x, z) and radius
    objects = []
    for index in range(count):
        name, shape, rotation, radius, lift = _random_static(b, index)
        lo = np.array([-half[0], camera_z + STATIC_AHEAD_M]) + radius + CLEARANCE_M
        hi = np.array([half[0], half[2]]) - radius - CLEARANCE_M
        for _ in range(PLACEMENT_TRIES):
            xz = b.rng.uniform(lo, hi)
            if all(np.linalg.norm(xz - c) > radius + r + CLEARANCE_M for c, r in placed):
                placed.append((xz, radius))
                centre = np.array([xz[0], half[1] - lift, xz[1]])
                objects.append(b.static(name, shape, make_pose(rotation, centre)))
                break
    return objects


def _moving_object(
    b: _Builder, kind: Literal["sphere", "box"], half: np.ndarray, middle_x: float, camera_z: float
) -> SceneObject:
    """A sphere or box looping in front of the camera: across, up and down, nearer and back."""
    rng = b.rng
    shape = Sphere(MOVING_SPHERE_RADIUS_M) if kind == "sphere" else Box(np.array(MOVING_BOX_HALF_SIZE_M))
    rot_room = rotation_about_axis(np.array([0.0, 1.0, 0.0]), rng.uniform(0.0, 2.0 * math.pi))
    centre_room = np.array([middle_x, half[1] - MOVING_HEIGHT_M, camera_z + MOVING_AHEAD_M])
    offsets_room = np.diag(MOVING_SWING_M)
    start = rng.uniform(0.0, 2.0 * math.pi)
    spin_axis = rng.normal(size=3)
    path = RigidPath(
        rotation=b.world_from_room[:3, :3] @ rot_room,
        centre=transform_points(b.world_from_room, centre_room),
        offsets=offsets_room @ b.world_from_room[:3, :3].T,
        harmonics=np.array([1.0, 2.0, 1.0]),
        phases=np.array([start, rng.uniform(0.0, 2.0 * math.pi), start + math.pi / 2]),
        spin_axis=spin_axis / np.linalg.norm(spin_axis),
        spin_turns=MOVING_SPIN_TURNS,
    )
    rest = path.world_from_local(0.0)
    texture = b.texture(OBJECT_WAVELENGTHS_M, planar=False)
    return SceneObject(f"moving_{kind}", shape, texture, rest, rest[:3, :3].T @ b.light_world, path)


def _first_camera(rng: np.random.Generator, half: np.ndarray, travel_x: float) -> np.ndarray:
    """room_from_cam (4, 4) of frame 0: near the back wall, eye height, looking ahead and down.

    `travel_x` (metres, signed) is the camera's coming sideways travel; it starts off-centre
    by half of it so that the whole path stays in the middle of the room.
    """
    eye = np.array(
        [
            -travel_x / 2 + rng.uniform(-0.3, 0.3),
            half[1] - rng.uniform(*EYE_HEIGHT_M),
            -half[2] + CAMERA_TO_BACK_WALL_M,
        ]
    )
    yaw, pitch_down = np.radians(rng.uniform(-8.0, 8.0)), np.radians(rng.uniform(5.0, 12.0))
    x, y, _ = np.eye(3)  # room and camera axes agree at zero angles (x right, y down)
    return make_pose(rotation_about_axis(y, yaw) @ rotation_about_axis(x, -pitch_down), eye)


def camera_path(rng: np.random.Generator, frames: int, travel_x: float, rotation_deg: float) -> np.ndarray:
    """(frames, 4, 4) float64 world_from_cam, world = camera of frame 0 (frame 0 is identity).

    The camera slides `travel_x` metres sideways (eased in and out), moves forward and back
    and bobs a little, and turns against its sideways motion (yaw) while pitching and
    rolling slightly; angles scale with `rotation_deg`. Every term is a smooth function of
    the phase s = i / (frames - 1) and is exactly zero at s = 0.
    """
    s = np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)
    ease, bump, wave = (1.0 - np.cos(math.pi * s)) / 2, np.sin(math.pi * s), np.sin(2 * math.pi * s)
    k = rng.uniform(0.7, 1.3, size=5)  # per-seed amplitude factors
    distance = abs(travel_x)
    translation = np.stack(
        [travel_x * ease, 0.1 * k[0] * distance * wave, 0.35 * k[1] * distance * bump], axis=1
    )
    rot = math.radians(rotation_deg)
    yaw = -math.copysign(rot, travel_x) * ease + 0.3 * k[2] * rot * wave
    pitch = 0.3 * k[3] * rot * wave
    roll = 0.2 * k[4] * rot * bump
    x, y, z = np.eye(3)
    poses = np.empty((frames, 4, 4))
    for i in range(frames):
        rotation = (
            rotation_about_axis(y, yaw[i])
            @ rotation_about_axis(x, pitch[i])
            @ rotation_about_axis(z, roll[i])
        )
        poses[i] = make_pose(rotation, translation[i])
    return poses


def build_scene(rng: np.random.Generator, frames: int, options: LayoutOptions) -> tuple[Scene, np.ndarray]:
    """A random room with objects, and the camera's (frames, 4, 4) float64 world_from_cam.

    World = camera of frame 0. Object order (= surface ids 1, 2, ...): the six room faces
    in ROOM_FACES order, the static objects, then the moving object if any.
    """
    half = np.array([rng.uniform(lo, hi) for lo, hi in ROOM_HALF_SIZE_M])
    travel_x = options.camera_translation_m * rng.choice([-1.0, 1.0])
    room_from_cam0 = _first_camera(rng, half, travel_x)
    b = _Builder(rng, room_from_cam0, options.texture_scale)
    camera_z = room_from_cam0[2, 3]
    objects = _room_faces(b, half) + _static_objects(b, half, camera_z, options.static_objects)
    if options.moving is not None:
        middle_x = room_from_cam0[0, 3] + room_from_cam0[0, 0] * travel_x / 2
        objects.append(_moving_object(b, options.moving, half, middle_x, camera_z))
    world_from_cam = camera_path(rng, frames, travel_x, options.camera_rotation_deg)
    return Scene(tuple(objects), room_from_cam0), world_from_cam
