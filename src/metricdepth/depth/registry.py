"""One registry of depth backends: name -> builder(checkpoint, options) -> DepthBackend.

Each backend lives in its own module under `backends/` and is imported only when
built, so a missing optional package affects only its own backend. Unknown names are
refused with the list of valid ones.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .base import BackendOptions, DepthBackend


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend's builder lives and what it is, for --help and the benchmark."""

    module: str        # under metricdepth.depth.backends
    builder: str       # function (checkpoint, options) -> DepthBackend
    summary: str
    needs_weights: bool = True


BACKENDS: dict[str, BackendEntry] = {
    "vda": BackendEntry("vda", "build_relative", "Video Depth Anything, relative (temporal; "
                        "metric scale from --anchor_backend or --depth_video)"),
    "vda_metric": BackendEntry("vda", "build_metric", "Metric Video Depth Anything (temporal, metres)"),
    "da2": BackendEntry("da2", "build_indoor", "Depth Anything V2 metric indoor (per frame, metres)"),
    "da2_outdoor": BackendEntry("da2", "build_outdoor", "Depth Anything V2 metric outdoor (per frame, metres)"),
    "depthpro": BackendEntry("depthpro", "build", "Apple Depth Pro (per frame, metres + FOV; "
                             "research licence: explicit --checkpoint only)"),
    "frames": BackendEntry("frames", "build", "import a folder of 16-bit PNG / EXR depth frames",
                           needs_weights=False),
    "da3": BackendEntry("da3", "build", "Depth Anything 3 (needs the depth_anything_3 package)"),
}

# Permissively licensed weights `install.sh --models small` fetches into the Hugging Face
# cache (metricdepth.models_download.MODEL_SETS). Only the Small models of Depth Anything
# V2 and Video Depth Anything are Apache-2.0; their Base and Large weights are
# CC-BY-NC-4.0 and Depth Pro's are under Apple's research licence, so there is no larger
# set: those run only when the user passes them with --checkpoint.
DEFAULT_DOWNLOADS: tuple[str, ...] = (
    "depth-anything/Video-Depth-Anything-Small",
    "depth-anything/Metric-Video-Depth-Anything-Small",
    "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf",
    "depth-anything/Depth-Anything-V2-Metric-Outdoor-Small-hf",
)


def backend_names() -> list[str]:
    return list(BACKENDS)


def build_backend(name: str, checkpoint: str | Path | None = None,
                  options: BackendOptions | None = None) -> DepthBackend:
    """Build backend `name` with weights from `checkpoint` (None: its default)."""
    entry = BACKENDS.get(name)
    if entry is None:
        raise InputError("--backend", f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    module = importlib.import_module(f"{__package__}.backends.{entry.module}")
    builder = getattr(module, entry.builder)
    return builder(None if checkpoint is None else str(checkpoint), options or BackendOptions())
