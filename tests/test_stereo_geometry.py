"""Exact geometry of the eye renderer: shifts, hole widths, convergence, mask colours,
and the agreement of its three implementations (scanline, general, torch)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from metricdepth.camera import Intrinsics, make_pose, rotation_about_axis
from metricdepth.stereo.convergence import convergence_shift_px, effective_baseline
from metricdepth.stereo.infill_mask import GREEN, direction_colour, mask_directions
from metricdepth.stereo.raster_mesh import BAND_ROWS, render_mesh
from metricdepth.stereo.render import Eye, eye_at, render_eyes, stereo_eyes

W, H = 96, 8
F = 100.0  # focal length, pixels
INTR = Intrinsics(W, H, F, F, (W - 1) / 2, (H - 1) / 2)
RAMP = np.repeat(np.repeat(np.arange(W, dtype=np.uint8)[None, :, None] + 60, H, 0), 3, 2)
PLUS_X = tuple(direction_colour([1.0, 0.0, 0.0]))  # (255, 128, 128)
MINUS_X = tuple(direction_colour([-1.0, 0.0, 0.0]))  # (0, 128, 128)


def _plane(z: float) -> np.ndarray:
    return np.full((H, W), z, np.float32)


@pytest.mark.parametrize("disparity", [5.0, 3.25, 3.75, 0.5])
def test_plane_shifts_by_f_b_over_z(disparity):
    """A fronto-parallel plane at z moves by exactly f * B / z: the right eye sees at X
    the source colour of X + d (colours are sampled, so a 1/4 pixel shows)."""
    z, baseline = 2.0, disparity * 2.0 / F
    right, = render_eyes(RAMP, _plane(z), INTR, [eye_at(INTR, baseline)])
    inside = np.arange(W) + disparity <= W - 1
    expected = np.floor(RAMP[0, :, 0][inside] + disparity + 0.5)  # rounded half up
    assert np.array_equal(right.colour[:, inside, 0], np.broadcast_to(expected, (H, inside.sum())))
    assert np.allclose(right.inverse_depth[:, inside], 1 / z)
    # the right border: what lies beyond the source's last pixel (and its half pixel)
    holes = right.holes[0]
    assert holes.sum() == np.sum(np.arange(W) + disparity > W - 0.5)
    assert all(tuple(px) == MINUS_X for px in right.mask[0, holes])
    assert not right.mask[0, ~holes].any()


@pytest.mark.parametrize("fg_left", [True, False])
def test_step_edge_leaves_a_hole_as_wide_as_the_disparity_difference(fg_left):
    """Foreground at 1 m and background at 4 m: the eye that looks behind the foreground
    gets a hole of exactly d_fg - d_bg pixels, its mask pointing to the background."""
    depth = _plane(4.0)
    half = slice(None, W // 2) if fg_left else slice(W // 2, None)
    depth[:, half] = 1.0
    baseline = 12.0 / F  # d_fg = 12 px, d_bg = 3 px for the full baseline
    offset = baseline if fg_left else -baseline  # the eye that sees the disocclusion
    view, = render_eyes(RAMP, depth, INTR, [eye_at(INTR, offset)], black_holes=True)
    row_holes = view.holes[0]
    inner = row_holes[15:W - 15]  # away from the image-border holes
    assert inner.sum() == 9
    run = np.flatnonzero(inner) + 15
    assert np.array_equal(run, np.arange(run[0], run[0] + 9))  # one run
    expected_start = (W // 2 - 1 - 12 + 1) if fg_left else (W // 2 + 12 - 9)
    assert run[0] == expected_start
    towards_background = PLUS_X if fg_left else MINUS_X
    assert all(tuple(px) == towards_background for px in view.mask[0, run])
    assert not view.colour[0, run].any()  # black_holes
    # no smear: every covered pixel shows a source colour of its own surface
    assert np.all(np.isin(view.inverse_depth[0][~row_holes], [1.0, 0.25]))


@pytest.mark.parametrize("right_eye", [True, False])
def test_border_hole_ends_where_the_surface_leaves_the_frame(right_eye):
    """A wall at a grazing angle runs out of the frame (inverse depth 0.3 + 0.02 x, and
    mirrored for the left eye). An eye pixel is covered exactly when some source point in
    [-0.5, W - 0.5] lands on it: the border pixel's half pixel must follow the wall's
    slope, not stay at the pixel's own depth (which is 0.1 px off here). Over 21 image
    shifts the hole must hold exactly the pixel centres beyond the wall's end."""
    x = np.arange(W, dtype=np.float64)
    inv_depth = 0.3 + 0.02 * (x if right_eye else W - 1 - x)
    depth = np.repeat((1.0 / inv_depth)[None, :], H, 0).astype(np.float32)
    offset = 0.1 if right_eye else -0.1  # gain = -F * offset: x' = x + shift - 10 iz
    for shift in (np.arange(21) + 0.37) / 21:  # never exactly on a pixel centre
        view, = render_eyes(RAMP, depth, INTR, [eye_at(INTR, offset, shift)])
        edge = W - 0.5 if right_eye else -0.5
        iz_edge = (0.3 + 0.02 * (edge if right_eye else W - 1 - edge))
        end = edge + shift - F * offset * iz_edge  # where the wall's end lands in the eye
        centres = np.arange(W)
        expected = centres > end if right_eye else centres < end
        assert np.array_equal(view.holes[0], expected), shift
        assert np.array_equal(view.holes, np.broadcast_to(expected, (H, W)))


def test_holes_take_the_background_colour_by_default():
    depth = _plane(4.0)
    depth[:, : W // 2] = 1.0
    view, = render_eyes(RAMP, depth, INTR, [eye_at(INTR, 12.0 / F)])
    run = np.flatnonzero(view.holes[0, 15:W - 15]) + 15
    assert np.all(view.colour[0, run] == view.colour[0, run[-1] + 1])


def test_convergence_puts_the_chosen_depth_at_zero_disparity():
    baseline, target = 0.063, 1.5
    shift = convergence_shift_px(F, baseline, target)
    for z, sign in ((target, 0), (1.0, 1), (3.0, -1)):
        left, right = render_eyes(RAMP, _plane(z), INTR, stereo_eyes(INTR, baseline, shift))
        inner = slice(10, W - 10)
        # disparity x_left - x_right of the ramp: left shows value v at x_l, right at x_r
        lv = left.colour[0, inner, 0].astype(float)
        rv = right.colour[0, inner, 0].astype(float)
        disparity = np.mean(rv - lv)  # ramp slope 1: value difference = position difference
        expected = F * baseline * (1 / z - 1 / target)
        assert np.sign(round(disparity, 6)) == sign
        assert abs(disparity - expected) <= 0.5


def test_no_convergence_means_no_shift():
    assert convergence_shift_px(F, 0.063, 0.0) == 0.0
    assert effective_baseline(0.063, 60.0, None) == 0.063
    assert effective_baseline(0.063, 60.0, 90.0) == pytest.approx(
        0.063 * np.tan(np.radians(45)) / np.tan(np.radians(30)))


def test_green_and_black_mask():
    depth = _plane(4.0)
    depth[:, : W // 2] = 1.0
    view, = render_eyes(RAMP, depth, INTR, [eye_at(INTR, 12.0 / F)], green_and_black=True)
    assert all(tuple(px) == GREEN for px in view.mask[view.holes])
    assert not view.mask[~view.holes].any()


def test_mask_directions_decode():
    n = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.6, 0.8, 0.0]])
    decoded = mask_directions(direction_colour(n))
    assert np.allclose(decoded, n, atol=1 / 255 + 1e-6)


def _scene_depth() -> np.ndarray:
    """(48, 64) depth: a slanted floor with a box in front."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    depth = 3.0 + 0.02 * x + 0.03 * y
    depth[10:30, 20:35] = 1.2
    return depth


def _scene() -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return colour, _scene_depth(), Intrinsics(64, 48, 60.0, 60.0, 31.5, 23.5)


def test_general_path_equals_scanline_path_for_a_horizontal_eye():
    """The triangle renderer, given an eye that only moves along x, draws the same
    surface as the scanline renderer: same holes, same colours up to rounding."""
    colour, depth, intr = _scene()
    eye = eye_at(intr, 0.05, shift_px=0.7)
    fast, = render_eyes(colour, depth, intr, [eye])
    tiny = make_pose(rotation_about_axis([0, 1, 0], 1e-7), np.zeros(3))  # forces the general path
    general, = render_eyes(colour, depth, intr, [Eye(tiny @ eye.eye_from_source, eye.intrinsics)])
    assert np.array_equal(fast.holes, general.holes)
    covered = ~fast.holes
    assert np.abs(fast.colour[covered].astype(int) - general.colour[covered]).max() <= 1
    assert np.allclose(fast.inverse_depth, general.inverse_depth, atol=1e-5)


def test_general_path_bands_give_the_image_of_drawing_in_order():
    """The triangles are drawn in bands of source rows, in parallel, then merged. The
    image must be exactly that of one band (every triangle in order into one z-buffer),
    whatever the band size and however many threads draw."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:130, 0:90].astype(np.float32)
    depth = (3.0 + 0.013 * x + 0.007 * y + rng.normal(0.0, 0.02, (130, 90))).astype(np.float32)
    depth[(x - 40) ** 2 + (y - 70) ** 2 < 25**2] = 1.1  # a disc across several bands
    colour = rng.integers(0, 256, (130, 90, 3), dtype=np.uint8)
    src = np.array([70.0, 70.0, 44.5, 64.5])
    # a sideways eye whose focal length differs by 1e-3 px (the general path, with eye
    # pixel centres on the rows between triangles: ties at the seams between bands),
    # and a turned one
    sideways = (make_pose(np.eye(3), np.array([-0.07, 0.0, 0.0])), src + [1e-3, 0, 0, 0])
    turned = (make_pose(rotation_about_axis([0.2, 1, 0.1], 0.05), np.array([0.1, 0.05, 0.2])),
              src)
    for pose, dst in (sideways, turned):
        def draw(band_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            out = (np.empty((130, 90, 3), np.uint8), np.empty((130, 90, 3), np.uint8),
                   np.empty((130, 90), np.float32))
            render_mesh(colour, depth, (1.0 / depth).astype(np.float32), src,
                        np.ascontiguousarray(pose[:3, :3]), np.ascontiguousarray(pose[:3, 3]),
                        dst, 1.0, False, True, *out, band_rows)
            return out

        in_order = draw(10**6)
        assert (in_order[2] == 0).any() and not (in_order[2] == 0).all()
        threads = numba.get_num_threads()
        for band_rows, count in ((BAND_ROWS, threads), (BAND_ROWS, 1), (7, threads)):
            try:
                numba.set_num_threads(count)
                banded = draw(band_rows)
            finally:
                numba.set_num_threads(threads)
            for a, b in zip(in_order, banded):
                assert np.array_equal(a, b), (band_rows, count)


def test_general_path_rotation_lands_where_the_homography_says():
    """A plane far away seen by a rotated eye: each eye pixel shows the source colour at
    the pixel that the rotation maps it to."""
    intr = Intrinsics(W, 32, F, F, (W - 1) / 2, 15.5)
    depth = np.full((32, W), 50.0, np.float32)
    colour = np.repeat(np.repeat(np.arange(W, dtype=np.uint8)[None, :, None] * 2, 32, 0), 3, 2)
    angle = np.radians(3.0)
    R = rotation_about_axis([0, 1, 0], angle)
    view, = render_eyes(colour, depth, intr, [Eye(make_pose(R, np.zeros(3)), intr)])
    X = np.arange(W)
    ray = np.stack([(X - intr.cx) / F, np.zeros(W), np.ones(W)], 1) @ R  # eye ray in source
    source_x = F * ray[:, 0] / ray[:, 2] + intr.cx
    ok = (source_x >= 0) & (source_x <= W - 1) & ~view.holes[16]
    assert ok.sum() > W // 2
    assert np.abs(view.colour[16, ok, 0] - 2 * source_x[ok]).max() <= 1.01


def test_steep_smooth_surface_stays_joined_and_steps_are_cut():
    """The cut rule: a surface whose parallax grows 1.5 px per pixel, steadily (a wall
    seen at a grazing angle), stays whole; one 1.5 px step on a flat surface is cut."""
    intr = Intrinsics(64, 4, 60.0, 60.0, 31.5, 1.5)
    colour = np.zeros((4, 64, 3), np.uint8)
    gain = 60.0 * 1.0  # eye 1 m to the right: x' = x - gain / z
    iz = np.full((4, 64), 0.5)
    iz[0] = 2.0 - 1.5 / gain * np.arange(64)  # receding: each edge stretches to 2.5 px
    iz[1, 32:] -= 1.5 / gain  # one step back
    view, = render_eyes(colour, (1 / iz).astype(np.float32), intr, [eye_at(intr, 1.0)])
    covered = np.flatnonzero(~view.holes[0])
    assert np.array_equal(covered, np.arange(covered[0], covered[-1] + 1))  # no gap
    gaps = np.flatnonzero(view.holes[1, 2:-34]) + 2
    assert 1 <= len(gaps) <= 2 and gaps.max() - gaps.min() < 2


def test_torch_path_matches_numba():
    pytest.importorskip("torch")
    colour, depth, intr = _scene()
    depth[40:] = 1 / (0.3 + 0.05 * np.arange(64))  # steep and smooth: the cut rule's middle
    eyes = stereo_eyes(intr, 0.5, 1.3)
    for options in ({}, {"green_and_black": True}, {"black_holes": True}):
        cpu = render_eyes(colour, depth, intr, eyes, **options)
        dev = render_eyes(colour, depth, intr, eyes, device="cpu:0", **options)
        for a, b in zip(cpu, dev):
            assert np.array_equal(a.holes, b.holes)
            assert np.array_equal(a.mask, b.mask)
            assert np.abs(a.colour.astype(int) - b.colour).max() <= 1
            assert np.allclose(a.inverse_depth, b.inverse_depth, atol=1e-5)


@pytest.mark.parametrize("height, width", [(1, 1), (2, 1), (1, 2), (3, 2)])
def test_tiny_images_render_alike_on_every_path(height, width):
    """Images one or two pixels wide or high (no edges to continue at the borders)."""
    pytest.importorskip("torch")
    colour = np.arange(height * width * 3, dtype=np.uint8).reshape(height, width, 3) * 9
    depth = np.linspace(1.0, 2.0, height * width, dtype=np.float32).reshape(height, width)
    intr = Intrinsics(width, height, 5.0, 5.0, (width - 1) / 2, (height - 1) / 2)
    eye = eye_at(intr, 0.05, shift_px=0.3)
    cpu, = render_eyes(colour, depth, intr, [eye])
    dev, = render_eyes(colour, depth, intr, [eye], device="cpu:0")
    assert not cpu.holes.all()
    assert np.array_equal(cpu.holes, dev.holes)
    assert np.allclose(cpu.inverse_depth, dev.inverse_depth, atol=1e-5)


def test_small_parallax_depth_step_is_cut_not_smeared():
    """Two far surfaces (4 m and 7 m) whose parallax differs by only 0.6 px: still a
    depth discontinuity (surface.REL_CUT), so no pixel gets an in-between depth."""
    depth = _plane(7.0)
    depth[:, : W // 2] = 4.0
    gain = 0.6 / (1 / 4.0 - 1 / 7.0)  # fx * baseline, pixels * metres
    view, = render_eyes(RAMP, depth, INTR, [eye_at(INTR, gain / F)], black_holes=True)
    covered = ~view.holes[0]
    assert np.allclose(np.sort(np.unique(view.inverse_depth[0][covered])), [1 / 7.0, 1 / 4.0])
