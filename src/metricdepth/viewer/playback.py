"""The interactive window: plays the frames as a moving point cloud or mesh.

Open3D's VisualizerWithKeyCallback (OpenGL through GLFW; under Xvfb it renders with
Mesa's llvmpipe) driven by a non-blocking loop, as in Open3D's
``examples/python/visualization/non_blocking_visualization.py``. Reading videos and
building geometry happen on a `FrameLoader` thread that works a few frames ahead; the
GUI thread only swaps finished geometry in and draws (docs/contributing.md, "The viewer
keeps loading and computing off the GUI thread").

Keys (also printed at start; Open3D's own keys such as H for help, Q/Esc to quit, mouse
to orbit/pan/zoom still work):

    Space        pause / play
    Right  .     one frame forward (pauses)
    Left   ,     one frame back (pauses)
    Up     ]     faster
    Down   [     slower
    R            reset the view to the recorded camera of the current frame
    F            follow the recorded camera (on/off)
    M            toggle points / mesh
    P            screenshot into --screenshot_dir
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import open3d as o3d

from ..camera import Intrinsics, invert_pose
from ..errors import InputError
from .o3d_geometry import frame_geometries, legacy_points
from .source import FrameSource
from .video_out import write_png
from .window import has_display

log = logging.getLogger(__name__)

PREFETCH_FRAMES = 8  # frames the loader builds ahead of the one shown
MAX_WINDOW_WIDTH = 1280  # pixels; larger videos get a window scaled down to this
SPEED_FACTOR = 1.5  # one press of faster/slower multiplies/divides the speed by this
SPEED_RANGE = (1 / 16, 16.0)
IDLE_SLEEP_S = 0.005  # GUI loop pause when there is nothing to do
NEAR_CLIP_M = 0.01
FAR_CLIP_FACTOR = 10.0  # far clip = this times the scene's far depth
BACKGROUND_RGB = (0.0, 0.0, 0.0)

# GLFW key codes (Open3D's legacy visualizer passes GLFW codes; letters are upper case).
KEY_SPACE, KEY_RIGHT, KEY_LEFT, KEY_DOWN, KEY_UP = 32, 262, 263, 264, 265
KEYS_HELP = (
    "Space pause/play | Right/. and Left/, step | Up/] faster, Down/[ slower | "
    "R reset view | F follow camera | M points/mesh | P screenshot | Q quit"
)


class FrameLoader:
    """Builds Open3D geometry of the frames from `wanted` on, PREFETCH_FRAMES ahead
    (wrapping round the shown range), on its own thread with its own video readers."""

    def __init__(self, source: FrameSource, first: int, mesh: bool):
        self._source = source
        self._frames = source.frame_indices
        self._cond = threading.Condition()
        self._wanted, self._mesh = first, mesh
        self._ready: dict[int, dict[str, o3d.geometry.Geometry3D]] = {}
        self._error: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="frame-loader", daemon=True)
        self._thread.start()

    def _window(self) -> list[int]:
        """Frame indices to have ready, in order of need."""
        start, count = self._frames.start, len(self._frames)
        ahead = min(PREFETCH_FRAMES, count)
        return [start + (self._wanted - start + k) % count for k in range(ahead)]

    def want(self, index: int, mesh: bool) -> None:
        """Frame `index` is (about to be) shown, drawn as a mesh if `mesh`."""
        with self._cond:
            if mesh != self._mesh:
                self._ready.clear()
            self._wanted, self._mesh = index, mesh
            window = set(self._window())
            self._ready = {i: g for i, g in self._ready.items() if i in window}
            self._cond.notify()

    def take(self, index: int) -> dict[str, o3d.geometry.Geometry3D] | None:
        """Frame `index`'s geometry if it is ready, else None. Re-raises a loader error."""
        with self._cond:
            if self._error is not None:
                raise self._error
            return self._ready.get(index)

    def _next_job(self) -> tuple[int, bool] | None:
        """Wait for a frame to build; None when stopping."""
        with self._cond:
            while not self._stopping:
                missing = [i for i in self._window() if i not in self._ready]
                if missing:
                    return missing[0], self._mesh
                self._cond.wait()
            return None

    def _run(self) -> None:
        try:
            with self._source.open() as reader:
                while (job := self._next_job()) is not None:
                    index, mesh = job
                    geometry = reader.read(index).geometry(self._source.style(mesh))
                    built = frame_geometries(geometry, tensor=False)
                    with self._cond:
                        if mesh == self._mesh and index in self._window():
                            self._ready[index] = built
                        self._cond.notify_all()
        except BaseException as exc:  # handed to the GUI thread by take()
            with self._cond:
                self._error = exc
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()


def window_size(width: int, height: int) -> tuple[int, int]:
    """Window size in pixels: the video's, scaled down to at most MAX_WINDOW_WIDTH wide."""
    if width <= MAX_WINDOW_WIDTH:
        return width, height
    return MAX_WINDOW_WIDTH, round(height * MAX_WINDOW_WIDTH / width)


class Player:
    """The playback window (see the module docstring for the keys).

    >>> with Player(FrameSource(config)) as player:
    ...     player.run()            # until the window is closed

    Scripted use (tests, screenshots): `play_frames(n)` shows the next n frames as fast
    as they load, `screenshot()` returns what the window shows.
    """

    def __init__(self, source: FrameSource):
        self.source = source
        config = source.config
        frames = source.frame_indices
        self.index = frames.start
        self.playing = len(frames) > 1 and config.draw_frame is None
        self.speed = float(np.clip(config.speed, *SPEED_RANGE))
        self.mesh = config.mesh
        self.follow = False
        self._next_due = time.monotonic()
        self._shown: list[o3d.geometry.Geometry3D] = []
        self.width, self.height = window_size(source.width, source.height)
        if not has_display():
            # Without a display Open3D "opens" an invisible headless window and plays on.
            raise InputError(
                None,
                "no display to open a window on (DISPLAY is not set); use "
                "--render OUT.mp4 to render headless, or run under Xvfb",
            )
        self._vis = o3d.visualization.VisualizerWithKeyCallback()
        title = f"{Path(source.colour_info.path).name} - view_3d"
        if not self._vis.create_window(title, self.width, self.height):
            raise InputError(
                None,
                "cannot open a window (no display?); use --render OUT.mp4 "
                "to render headless, or run under Xvfb",
            )
        options = self._vis.get_render_option()
        options.point_size = config.point_size
        options.light_on = False  # show recorded colours as they are
        options.mesh_show_back_face = True
        options.background_color = np.array(BACKGROUND_RGB)
        if source.background is not None:
            self._vis.add_geometry(legacy_points(source.background))
        self._bind_keys()
        self._loader = FrameLoader(source, self.index, self.mesh)
        log.info("keys: %s", KEYS_HELP)
        self._show(self._wait_for(self.index))
        self.reset_view()

    # -- keys ----------------------------------------------------------------------
    def _bind_keys(self) -> None:
        actions = {
            (KEY_SPACE,): self.toggle_play,
            (KEY_RIGHT, ord(".")): lambda: self.step(1),
            (KEY_LEFT, ord(",")): lambda: self.step(-1),
            (KEY_UP, ord("]")): lambda: self.change_speed(SPEED_FACTOR),
            (KEY_DOWN, ord("[")): lambda: self.change_speed(1 / SPEED_FACTOR),
            (ord("R"),): self.reset_view,
            (ord("F"),): self.toggle_follow,
            (ord("M"),): self.toggle_mesh,
            (ord("P"),): self.save_screenshot,
        }
        for keys, action in actions.items():
            for key in keys:
                self._vis.register_key_callback(key, _redrawing(action))

    def toggle_play(self) -> None:
        self.playing = not self.playing
        self._next_due = time.monotonic()

    def step(self, delta: int) -> None:
        """Pause and show the frame `delta` frames away (wrapping round)."""
        self.playing = False
        self._go_to(self._offset(delta), wait=True)

    def change_speed(self, factor: float) -> None:
        self.speed = float(np.clip(self.speed * factor, *SPEED_RANGE))
        log.info("speed %.3g x", self.speed)

    def toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.reset_view()

    def toggle_mesh(self) -> None:
        self.mesh = not self.mesh
        self._loader.want(self.index, self.mesh)
        self._show(self._wait_for(self.index))

    def reset_view(self) -> None:
        """Look through the recorded camera of the current frame."""
        self.set_view(self.source.intrinsics(self.index), self.source.world_from_cam[self.index])

    def save_screenshot(self) -> Path:
        """Write what the window shows into --screenshot_dir as
        COLOUR_frame_NNNN.png (frame index + 1), or COLOUR_frame_NNNN_2.png, ... when that
        exists (replaced only with --overwrite); return the path."""
        config = self.source.config
        stem = f"{Path(self.source.colour_info.path).name}_frame_{self.index + 1:04d}"
        folder = Path(config.screenshot_dir)
        path, copy = folder / f"{stem}.png", 1
        while path.exists() and not config.overwrite:
            copy += 1
            path = folder / f"{stem}_{copy}.png"
        write_png(path, self.screenshot(), overwrite=config.overwrite)
        log.info("screenshot %s", path)
        return path

    # -- view and frames -----------------------------------------------------------
    def set_view(self, intr: Intrinsics, world_from_cam: np.ndarray) -> None:
        """Look through a camera with `intr` (scaled to the window) at `world_from_cam`.

        Open3D's legacy view takes the focal length from the intrinsics but always puts the
        principal point at the window's centre, as our FOV-based intrinsics do."""
        scaled = intr.scaled(self.width, self.height)
        params = o3d.camera.PinholeCameraParameters()
        params.intrinsic = o3d.camera.PinholeCameraIntrinsic(
            self.width, self.height, scaled.fx, scaled.fy, scaled.cx, scaled.cy
        )
        params.extrinsic = invert_pose(world_from_cam)
        control = self._vis.get_view_control()
        control.set_constant_z_near(NEAR_CLIP_M)
        control.set_constant_z_far(FAR_CLIP_FACTOR * self.source.far_m)
        control.convert_from_pinhole_camera_parameters(params, allow_arbitrary=True)

    def _offset(self, delta: int) -> int:
        frames = self.source.frame_indices
        return frames.start + (self.index - frames.start + delta) % len(frames)

    def _wait_for(self, index: int) -> dict[str, o3d.geometry.Geometry3D]:
        """Block (keeping the window responsive) until frame `index` is built."""
        self._loader.want(index, self.mesh)
        while (geometry := self._loader.take(index)) is None:
            self._vis.poll_events()
            time.sleep(IDLE_SLEEP_S)
        return geometry

    def _show(self, geometry: dict[str, o3d.geometry.Geometry3D]) -> None:
        first = not self._shown
        for old in self._shown:
            self._vis.remove_geometry(old, reset_bounding_box=False)
        self._shown = list(geometry.values())
        for new in self._shown:
            self._vis.add_geometry(new, reset_bounding_box=first)

    def _go_to(self, index: int, wait: bool) -> bool:
        """Show frame `index` (waiting for it if `wait`); False if it was not ready."""
        geometry = self._wait_for(index) if wait else self._loader.take(index)
        if geometry is None:
            return False
        self.index = index
        self._show(geometry)
        if self.follow:
            self.reset_view()
        self._loader.want(index, self.mesh)
        return True

    def tick(self) -> bool:
        """Handle events, advance playback when a frame is due, draw. False once the
        window is closed."""
        if not self._vis.poll_events():
            return False
        now = time.monotonic()
        if self.playing and now >= self._next_due:
            if self._go_to(self._offset(1), wait=False):
                period = 1.0 / (float(self.source.colour_info.fps) * self.speed)
                # Late by more than a frame (slow loading): restart the clock, do not rush.
                self._next_due = max(self._next_due + period, now)
        self._vis.update_renderer()
        return True

    def run(self) -> None:
        """Play until the window is closed."""
        while self.tick():
            time.sleep(IDLE_SLEEP_S)

    def play_frames(self, count: int) -> None:
        """Show the next `count` frames, each as soon as it is built."""
        for _ in range(count):
            self._go_to(self._offset(1), wait=True)
            self._vis.poll_events()
            self._vis.update_renderer()

    def screenshot(self) -> np.ndarray:
        """What the window shows: (H, W, 3) uint8 RGB."""
        image = np.asarray(self._vis.capture_screen_float_buffer(do_render=True))
        return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)

    def close(self) -> None:
        self._loader.close()
        self._vis.destroy_window()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _redrawing(action: Callable[[], object]) -> Callable[[object], bool]:
    """A key callback for Open3D: it is called with the visualizer, and returning True
    redraws."""

    def callback(_vis: object) -> bool:
        action()
        return True

    return callback
