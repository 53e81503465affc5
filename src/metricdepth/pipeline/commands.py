"""The pipeline as the step commands a person would type (`run_pipeline.py
--print_commands`): each step's script with exactly the settings the pipeline gives it,
so running them by hand, one after the other, does what the pipeline does.

The walkthrough's by-hand section is these commands (a test compares them), so the two
cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from pathlib import Path
from typing import Any

from .config import PipelineConfig
from .steps import STEPS, ClipFiles, Step

SCRIPTS = {
    "depth": "video_metric_convert.py",
    "masks": "create_video_mask.py",
    "tracks": "track_points_in_video.py",
    "camera": "camera_track.py",
    "rescale": "rescale_depth.py",
    "stereo": "stereo_rerender.py",
    "infill": "stereo_infill.py",
    "compress": "compress_video.py",
}
INTERNAL = frozenset({"resume", "overwrite"})  # how the pipeline runs a step, not what it does
REPO = Path(__file__).resolve().parents[3]  # the checkout: scripts at its top, .venv inside


def _words(name: str, value: Any, default: Any, folder: Path) -> list[str]:
    """The flag and value that set field `name` to `value` (none when it is the default)."""
    if value == default or (value in (None, "") and default in (None, "")):
        return []
    if isinstance(value, bool):
        return [f"--{name}" if value else f"--no-{name}"]
    if isinstance(value, Path) or (isinstance(value, str) and os.sep in value):
        value = os.path.relpath(value, folder)
    if isinstance(value, list):
        return [word for item in value for word in _words(name, item, None, folder)]
    return [f"--{name}", str(value)]


def _from(folder: Path, path: Path) -> str:
    """`path` as typed in `folder`: relative inside the checkout, else absolute."""
    inside = folder.resolve().is_relative_to(REPO)
    return os.path.relpath(path, folder.resolve()) if inside else str(path)


def step_command(step: Step, settings: Any, folder: Path) -> str:
    """One line, to type in `folder` (the clip's): the checkout's Python and the step's
    script, then every setting that differs from the script's default; paths relative
    to `folder`."""
    words = [_from(folder, REPO / ".venv" / "bin" / "python"), _from(folder, REPO / SCRIPTS[step.name])]
    defaults = {
        f.name: f.default if f.default is not dataclasses.MISSING else None
        for f in dataclasses.fields(settings)
    }
    for field in dataclasses.fields(settings):
        if field.name not in INTERNAL and "help" in field.metadata:
            words += _words(field.name, getattr(settings, field.name), defaults[field.name], folder)
    return " ".join(shlex.quote(w) for w in words)


def pipeline_commands(config: PipelineConfig, files: ClipFiles) -> list[str]:
    """The commands of the steps `config` runs, in order (steps before --from left out)."""
    folder = files.colour.parent
    names = [s.name for s in STEPS]
    first, last = names.index(config.first_step), names.index(config.last_step)
    return [step_command(step, step.settings(config, files), folder) for step in STEPS[first : last + 1]]
