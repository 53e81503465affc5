"""Settings of the viewer (`view_3d.py`): one dataclass, its fields' help is the flags' help."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import option
from ..io.depth_video import DEFAULT_MAX_DEPTH
from ..options import xfov_file_option, xfov_option, yfov_option
from .geometry import DEFAULT_EDGE_ANGLE_DEG

DEFAULT_POINT_SIZE = 2.0  # pixels; 1 leaves holes between points seen from nearer than recorded


@dataclass
class ViewerConfig:
    """What to show, how, and where to send it (window, video, image or PLY files)."""

    color_video: Path = option(None, "the colour video (any format FFmpeg reads)", required=True)
    depth_video: Path | None = option(
        None, "depth video (FFV1 Matroska, 16-bit packing); default: COLOR_VIDEO_depth.mkv"
    )
    max_depth: float = option(
        DEFAULT_MAX_DEPTH,
        "metres: depth at or beyond it is not shown (our depth videos store "
        "'no depth' as their max_depth); also the depth scale of a depth video without a "
        "max_depth tag",
        gt=0,
        le=1e6,
    )
    xfov: float | None = xfov_option()
    yfov: float | None = yfov_option()
    xfov_file: Path | None = xfov_file_option()
    transformation_file: Path | None = option(
        None,
        "camera-to-world poses JSON, one 4x4 per frame: places every frame in the world "
        "(camera of frame 0), so a static room stays still while the camera moves; without "
        "it every frame is drawn in its own camera's frame",
    )
    mask_video: Path | None = option(
        None,
        "mask video (grey, 255 = subject): show only the subject (or, with --invert_mask, only the rest)",
    )
    invert_mask: bool = option(False, "with --mask_video: show only the background")
    show_filled: str | None = option(
        None,
        "paint the pixels whose depth step 1 filled (no sensor depth; the mask "
        "D_filledmask.mkv beside the depth video, found by the naming rule) in this colour, "
        "'R,G,B' from 0 to 255, e.g. 255,0,255 (magenta); in the window, --render and --export_ply",
    )
    background_ply: list[Path] | None = option(
        None,
        "a static point cloud (PLY, metres, world frame) drawn with every frame, e.g. "
        "step 5's _triangulated.ply or _avgmonodepth.ply; give it again for more clouds",
    )
    show_camera: bool = option(False, "draw the recorded camera's viewing frustum (orange)")
    mesh: bool = option(False, "draw a triangle mesh instead of points (key M toggles)")
    remove_edges: bool = option(
        False,
        "mesh: drop triangles across depth discontinuities (surfaces seen more "
        "obliquely than --edge_angle), so objects are not joined to the background",
    )
    edge_angle: float = option(
        DEFAULT_EDGE_ANGLE_DEG, "degrees from face-on; see --remove_edges", gt=0, lt=90
    )
    point_size: float = option(DEFAULT_POINT_SIZE, "points' size on screen, pixels", gt=0, le=100)
    start_frame: int = option(0, "first frame to show, render or export (0-based)", ge=0)
    max_frames: int | None = option(
        None, "at most this many frames (default: to the end; -1 also means all)", ge=1, none_value=-1
    )
    draw_frame: int | None = option(
        None,
        "one frame only (0-based): the window opens paused on it; --render draws just "
        "it (as an image when OUT ends in .png); --export_ply writes just it",
        ge=0,
    )
    render: Path | None = option(
        None,
        "render headless into OUT instead of opening a window: .mp4 (H.264), .mkv "
        "(lossless FFV1) or .png (one frame)",
    )
    x: float | None = option(
        None,
        "--render: a fixed camera at this world x, metres "
        "(OpenCV axes: x right); default: follow the recorded camera",
    )
    y: float | None = option(None, "--render: fixed camera's world y, metres (y down)")
    z: float | None = option(None, "--render: fixed camera's world z, metres (z forward)")
    look_at: str | None = option(
        None,
        "--render with a fixed camera: world point 'X,Y,Z' (metres) it looks at; "
        "default: the centre of frame 0's points",
    )
    render_width: int | None = option(
        None,
        "rendered image width, pixels (default: the video's); the height follows the aspect ratio",
        ge=16,
        le=16384,
    )
    render_xfov: float | None = option(
        None, "rendering camera's full horizontal FOV, degrees (default: the video's)", gt=1, lt=179
    )
    export_ply: Path | None = option(
        None,
        "write each frame's points (world frame) as DIR/frame_0001.ply, ... (1-based, "
        "numbered by frame index + 1) instead of opening a window",
    )
    screenshot_dir: Path = option(Path("."), "window: folder for screenshots (key P)")
    speed: float = option(1.0, "window: playback speed, times the video's frame rate", gt=0, le=100)
    render_as_pointcloud: bool = option(
        False,
        "the older toolbox's switch to draw points",
        inert="points are the default; --mesh draws a mesh",
    )
    compressed: bool = option(
        False,
        "the older toolbox's switch for an H.264 render",
        inert="--render OUT.mp4 writes H.264, OUT.mkv lossless FFV1",
    )
    overwrite: bool = option(False, "replace existing outputs")
