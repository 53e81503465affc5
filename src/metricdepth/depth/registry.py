"""One registry of depth backends: name -> builder(checkpoint, options) -> DepthBackend.

Each backend lives in its own module under `backends/` and is imported only when
built, so a missing optional package affects only its own backend. Unknown names are
refused with the list of valid ones.

`--model vits|vitb|vitl` (the older toolbox's and Annolid's flag) names one of a
backend's published checkpoints (`PUBLISHED`); the builder then gets that Hub
repository as its checkpoint, exactly as if the user had passed it with --checkpoint.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .base import BackendOptions, DepthBackend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend's builder lives and what it is, for --help and the benchmark."""

    module: str  # under metricdepth.depth.backends
    builder: str  # function (checkpoint, options) -> DepthBackend
    summary: str
    needs_weights: bool = True
    patch: int | None = 14  # the network's patch size in pixels (None: no network)
    # DepthFrame.invalid marks pixels without depth (such as a sensor's 0s): step 1 fills
    # them and records which (depth/missing.py)
    marks_missing: bool = False


BACKENDS: dict[str, BackendEntry] = {
    "vda": BackendEntry(
        "vda",
        "build_relative",
        "Video Depth Anything, relative (temporal; metric scale from --anchor_backend or --depth_video)",
    ),
    "vda_metric": BackendEntry("vda", "build_metric", "Metric Video Depth Anything (temporal, metres)"),
    "da2": BackendEntry("da2", "build_indoor", "Depth Anything V2 metric indoor (per frame, metres)"),
    "da2_outdoor": BackendEntry(
        "da2", "build_outdoor", "Depth Anything V2 metric outdoor (per frame, metres)"
    ),
    "da2_relative": BackendEntry(
        "da2", "build_relative", "Depth Anything V2, relative (per frame; metric scale like vda)"
    ),
    "depthpro": BackendEntry(
        "depthpro",
        "build",
        "Apple Depth Pro (per frame, metres + FOV; research licence: explicit --checkpoint only)",
        patch=16,
    ),
    "frames": BackendEntry(
        "frames",
        "build",
        "import a folder of 16-bit PNG / EXR depth frames",
        needs_weights=False,
        patch=None,
        marks_missing=True,
    ),
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


MODEL_SIZES = ("vits", "vitb", "vitl")
APACHE, NON_COMMERCIAL = "Apache-2.0", "CC-BY-NC-4.0"


@dataclass(frozen=True)
class Published:
    """A published checkpoint: Hugging Face repository, download size, weight licence."""

    repo: str
    size: str
    licence: str


def _sizes(repo: str, sizes: tuple[str, str, str]) -> dict[str, Published]:
    """Small (Apache-2.0), Base and Large (CC-BY-NC-4.0) of a Depth Anything family;
    `repo` has {} where Small/Base/Large goes."""
    names = ("Small", "Base", "Large")
    return {
        model: Published(repo.format(name), size, APACHE if model == "vits" else NON_COMMERCIAL)
        for model, name, size in zip(MODEL_SIZES, names, sizes)
    }


_DA2_SIZES = ("99 MB", "390 MB", "1.34 GB")
_VDA_SIZES = ("116 MB", "458 MB", "1.54 GB")
PUBLISHED: dict[str, dict[str, Published]] = {
    "vda": _sizes("depth-anything/Video-Depth-Anything-{}", _VDA_SIZES),
    "vda_metric": _sizes("depth-anything/Metric-Video-Depth-Anything-{}", _VDA_SIZES),
    "da2": _sizes("depth-anything/Depth-Anything-V2-Metric-Indoor-{}-hf", _DA2_SIZES),
    "da2_outdoor": _sizes("depth-anything/Depth-Anything-V2-Metric-Outdoor-{}-hf", _DA2_SIZES),
    "da2_relative": _sizes("depth-anything/Depth-Anything-V2-{}-hf", _DA2_SIZES),
    "depthpro": {
        "vitl": Published("apple/DepthPro-hf", "1.9 GB", "Apple ML research licence (research only)")
    },
}


def model_table() -> str:
    """`PUBLISHED` as lines for --help: backend, size, repository, download size, licence."""
    return "\n".join(
        f"  {backend:12s} {model}  {p.repo:56s} {p.size:>8s}  {p.licence}"
        for backend, models in PUBLISHED.items()
        for model, p in models.items()
    )


def published_checkpoint(backend: str, model: str) -> Published:
    """The published weights of size `model` of `backend`; InputError naming --model when
    that backend has no such size."""
    sizes = PUBLISHED.get(backend, {})
    if model not in sizes:
        have = (
            f"is published as {', '.join(sizes)} only"
            if sizes
            else "has no published sizes: pass --checkpoint"
        )
        raise InputError("--model", f"{model}: backend {backend} {have}")
    return sizes[model]


def backend_names() -> list[str]:
    return list(BACKENDS)


def build_backend(
    name: str, checkpoint: str | Path | None = None, options: BackendOptions | None = None
) -> DepthBackend:
    """Build backend `name` with weights from `checkpoint` (None: its default, or the
    published checkpoint of size `options.model_size` when that is set)."""
    entry = BACKENDS.get(name)
    if entry is None:
        raise InputError("--backend", f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    options = options or BackendOptions()
    if options.model_size is not None:
        if checkpoint is not None:
            raise InputError(
                "--model", "give --model (published weights) or --checkpoint (your own), not both"
            )
        published = published_checkpoint(name, options.model_size)
        if published.licence != APACHE:
            log.warning("%s: weights licensed %s", published.repo, published.licence)
        checkpoint = published.repo
    module = importlib.import_module(f"{__package__}.backends.{entry.module}")
    builder = getattr(module, entry.builder)
    return builder(None if checkpoint is None else str(checkpoint), options)
