"""The DINOv2 ViT/14 encoder of Video Depth Anything, applied to each frame on its own.

Parameter names match the published checkpoints (``pretrained.*`` in docs/vda_spec.md
section 3): ``cls_token``, ``pos_embed``, ``mask_token``, ``patch_embed.proj``,
``blocks.{i}.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,mlp.fc2,ls2.gamma}``, ``norm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PATCH_SIZE = 14
# The position table was trained at 518 x 518 pixels: a 37 x 37 grid of patches.
POS_GRID = 37
# DINOv2 resamples the table with scale factors (g + offset) / 37, so the floor lands on g.
POS_INTERPOLATE_OFFSET = 0.1
ENCODER_LN_EPS = 1e-6


class PatchEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=PATCH_SIZE, stride=PATCH_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, gh*gw, D), tokens in row-major patch order."""
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, tokens, dim = x.shape
        # [q | k | v], each split into heads of contiguous channel blocks.
        qkv = self.qkv(x).reshape(n, tokens, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, tokens, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=ENCODER_LN_EPS)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=ENCODER_LN_EPS)
        self.mlp = Mlp(dim, mlp_hidden)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoVisionTransformer(nn.Module):
    """ViT/14 with a class token, no register tokens; returns normed patch tokens of the
    tapped blocks."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.dim = dim
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + POS_GRID * POS_GRID, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # training only; kept for loading
        self.patch_embed = PatchEmbed(dim)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=ENCODER_LN_EPS)
        # Random start values (only untrained test models keep them); uniform with std
        # 0.02 for the position table.
        nn.init.uniform_(self.pos_embed, -0.02 * 3**0.5, 0.02 * 3**0.5)
        nn.init.uniform_(self.cls_token, -1e-6, 1e-6)

    def position_table(self, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
        """(1, 1 + gh*gw, D) position embeddings for an H x W input (docs/vda_spec.md
        section 4, item 3)."""
        gh, gw = height // PATCH_SIZE, width // PATCH_SIZE
        if gh * gw == POS_GRID * POS_GRID and height == width:
            return self.pos_embed.to(dtype)
        table = self.pos_embed.float()
        cls_pos, grid = table[:, :1], table[:, 1:]
        grid = grid.reshape(1, POS_GRID, POS_GRID, self.dim).permute(0, 3, 1, 2)
        grid = F.interpolate(
            grid,
            mode="bicubic",
            align_corners=False,
            scale_factor=((gh + POS_INTERPOLATE_OFFSET) / POS_GRID, (gw + POS_INTERPOLATE_OFFSET) / POS_GRID),
        )
        if grid.shape[-2:] != (gh, gw):
            raise RuntimeError(f"position table resampled to {tuple(grid.shape[-2:])}, expected {(gh, gw)}")
        grid = grid.permute(0, 2, 3, 1).reshape(1, gh * gw, self.dim)
        return torch.cat([cls_pos, grid], dim=1).to(dtype)

    def tapped_features(self, x: torch.Tensor, taps: tuple[int, ...]) -> list[torch.Tensor]:
        """Patch tokens after the tapped blocks.

        x: (N, 3, H, W) float, normalised RGB, H and W multiples of 14.
        Returns one (N, gh*gw, D) tensor per tap, each passed through the final LayerNorm,
        class token dropped.
        """
        n, _, height, width = x.shape
        if height % PATCH_SIZE or width % PATCH_SIZE:
            raise ValueError(f"input {height}x{width} is not a multiple of {PATCH_SIZE}")
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(n, -1, -1).to(tokens.dtype), tokens], dim=1)
        tokens = tokens + self.position_table(height, width, tokens.dtype)
        outputs = []
        for index, block in enumerate(self.blocks[: max(taps) + 1]):
            tokens = block(tokens)
            if index in taps:
                outputs.append(self.norm(tokens)[:, 1:])
        return outputs
