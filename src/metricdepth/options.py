"""Flags that several steps share, defined once (help text, range, default): the camera's
field of view, the per-frame FOV file and the depth scale of a depth video.

    @dataclass
    class CameraTrackConfig:
        xfov: float | None = xfov_option()
        yfov: float | None = yfov_option()
        xfov_file: Path | None = xfov_file_option()
        max_depth: float = max_depth_option()
"""

from __future__ import annotations

from typing import Any

from .camera import FOV_RANGE_DEG
from .config import option
from .io.depth_video import DEFAULT_MAX_DEPTH

MAX_DEPTH_LIMIT_M = 1e6  # larger is a unit mistake, not a scene


def xfov_option(note: str = "") -> Any:
    """--xfov: the full horizontal field of view in degrees; `note` adds what the step
    does with it."""
    return option(
        None,
        "full horizontal field of view, degrees" + (f"; {note}" if note else ""),
        gt=FOV_RANGE_DEG[0],
        lt=FOV_RANGE_DEG[1],
    )


def yfov_option() -> Any:
    """--yfov: the full vertical field of view in degrees, instead of --xfov."""
    return option(
        None,
        "full vertical field of view, degrees (instead of --xfov; square pixels)",
        gt=FOV_RANGE_DEG[0],
        lt=FOV_RANGE_DEG[1],
    )


def xfov_file_option() -> Any:
    """--xfov_file: per-frame FOVs; the step reads D_xfovs.json without any FOV flag."""
    return option(
        None,
        "per-frame horizontal FOV JSON, degrees; without any FOV flag, "
        "D_xfovs.json beside the depth video (or the video it was rescaled from) "
        "is read",
    )


def max_depth_option() -> Any:
    """--max_depth of a step that reads a depth video: only for files without the tag."""
    return option(
        DEFAULT_MAX_DEPTH,
        "metres; the depth scale of a depth video without a max_depth tag (ours always have one)",
        gt=0,
        le=MAX_DEPTH_LIMIT_M,
    )


def strict_mask_option() -> Any:
    """--strict_mask (the older toolbox's): a track on the mask in any frame goes whole."""
    return option(
        False,
        "leave out every track that is on the mask in any frame (default: only its observations on the mask)",
    )
