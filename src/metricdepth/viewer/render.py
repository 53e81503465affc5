"""`--render OUT`: the viewer's scene rendered headless into a video or an image.

The rendering camera either follows the recorded camera (each frame's pose and field of
view) or stays fixed at `--x/--y/--z` looking at `--look_at`; with poses, a fixed camera
shows the world-locked scene: a static room stays still while the recorded camera (drawn
with --show_camera) moves through it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from contextlib import closing
from pathlib import Path

import numpy as np

from ..camera import Intrinsics, check_fov, look_at
from ..errors import InputError
from ..io.ply import PointCloud
from ..progress import progress
from .headless import HeadlessRenderer
from .o3d_geometry import frame_geometries, tensor_points
from .source import FrameSource, parse_triple
from .video_out import IMAGE_SUFFIX, check_render_output, open_video_writer, write_png

log = logging.getLogger(__name__)

DEFAULT_LOOK_DISTANCE_M = 1.0  # a fixed camera looks this far along +z if frame 0 has no depth


def _parse_point(text: str, flag: str) -> np.ndarray:
    """'X,Y,Z' (metres) -> (3,) float64."""
    return parse_triple(text, flag, float, math.isfinite, "three numbers 'X,Y,Z' in metres")


class RenderCamera:
    """The rendering camera of every frame: fixed, or following the recorded camera."""

    def __init__(self, source: FrameSource):
        config = source.config
        self.source = source
        width = config.render_width or source.width
        if width < 2:
            raise InputError("--render_width", f"must be at least 2 pixels, got {width}")
        height = max(2, round(width * source.height / source.width))
        self.width, self.height = width, height
        self._xfov = None if config.render_xfov is None else check_fov(config.render_xfov, "--render_xfov")
        self.fixed = any(v is not None for v in (config.x, config.y, config.z))
        self._fixed_pose: np.ndarray | None = None
        if self.fixed:
            eye = np.array([config.x or 0.0, config.y or 0.0, config.z or 0.0])
            target = (
                _parse_point(config.look_at, "--look_at")
                if config.look_at is not None
                else self._scene_centre()
            )
            if np.linalg.norm(target - eye) < 1e-9:
                raise InputError("--look_at", "the camera position and the point it looks at are the same")
            self._fixed_pose = look_at(eye, target)
        elif config.look_at is not None:
            raise InputError("--look_at", "needs a fixed camera: give --x, --y and/or --z")

    def _scene_centre(self) -> np.ndarray:
        """Mean of the first shown frame's points, world frame, metres."""
        with self.source.open() as reader:
            frame = reader.read(self.source.first)
        cloud = frame.geometry(self.source.style(mesh=False)).surface
        assert isinstance(cloud, PointCloud)  # mesh=False: points
        if not len(cloud):
            return np.array([0.0, 0.0, DEFAULT_LOOK_DISTANCE_M])
        return cloud.points.mean(axis=0).astype(np.float64)

    def intrinsics(self, index: int) -> Intrinsics:
        """The rendering camera's pinhole model at frame `index`."""
        xfov = self._xfov
        if xfov is None:
            xfov = float(self.source.xfovs[self.source.first if self.fixed else index])
        return Intrinsics.from_fov(self.width, self.height, xfov=xfov)

    def pose(self, index: int) -> np.ndarray:
        """(4, 4) world_from_cam of the rendering camera at frame `index`."""
        if self._fixed_pose is not None:
            return self._fixed_pose
        return np.asarray(self.source.world_from_cam[index])


def render_views(
    source: FrameSource, camera: RenderCamera, with_depth: bool = True
) -> Generator[tuple[int, np.ndarray, np.ndarray | None], None, None]:
    """Yield (frame index, colour (H, W, 3) uint8 RGB, z-depth (H, W) float32 metres, inf
    where nothing is drawn; None unless `with_depth`) for every shown frame."""
    config = source.config
    style = source.style()
    with (
        HeadlessRenderer(camera.width, camera.height, config.point_size, source.far_m) as renderer,
        source.open() as reader,
    ):
        if source.background is not None:
            renderer.set_static({"background": tensor_points(source.background)})
        for index in source.frame_indices:
            renderer.set_frame(frame_geometries(reader.read(index).geometry(style), tensor=True))
            colour, depth = renderer.render(camera.intrinsics(index), camera.pose(index), with_depth)
            yield index, colour, depth


def render_to_file(source: FrameSource) -> Path:
    """Render every shown frame into config.render (.mp4, .mkv or .png); return its path."""
    config = source.config
    assert config.render is not None  # view_3d calls this only with --render
    out = check_render_output(Path(config.render), len(source.frame_indices), config.overwrite)
    camera = RenderCamera(source)
    log.info(
        "rendering %d frames at %dx%d, camera %s",
        len(source.frame_indices),
        camera.width,
        camera.height,
        "fixed" if camera.fixed else "following the recorded camera",
    )
    views = render_views(source, camera, with_depth=False)
    if out.suffix.lower() == IMAGE_SUFFIX:
        with closing(views):
            _, colour, _ = next(views)
        return write_png(out, colour, config.overwrite)
    with (
        closing(views),
        open_video_writer(
            out,
            camera.width,
            camera.height,
            source.colour_info.fps,
            overwrite=config.overwrite,
            expected_frames=len(source.frame_indices),
        ) as writer,
    ):
        for _, colour, _ in progress(views, total=len(source.frame_indices), desc="render"):
            writer.write(colour)
    return writer.path
