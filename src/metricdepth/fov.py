"""Where a step's field of view comes from: a flag, a per-frame file, or the file that
step 1 wrote beside the depth video (`D_xfovs.json`), in that order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .camera import Intrinsics, check_fov, fov_from_focal, focal_from_fov
from .errors import InputError
from .io import naming
from .io.sidecars import read_xfovs


def resolve_xfovs(frame_count: int, width: int, height: int, *, xfov: float | None = None,
                  yfov: float | None = None, xfov_file: str | Path | None = None,
                  depth_video: str | Path | None = None) -> np.ndarray:
    """Per-frame full horizontal FOVs, (frame_count,) float64 degrees.

    `xfov` or `yfov` (degrees, one value for all frames; square pixels) win; else
    `xfov_file`; else `depth_video` + ``_xfovs.json`` if that file exists. With none of
    them, an InputError names the flags to pass.
    """
    if xfov is not None and yfov is not None:
        raise InputError("--yfov", "give either --xfov or --yfov, not both")
    if xfov is not None:
        return np.full(frame_count, check_fov(xfov, "--xfov"))
    if yfov is not None:
        focal = focal_from_fov(height, check_fov(yfov, "--yfov"))
        return np.full(frame_count, fov_from_focal(width, focal))
    if xfov_file is not None:
        return read_xfovs(xfov_file, frame_count)
    if depth_video is not None:
        beside = naming.output_path(depth_video, naming.XFOVS)
        if beside.exists():
            return read_xfovs(beside, frame_count)
    raise InputError("--xfov", "no field of view given: pass --xfov or --yfov (degrees) or "
                     "--xfov_file (a per-frame JSON list, e.g. from step 1's depthpro backend)")


def frame_intrinsics(xfovs: np.ndarray, width: int, height: int) -> list[Intrinsics]:
    """One Intrinsics per frame from per-frame horizontal FOVs in degrees."""
    return [Intrinsics.from_fov(width, height, xfov=float(v)) for v in xfovs]
