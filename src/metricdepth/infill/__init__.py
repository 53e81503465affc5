"""Step 7: fill the holes (disocclusions) of a side-by-side stereo video.

Backends behind one registry (`BACKENDS`, `build_backend`): ``classical`` (no weights, the
default) and ``stereocrafter`` (the StereoCrafter video diffusion model). The chunk
scheduler (`scheduler.py`) makes every run resumable and spreads chunks over devices or a
Ray cluster; `step.infill` is the library entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..io.video import VideoInfo
from .backend import ChunkInput, InfillBackend
from .classical import ClassicalBackend, SceneInputs

BACKENDS = ("classical", "stereocrafter")


@dataclass(frozen=True)
class BackendSpec:
    """Everything needed to build a backend in any process (picklable, for Ray).

    name: one of BACKENDS. options: backend settings (see each backend).
    scene: optional depth/poses inputs for classical infill.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    scene: SceneInputs | None = None


def build_backend(spec: BackendSpec, stereo: VideoInfo, device: str = "cpu") -> InfillBackend:
    """The backend `spec` names, for the stereo video `stereo`, on `device`."""
    if spec.name == "classical":
        return ClassicalBackend(spec.scene, stereo)
    if spec.name == "stereocrafter":
        from .stereocrafter import StereoCrafterBackend  # torch/diffusers only when asked

        return StereoCrafterBackend.from_options(spec.options, device)
    raise InputError("--backend", f"unknown infill backend {spec.name!r}; choose from {list(BACKENDS)}")


__all__ = ["BACKENDS", "BackendSpec", "ChunkInput", "InfillBackend", "build_backend"]
