"""Our preprocessing reproduces the models' Hugging Face image processors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metricdepth.depth.preprocess import (IMAGENET_MEAN, IMAGENET_STD, dpt_network_size,
                                          prepare_depthpro, prepare_dpt)


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture (H, W, 3) uint8: like a photo, unlike white noise."""
    steps = np.random.default_rng(seed).integers(-12, 13, (height, width, 3))
    return np.clip(np.cumsum(np.cumsum(steps, axis=0), axis=1) // 16 + 128, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(48, 64), (540, 960), (300, 200)])
def test_dpt_matches_transformers_depth_anything_processor(size):
    from transformers import DPTImageProcessorPil

    image = _image(*size)
    processor = DPTImageProcessorPil(size={"height": 518, "width": 518}, keep_aspect_ratio=True,
                                     ensure_multiple_of=14, resample=3,
                                     image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD))
    expected = processor(image, return_tensors="pt")["pixel_values"][0]
    ours = prepare_dpt(image[None])[0]
    assert ours.shape == expected.shape
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    levels = ((ours - expected).abs() * std * 255).round()  # difference in uint8 levels
    assert levels.max() <= 2 and (levels > 0).float().mean() < 0.01


def test_dpt_network_sizes():
    assert dpt_network_size(540, 960) == (518, 924)
    assert dpt_network_size(480, 640) == (518, 686)
    assert dpt_network_size(48, 64) == (392, 518)  # the smaller scale change wins
    assert dpt_network_size(518, 518) == (518, 518)


def test_depthpro_normalises_then_resizes_bilinearly():
    image = _image(30, 40)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].double() / 255 * 2 - 1
    expected = torch.nn.functional.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
    assert torch.allclose(prepare_depthpro(image[None], 64).double(), expected, atol=1e-6)
