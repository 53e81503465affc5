"""Headless rendering with Open3D's OffscreenRenderer (Filament), no display needed.

On a machine without a GPU or display, Open3D 0.20 falls back from GLFW to headless
mode and renders with Filament's Vulkan backend on Mesa's software Vulkan driver
(llvmpipe; Debian packages mesa-vulkan-drivers and libvulkan1). If the renderer cannot
start (Open3D may abort the process rather than raise), `check_offscreen_rendering`
finds out in a child process first and says what to install.

Camera model: our intrinsics put the centre of the top-left pixel at (0, 0); Open3D's
projection puts it at (0.5, 0.5), so the principal point handed to Open3D is shifted by
half a pixel (`open3d_intrinsic_matrix`). Poses are our OpenCV-axes `world_from_cam`;
Open3D's camera is placed with look_at (eye, a point on the optical axis, up = -y of the
camera). Post-processing (tone mapping, colour grading) is off, so a surface drawn in
front of the camera that recorded it comes back with its recorded colours exactly.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import open3d as o3d
from open3d.visualization import rendering

from ..camera import Intrinsics
from ..errors import InputError

BACKGROUND_RGBA = (0.0, 0.0, 0.0, 1.0)  # black where nothing is drawn
NEAR_CLIP_M = 0.01  # nothing nearer than 1 cm to the rendering camera is drawn
FAR_CLIP_FACTOR = 10.0  # far clip = this times the scene's far depth (room to move back)
LINE_WIDTH_PX = 2.0  # camera frustum lines
_PROBE = (
    "import open3d.visualization.rendering as r; "
    "x = r.OffscreenRenderer(8, 8); x.scene.set_background([0, 0, 0, 1]); x.render_to_image()"
)
_INSTALL_HINT = (
    "install Mesa's software Vulkan driver (Debian: apt-get install "
    "mesa-vulkan-drivers libvulkan1 libgl1), or run under a virtual display "
    "(Xvfb :99 & then DISPLAY=:99)"
)


@functools.cache
def check_offscreen_rendering() -> None:
    """Raise InputError (a setup problem the user fixes) saying what to install if
    Open3D's offscreen renderer cannot start here. Runs once per process, in a child
    process (a failing renderer may abort rather than raise)."""
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise InputError(
            "--render", f"Open3D's offscreen renderer cannot start ({detail[0]}); {_INSTALL_HINT}"
        )


def open3d_intrinsic_matrix(intr: Intrinsics) -> np.ndarray:
    """(3, 3) float64 camera matrix in Open3D's pixel convention (pixel centres at +0.5)."""
    K = intr.K
    K[0, 2] += 0.5
    K[1, 2] += 0.5
    return K


def _material(shader: str, point_size: float = 1.0) -> rendering.MaterialRecord:
    material = rendering.MaterialRecord()
    material.shader = shader
    material.point_size = float(point_size)
    material.line_width = LINE_WIDTH_PX
    return material


class HeadlessRenderer:
    """Renders the viewer's Open3D geometry from any pinhole camera into images.

    Geometry is Open3D tensor geometry (`o3d_geometry.frame_geometries(..., tensor=True)`).

    >>> with HeadlessRenderer(640, 480, point_size=2, far_m=100) as renderer:
    ...     renderer.set_static({"background": cloud})
    ...     renderer.set_frame({"surface": points, "camera": frustum})
    ...     rgb, depth = renderer.render(intrinsics, world_from_cam)

    width, height: image size, pixels (the intrinsics given to `render` must match).
    point_size: pixels. far_m: the scene's far depth, metres (sets the far clip plane).
    """

    def __init__(self, width: int, height: int, point_size: float, far_m: float):
        check_offscreen_rendering()
        o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
        self.width, self.height = int(width), int(height)
        self._far_clip = FAR_CLIP_FACTOR * far_m
        renderer = rendering.OffscreenRenderer(self.width, self.height)
        self._renderer: rendering.OffscreenRenderer | None = renderer
        scene = renderer.scene
        scene.set_background(list(BACKGROUND_RGBA))
        scene.view.set_post_processing(False)
        self._surface_material = _material("defaultUnlit", point_size)
        self._line_material = _material("unlitLine")
        self._frame_names: list[str] = []

    def _add(self, name: str, geometry: o3d.t.geometry.Geometry) -> None:
        material = (
            self._line_material if isinstance(geometry, o3d.t.geometry.LineSet) else self._surface_material
        )
        self._open().scene.add_geometry(name, geometry, material)

    def set_static(self, geometries: dict[str, o3d.t.geometry.Geometry]) -> None:
        """Add geometry drawn in every frame (e.g. a background cloud), by name."""
        for name, geometry in geometries.items():
            self._add(f"static/{name}", geometry)

    def set_frame(self, geometries: dict[str, o3d.t.geometry.Geometry]) -> None:
        """Replace the previous frame's geometry with `geometries`, by name."""
        scene = self._open().scene
        for name in self._frame_names:
            scene.remove_geometry(name)
        self._frame_names = [f"frame/{name}" for name in geometries]
        for name, geometry in zip(self._frame_names, geometries.values()):
            self._add(name, geometry)

    def render(
        self, intr: Intrinsics, world_from_cam: np.ndarray, with_depth: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The view of a camera with intrinsics `intr` (its size must be the renderer's)
        at pose `world_from_cam` ((4, 4) float64, OpenCV axes).

        Returns colour (H, W, 3) uint8 RGB (BACKGROUND_RGBA where nothing is drawn) and,
        if `with_depth` (a second render pass), z-depth (H, W) float32 metres in the
        rendering camera (inf where nothing is drawn), else None.
        """
        if (intr.width, intr.height) != (self.width, self.height):
            raise ValueError(
                f"intrinsics are {intr.width}x{intr.height}, the renderer {self.width}x{self.height}"
            )
        camera = self._open().scene.camera
        camera.set_projection(
            open3d_intrinsic_matrix(intr), NEAR_CLIP_M, self._far_clip, self.width, self.height
        )
        pose = np.asarray(world_from_cam, dtype=np.float64)
        eye, forward, down = pose[:3, 3], pose[:3, 2], pose[:3, 1]
        camera.look_at(eye + forward, eye, -down)
        colour = np.asarray(self._open().render_to_image())[..., :3].copy()
        if not with_depth:
            return colour, None
        depth = np.asarray(self._open().render_to_depth_image(z_in_view_space=True), dtype=np.float32).copy()
        return colour, depth

    def _open(self) -> rendering.OffscreenRenderer:
        if self._renderer is None:
            raise ValueError("the renderer is closed")
        return self._renderer

    def close(self) -> None:
        """Free the renderer (its geometry first: Filament refuses to free in-use materials)."""
        if self._renderer is not None:
            self._renderer.scene.clear_geometry()
            self._renderer = None

    def __enter__(self) -> HeadlessRenderer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
