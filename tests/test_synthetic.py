"""Synthetic scenes: exact depth, views that agree with each other, stereo, determinism, poses."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from metricdepth.camera import (invert_pose, look_at, make_pose, project, transform_points,
                                unproject, unproject_depth)
from metricdepth.synthetic import SyntheticClip, make_scene
from metricdepth.synthetic.primitives import Box, Sphere

# A depth that lands within this relative distance of the surface the other view sees is
# visible there (not occluded); surfaces that occlude each other are centimetres apart.
VISIBLE_REL = 1e-4
# float32 depth keeps ~7 digits; a point re-found from another view agrees to a few of them.
DEPTH_REL = 1e-5
ROOM_FACES = ("floor", "ceiling", "left_wall", "right_wall", "back_wall", "far_wall")


@pytest.fixture(scope="module")
def clip() -> SyntheticClip:
    return make_scene(seed=1, frames=16)


# --- helpers ----------------------------------------------------------------------

def bilinear(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample an (H, W) or (H, W, C) image at (M, 2) pixel positions inside [0, W-1] x [0, H-1].
    Returns (M, C) float64."""
    img = image.reshape(image.shape[0], image.shape[1], -1).astype(np.float64)
    x0 = np.clip(np.floor(xy[:, 0]).astype(int), 0, img.shape[1] - 2)
    y0 = np.clip(np.floor(xy[:, 1]).astype(int), 0, img.shape[0] - 2)
    a = (xy[:, 0] - x0)[:, None]
    b = (xy[:, 1] - y0)[:, None]
    return ((1 - a) * (1 - b) * img[y0, x0] + a * (1 - b) * img[y0, x0 + 1]
            + (1 - a) * b * img[y0 + 1, x0] + a * b * img[y0 + 1, x0 + 1])


def cell_ids(ids: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(M, 4) surface ids of the four pixels around each of (M, 2) positions."""
    x0 = np.clip(np.floor(xy[:, 0]).astype(int), 0, ids.shape[1] - 2)
    y0 = np.clip(np.floor(xy[:, 1]).astype(int), 0, ids.shape[0] - 2)
    return np.stack([ids[y0, x0], ids[y0, x0 + 1], ids[y0 + 1, x0], ids[y0 + 1, x0 + 1]], axis=1)


def away_from_edges(ids: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3x3 neighbourhood is all one surface id (false on the border)."""
    out = np.zeros(ids.shape, dtype=bool)
    centre = ids[1:-1, 1:-1]
    inner = np.ones(centre.shape, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            inner &= ids[dy:dy + centre.shape[0], dx:dx + centre.shape[1]] == centre
    out[1:-1, 1:-1] = inner
    return out


def second_differences(image: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest |d2I/dx2| and |d2I/dy2| (levels per pixel^2, any channel) over the 2x2 cell
    around each (M, 2) position, from central second differences."""
    img = image.astype(np.float64)
    dxx = np.zeros(img.shape[:2])
    dyy = np.zeros(img.shape[:2])
    dxx[:, 1:-1] = np.abs(img[:, 2:] - 2 * img[:, 1:-1] + img[:, :-2]).max(axis=2)
    dyy[1:-1] = np.abs(img[2:] - 2 * img[1:-1] + img[:-2]).max(axis=2)
    return cell_ids(dxx, xy).max(axis=1), cell_ids(dyy, xy).max(axis=1)


def obliquity(depth: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """(H, W) |(n_x, n_y)| / |n . ray| of the surface seen at each pixel (about the tangent of
    the angle between its normal and the ray), from the gradient of inverse depth, which on
    a plane is z * |grad(1/z)| * f. Large at grazing views and across depth edges."""
    inv = 1.0 / depth.astype(np.float64)
    gx = np.zeros_like(inv)
    gy = np.zeros_like(inv)
    gx[:, 1:-1] = (inv[:, 2:] - inv[:, :-2]) / 2
    gy[1:-1] = (inv[2:] - inv[:-2]) / 2
    return np.hypot(gx * fx, gy * fy) * depth


def reproject(clip: SyntheticClip, i: int, j: int, src: np.ndarray):
    """Pixels `src` ((H, W) bool) of frame i moved into frame j by depth and poses.

    Returns their (M, 2) pixel positions in frame j, (M,) z-depth there, and the (M,)
    flat indices of the source pixels, for the points that land inside frame j's image.
    """
    intr = clip.intrinsics
    points = unproject_depth(clip.depth[i], intr)[src].astype(np.float64)
    cam_j = transform_points(invert_pose(clip.world_from_cam[j]) @ clip.world_from_cam[i], points)
    xy, z = project(cam_j, intr)
    inside = (np.isfinite(xy).all(axis=1) & (xy[:, 0] >= 0) & (xy[:, 0] <= intr.width - 1)
              & (xy[:, 1] >= 0) & (xy[:, 1] <= intr.height - 1))
    return xy[inside], z[inside], np.flatnonzero(src)[inside]


def assert_exact_match(clip: SyntheticClip, i: int, flat: np.ndarray, xy: np.ndarray,
                       z: np.ndarray, view, other_ids: np.ndarray) -> None:
    """Source pixels `flat` of frame i landing at `xy` ((M, 2) pixels) with z-depth `z` in
    another camera, against that camera's exact samples `view` there and its (H, W) id image
    `other_ids`. Checks the visible points away from surface edges in both images: same
    surface, same depth to float precision, same colour (+-1 for rounding)."""
    src_ids = clip.surface_ids[i].ravel()[flat]
    visible = np.abs(view.depth - z) <= VISIBLE_REL * z
    keep = (visible & away_from_edges(clip.surface_ids[i]).ravel()[flat]
            & (cell_ids(other_ids, xy) == src_ids[:, None]).all(axis=1))
    assert keep.mean() > 0.5, "too few points to compare: the check would prove nothing"
    np.testing.assert_array_equal(view.surface_ids[keep], src_ids[keep])
    np.testing.assert_allclose(view.depth[keep], z[keep], rtol=DEPTH_REL)
    diff = np.abs(view.colour[keep].astype(int) - clip.colour[i].reshape(-1, 3)[flat][keep])
    assert diff.max() <= 1


def assert_images_agree(clip: SyntheticClip, i: int, flat: np.ndarray, xy: np.ndarray,
                        z: np.ndarray, colour: np.ndarray, depth: np.ndarray,
                        ids: np.ndarray) -> None:
    """Source pixels `flat` of frame i landing at `xy` ((M, 2) pixels) with z-depth `z` in
    another image (colour (H, W, 3) uint8, depth (H, W) float32, ids (H, W)) agree with
    that image's bilinear samples, where the four pixels around the landing point all show
    the source's surface and the point is visible (not occluded).

    Depth: on planes inverse depth is affine in pixel coordinates, so its interpolation is
    exact to float precision. Colour: linear interpolation misses at most
    a(1-a)/2 |Ixx| + b(1-b)/2 |Iyy| (a, b: position inside the pixel cell), estimated from
    the image's second differences, plus 1 level of rounding. Surfaces seen at grazing
    angles squeeze the texture below the pixel spacing and alias, which no point-sampled
    renderer avoids, so the bound is checked where both images see the surface within about
    70 degrees of its normal (obliquity < 3); 0.5% of those points may still miss it.
    """
    src_ids = clip.surface_ids[i].ravel()[flat]
    one_surface = (cell_ids(ids, xy) == src_ids[:, None]).all(axis=1)
    inv_depth = bilinear(1.0 / depth, xy)[:, 0]
    visible = one_surface & (np.abs(1.0 / inv_depth - z) <= 0.01 * z)
    assert visible.mean() > 0.5, "too few points to compare: the check would prove nothing"
    xy, z, flat, src_ids, inv_depth = (v[visible] for v in (xy, z, flat, src_ids, inv_depth))

    planar = np.isin(src_ids, [clip.scene.surface_names.index(n) for n in ROOM_FACES])
    assert planar.mean() > 0.3
    np.testing.assert_allclose(1.0 / inv_depth[planar], z[planar], rtol=DEPTH_REL)

    err = np.abs(bilinear(colour, xy) - clip.colour[i].reshape(-1, 3)[flat]).max(axis=1)
    assert np.median(err) <= 1.5
    a = xy[:, 0] - np.floor(xy[:, 0])
    b = xy[:, 1] - np.floor(xy[:, 1])
    cxx, cyy = second_differences(colour, xy)
    bound = 1.0 + 1.5 * (a * (1 - a) / 2 * cxx + b * (1 - b) / 2 * cyy)  # 1.5: third-order slack
    fx, fy = clip.intrinsics.fx, clip.intrinsics.fy
    facing = ((obliquity(clip.depth[i], fx, fy).ravel()[flat] < 3)
              & (cell_ids(obliquity(depth, fx, fy), xy).max(axis=1) < 3))
    assert facing.mean() > 0.5
    assert (err <= bound)[facing].mean() >= 0.995


def object_named(clip: SyntheticClip, name: str):
    return next(o for o in clip.scene.objects if o.name == name)


# --- depth is exact ------------------------------------------------------------------

@pytest.mark.parametrize("face", ROOM_FACES)
def test_room_face_seen_head_on_has_constant_depth(clip, face):
    # A camera 0.9 m in front of the face's centre looking along its inward normal: every
    # pixel on that face is at z-depth 0.9 (its ray length grows towards the corners).
    wall = object_named(clip, face)
    cam_in_face = make_pose(np.diag([1.0, -1.0, -1.0]), np.array([0.2, -0.1, 0.9]))
    view = clip.render(wall.rest_pose @ cam_in_face, 0)
    on_face = view.surface_ids == clip.scene.surface_names.index(face)
    assert on_face.mean() > 0.1
    np.testing.assert_allclose(view.depth[on_face], 0.9, rtol=1e-7)


def test_box_face_seen_head_on_has_constant_depth(clip):
    obj = next(o for o in clip.scene.objects if isinstance(o.shape, Box) and o.path is None)
    pose = obj.rest_pose
    # the side face looking most towards the first camera (the world origin)
    to_origin = pose[:3, :3].T @ -pose[:3, 3]
    to_origin[1] = 0.0  # not the top or bottom: boxes stand upright (local y = room y)
    axis = int(np.argmax(np.abs(to_origin)))
    sign = math.copysign(1.0, to_origin[axis])
    normal = np.zeros(3)
    normal[axis] = sign
    face_id = clip.scene.first_ids[clip.scene.objects.index(obj)] + 2 * axis + (sign > 0)
    distance = 0.7
    eye_local = normal * (obj.shape.half_size[axis] + distance)
    view = clip.render(pose @ look_at(eye_local, np.zeros(3)), 0)
    on_face = view.surface_ids == face_id
    assert on_face.mean() > 0.1
    np.testing.assert_allclose(view.depth[on_face], distance, rtol=1e-6)


def test_sphere_depth_matches_the_quadratic(clip):
    spheres = [o for o in clip.scene.objects if isinstance(o.shape, Sphere)]
    assert any(o.path is not None for o in spheres)
    intr = clip.intrinsics
    for obj in spheres:
        frame = 7
        centre = obj.world_from_local(clip.phase(frame))[:3, 3]
        r = obj.shape.radius
        distance = r + 0.6  # camera to centre, on the side facing the first camera
        eye = centre - distance * centre / np.linalg.norm(centre)
        view = clip.render(look_at(eye, centre), frame)
        # independent solution of |t d - C|^2 = r^2 with C = (0, 0, distance) in the camera
        x, y = np.meshgrid(np.arange(intr.width), np.arange(intr.height))
        d = np.stack([(x - intr.cx) / intr.fx, (y - intr.cy) / intr.fy, np.ones(x.shape)], -1)
        a = (d * d).sum(-1)
        half_b = d[..., 2] * distance
        disc = half_b**2 - a * (distance**2 - r * r)
        hits = disc > 0
        t = (half_b - np.sqrt(np.where(hits, disc, 0.0))) / a
        sid = clip.scene.first_ids[clip.scene.objects.index(obj)]
        on_sphere = view.surface_ids == sid
        assert on_sphere.sum() > 0.9 * hits.sum() > 0
        assert not (on_sphere & ~hits).any()
        np.testing.assert_allclose(view.depth[on_sphere], t[on_sphere], rtol=1e-6)
        centre_px = clip.sample(look_at(eye, centre), np.array([intr.cx, intr.cy]), frame)
        assert centre_px.depth == pytest.approx(distance - r, rel=1e-7)  # the nearest point


def test_every_pixel_sees_a_surface(clip):
    assert np.isfinite(clip.depth).all() and (clip.depth > 0.1).all()
    assert (clip.surface_ids > 0).all()


# --- views agree with each other -----------------------------------------------------

@pytest.mark.parametrize("i, j", [(0, 15), (5, 9)])
def test_reprojection_lands_on_the_same_surface_point(clip, i, j):
    xy, z, flat = reproject(clip, i, j, ~clip.moving_mask[i])
    view = clip.sample(clip.world_from_cam[j], xy, j)
    assert_exact_match(clip, i, flat, xy, z, view, clip.surface_ids[j])


@pytest.mark.parametrize("i, j", [(0, 15), (5, 9)])
def test_reprojection_agrees_with_the_other_image(clip, i, j):
    xy, z, flat = reproject(clip, i, j, ~clip.moving_mask[i])
    assert_images_agree(clip, i, flat, xy, z, clip.colour[j], clip.depth[j], clip.surface_ids[j])


def test_second_eye_matches_the_disparity_shift(clip):
    i, baseline = 6, 0.08
    intr = clip.intrinsics
    right = clip.second_eye(i, baseline)
    x, y = np.meshgrid(np.arange(intr.width, dtype=np.float64), np.arange(intr.height))
    z = clip.depth[i].astype(np.float64)
    x_right = x - intr.fx * baseline / z  # parallel eyes: same row, same z-depth
    inside = x_right >= 0
    xy, z, flat = np.stack([x_right, y], -1)[inside], z[inside], np.flatnonzero(inside)
    # exact: the right eye sees the same surface point at the shifted position, the moving
    # object included (the second eye looks at the same instant)
    eye_pose = clip.world_from_cam[i] @ make_pose(np.eye(3), np.array([baseline, 0.0, 0.0]))
    view = clip.sample(eye_pose, xy, i)
    assert_exact_match(clip, i, flat, xy, z, view, right.surface_ids)
    on_mover = clip.moving_mask[i].ravel()[flat] & (np.abs(view.depth - z) <= VISIBLE_REL * z)
    assert on_mover.sum() > 100
    # and the rendered right image agrees by interpolation
    assert_images_agree(clip, i, flat, xy, z, right.colour, right.depth, right.surface_ids)


def test_second_eye_with_no_offset_is_the_frame(clip):
    same = clip.second_eye(3, 0.0)
    np.testing.assert_array_equal(same.colour, clip.colour[3])
    np.testing.assert_array_equal(same.depth, clip.depth[3])
    np.testing.assert_array_equal(same.surface_ids, clip.surface_ids[3])


def test_render_reproduces_the_stored_frames(clip):
    view = clip.render(clip.world_from_cam[11], 11)
    np.testing.assert_array_equal(view.colour, clip.colour[11])
    np.testing.assert_array_equal(view.depth, clip.depth[11])
    np.testing.assert_array_equal(view.moving_mask, clip.moving_mask[11])


def test_moving_texture_moves_with_the_object(clip):
    i = int(np.argmax(clip.moving_mask.sum(axis=(1, 2))))  # the object well in view
    j = i + 2 if i + 2 < clip.frames else i - 2
    mover = next(o for o in clip.scene.objects if o.path is not None)
    src = clip.moving_mask[i]
    points = unproject_depth(clip.depth[i], clip.intrinsics)[src].astype(np.float64)
    world_i = transform_points(clip.world_from_cam[i], points)
    local = transform_points(invert_pose(mover.world_from_local(clip.phase(i))), world_i)
    world_j = transform_points(mover.world_from_local(clip.phase(j)), local)
    xy, z = project(transform_points(invert_pose(clip.world_from_cam[j]), world_j), clip.intrinsics)
    inside = np.isfinite(xy).all(1) & (xy >= 0).all(1) & (xy[:, 0] <= clip.intrinsics.width - 1) \
        & (xy[:, 1] <= clip.intrinsics.height - 1)
    view = clip.sample(clip.world_from_cam[j], xy[inside], j)
    assert_exact_match(clip, i, np.flatnonzero(src)[inside], xy[inside], z[inside], view,
                       clip.surface_ids[j])


def test_lucas_kanade_tracks_the_texture(clip):
    """The texture has corners everywhere: pyramidal LK on a grid follows the true flow."""
    i, j = 5, 6
    ys, xs = np.mgrid[8:clip.intrinsics.height - 8:8, 8:clip.intrinsics.width - 8:8]
    xy = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    z = clip.depth[i][ys.ravel(), xs.ravel()].astype(np.float64)
    cam_j = transform_points(invert_pose(clip.world_from_cam[j]) @ clip.world_from_cam[i],
                             unproject(xy, z, clip.intrinsics))
    truth, z_j = project(cam_j, clip.intrinsics)
    static = ~clip.moving_mask[i][ys.ravel(), xs.ravel()]
    visible = np.abs(clip.sample(clip.world_from_cam[j], truth, j).depth - z_j) <= VISIBLE_REL * z_j
    grey = [cv2.cvtColor(clip.colour[k], cv2.COLOR_RGB2GRAY) for k in (i, j)]
    found, status, _ = cv2.calcOpticalFlowPyrLK(grey[0], grey[1], xy.astype(np.float32)[:, None],
                                                None, winSize=(15, 15), maxLevel=3)
    ok = static & visible & (status[:, 0] == 1)
    assert ok.mean() > 0.6
    err = np.linalg.norm(found[:, 0] - truth, axis=1)[ok]
    assert np.median(err) < 0.15 and np.quantile(err, 0.8) < 0.5


# --- determinism, poses, the moving object ---------------------------------------------

def test_same_seed_same_clip_other_seed_other_clip():
    a = make_scene(seed=5, width=64, height=48, frames=3)
    b = make_scene(seed=5, width=64, height=48, frames=3)
    c = make_scene(seed=6, width=64, height=48, frames=3)
    for name in ("colour", "depth", "world_from_cam", "moving_mask", "surface_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.colour, c.colour)
    assert not np.array_equal(a.depth, c.depth)
    assert not np.array_equal(a.world_from_cam, c.world_from_cam)


def test_poses_start_at_identity_and_are_smooth_rigid_motions():
    clip = make_scene(seed=3, width=32, height=24, frames=64, camera_translation_m=1.0)
    poses = clip.world_from_cam
    assert poses.shape == (64, 4, 4) and poses.dtype == np.float64
    np.testing.assert_array_equal(poses[0], np.eye(4))
    rot = poses[:, :3, :3]
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
    np.testing.assert_array_equal(poses[:, 3], np.broadcast_to([0.0, 0.0, 0.0, 1.0], (64, 4)))
    # smooth: steps change little from one frame to the next
    t = poses[:, :3, 3]
    step = np.linalg.norm(np.diff(t, axis=0), axis=1)
    accel = np.linalg.norm(np.diff(t, 2, axis=0), axis=1)
    assert accel.max() < 0.15 * step.max()
    turn = np.degrees(np.arccos(np.clip((np.trace(rot[:-1].transpose(0, 2, 1) @ rot[1:],
                                                  axis1=1, axis2=2) - 1) / 2, -1, 1)))
    assert turn.max() < 1.0 and np.abs(np.diff(turn)).max() < 0.2
    # about a metre of travel
    assert 0.9 < np.linalg.norm(t[-1]) < 1.3


def test_cameras_stay_inside_the_room():
    clip = make_scene(seed=4, width=32, height=24, frames=32, camera_translation_m=2.0,
                      camera_rotation_deg=30.0)
    for face in ROOM_FACES:
        wall = object_named(clip, face)
        centres_local = transform_points(invert_pose(wall.rest_pose), clip.world_from_cam[:, :3, 3])
        assert (centres_local[:, 2] > 0.3).all(), face  # on the inner side, 30 cm clear


def test_moving_mask_is_the_moving_object(clip):
    fraction = clip.moving_mask.mean(axis=(1, 2))
    assert (fraction > 0).mean() >= 0.8
    assert 0.005 < fraction.mean() < 0.3
    ids = clip.scene.moving_ids
    np.testing.assert_array_equal(clip.moving_mask, (clip.surface_ids >= ids.start)
                                  & (clip.surface_ids < ids.stop))


def test_moving_box_and_static_scene():
    box = make_scene(seed=2, width=80, height=60, frames=8, moving="box")
    assert len(box.scene.moving_ids) == 6 and box.moving_mask.any()
    still = make_scene(seed=2, width=80, height=60, frames=8, moving=None)
    assert len(still.scene.moving_ids) == 0 and not still.moving_mask.any()


def test_clip_fields_have_documented_types(clip):
    n, h, w = 16, 240, 320
    assert clip.colour.shape == (n, h, w, 3) and clip.colour.dtype == np.uint8
    assert clip.depth.shape == (n, h, w) and clip.depth.dtype == np.float32
    assert clip.moving_mask.shape == (n, h, w) and clip.moving_mask.dtype == bool
    assert clip.surface_ids.shape == (n, h, w) and np.issubdtype(clip.surface_ids.dtype, np.integer)
    assert clip.xfov == 60.0 and clip.intrinsics.xfov == pytest.approx(60.0)
    assert clip.fps == 30 and clip.frames == n


@pytest.mark.parametrize("options", [
    dict(moving="cube"), dict(frames=0), dict(width=1), dict(static_objects=-1),
    dict(camera_translation_m=5.0), dict(camera_rotation_deg=-1.0), dict(texture_scale=0.0),
    dict(fps=0), dict(seed=1.5),
])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        make_scene(**{"width": 16, "height": 12, "frames": 2, **options})


def test_frame_outside_the_clip_is_refused(clip):
    with pytest.raises(ValueError, match="outside"):
        clip.render(clip.world_from_cam[0], 16)
