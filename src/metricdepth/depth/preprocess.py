"""Our own input preparation and output resizing for each model (no torchvision).

Each model was trained with a particular resize rule and normalisation; feeding it
anything else costs accuracy. These functions reproduce what the models' Hugging Face
image processors do (``DPTImageProcessor`` with Depth Anything V2's settings,
``DepthProImageProcessor``), in PyTorch, on whatever device the model runs on:

Depth Anything V2 (``preprocessor_config.json`` of the published checkpoints)
    size 518 x 518 with ``keep_aspect_ratio`` and ``ensure_multiple_of`` 14: the side
    whose scale is closer to 1 fixes the scale, both sides are rounded to multiples of 14;
    bicubic resampling of the uint8 image with antialiasing (PIL's filter, a = -0.5),
    one pass per axis, width first, each rounded back to uint8 (as PIL does); then
    x / 255, normalised with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224,
    0.225). Output: the (h, w) prediction is resized to the frame size with bicubic
    interpolation (align_corners false), as ``post_process_depth_estimation`` does.
    Against transformers' PIL processor: at most 2 uint8 levels apart, on under 1 % of
    pixels (PIL's fixed-point filter weights), tested in ``tests/test_depth_preprocess.py``.
Depth Pro
    x / 255, normalised with mean 0.5 and std 0.5, *then* resized to the square network
    size (1536 for the published model) with bilinear interpolation, no antialiasing.
    Output: bilinear (align_corners false) to the frame size.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF_MEAN = (0.5, 0.5, 0.5)  # Depth Pro: maps [0, 1] to [-1, 1]
HALF_STD = (0.5, 0.5, 0.5)
DPT_MULTIPLE = 14  # ViT patch size of the DINOv2 encoders


def _constrain_to_multiple(value: float, multiple: int) -> int:
    """`value` rounded to a multiple of `multiple` (Python rounding), never 0."""
    rounded = round(value / multiple) * multiple
    return rounded if rounded > 0 else math.ceil(value / multiple) * multiple


def dpt_network_size(
    height: int, width: int, size: int = 518, multiple: int = DPT_MULTIPLE
) -> tuple[int, int]:
    """(h, w) the DPT processor resizes a `height` x `width` frame to, for a square target
    `size` with keep_aspect_ratio: scale as little as possible, sides multiples of `multiple`."""
    scale_h, scale_w = size / height, size / width
    if abs(1 - scale_w) < abs(1 - scale_h):
        scale_h = scale_w
    else:
        scale_w = scale_h
    return (
        _constrain_to_multiple(scale_h * height, multiple),
        _constrain_to_multiple(scale_w * width, multiple),
    )


def _to_tensor(frames: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(n, H, W, 3) uint8 RGB -> (n, 3, H, W) float32 on `device`, values 0..255."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (n, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    return torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2).float()


def _normalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(n, 3, h, w) values in [0, 1] -> (x - mean) / std per channel."""
    m = torch.tensor(mean, dtype=x.dtype, device=x.device)[:, None, None]
    s = torch.tensor(std, dtype=x.dtype, device=x.device)[:, None, None]
    return (x - m) / s


def prepare_dpt(frames: np.ndarray, size: int = 518, device: torch.device | str = "cpu") -> torch.Tensor:
    """Depth Anything V2 input: frames (n, H, W, 3) uint8 RGB -> (n, 3, h, w) float32,
    (h, w) = `dpt_network_size(H, W, size)`, normalised (module docstring)."""
    x = _to_tensor(frames, device)
    height, width = x.shape[-2:]
    h, w = dpt_network_size(height, width, size)
    # PIL resamples one axis at a time, width first, rounding to uint8 after each pass.
    for target in ((height, w), (h, w)):
        if tuple(x.shape[-2:]) != target:
            x = (
                F.interpolate(x, size=target, mode="bicubic", antialias=True, align_corners=False)
                .round_()
                .clamp_(0, 255)
            )
    return _normalise(x / 255.0, IMAGENET_MEAN, IMAGENET_STD)


def prepare_depthpro(frames: np.ndarray, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Depth Pro input: frames (n, H, W, 3) uint8 RGB -> (n, 3, size, size) float32,
    normalised to [-1, 1] first, then resized bilinearly without antialiasing."""
    x = _normalise(_to_tensor(frames, device) / 255.0, HALF_MEAN, HALF_STD)
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=False, align_corners=False)


def resize_prediction(prediction: torch.Tensor, height: int, width: int, mode: str) -> np.ndarray:
    """Network output (n, h, w) -> (n, height, width) float32 numpy, resized with
    `mode` ("bicubic" or "bilinear", align_corners false) in float32."""
    x = prediction.float()[:, None]
    if tuple(x.shape[-2:]) != (height, width):
        x = F.interpolate(x, size=(height, width), mode=mode, align_corners=False)
    return x[:, 0].cpu().numpy()
