"""The viewer's inputs, validated together, and frame-by-frame access to them.

`FrameSource(config)` checks every file before anything is drawn (sizes, frame rates and
counts agree; the field of view is known; poses and FOVs have one entry per frame) and
then hands out `ViewerFrame`s. With --show_filled, the pixels step 1 filled (its mask
``D_filledmask.mkv`` beside the depth video) are painted in the given colour before
anything is drawn, so the window, --render and --export_ply all show them. Readers are
opened per `FrameReader`, so a loader thread owns its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Intrinsics
from ..errors import InputError
from ..fov import resolve_xfovs
from ..io import naming
from ..io.checks import check_matching
from ..io.depth_video import DepthVideoReader
from ..io.mask_video import MaskVideoReader
from ..io.ply import PointCloud, read_ply
from ..io.sidecars import read_transformations
from ..io.video import VideoReader, probe
from .config import ViewerConfig
from .geometry import DrawStyle, FrameGeometry, build_frame_geometry
from .window import merge_clouds


@dataclass(frozen=True)
class ViewerFrame:
    """One frame's inputs.

    index: 0-based frame index. colour: (H, W, 3) uint8 RGB (--show_filled: the filled
    pixels in its colour). depth: (H, W) float32,
    metres, z-depth. keep: (H, W) bool, pixels to show (mask applied), or None for all.
    intrinsics: this frame's pinhole camera. world_from_cam: (4, 4) float64 pose.
    """

    index: int
    colour: np.ndarray
    depth: np.ndarray
    keep: np.ndarray | None
    intrinsics: Intrinsics
    world_from_cam: np.ndarray

    def geometry(self, style: DrawStyle) -> FrameGeometry:
        """What is drawn for this frame in `style`."""
        return build_frame_geometry(
            self.index, self.colour, self.depth, self.keep, self.intrinsics, self.world_from_cam, style
        )


def _xfovs(config: ViewerConfig, depth_path: Path, width: int, height: int, frame_count: int) -> np.ndarray:
    """(N,) float64 full horizontal FOV of every frame, degrees, from the flags or file."""
    return resolve_xfovs(
        frame_count,
        width,
        height,
        xfov=config.xfov,
        yfov=config.yfov,
        xfov_file=config.xfov_file,
        depth_video=depth_path,
    )


def parse_triple(
    text: str, flag: str, number: Callable[[str], float], valid: Callable[[float], bool], expected: str
) -> np.ndarray:
    """Three comma-separated numbers given to `flag` as (3,) `number`s, each passing
    `valid`; InputError saying `expected` otherwise."""
    try:
        values = [number(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3 or not all(valid(v) for v in values):
        raise InputError(flag, f"expected {expected}, got {text!r}")
    return np.array(values)


def parse_rgb(text: str, flag: str) -> np.ndarray:
    """'R,G,B' (integers 0-255) -> (3,) uint8."""
    expected = "a colour 'R,G,B' of three integers 0-255"
    return parse_triple(text, flag, int, lambda v: 0 <= v <= 255, expected).astype(np.uint8)


def _filled_mask(depth_path: Path) -> Path:
    """The mask of the pixels step 1 filled, beside `depth_path` (or the depth video it
    was rescaled from) by the naming rule; InputError when there is none."""
    found = naming.find_sidecar(None, depth_path, naming.FILLED_MASK, "--show_filled")
    if found is None:
        name = naming.output_path(depth_path, naming.FILLED_MASK).name
        raise InputError(
            "--show_filled",
            f"there is no {name} beside the depth video: step 1 records the pixels it "
            "filled when its backend marks missing depth (--backend frames); rerun it",
        )
    return found


class FrameSource:
    """Validated viewer inputs (see the module docstring). Raises InputError naming the
    file or flag at the first problem."""

    def __init__(self, config: ViewerConfig):
        self.config = config
        colour = probe(config.color_video)
        depth_path = (
            Path(config.depth_video)
            if config.depth_video is not None
            else naming.output_path(colour.path, naming.DEPTH)
        )
        if config.depth_video is None and not depth_path.exists():
            raise InputError(
                "--depth_video", f"not given, and there is no {depth_path.name} beside the colour video"
            )
        if not config.max_depth > 0:
            raise InputError("--max_depth", f"must be positive, got {config.max_depth}")
        depth = DepthVideoReader(depth_path, config.max_depth)
        check_matching(colour, depth.info, "depth video")
        self.colour_info, self.depth_info = colour, depth.info
        self.depth_max_depth = depth.max_depth
        self.mask_info = None
        if config.mask_video is not None:
            self.mask_info = probe(config.mask_video)
            check_matching(colour, self.mask_info, "mask video")
        self.filled_info, self.filled_colour = None, None
        if config.show_filled is not None:
            self.filled_colour = parse_rgb(config.show_filled, "--show_filled")
            self.filled_info = probe(_filled_mask(depth_path))
            check_matching(colour, self.filled_info, "mask of filled pixels")
        n = colour.frame_count
        self.xfovs = _xfovs(config, depth_path, colour.width, colour.height, n)
        self.world_from_cam = (
            read_transformations(config.transformation_file, n)
            if config.transformation_file is not None
            else np.broadcast_to(np.eye(4), (n, 4, 4))
        )
        self.background: PointCloud | None = (
            merge_clouds([read_ply(path) for path in config.background_ply])
            if config.background_ply
            else None
        )
        self.first, self.stop = self._frame_range(n)

    def _frame_range(self, frame_count: int) -> tuple[int, int]:
        """[first, stop) of the frames to show, from --start_frame, --max_frames, --draw_frame."""
        config = self.config
        if config.draw_frame is not None:
            if not 0 <= config.draw_frame < frame_count:
                raise InputError(
                    "--draw_frame",
                    f"frame {config.draw_frame} is outside the video's frames 0..{frame_count - 1}",
                )
            return config.draw_frame, config.draw_frame + 1
        if not 0 <= config.start_frame < frame_count:
            raise InputError(
                "--start_frame",
                f"frame {config.start_frame} is outside the video's frames 0..{frame_count - 1}",
            )
        if config.max_frames is not None and config.max_frames < 1:
            raise InputError("--max_frames", f"must be at least 1, got {config.max_frames}")
        stop = (
            frame_count
            if config.max_frames is None
            else min(frame_count, config.start_frame + config.max_frames)
        )
        return config.start_frame, stop

    @property
    def width(self) -> int:
        return self.colour_info.width

    @property
    def height(self) -> int:
        return self.colour_info.height

    @property
    def frame_indices(self) -> range:
        """The frames to show, render or export."""
        return range(self.first, self.stop)

    @property
    def far_m(self) -> float:
        """Metres: depth at or beyond this is 'no depth' (--max_depth, or the depth
        video's own max_depth if smaller, since it marks missing depth)."""
        return min(self.config.max_depth, self.depth_max_depth)

    def style(self, mesh: bool | None = None) -> DrawStyle:
        """The drawing style the config asks for (`mesh` overrides --mesh)."""
        config = self.config
        return DrawStyle(
            config.mesh if mesh is None else mesh,
            config.remove_edges,
            config.edge_angle,
            self.far_m,
            config.show_camera,
        )

    def intrinsics(self, index: int) -> Intrinsics:
        """The pinhole camera of frame `index`."""
        return Intrinsics.from_fov(self.width, self.height, xfov=float(self.xfovs[index]))

    def open(self) -> FrameReader:
        """A reader of frames, to be used from one thread."""
        return FrameReader(self)


class FrameReader:
    """Reads `ViewerFrame`s by index (consecutive indices decode sequentially)."""

    def __init__(self, source: FrameSource):
        self.source = source
        self._colour = VideoReader(source.colour_info.path, source.colour_info)
        self._depth = DepthVideoReader(source.depth_info.path, source.config.max_depth, source.depth_info)
        self._mask = (
            MaskVideoReader(source.mask_info.path, source.mask_info) if source.mask_info is not None else None
        )
        self._filled = (
            MaskVideoReader(source.filled_info.path, source.filled_info)
            if source.filled_info is not None
            else None
        )

    def read(self, index: int) -> ViewerFrame:
        source = self.source
        keep = None
        if self._mask is not None:
            keep = self._mask.read(index)
            if source.config.invert_mask:
                keep = ~keep
        colour = self._colour.read(index)
        if self._filled is not None:
            colour[self._filled.read(index)] = source.filled_colour
        return ViewerFrame(
            index,
            colour,
            self._depth.read(index),
            keep,
            source.intrinsics(index),
            np.asarray(source.world_from_cam[index]),
        )

    def close(self) -> None:
        for reader in (self._colour, self._depth, self._mask, self._filled):
            if reader is not None:
                reader.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
