"""The ordered step table: for each step, its library call, the config it gets from the
pipeline and the files that make it complete.

Every step writes atomically (a final name appears only when its file is complete), so a
step whose final outputs all exist is complete and is skipped. The chunked steps (depth,
rescale, stereo, infill) always run with resume on: an interrupted one continues after its
last finished chunk (a fresh start when there is nothing to resume).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import validate_config
from ..depth.config import DepthConfig
from ..depth.step import convert, filled_mask_path
from ..encode.step import CompressConfig, compress, default_output
from ..errors import InputError
from ..geometry.camera_step import CameraTrackConfig, camera_track
from ..geometry.rescale_step import RescaleConfig, rescale_depth
from ..infill.step import InfillConfig, infill
from ..io import naming
from ..masks.step import MaskConfig, create_mask
from ..stereo.layouts import REGISTRY
from ..stereo.step import StereoConfig, stereo_rerender
from ..tracking.step import TrackConfig, track_points
from .config import STEP_NAMES, PipelineConfig

# Settings that join the steps (their inputs and outputs) and how they run: the
# pipeline sets them, a config file section may not.
WIRED = frozenset(
    {
        "color_video",
        "depth_video",
        "mask_video",
        "track_file",
        "transformation_file",
        "sbs_color_video",
        "sbs_mask_video",
        "batch",
        "output",
        "overwrite",
        "resume",
        "xfov",
        "yfov",
        "xfov_file",
    }
)


@dataclass(frozen=True)
class ClipFiles:
    """Every file the pipeline reads or writes for one colour video, by the naming rule.
    `joined`: with --split_scenes, the joined stereo video step 8 encodes instead."""

    colour: Path
    joined: Path | None = None

    @property
    def depth(self) -> Path:
        return naming.output_path(self.colour, naming.DEPTH)

    @property
    def xfovs(self) -> Path:
        return naming.output_path(self.depth, naming.XFOVS)

    @property
    def mask(self) -> Path:
        return naming.output_path(self.colour, naming.MASK)

    @property
    def tracks(self) -> Path:
        return naming.output_path(self.colour, naming.TRACKING)

    @property
    def poses(self) -> Path:
        return naming.output_path(self.depth, naming.TRANSFORMATIONS)

    @property
    def depth_scales(self) -> Path:
        return naming.output_path(self.depth, naming.DEPTH_SCALES)

    @property
    def rescaled(self) -> Path:
        return naming.output_path(self.depth, naming.RESCALED)

    @property
    def triangulated(self) -> Path:
        return naming.output_path(self.depth, naming.TRIANGULATED_PLY)

    @property
    def avgmonodepth(self) -> Path:
        return naming.output_path(self.depth, naming.AVGMONODEPTH_PLY)

    @property
    def stereo(self) -> Path:
        return naming.output_path(self.rescaled, naming.STEREO)

    @property
    def infill_mask(self) -> Path:
        return naming.output_path(self.stereo, naming.INFILL_MASK)

    @property
    def infilled(self) -> Path:
        if self.joined is not None:
            return self.joined
        return naming.output_path(self.stereo, naming.INFILLED)


def _fov(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    """The field of view for steps 4-7: --xfov/--yfov, else step 1's per-frame estimate."""
    if config.xfov is not None:
        return {"xfov": config.xfov}
    if config.yfov is not None:
        return {"yfov": config.yfov}
    return {"xfov_file": files.xfovs}


def _device(config: PipelineConfig) -> dict[str, Any]:
    return {"device": config.device} if config.device else {}


def _depth(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    return {
        "color_video": str(files.colour),
        "backend": config.depth_backend,
        "checkpoint": config.depth_checkpoint,
        "depth_frames": config.depth_frames,
        "depth_scale": config.depth_scale,
        "xfov": config.xfov,
        "yfov": config.yfov,
        **_device(config),
    }


def _masks(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    return {
        "color_video": str(files.colour),
        "backend": config.mask_backend,
        "depth_video": str(files.depth),
        **_device(config),
    }


def _tracks(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    # step 1's depth keeps lk from seeding on silhouettes and ends tracks that get hidden
    return {
        "color_video": str(files.colour),
        "mask_video": str(files.mask),
        "depth_video": str(files.depth),
        "backend": config.track_backend,
        **_device(config),
    }


def _camera(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    return {
        "track_file": files.tracks,
        "depth_video": files.depth,
        "color_video": files.colour,
        "mask_video": files.mask,
        **_fov(config, files),
    }


def _rescale(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    return {
        "depth_video": files.depth,
        "track_file": files.tracks,
        "transformation_file": files.poses,
        "color_video": files.colour,
        "mask_video": files.mask,
        **_fov(config, files),
    }


def _stereo(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    return {
        "depth_video": files.rescaled,
        "color_video": files.colour,
        **_fov(config, files),
        **_device(config),
    }


def _infill(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    wiring = {
        "sbs_color_video": files.stereo,
        "sbs_mask_video": files.infill_mask,
        "backend": config.infill_backend,
        "mask_video": files.mask,
        **_fov(config, files),
        **_device(config),
    }
    convergence = str(config.steps.get("stereo", {}).get("convergence", "")).strip()
    if convergence in ("", "0", "0.0"):
        # Background from neighbouring frames needs eyes rendered from each frame's own
        # camera without a convergence shift (docs/step7_infill.md).
        wiring.update(color_video=files.colour, depth_video=files.rescaled, transformation_file=files.poses)
    return wiring


def _compress(config: PipelineConfig, files: ClipFiles) -> dict[str, Any]:
    # The layout step 6 renders in (step 7 keeps it), so the output's name is known early.
    layout = config.steps.get("stereo", {}).get("layout", StereoConfig.layout)
    return {"sbs_color_video": files.infilled, "color_video": files.colour, "layout": layout}


def compress_output(settings: CompressConfig) -> Path:
    """The player-ready file step 8 writes with `settings`."""
    layout = REGISTRY[settings.layout or StereoConfig.layout]
    return Path(settings.output) if settings.output else default_output(settings, layout)


@dataclass(frozen=True)
class Step:
    """One row of the table: `run(settings)` writes `outputs(files, settings)`."""

    name: str
    title: str
    config_cls: type
    run: Callable[[Any], Any]
    wiring: Callable[[PipelineConfig, ClipFiles], dict[str, Any]]
    outputs: Callable[[ClipFiles, Any], list[Path]]

    @property
    def number(self) -> int:
        return STEP_NAMES.index(self.name) + 1

    def settings(self, config: PipelineConfig, files: ClipFiles) -> Any:
        """The step's config: its defaults, the pipeline's wiring, the config file's section."""
        section = config.steps.get(self.name, {})
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        unknown = sorted(set(section) - fields)
        if unknown:
            raise InputError(
                config.config,
                f"[{self.name}] has unknown settings "
                f"{', '.join(unknown)}; valid: {', '.join(sorted(fields - WIRED))}",
            )
        wired = sorted(set(section) & WIRED)
        if wired:
            raise InputError(
                config.config,
                f"[{self.name}] sets {', '.join(wired)}, which the "
                "pipeline sets itself (file names, FOV: use --xfov/--yfov; "
                "--overwrite)",
            )
        values = {k: v for k, v in self.wiring(config, files).items() if k in fields}
        values.update(section)
        values["overwrite"] = config.overwrite
        if "resume" in fields:
            values["resume"] = True
        settings = self.config_cls(**values)
        validate_config(settings, f"{config.config} [{self.name}]" if section else "")
        return settings


STEPS: tuple[Step, ...] = (
    Step(
        "depth",
        "metric depth",
        DepthConfig,
        convert,
        _depth,
        lambda f, s: [f.depth, *filter(None, [filled_mask_path(s, f.depth)])],
    ),
    Step("masks", "subject masks", MaskConfig, create_mask, _masks, lambda f, s: [f.mask]),
    Step("tracks", "point tracks", TrackConfig, track_points, _tracks, lambda f, s: [f.tracks]),
    Step(
        "camera",
        "camera poses",
        CameraTrackConfig,
        camera_track,
        _camera,
        lambda f, s: [f.poses, f.depth_scales],
    ),
    Step(
        "rescale",
        "depth rescaled by triangulation",
        RescaleConfig,
        rescale_depth,
        _rescale,
        lambda f, s: [f.rescaled, f.triangulated, f.avgmonodepth],
    ),
    Step(
        "stereo",
        "side-by-side stereo",
        StereoConfig,
        stereo_rerender,
        _stereo,
        lambda f, s: [f.stereo, f.infill_mask],
    ),
    Step("infill", "disocclusions filled", InfillConfig, infill, _infill, lambda f, s: [f.infilled]),
    Step(
        "compress",
        "player-ready file",
        CompressConfig,
        compress,
        _compress,
        lambda f, s: [compress_output(s)],
    ),
)
assert tuple(s.name for s in STEPS) == STEP_NAMES


def step_named(name: str) -> Step:
    return STEPS[STEP_NAMES.index(name)]
