"""Apple Depth Pro through transformers' `DepthProForDepthEstimation`, per frame.

The network predicts a canonical inverse depth and, with its FOV head, the horizontal
field of view of each frame. Metric depth follows from the focal length in pixels f:
depth = f / (W * canonical), as transformers' post-processing does; f comes from
`--xfov` when given, else from the frame's estimated FOV. The estimates are written as
``X_depth.mkv_xfovs.json`` by the step.

The published weights (apple/DepthPro-hf) are under Apple's research licence, so there
is no default: pass `--checkpoint apple/DepthPro-hf` (or a local copy) to use them.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ...camera import focal_from_fov
from ...errors import InputError
from ..base import BackendOptions, DepthBackend, DepthFrame, resolve_device, torch_dtype
from ..preprocess import prepare_depthpro, resize_prediction
from ..weights import load_hf_model, resolve_checkpoint

log = logging.getLogger(__name__)

PUBLISHED_REPO = "apple/DepthPro-hf"
CANONICAL_INVERSE_RANGE = (1e-4, 1e4)  # clamp of transformers' post-processing
# Estimated FOVs are kept inside this range (degrees); a wilder estimate is clamped and
# logged (it would otherwise be refused by every later step).
FOV_ESTIMATE_RANGE = (5.0, 170.0)


class DepthProBackend(DepthBackend):
    name = "depthpro"
    metric = True
    temporal = False

    def __init__(self, model, options: BackendOptions, description: str):
        super().__init__(options, description)
        import torch

        config = model.config
        self.network_size = round(config.patch_size / min(config.scaled_images_ratios))
        if options.input_size and options.input_size != self.network_size:
            log.warning(
                "depthpro: --input_size %d ignored; this model takes %d x %d",
                options.input_size,
                self.network_size,
                self.network_size,
            )
        self.estimates_fov = bool(model.use_fov_model)
        if options.xfov is None and not self.estimates_fov:
            raise InputError("--xfov", "this Depth Pro checkpoint has no FOV head; give --xfov or --yfov")
        self.device = resolve_device(options.device)
        self.dtype = torch_dtype(self.device, options.fp32)
        self.model = model.to(self.device, self.dtype)
        self._torch = torch
        self._clamped = False

    def _fov(self, estimate: float) -> float:
        lo, hi = FOV_ESTIMATE_RANGE
        if not lo <= estimate <= hi:
            if not self._clamped:
                log.warning("depthpro: estimated FOV %.1f degrees clamped into [%g, %g]", estimate, lo, hi)
                self._clamped = True
            estimate = min(max(estimate, lo), hi) if math.isfinite(estimate) else 60.0
        return float(estimate)

    def infer(self, frames: np.ndarray, indices: np.ndarray) -> list[DepthFrame]:
        height, width = frames.shape[1:3]
        with self._torch.inference_mode():
            pixels = prepare_depthpro(frames, self.network_size, self.device).to(self.dtype)
            output = self.model(pixel_values=pixels)
            canonical = resize_prediction(output.predicted_depth, height, width, "bilinear")
            fovs = (
                output.field_of_view.float().cpu().numpy()
                if output.field_of_view is not None
                else [None] * len(frames)
            )
        results = []
        for inverse, estimate in zip(canonical, fovs):
            xfov = None if estimate is None else self._fov(float(estimate))
            fov = self.options.xfov if self.options.xfov is not None else xfov
            assert fov is not None  # without a FOV head, --xfov was required (see build)
            focal = focal_from_fov(width, fov)
            inverse = np.clip(inverse * (width / focal), *CANONICAL_INVERSE_RANGE)
            results.append(DepthFrame((1.0 / inverse).astype(np.float32), xfov=xfov))
        return results


def build(checkpoint: str | None, options: BackendOptions) -> DepthProBackend:
    path = resolve_checkpoint(
        checkpoint,
        None,
        "depthpro",
        f"the published weights are under Apple's research licence; "
        f"pass --checkpoint {PUBLISHED_REPO} (or a local copy) to use them",
    )
    from transformers import DepthProConfig, DepthProForDepthEstimation

    model = load_hf_model(path, DepthProForDepthEstimation, DepthProConfig, "depthpro")
    return DepthProBackend(model, options, f"depthpro:{checkpoint}")
