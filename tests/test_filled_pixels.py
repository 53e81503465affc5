"""Step 1 records which pixels it filled (no sensor depth) in a mask video beside the depth
video, and the viewer paints them: checked on the real TUM RGB-D desk, whose Kinect frames
leave the top rows, the right columns and object shadows at 0."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TUM_DESK, tum_desk_frames, write_video
from metricdepth.depth.config import DepthConfig
from metricdepth.depth.missing import FILLED_MASK_TAG
from metricdepth.depth.step import convert
from metricdepth.io.mask_video import MaskVideoReader
from metricdepth.io.ply import read_ply
from metricdepth.io.video import probe
from metricdepth.viewer import ViewerConfig, view_3d
from metricdepth.viewer.render import RenderCamera, render_views
from metricdepth.viewer.source import FrameSource

TUM_SCALE = 1 / 5000
TUM_XFOV = 63.48  # 2 atan(320 / 517.3): the Kinect's focal length
MAX_DEPTH = 20.0
FRAME = 4  # the walkthrough's frame
MAGENTA = (255, 0, 255)


@pytest.fixture(scope="module")
def tum(tmp_path_factory):
    """(folder, RGB frames (9, 480, 640, 3), raw sensor codes (9, 480, 640), step 1's paths)."""
    rgb, raw = tum_desk_frames()
    folder = tmp_path_factory.mktemp("tum_filled")
    video = write_video(folder / "tum.mkv", rgb)
    paths = convert(DepthConfig(color_video=str(video), backend="frames", depth_frames=str(TUM_DESK / "depth"),
                                depth_scale=TUM_SCALE, max_depth=MAX_DEPTH))
    return folder, rgb, raw, paths


def test_the_mask_holds_exactly_the_pixels_without_sensor_depth(tum):
    folder, _, raw, paths = tum
    depth, mask = folder / "tum.mkv_depth.mkv", folder / "tum.mkv_depth.mkv_filledmask.mkv"
    assert paths == [depth, mask]  # committed as one job: no work folder left
    assert probe(depth).tags[FILLED_MASK_TAG] == mask.name
    assert not list(folder.glob("*.chunks"))
    filled = np.stack(list(MaskVideoReader(mask)))
    assert 0.05 < filled.mean() < 0.5  # the Kinect's bands and shadows
    np.testing.assert_array_equal(filled, raw == 0)


def _config(folder, **changes) -> ViewerConfig:
    return ViewerConfig(color_video=folder / "tum.mkv", xfov=TUM_XFOV, draw_frame=FRAME,
                        show_filled=",".join(map(str, MAGENTA)), **changes)


def test_exported_points_of_filled_pixels_have_the_colour(tum, tmp_path):
    """Every pixel of the frame becomes a point (filled depth is finite), in row-major
    order: the points of filled pixels are magenta, all others keep their video colour."""
    folder, rgb, raw, _ = tum
    [ply] = view_3d(_config(folder, export_ply=tmp_path / "clouds"))
    colours = read_ply(ply).colors
    expected = rgb[FRAME].copy()
    expected[raw[FRAME] == 0] = MAGENTA
    assert colours is not None and len(colours) == raw[FRAME].size
    np.testing.assert_array_equal(colours, expected.reshape(-1, 3))


def test_rendered_view_paints_the_filled_pixels(tum):
    """Drawn from the recorded camera with 1-pixel points, each pixel shows its own point:
    the filled ones in the colour, exactly."""
    folder, rgb, raw, _ = tum
    source = FrameSource(_config(folder, point_size=1.0))
    [(_, colour, depth)] = list(render_views(source, RenderCamera(source)))
    covered = np.isfinite(depth)
    assert covered.mean() > 0.99
    expected = rgb[FRAME].copy()
    filled = raw[FRAME] == 0
    expected[filled] = MAGENTA
    np.testing.assert_array_equal(colour[covered], expected[covered])
    assert (covered & filled).sum() > 0.99 * filled.sum()
