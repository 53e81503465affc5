"""Video Depth Anything: configuration, network and builder (docs/vda_spec.md sections 2-7).

The network takes normalised clips (B, T, 3, H, W) and returns (B, T, H, W) non-negative
maps: affine-invariant inverse depth for the relative checkpoints, metres (z-depth) for the
metric ones. Preprocessing, windows and stitching live in `predictor.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import nn

from .dinov2 import PATCH_SIZE, DinoVisionTransformer
from .dpt_temporal import DPTHeadTemporal

ENCODERS = ("vits", "vitb", "vitl")
VIT_HEAD_DIM = 64
MLP_RATIO = 4

# Published sizes (docs/vda_spec.md section 2): width, depth, tapped blocks, DPT features and
# DPT out_channels.
_SIZES = {
    "vits": (384, 12, (2, 5, 8, 11), 64, (48, 96, 192, 384)),
    "vitb": (768, 12, (2, 5, 8, 11), 128, (96, 192, 384, 768)),
    "vitl": (1024, 24, (4, 11, 17, 23), 256, (256, 512, 1024, 1024)),
}


@dataclass(frozen=True)
class VDAConfig:
    """Which Video Depth Anything model.

    encoder: "vits" | "vitb" | "vitl" (the published sizes). metric: True for the metric
    checkpoints (output in metres), False for the relative ones (inverse depth). Same
    network either way. The remaining fields override the published size and exist for tiny
    random-weight test models: embed_dim (ViT width D), depth (ViT blocks), heads (ViT heads,
    default D/64), taps (four 0-based tapped blocks), features (DPT F; F, c3 and c4 must be
    multiples of 32 for the GroupNorm), out_channels (c1..c4).
    """

    encoder: str = "vits"
    metric: bool = False
    embed_dim: int | None = None
    depth: int | None = None
    heads: int | None = None
    taps: tuple[int, int, int, int] | None = None
    features: int | None = None
    out_channels: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown VDA encoder {self.encoder!r}; choose from {ENCODERS}")

    def sizes(self) -> VDASizes:
        """Every size of the network: the overrides, else the published size's."""
        dim, depth, taps, features, out_channels = _SIZES[self.encoder]
        dim = self.embed_dim or dim
        return VDASizes(
            dim,
            self.depth or depth,
            self.heads or dim // VIT_HEAD_DIM,
            self.taps or taps,
            self.features or features,
            self.out_channels or out_channels,
        )

    def resolved(self) -> VDAConfig:
        """The config with every size field filled in."""
        return replace(self, **self.sizes()._asdict())


class VDASizes(NamedTuple):
    """The sizes of one network (see VDAConfig)."""

    embed_dim: int
    depth: int
    heads: int
    taps: tuple[int, int, int, int]
    features: int
    out_channels: tuple[int, int, int, int]


class VideoDepthAnything(nn.Module):
    """DINOv2 encoder per frame + temporal DPT head.

    Attributes: config (the resolved VDAConfig), metric (bool).
    """

    def __init__(self, config: VDAConfig):
        super().__init__()
        sizes = config.sizes()
        self.config = config.resolved()
        self.metric = config.metric
        self.taps = sizes.taps
        self.pretrained = DinoVisionTransformer(
            sizes.embed_dim, sizes.depth, sizes.heads, MLP_RATIO * sizes.embed_dim
        )
        self.head = DPTHeadTemporal(sizes.embed_dim, sizes.features, sizes.out_channels)

    def encode(self, frames: torch.Tensor, chunk: int | None = None) -> list[torch.Tensor]:
        """frames: (N, 3, H, W) normalised. Returns the four tapped (N, gh*gw, D) token maps,
        computed `chunk` frames at a time (the encoder sees each frame on its own)."""
        chunk = chunk or frames.shape[0]
        parts = [
            self.pretrained.tapped_features(frames[i : i + chunk], self.taps)
            for i in range(0, frames.shape[0], chunk)
        ]
        return [torch.cat(level) for level in zip(*parts)]

    def forward(self, clips: torch.Tensor, encoder_chunk: int | None = None) -> torch.Tensor:
        """clips: (B, T, 3, H, W) float, normalised RGB, H and W multiples of 14, T <= 32.
        Returns (B, T, H, W) non-negative maps (inverse depth or metres)."""
        b, t, _, h, w = clips.shape
        tokens = self.encode(clips.flatten(0, 1), encoder_chunk)
        out, _ = self.head(tokens, (h // PATCH_SIZE, w // PATCH_SIZE), t)
        return out.reshape(b, t, h, w)

    def forward_stream(
        self, frame: torch.Tensor, contexts: list[torch.Tensor] | None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One frame of the streaming mode (docs/vda_spec.md section 10).

        frame: (1, 3, H, W) normalised. contexts: 8 tensors (h*w, Tc, C), the cached normed
        inputs of earlier frames per temporal attention layer, or None for the first frame.
        Returns the (H, W) map and the frame's 8 (h*w, 1, C) states to cache.
        """
        _, _, h, w = frame.shape
        tokens = self.encode(frame)
        out, states = self.head(tokens, (h // PATCH_SIZE, w // PATCH_SIZE), 1, contexts)
        return out[0, 0], states


def build_vda(config: VDAConfig) -> VideoDepthAnything:
    """A randomly initialised network for `config` (load weights with load_vda_checkpoint)."""
    return VideoDepthAnything(config)
