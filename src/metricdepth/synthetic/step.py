"""make_synthetic_scene.py's settings and run: a synthetic clip and its ground truth on disk.

    paths = make_synthetic(SyntheticConfig(out="demo", frames=64))

Everything is checked before anything is created; the output folder is created only when
missing and removed again if the run fails before writing into it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ..camera import FOV_RANGE_DEG
from ..config import option
from ..errors import InputError
from .export import check_outputs, write_clip
from .scene import plan_scene

log = logging.getLogger(__name__)

MAX_SIDE_PX = 4096  # a frame's ray casting holds a few float64 arrays of this squared
MAX_FRAMES = 100_000


@dataclass
class SyntheticConfig:
    """Settings of make_synthetic_scene.py (each field is a flag)."""

    out: str = option("demo", "output folder (created if missing)")
    name: str = option("synthetic.mkv", "file name of the colour video")
    seed: int = option(0, "scene layout, textures and motion", ge=0)
    frames: int = option(64, "number of frames", ge=1, le=MAX_FRAMES)
    width: int = option(320, "pixels", ge=2, le=MAX_SIDE_PX)
    height: int = option(240, "pixels", ge=2, le=MAX_SIDE_PX)
    xfov: float = option(
        60.0, "full horizontal field of view, degrees", gt=FOV_RANGE_DEG[0], lt=FOV_RANGE_DEG[1]
    )
    pupillary_distance: float = option(
        63.0, "millimetres between the two eyes of the ground-truth stereo view", gt=0, le=1000
    )
    static: bool = option(False, "no moving object")
    overwrite: bool = option(False, "replace existing files")


def make_synthetic(config: SyntheticConfig) -> dict[str, Path]:
    """Plan the clip, check the outputs, then stream it to disk; returns the paths by role."""
    out, name = Path(config.out), config.name
    if not name or Path(name).name != name:
        raise InputError("--name", f"{name!r} must be a file name, without folders")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    try:
        shot = plan_scene(
            seed=config.seed,
            width=config.width,
            height=config.height,
            frames=config.frames,
            xfov=config.xfov,
            moving=None if config.static else "sphere",
        )
    except ValueError as exc:
        raise InputError(None, str(exc)) from None
    created = not out.exists()
    if not created:
        check_outputs(out / name, config.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    log.info("writing %d frames of %dx%d", config.frames, config.width, config.height)
    try:
        return write_clip(
            shot,
            out / name,
            pupillary_distance_m=config.pupillary_distance / 1000,
            overwrite=config.overwrite,
        )
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty: nothing of ours is left in it
        raise
