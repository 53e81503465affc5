"""The DPT decoder of Video Depth Anything with its four temporal modules
(docs/vda_spec.md section 5). Parameter names match the published checkpoints (``head.*``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dinov2 import PATCH_SIZE
from .temporal import ATTENTION_LAYERS, MotionModule

# The head runs everything after the last temporal module in groups of this many frames
# (each frame on its own there, so only memory changes).
FRAME_GROUP = 4
HEAD_HIDDEN = 32  # channels of output_conv2's hidden layer, fixed for every size
MOTION_MODULES = 4


def _resize(x: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    """Bilinear resize with align_corners=True to `size`, or x2 when size is None."""
    if size is None:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class ResidualConvUnit(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(F.relu(x)))) + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)  # noqa: N815 (checkpoint name)
        self.resConfUnit2 = ResidualConvUnit(features)  # noqa: N815 (checkpoint name)

    def forward(
        self, x: torch.Tensor, skip: torch.Tensor | None = None, size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        return self.out_conv(_resize(self.resConfUnit2(x), size))


class Scratch(nn.Module):
    def __init__(self, in_channels: tuple[int, int, int, int], features: int):
        super().__init__()
        for level, channels in enumerate(in_channels, start=1):
            setattr(self, f"layer{level}_rn", nn.Conv2d(channels, features, 3, padding=1, bias=False))
        for level in range(1, 5):
            setattr(self, f"refinenet{level}", FeatureFusionBlock(features))
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, HEAD_HIDDEN, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(HEAD_HIDDEN, 1, 1),
            nn.ReLU(),
            nn.Identity(),
        )


class DPTHeadTemporal(nn.Module):
    """Decoder from four tapped token maps to one non-negative map per frame.

    in_dim: ViT width D. features: F. out_channels: (c1, c2, c3, c4).
    """

    def __init__(self, in_dim: int, features: int, out_channels: tuple[int, int, int, int]):
        super().__init__()
        c1, c2, c3, c4 = out_channels
        self.projects = nn.ModuleList(nn.Conv2d(in_dim, c, 1) for c in out_channels)
        self.resize_layers = nn.ModuleList(
            [
                nn.ConvTranspose2d(c1, c1, kernel_size=4, stride=4),
                nn.ConvTranspose2d(c2, c2, kernel_size=2, stride=2),
                nn.Identity(),
                nn.Conv2d(c4, c4, kernel_size=3, stride=2, padding=1),
            ]
        )
        self.scratch = Scratch(out_channels, features)
        self.motion_modules = nn.ModuleList(MotionModule(c) for c in (c3, c4, features, features))

    def forward(
        self,
        tokens: list[torch.Tensor],
        grid: tuple[int, int],
        frames: int,
        contexts: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """tokens: four (N, gh*gw, D) tapped token maps, N = B*T frames, frame-minor.
        grid: (gh, gw). frames: T. contexts: 8 cached (B*h*w, Tc, C) normed inputs, one per
        temporal attention layer (mm0 layer 0, mm0 layer 1, mm1 layer 0, ...), or None.
        Returns (N, 1, 14 gh, 14 gw) maps (computed in float32, returned in the dtype of
        the features) and this call's 8 normed inputs."""
        gh, gw = grid
        levels = []
        for project, resize, x in zip(self.projects, self.resize_layers, tokens):
            x = x.transpose(1, 2).reshape(x.shape[0], -1, gh, gw)
            levels.append(resize(project(x)))
        states: list[torch.Tensor] = []

        def temporal(index: int, x: torch.Tensor) -> torch.Tensor:
            layer_contexts = (
                None
                if contexts is None
                else contexts[ATTENTION_LAYERS * index : ATTENTION_LAYERS * (index + 1)]
            )
            clip = x.unflatten(0, (-1, frames)).transpose(1, 2)
            out, layer_states = self.motion_modules[index](clip, layer_contexts)
            states.extend(layer_states)
            return out.transpose(1, 2).flatten(0, 1)

        l1, l2, l3, l4 = levels
        l3, l4 = temporal(0, l3), temporal(1, l4)
        s = self.scratch
        rn1, rn2, rn3, rn4 = s.layer1_rn(l1), s.layer2_rn(l2), s.layer3_rn(l3), s.layer4_rn(l4)
        path4 = temporal(2, s.refinenet4(rn4, size=rn3.shape[2:]))
        path3 = temporal(3, s.refinenet3(path4, rn3, size=rn2.shape[2:]))
        out_size = (gh * PATCH_SIZE, gw * PATCH_SIZE)
        group = (
            FRAME_GROUP
            if path3.shape[0] > FRAME_GROUP and path3.shape[0] % FRAME_GROUP == 0
            else path3.shape[0]
        )
        outs = [
            self._finish(path3[i : i + group], rn2[i : i + group], rn1[i : i + group], out_size)
            for i in range(0, path3.shape[0], group)
        ]
        return torch.cat(outs), states

    def _finish(
        self, path3: torch.Tensor, rn2: torch.Tensor, rn1: torch.Tensor, out_size: tuple[int, int]
    ) -> torch.Tensor:
        s = self.scratch
        path2 = s.refinenet2(path3, rn2, size=rn1.shape[2:])
        path1 = s.refinenet1(path2, rn1)
        out = _resize(s.output_conv1(path1), out_size)
        device_type = out.device.type
        # The last stage runs in float32 whatever the autocast setting; the result goes
        # back to the dtype it came in (as the original does).
        with torch.autocast(device_type, enabled=False):
            return s.output_conv2(out.float()).to(out.dtype)
