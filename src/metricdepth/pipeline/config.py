"""The pipeline's settings: a few flags that choose backends and where to start and stop,
plus an optional TOML or JSON file with one section per step for everything else.

    # pipeline.toml
    [pipeline]                 # any field of PipelineConfig
    xfov = 60
    depth_backend = "da2"
    [stereo]                   # any field of that step's config (docs/steps.md)
    pupillary_distance = 65
    [compress]
    encoder = "libx264"

Precedence: a step's own defaults < the pipeline's choices (backends, FOV, file names)
< the file's step section < flags given on the command line (for pipeline fields).
The file paths that join the steps are the pipeline's: a step section may not set them.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import infill, masks, tracking
from ..config import option, validate_config
from ..depth import registry as depth_registry
from ..errors import InputError
from ..options import xfov_option, yfov_option

# Step names in order; --from / --until and the config file's sections use them.
STEP_NAMES = ("depth", "masks", "tracks", "camera", "rescale", "stereo", "infill", "compress")
PIPELINE_SECTION = "pipeline"
DEFAULT_SCENE_THRESHOLD = 27.0  # PySceneDetect ContentDetector's own default
DEFAULT_MIN_SCENE_FRAMES = 15  # shorter scenes are merged into their neighbour (tracking needs frames)
TUM_DEPTH_SCALE = 1 / 5000  # TUM RGB-D depth PNGs: value / 5000 = metres
DEFAULT_RGBD_FPS = 30  # TUM RGB-D's frame rate


@dataclass
class PipelineConfig:
    """Settings of run_pipeline.py (each field is a flag; `[pipeline]` in the config file)."""

    video: str | None = None  # the colour video (a positional argument of the script)
    config: str | None = option(
        None,
        "TOML or JSON file: a [pipeline] section (these flags) "
        "and one section per step (depth, masks, tracks, camera, "
        "rescale, stereo, infill, compress) with that step's flags",
    )
    xfov: float | None = xfov_option("needed unless the depth backend estimates it")
    yfov: float | None = yfov_option()
    depth_backend: str = option(
        "vda_metric",
        "step 1's depth model (frames: import depth images from --depth_frames, no weights)",
        choices=depth_registry.backend_names(),
    )
    depth_checkpoint: str | None = option(
        None, "step 1's weights (default: the backend's own from the Hugging Face cache)"
    )
    depth_frames: str | None = option(
        None, "frames backend: folder of 16-bit PNG or EXR depth images, one per colour frame"
    )
    depth_scale: float | None = option(
        None,
        "frames backend: metres per stored unit (default 0.001 for PNG, 1 for EXR; --rgbd: 0.0002)",
        gt=0,
    )
    mask_backend: str = option(
        "motion",
        "step 2: motion (no weights; what moves against the "
        "camera, with step 1's depth), rembg (U2-Net salient subject, "
        "--models small fetches it), motion+rembg, sam2 or sam (need "
        "prompts in the [masks] section), auto (docs/step2_masks.md)",
        choices=(masks.AUTO, *masks.BACKENDS),
    )
    track_backend: str = option(
        "auto", "step 3: lk (no weights), cotracker, auto", choices=(tracking.AUTO, *tracking.BACKENDS)
    )
    infill_backend: str = option(
        "classical", "step 7: classical (no weights) or stereocrafter", choices=infill.BACKENDS
    )
    device: str | None = option(
        None, "torch device for every step that has one (cpu, cuda); default: each step's own"
    )
    start_step: str | None = option(
        None, "start at this step; earlier steps must be complete", choices=STEP_NAMES, flag="--from"
    )
    until: str | None = option(None, "stop after this step", choices=STEP_NAMES)
    split_scenes: bool = option(
        False,
        "cut the video at scene changes (PySceneDetect), run "
        "each scene as its own clip, join them and add the audio",
    )
    scene_threshold: float = option(
        DEFAULT_SCENE_THRESHOLD,
        "--split_scenes: PySceneDetect ContentDetector threshold (lower finds more cuts)",
        gt=0,
        le=255,
    )
    min_scene_frames: int = option(DEFAULT_MIN_SCENE_FRAMES, "--split_scenes: shortest scene, frames", ge=1)
    ray_address: str | None = option(
        None,
        "--split_scenes: run the scenes in parallel as Ray tasks: local (Ray started here, "
        "--workers processes), auto (the cluster `ray start` joined this machine to) or a "
        "cluster address; every machine must see the video's folder under the same path "
        "(docs/cluster.md)",
    )
    workers: int = option(
        0, "--ray_address local: scenes run at once (worker processes); 0: one per core", ge=0
    )
    rgbd: str | None = option(
        None,
        "RGB-D folder (TUM layout: rgb/, depth/, associate.txt): "
        "build VIDEO from its colour frames and import its depth with "
        "the frames backend",
    )
    rgbd_fps: int = option(DEFAULT_RGBD_FPS, "--rgbd: frame rate of the built video", ge=1, le=1000)
    preview: int = option(
        0,
        "N > 1: a quick look first: every Nth frame through every step, "
        "as the clip VIDEO_previewN.mkv whose outputs are named after it (the "
        "full run's are never touched)",
        ge=0,
    )
    overwrite: bool = option(
        False,
        "redo the steps that run, replacing their outputs "
        "(default: complete steps are skipped, interrupted ones resumed)",
    )
    print_commands: bool = option(
        False,
        "run no step: print each step's command line, "
        "exactly as the pipeline would run it, to run by hand (with "
        "--rgbd the video and its depth frames are built first)",
    )
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # the file's step sections

    @property
    def video_path(self) -> Path:
        """The colour video (build_config refuses a config without one)."""
        if self.video is None:
            raise InputError("video", "no video given")
        return Path(self.video)

    @property
    def first_step(self) -> str:
        return self.start_step or STEP_NAMES[0]

    @property
    def last_step(self) -> str:
        return self.until or STEP_NAMES[-1]


def read_config_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Sections of a TOML (.toml) or JSON (.json) config file, each a dict of settings."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "config file not found")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
        else:
            data = tomllib.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            path, f"not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'} ({exc})"
        ) from None
    except RecursionError:
        raise InputError(path, "not a config file: values nested too deep") from None
    if not isinstance(data, dict):
        raise InputError(path, "must hold sections ([pipeline], [depth], ...), not a list or value")
    known = (PIPELINE_SECTION,) + STEP_NAMES
    for name, section in data.items():
        if name not in known:
            raise InputError(path, f"unknown section [{name}]; sections are {', '.join(known)}")
        if not isinstance(section, dict):
            raise InputError(path, f"[{name}] must be a table of settings")
    return data


def build_config(flags: dict[str, Any]) -> PipelineConfig:
    """The pipeline's settings from the flags given on the command line (`flags`: field ->
    value, only those given) and the config file they name (its [pipeline] section fills
    the fields the flags leave out)."""
    sections = read_config_file(flags["config"]) if flags.get("config") else {}
    values = dict(sections.get(PIPELINE_SECTION, {}))
    fields = {f.name for f in dataclasses.fields(PipelineConfig)} - {"steps", "config"}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise InputError(
            flags["config"],
            f"[{PIPELINE_SECTION}] has unknown settings "
            f"{', '.join(unknown)}; valid: {', '.join(sorted(fields))}",
        )
    values.update(flags)
    if values.get("rgbd"):  # an RGB-D recording brings its own depth (TUM's units)
        values.setdefault("depth_backend", "frames")
        values.setdefault("depth_scale", TUM_DEPTH_SCALE)
    values["steps"] = {name: dict(section) for name, section in sections.items() if name != PIPELINE_SECTION}
    for key in ("start_step", "until"):
        if values.get(key) is not None and values[key] not in STEP_NAMES:
            raise InputError(
                f"--{'from' if key == 'start_step' else key}",
                f"unknown step {values[key]!r}; steps are {', '.join(STEP_NAMES)}",
            )
    config = PipelineConfig(**values)
    validate_config(config, f"{flags['config']} [{PIPELINE_SECTION}]" if flags.get("config") else "")
    if config.video is None:
        raise InputError("video", "no video given")
    if STEP_NAMES.index(config.first_step) > STEP_NAMES.index(config.last_step):
        raise InputError("--from", f"{config.first_step} comes after --until {config.last_step}")
    return config
