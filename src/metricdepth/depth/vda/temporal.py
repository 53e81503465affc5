"""Temporal motion modules of Video Depth Anything (docs/vda_spec.md section 6).

A module takes a clip of feature maps (B, C, T, h, w) and lets every spatial location
attend over the T frames. Parameter names match the published checkpoints:
``temporal_transformer.{norm,proj_in,transformer_blocks.0.{attention_blocks,norms,ff,ff_norm},
proj_out}``.

Streaming (section 10) reuses earlier frames: each temporal attention layer can take a
`context`, the normed inputs (before the position table) of earlier frames, and then
computes queries for the current frames only. The layer's own normed input is returned so
the caller can cache it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TEMPORAL_HEADS = 8
# Length of the sinusoidal position table: a clip holds at most this many frames.
MAX_FRAMES = 32
GROUPNORM_GROUPS = 32
GROUPNORM_EPS = 1e-6
BLOCK_LN_EPS = 1e-5
FF_MULT = 4
ATTENTION_LAYERS = 2


def sinusoidal_table(length: int, channels: int) -> torch.Tensor:
    """(1, length, C) float32 on the CPU: entry 2i = sin(t w_i), 2i+1 = cos(t w_i),
    w_i = 10000^(-2i/C)."""
    cpu = torch.device("cpu")  # also when a model is built on the meta device
    position = torch.arange(length, dtype=torch.float32, device=cpu).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, channels, 2, dtype=torch.float32, device=cpu) * (-math.log(10000.0) / channels)
    )
    table = torch.zeros(1, length, channels, device=cpu)
    table[0, :, 0::2] = torch.sin(position * freq)
    table[0, :, 1::2] = torch.cos(position * freq)
    return table


class PositionalEncoding(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(MAX_FRAMES, channels))


class TemporalAttention(nn.Module):
    """Self-attention over time, 8 heads, no bias in q/k/v."""

    def __init__(self, channels: int):
        super().__init__()
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])
        self.pos_encoder = PositionalEncoding(channels)

    def forward(self, normed: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """normed: (S, T, C) sequences over time (S = clips x locations), already normed.
        context: (S, Tc, C) normed inputs of earlier frames, or None; Tc + T <= 32.
        Returns (S, T, C): the attention output for the T current frames."""
        frames = normed.shape[1]
        seq = normed if context is None else torch.cat([context.to(normed.dtype), normed], 1)
        if seq.shape[1] > MAX_FRAMES:
            raise ValueError(f"{seq.shape[1]} frames exceed the temporal table of {MAX_FRAMES}")
        seq = seq + self.pos_encoder.pe[:, : seq.shape[1]].to(seq.dtype)
        q = self._heads(self.to_q(seq[:, -frames:]))
        k, v = self._heads(self.to_k(seq)), self._heads(self.to_v(seq))
        out = F.scaled_dot_product_attention(q, k, v)
        s, _, c = normed.shape
        return self.to_out[0](out.transpose(1, 2).reshape(s, frames, c))

    @staticmethod
    def _heads(x: torch.Tensor) -> torch.Tensor:
        s, t, c = x.shape
        return x.reshape(s, t, TEMPORAL_HEADS, c // TEMPORAL_HEADS).transpose(1, 2)


class GEGLU(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.proj = nn.Linear(channels, 2 * hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        hidden = FF_MULT * channels
        # Index 1 is a dropout in the original layout: kept as a parameter-free slot.
        self.net = nn.ModuleList([GEGLU(channels, hidden), nn.Identity(), nn.Linear(hidden, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[2](self.net[0](x))


class TemporalBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.attention_blocks = nn.ModuleList(TemporalAttention(channels) for _ in range(ATTENTION_LAYERS))
        self.norms = nn.ModuleList(nn.LayerNorm(channels, eps=BLOCK_LN_EPS) for _ in range(ATTENTION_LAYERS))
        self.ff = FeedForward(channels)
        self.ff_norm = nn.LayerNorm(channels, eps=BLOCK_LN_EPS)

    def forward(
        self, y: torch.Tensor, frames: int, locations: int, contexts: list[torch.Tensor] | None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """y: (B*T, L, C) tokens, frame-major within each clip (L = h*w locations).
        contexts: per attention layer (B*L, Tc, C) cached normed inputs, or None.
        Returns the new tokens and, per attention layer, this call's (B*L, T, C) normed
        input (what a stream caches)."""
        states = []
        for index, (attention, norm) in enumerate(zip(self.attention_blocks, self.norms)):
            normed = _time_major(norm(y), frames)
            states.append(normed)
            out = attention(normed, None if contexts is None else contexts[index])
            y = y + _frame_major(out, frames, locations)
        y = y + self.ff(self.ff_norm(y))
        return y, states


def _time_major(y: torch.Tensor, frames: int) -> torch.Tensor:
    """(B*T, L, C) -> (B*L, T, C)."""
    bt, locations, c = y.shape
    return y.reshape(bt // frames, frames, locations, c).transpose(1, 2).reshape(-1, frames, c)


def _frame_major(x: torch.Tensor, frames: int, locations: int) -> torch.Tensor:
    """(B*L, T, C) -> (B*T, L, C)."""
    c = x.shape[-1]
    return x.reshape(-1, locations, frames, c).transpose(1, 2).reshape(-1, locations, c)


class TemporalTransformer(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPNORM_GROUPS, channels, eps=GROUPNORM_EPS, affine=True)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([TemporalBlock(channels)])
        self.proj_out = nn.Linear(channels, channels)
        # A fresh module is the identity (the trained checkpoints overwrite this).
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(
        self, x: torch.Tensor, contexts: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x: (B, C, T, h, w) feature maps of B clips of T frames.
        contexts: per attention layer (B*h*w, Tc, C) normed inputs of earlier frames, or None.
        Returns (B, C, T, h, w) and the per-layer (B*h*w, T, C) normed inputs of this call."""
        b, c, frames, h, w = x.shape
        frame_maps = x.transpose(1, 2).reshape(b * frames, c, h, w)
        y = self.norm(frame_maps).permute(0, 2, 3, 1).reshape(b * frames, h * w, c)
        y = self.proj_in(y)
        states: list[torch.Tensor] = []
        for block in self.transformer_blocks:
            y, block_states = block(y, frames, h * w, contexts)
            states.extend(block_states)
        y = self.proj_out(y).reshape(b * frames, h, w, c).permute(0, 3, 1, 2)
        out = (y + frame_maps).reshape(b, frames, c, h, w).transpose(1, 2)
        return out, states


class MotionModule(nn.Module):
    """One temporal module (mm0..mm3 of the DPT head)."""

    def __init__(self, channels: int):
        super().__init__()
        self.temporal_transformer = TemporalTransformer(channels)

    def forward(
        self, x: torch.Tensor, contexts: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.temporal_transformer(x, contexts)
