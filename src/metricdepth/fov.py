"""Where a step's field of view comes from: a flag, a per-frame file, or the file that
step 1 wrote beside the depth video (`D_xfovs.json`), in that order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .camera import Intrinsics, check_fov, focal_from_fov, fov_from_focal
from .errors import InputError
from .io import naming
from .io.sidecars import read_xfovs


def resolve_xfovs(
    frame_count: int,
    width: int,
    height: int,
    *,
    xfov: float | None = None,
    yfov: float | None = None,
    xfov_file: str | Path | None = None,
    depth_video: str | Path | None = None,
) -> np.ndarray:
    """Per-frame full horizontal FOVs, (frame_count,) float64 degrees, from exactly one of
    `xfov` or `yfov` (degrees, all frames; square pixels) or `xfov_file`; with none of
    them, the ``_xfovs.json`` beside `depth_video` (or beside the depth video it was
    rescaled from). Otherwise an InputError names the flags to pass.
    """
    given = [
        name
        for name, value in (("--xfov", xfov), ("--yfov", yfov), ("--xfov_file", xfov_file))
        if value is not None
    ]
    if len(given) > 1:
        raise InputError(given[1], f"give only one of --xfov, --yfov, --xfov_file (got {', '.join(given)})")
    if xfov is not None:
        return np.full(frame_count, check_fov(xfov, "--xfov"))
    if yfov is not None:
        focal = focal_from_fov(height, check_fov(yfov, "--yfov"))
        return np.full(frame_count, fov_from_focal(width, focal))
    found = naming.find_sidecar(xfov_file, depth_video, naming.XFOVS, "--xfov_file")
    if found is not None:
        return read_xfovs(found, frame_count)
    sidecar = None if depth_video is None else naming.output_path(depth_video, naming.XFOVS).name
    beside = "" if sidecar is None else f"; {sidecar} beside the depth video is used when present"
    raise InputError(
        "--xfov",
        "no field of view given: pass --xfov or --yfov (degrees) or "
        f"--xfov_file (a per-frame JSON list, e.g. from step 1's depthpro backend){beside}",
    )


def frame_intrinsics(xfovs: np.ndarray, width: int, height: int) -> list[Intrinsics]:
    """One Intrinsics per frame from per-frame horizontal FOVs in degrees."""
    return [Intrinsics.from_fov(width, height, xfov=float(v)) for v in xfovs]
