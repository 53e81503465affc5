"""What every depth backend is: a predictor that turns RGB frames into depth maps.

A backend takes what users have ((H, W, 3) uint8 RGB frames) and returns one
`DepthFrame` per input frame, at the frame's resolution. Two kinds of output:

- metric backends (`metric` True): z-depth in metres;
- relative backends: affine-invariant inverse depth (larger = nearer; the true inverse
  depth is s * value + t for unknown s > 0, t), made metric by `metric_align`.

Per-frame backends (`temporal` False) see one frame at a time and get the temporal
stabiliser; temporal backends (VDA) are consistent by themselves and carry state from
frame to frame (`state` / `restore`, saved with each finished chunk for `--resume`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class DepthFrame:
    """One frame's prediction.

    depth: (H, W) float32: metres, z-depth (metric backends) or affine-invariant inverse
    depth (relative backends). invalid: (H, W) bool, pixels without depth (filled from
    their surroundings before writing, `depth/missing.py`), or None. xfov: the backend's
    estimate of the full horizontal field of view in degrees, or None.
    """

    depth: np.ndarray
    invalid: np.ndarray | None = None
    xfov: float | None = None


@dataclass(frozen=True)
class BackendOptions:
    """Settings a builder may use (each backend ignores what it does not need).

    device: "auto", "cpu", "cuda" or "mps". fp32: full precision even on a GPU.
    input_size: network input size in pixels (None: the model's own default).
    batch: frames per forward pass. xfov: known full horizontal FOV in degrees (Depth Pro
    then uses this focal length instead of estimating it). depth_frames: folder of depth
    images (frames backend). depth_scale: metres per stored unit (None: 0.001 for 16-bit
    PNG, 1 for EXR). frame_count: frames in the colour video (frames backend checks it).
    frame_size: (width, height) of the colour video. model_size: vits, vitb or vitl when
    the weights are a published size (`registry.PUBLISHED`), else None.
    """

    device: str = "auto"
    fp32: bool = False
    input_size: int | None = None
    batch: int = 4
    xfov: float | None = None
    depth_frames: Path | None = None
    depth_scale: float | None = None
    frame_count: int | None = None
    frame_size: tuple[int, int] | None = None
    model_size: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class DepthBackend:
    """Base class. Subclasses set the class attributes and implement `infer` (per-frame
    backends) or `stream`, `state` and `restore` (temporal backends)."""

    name: str = ""
    metric: bool = True
    temporal: bool = False
    estimates_fov: bool = False
    reads_colour: bool = True  # False: `infer` looks at the frames' size only (not decoded)

    def __init__(self, options: BackendOptions, description: str):
        self.options = options
        self.description = description  # which weights: recorded in the output's tags

    def infer(self, frames: np.ndarray, indices: np.ndarray) -> list[DepthFrame]:
        """frames: (n, H, W, 3) uint8 RGB; indices: (n,) int, their frame numbers in the
        colour video. Returns n DepthFrames of size (H, W)."""
        raise NotImplementedError

    def stream(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[DepthFrame]:
        """One DepthFrame per (frame index, (H, W, 3) uint8 RGB frame), in order. The
        default runs `infer` on batches of `options.batch` frames."""
        iterator = iter(frames)
        while batch := list(islice(iterator, self.options.batch)):
            indices = np.array([index for index, _ in batch])
            yield from self.infer(np.stack([frame for _, frame in batch]), indices)

    def state(self) -> dict[str, Any]:
        """What a resumed run needs to continue after the last frame yielded (arrays and
        numbers only); per-frame backends have none."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a `state()` saved by an earlier run."""


def resolve_device(device: str) -> str:
    """ "auto" -> "cuda" when available, else "mps" when available, else "cpu"; other
    names are checked for availability (InputError naming --device otherwise)."""
    import torch

    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
    }
    if device == "auto":
        return next(d for d in ("cuda", "mps", "cpu") if available[d])
    if device not in available:
        raise InputError("--device", f"unknown device {device!r}; choose auto, cpu, cuda or mps")
    if not available[device]:
        raise InputError("--device", f"{device} is not available on this machine")
    return device


def torch_dtype(device: str, fp32: bool):
    """float16 on a GPU unless `fp32`; float32 on the CPU (half precision is slow there)."""
    import torch

    return torch.float32 if fp32 or device == "cpu" else torch.float16
