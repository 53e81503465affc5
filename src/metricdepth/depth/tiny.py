"""Tiny random-weight checkpoints of every model class, for tests and plumbing checks.

They have the real architectures (transformers' `DepthAnythingForDepthEstimation` and
`DepthProForDepthEstimation`, our Video Depth Anything) at a few hundred thousand
parameters, saved in the same layouts as the published weights, so the whole loading
and inference path runs in seconds on a CPU. Their depth is meaningless: never use them
for anything but checking that the pipes connect (the benchmark labels them so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_DINO = dict(
    hidden_size=32,
    num_hidden_layers=4,
    num_attention_heads=2,
    intermediate_size=64,
    patch_size=14,
    image_size=56,
)
TINY_VDA = dict(
    encoder="vits",
    embed_dim=32,
    depth=4,
    heads=2,
    taps=[0, 1, 2, 3],
    features=32,
    out_channels=[16, 16, 32, 32],
)
TINY_INPUT_SIZE = 56  # network input that suits these models (the default 518 is slow)


def _randomise(model, seed: int, std: float) -> None:
    """Random weights everywhere (fresh heads are zero or constant: flat depth)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)


def tiny_da2(folder: Path, metric: bool = True) -> Path:
    """A Depth Anything V2 checkpoint folder (config.json + model.safetensors)."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(
        **TINY_DINO, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=32,
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        head_hidden_size=8,
        max_depth=20,
        depth_estimation_type="metric" if metric else "relative",
    )
    model = DepthAnythingForDepthEstimation(config)
    _randomise(model, 1, std=0.1)
    model.save_pretrained(folder)
    return Path(folder)


def tiny_depthpro(folder: Path, fov_deg: float = 55.0) -> Path:
    """A Depth Pro checkpoint folder with a FOV head estimating about `fov_deg` degrees;
    network input 64 x 64."""
    import torch
    from transformers import DepthProConfig, DepthProForDepthEstimation

    sub = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=8,
        image_size=32,
    )
    config = DepthProConfig(
        patch_size=32,
        fusion_hidden_size=16,
        intermediate_hook_ids=[1, 0],
        intermediate_feature_dims=[8, 8],
        scaled_images_ratios=[0.5, 1],
        scaled_images_overlap_ratios=[0.0, 0.5],
        scaled_images_feature_dims=[16, 16],
        use_fov_model=True,
        image_model_config=sub,
        patch_model_config=sub,
        fov_model_config=sub,
    )
    model = DepthProForDepthEstimation(config)
    _randomise(model, 2, std=0.05)
    with torch.no_grad():
        model.fov_model.head.layers[-1].bias.fill_(fov_deg)
        model.head.layers[-2].bias.fill_(1.0)  # positive canonical inverse depth
    model.save_pretrained(folder)
    return Path(folder)


def tiny_vda(folder: Path, metric: bool = False) -> Path:
    """A Video Depth Anything weights file with its vda_config.json beside it."""
    import torch

    from .vda import VDAConfig, build_vda

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(3)
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in TINY_VDA.items()}
    model = build_vda(VDAConfig(metric=metric, **fields))
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "proj_out"):  # zero-initialised: would be the identity
                torch.nn.init.normal_(module.proj_out.weight, std=0.2)
        model.head.scratch.output_conv2[2].bias.fill_(1.0)
    path = folder / ("metric_vda_tiny.pth" if metric else "vda_tiny.pth")
    torch.save(model.state_dict(), path)
    (folder / "vda_config.json").write_text(json.dumps(TINY_VDA))
    return path


def tiny_checkpoint(backend: str, folder: Path) -> Path | None:
    """A tiny checkpoint for `backend` in `folder`, or None when it takes no weights or
    has no tiny version here."""
    builders = {
        "da2": tiny_da2,
        "da2_outdoor": tiny_da2,
        "depthpro": tiny_depthpro,
        "da2_relative": lambda f: tiny_da2(f, metric=False),
        "vda": tiny_vda,
        "vda_metric": lambda f: tiny_vda(f, metric=True),
    }
    return builders[backend](Path(folder)) if backend in builders else None
