"""Validate the set of files a step reads, together: each file on its own (format,
values) and against the colour video (size, frame rate, frame count)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .camera import check_fov
from .config import option
from .errors import InputError
from .io.checks import check_matching
from .io.depth_video import DepthVideoReader
from .io.mask_video import MaskVideoReader
from .io.sidecars import read_tracking, read_transformations, read_xfovs
from .io.video import VideoInfo, probe
from .options import max_depth_option, xfov_file_option, xfov_option, yfov_option


@dataclass(frozen=True)
class InputSet:
    """Paths a step may read (None = not given) and the FOV flags (check_inputs.py's flags)."""

    color_video: Path = option(None, "the colour video (any format FFmpeg reads)", required=True)
    depth_video: Path | None = option(None, "depth video (FFV1 Matroska, 16-bit packing)")
    max_depth: float = max_depth_option()
    mask_video: Path | None = option(None, "mask video (grey, 255 = subject)")
    track_file: Path | None = option(None, "tracking JSON: per frame a list of [id, x, y]")
    transformation_file: Path | None = option(None, "poses JSON: per frame a 4x4 camera-to-world matrix")
    xfov_file: Path | None = xfov_file_option()
    xfov: float | None = xfov_option()
    yfov: float | None = yfov_option()


def _describe(info: VideoInfo) -> str:
    return f"{info.width}x{info.height}, {info.fps} fps, {info.frame_count} frames"


def check_input_set(inputs: InputSet) -> Iterator[str]:
    """Check every given input; yield one summary line per file. Raises InputError at
    the first problem, naming the file."""
    if inputs.xfov is not None:
        check_fov(inputs.xfov, "--xfov")
    if inputs.yfov is not None:
        check_fov(inputs.yfov, "--yfov")
    color = probe(inputs.color_video)
    yield f"colour video {color.path}: {_describe(color)}"
    n = color.frame_count

    if inputs.depth_video is not None:
        depth = DepthVideoReader(inputs.depth_video, inputs.max_depth)
        check_matching(color, depth.info, "depth video")
        lo, hi = np.inf, 0.0
        for frame in depth:
            lo, hi = min(lo, float(frame.min())), max(hi, float(frame.max()))
        yield (
            f"depth video {depth.path}: {_describe(depth.info)}, depth {lo:.2f}-{hi:.2f} m "
            f"(max_depth {depth.max_depth:g})"
        )
    if inputs.mask_video is not None:
        mask = MaskVideoReader(inputs.mask_video)
        check_matching(color, mask.info, "mask video")
        covered = np.mean([frame.mean() for frame in mask])
        yield f"mask video {mask.path}: {_describe(mask.info)}, {100 * covered:.1f}% subject"
    if inputs.track_file is not None:
        tracks = read_tracking(inputs.track_file, n, (color.width, color.height))
        ids = set().union(*(f.ids.tolist() for f in tracks))
        yield f"tracks {inputs.track_file}: {len(ids)} tracks, {sum(map(len, tracks))} observations"
    if inputs.transformation_file is not None:
        poses = read_transformations(inputs.transformation_file, n)
        path_length = float(np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1).sum())
        yield f"poses {inputs.transformation_file}: {len(poses)} frames, camera path {path_length:.3f} m"
    if inputs.xfov_file is not None:
        fovs = read_xfovs(inputs.xfov_file, n)
        yield f"FOVs {inputs.xfov_file}: {fovs.min():.2f}-{fovs.max():.2f} degrees"


def validate_depth(depth: np.ndarray, source: str | Path) -> np.ndarray:
    """Check imported depth, (H, W) metres: finite and non-negative everywhere.

    Returns it as float32; raises InputError naming `source` and the first bad pixel (x, y).
    Depth that is unknown on purpose is passed as a separate invalid mask, never as NaN.
    """
    depth = np.asarray(depth, dtype=np.float32)
    bad = ~np.isfinite(depth) | (depth < 0)
    if bad.any():
        y, x = np.unravel_index(int(np.argmax(bad)), depth.shape)
        value = depth[y, x]
        kind = "NaN" if np.isnan(value) else "infinite" if np.isinf(value) else "negative"
        raise InputError(
            source, f"{kind} depth ({value}) at pixel ({x}, {y}), {int(bad.sum())} such pixels in all"
        )
    return depth
