"""Depth Anything V2 through transformers' `DepthAnythingForDepthEstimation`, per frame.

The metric checkpoints (indoor: Hypersim, up to 20 m; outdoor: Virtual KITTI, up to
80 m) give z-depth in metres; the relative ones (`da2_relative`) give affine-invariant
inverse depth, which the step aligns to metres (`metric_align`) as it does for `vda`. Preprocessing is ours
(`preprocess.prepare_dpt`), identical to the published processor settings.
"""

from __future__ import annotations

import numpy as np

from ..base import BackendOptions, DepthBackend, DepthFrame, resolve_device, torch_dtype
from ..preprocess import prepare_dpt, resize_prediction
from ..registry import PUBLISHED
from ..weights import load_hf_model, resolve_checkpoint

DEFAULT_MODEL = "vits"  # the Small weights, Apache-2.0
DEFAULT_INPUT_SIZE = 518


class DA2Backend(DepthBackend):
    """Depth Anything V2 (metric or relative, as the checkpoint's config says)."""

    temporal = False
    estimates_fov = False

    def __init__(self, model, options: BackendOptions, description: str, name: str):
        super().__init__(options, description)
        import torch

        self.name = name
        self.device = resolve_device(options.device)
        self.dtype = torch_dtype(self.device, options.fp32)
        self.model = model.to(self.device, self.dtype)
        self.metric = model.config.depth_estimation_type == "metric"
        self.input_size = options.input_size or DEFAULT_INPUT_SIZE
        self._torch = torch

    def infer(self, frames: np.ndarray, indices: np.ndarray) -> list[DepthFrame]:
        height, width = frames.shape[1:3]
        with self._torch.inference_mode():
            pixels = prepare_dpt(frames, self.input_size, self.device).to(self.dtype)
            predicted = self.model(pixel_values=pixels).predicted_depth
            depth = resize_prediction(predicted, height, width, "bicubic")
        np.maximum(depth, 0, out=depth)  # bicubic overshoot below zero
        return [DepthFrame(d, invalid=(d <= 0) if self.metric else None) for d in depth]


def _build(checkpoint: str | None, options: BackendOptions, name: str) -> DA2Backend:
    default = PUBLISHED[name][DEFAULT_MODEL].repo
    path = resolve_checkpoint(checkpoint, default, name)
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    model = load_hf_model(path, DepthAnythingForDepthEstimation, DepthAnythingConfig, name)
    return DA2Backend(model, options, f"{name}:{checkpoint or default}", name)


def build_indoor(checkpoint: str | None, options: BackendOptions) -> DA2Backend:
    return _build(checkpoint, options, "da2")


def build_outdoor(checkpoint: str | None, options: BackendOptions) -> DA2Backend:
    return _build(checkpoint, options, "da2_outdoor")


def build_relative(checkpoint: str | None, options: BackendOptions) -> DA2Backend:
    return _build(checkpoint, options, "da2_relative")
