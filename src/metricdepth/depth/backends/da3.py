"""Depth Anything 3 through the `depth_anything_3` package, where the user has it.

The package is not part of our default environment (it is not on PyPI under a stable
name and pulls its own dependencies); without it this backend is refused at
construction with how to install it. With it, the model named by `--checkpoint`
(a Hub id such as depth-anything/DA3NESTED-GIANT-LARGE, or a local folder) runs per
frame. The NESTED models give metres; every other DA3 output (including DA3METRIC, whose
metres need the focal length: focal * output / 300) is used as depth up to scale, i.e.
its inverse as relative inverse depth, and aligned to metres like any relative model.
Untested here: the package is not installed in our environment.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ..base import BackendOptions, DepthBackend, DepthFrame, resolve_device

INSTALL_HINT = (
    "install it into .venv from github.com/ByteDance-Seed/Depth-Anything-3 "
    "(pip install -e . in a clone), then rerun"
)


class DA3Backend(DepthBackend):
    name = "da3"
    temporal = False

    def __init__(self, model, options: BackendOptions, description: str, metric: bool):
        super().__init__(options, description)
        self.model = model
        self.metric = metric

    def infer(self, frames: np.ndarray, indices: np.ndarray) -> list[DepthFrame]:
        import cv2

        prediction = self.model.inference(list(frames))
        results = []
        for frame, depth in zip(frames, np.asarray(prediction.depth, np.float32)):
            depth = cv2.resize(depth, frame.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            if self.metric:
                results.append(DepthFrame(depth, invalid=depth <= 0))
            else:  # depth up to scale: its inverse is relative inverse depth
                with np.errstate(divide="ignore"):
                    results.append(DepthFrame(np.where(depth > 0, 1.0 / depth, 0).astype(np.float32)))
        return results


def build(checkpoint: str | None, options: BackendOptions) -> DA3Backend:
    try:
        from depth_anything_3.api import DepthAnything3
    except ImportError:
        raise InputError(
            "--backend", f"da3 needs the depth_anything_3 package, which is not installed; {INSTALL_HINT}"
        ) from None
    if checkpoint is None:
        raise InputError(
            "--checkpoint",
            "da3 has no default weights (most are CC-BY-NC); pass "
            "--checkpoint with a Hub id or folder, e.g. depth-anything/DA3NESTED-GIANT-LARGE",
        )
    model = DepthAnything3.from_pretrained(checkpoint).to(resolve_device(options.device)).eval()
    return DA3Backend(model, options, f"da3:{checkpoint}", metric="nested" in checkpoint.lower())
