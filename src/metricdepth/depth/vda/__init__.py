"""Video Depth Anything (Chen et al., CVPR 2025), re-implemented in plain torch from
docs/vda_spec.md; loads the published checkpoints strictly.

    model = load_vda_checkpoint(find_vda_checkpoint(None, "vits", metric=True))
    predictor = VDAPredictor(model, input_size=518, device="cpu")
    for depth in predictor.infer_video(frames):    # (H, W, 3) uint8 RGB in
        ...                                         # (H, W) float32 out (metres if metric)
"""

from .checkpoint import (
    CHECKPOINTS,
    VDACheckpoint,
    check_state_dict,
    find_vda_checkpoint,
    load_vda_checkpoint,
    read_state_dict,
)
from .model import ENCODERS, VDAConfig, VideoDepthAnything, build_vda
from .predictor import VDAPredictor
from .preprocess import DEFAULT_INPUT_SIZE, network_size, preprocess_frame
from .stitching import OVERLAP, STEP, WINDOW, fit_scale_shift

__all__ = [
    "CHECKPOINTS",
    "DEFAULT_INPUT_SIZE",
    "ENCODERS",
    "OVERLAP",
    "STEP",
    "WINDOW",
    "VDACheckpoint",
    "VDAConfig",
    "VDAPredictor",
    "VideoDepthAnything",
    "build_vda",
    "check_state_dict",
    "find_vda_checkpoint",
    "fit_scale_shift",
    "load_vda_checkpoint",
    "network_size",
    "preprocess_frame",
    "read_state_dict",
]
