"""The renderer's fast case (raster_rows.py) for a torch device (CUDA, or CPU for tests).

Same surface model, same output, written as whole-frame tensor operations instead of a
loop per row. The cut edges and the outlines come from the CPU (raster_rows.row_cuts,
outline.py). Each piece of a row (a joined edge, a cap, a border half pixel) covers at
most one pixel centre more than the longest joined edge is long, so that many
candidates are listed per piece: (pixel, inverse depth, colour). The z-buffer is a
scatter of packed (inverse depth, candidate) keys with `amax`, and the winners write
their colour. Holes get the row rule of infill_mask.finish_row. torch is imported by
the caller (render.py) only when a torch device is asked for.
"""

from __future__ import annotations

import math

import torch

from .infill_mask import BORDER_BOTTOM, BORDER_LEFT, BORDER_RIGHT, BORDER_TOP, GREEN

_IZ_BITS = 25  # inverse depth (< 1000 / m: depth >= 1 mm) in steps of 2**-25 / m in the key
_ID_BITS = 27  # candidate index bits (134 M candidates: 8K frames); 10 + 25 + 27 < 63


def _encode(v: float) -> int:
    return int((v * 0.5 + 0.5) * 255.0 + 0.5)


def render_rows_torch(
    colour: torch.Tensor,
    inv_depth: torch.Tensor,
    cuts: torch.Tensor,
    outline: torch.Tensor,
    gains: list[float],
    shifts: list[float],
    green: bool,
    fill: bool,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """colour: (H, W, 3) uint8; inv_depth: (H, W) float32, 1/metres; cuts: (E, H, W - 1)
    bool (raster_rows.row_cuts); outline: (H, W - 1) float32 (outline.outline_positions);
    gains, shifts per eye as in raster_rows.render_rows. Returns per eye (colour
    (H, W, 3) uint8, mask (H, W, 3) uint8, inverse depth (H, W) float32, 0 at holes), on
    colour's device."""
    height, width = inv_depth.shape
    device = colour.device
    xs = torch.arange(width, device=device, dtype=torch.float32)
    rows = torch.arange(height, device=device).unsqueeze(1) * width
    src = colour.reshape(-1, 3).float()
    vertex = (rows + torch.arange(width, device=device)).expand(height, width)
    results = []
    for gain, shift, cut in zip(gains, shifts, cuts):
        pos = xs + shift + gain * inv_depth  # (H, W) eye x of every vertex
        a, b = pos[:, :-1], pos[:, 1:]
        va, vb = vertex[:, :-1], vertex[:, 1:]
        joined = ~cut
        if width > 1:
            edge_left = _border(inv_depth[:, :1], inv_depth[:, 1:2], joined[:, :1])
            edge_right = _border(inv_depth[:, -1:], inv_depth[:, -2:-1], joined[:, -1:])
        else:  # one column: no edge to continue
            edge_left = edge_right = inv_depth
        iz_a, iz_b = inv_depth[:, :-1], inv_depth[:, 1:]
        # pieces of the row: (from x', to x', inverse depth at both ends, vertex whose
        # colour is at each end, where the piece exists, most pixel centres it covers)
        longest = float(torch.where(joined, b - a, torch.zeros_like(a)).max()) if a.numel() else 0.0
        reach = int(math.floor(longest)) + 1
        first, last = pos[:, :1], pos[:, -1:]
        pieces = [
            (a, b, iz_a, iz_b, va, vb, joined & (b > a), reach),  # joined edges
            (a, a + outline, iz_a, iz_a, va, va, cut, 1),  # caps at cuts
            (b - (1.0 - outline), b, iz_b, iz_b, vb, vb, cut, 1),
            (
                -0.5 + shift + gain * edge_left,
                first,
                edge_left,
                inv_depth[:, :1],
                vertex[:, :1],
                vertex[:, :1],
                None,
                reach,
            ),  # the borders
            (
                last,
                width - 0.5 + shift + gain * edge_right,
                inv_depth[:, -1:],
                edge_right,
                vertex[:, -1:],
                vertex[:, -1:],
                None,
                reach,
            ),
        ]
        cand_x, cand_row, cand_v0, cand_v1, cand_t, cand_iz = [], [], [], [], [], []
        for lo, hi, iz_lo, iz_hi, v0, v1, where, count in pieces:
            span = (hi - lo).clamp_min(1e-12)
            for k in range(count):
                X = torch.ceil(lo) + k
                keep = (X <= hi) & (hi > lo) & (X >= 0) & (X <= width - 1)
                if where is not None:
                    keep = keep & where
                t = (X - lo) / span
                row = (v0 // width) * width
                cand_x.append(X[keep].long())
                cand_row.append(row.expand_as(X)[keep])
                cand_v0.append(v0.expand_as(X)[keep])
                cand_v1.append(v1.expand_as(X)[keep])
                cand_t.append(torch.where(v0 == v1, torch.zeros_like(t), t)[keep])
                cand_iz.append((iz_lo + t * (iz_hi - iz_lo))[keep])
        pix = torch.cat(cand_x) + torch.cat(cand_row)
        v0, v1, t, iz = (torch.cat(cand_v0), torch.cat(cand_v1), torch.cat(cand_t), torch.cat(cand_iz))
        ids = torch.arange(len(pix), device=device)
        key = (iz.double() * 2.0**_IZ_BITS).round().long() * (1 << _ID_BITS) + ids
        best = torch.full((height * width,), -1, dtype=torch.long, device=device)
        best.scatter_reduce_(0, pix, key, reduce="amax", include_self=True)
        win = best[pix] == key
        out_colour = torch.zeros((height * width, 3), dtype=torch.uint8, device=device)
        tw = t[win].unsqueeze(1)
        rgb = src[v0[win]] + tw * (src[v1[win]] - src[v0[win]])
        out_colour[pix[win]] = (rgb + 0.5).floor().to(torch.uint8)
        out_iz = torch.zeros(height * width, dtype=torch.float32, device=device)
        out_iz[pix[win]] = iz[win].float()
        out_iz = out_iz.reshape(height, width)
        out_colour = out_colour.reshape(height, width, 3)
        mask = _finish(out_iz, out_colour, green, fill)
        results.append((out_colour, mask, out_iz))
    return results


def _border(own: torch.Tensor, inward: torch.Tensor, joined: torch.Tensor) -> torch.Tensor:
    """surface.border_inv_depth for a column of border pixels: (H, 1) inverse depths
    of the border pixels and their inward neighbours, and whether that edge is joined."""
    edge = own + 0.5 * (own - inward)
    return torch.where(joined & (edge > 0), edge, own)


def _finish(inv_depth: torch.Tensor, colour: torch.Tensor, green: bool, fill: bool) -> torch.Tensor:
    """The rules of infill_mask.finish_row and finish_whole_rows for a whole frame:
    (H, W) float32 eye inverse depth (0 = hole) -> (H, W, 3) uint8 mask; fills the holes
    of (H, W, 3) uint8 `colour` in place when `fill`."""
    height, width = inv_depth.shape
    device = inv_depth.device
    covered = inv_depth > 0
    xs = torch.arange(width, device=device).expand(height, width)
    left = torch.where(covered, xs, torch.full_like(xs, -1)).cummax(dim=1).values
    right_src = torch.where(covered, xs, torch.full_like(xs, width)).flip(1)
    right = right_src.cummin(dim=1).values.flip(1)
    iz_left = inv_depth.gather(1, left.clamp(0, width - 1))
    iz_right = inv_depth.gather(1, right.clamp(0, width - 1))
    towards_right = (left >= 0) & (right < width) & (iz_right < iz_left)
    towards_right |= left < 0
    holes = ~covered
    if fill:
        source = torch.where(towards_right, right, left).clamp(0, width - 1)
        filled = colour.gather(1, source.unsqueeze(-1).expand(height, width, 3))
        filled[(left < 0) & (right >= width)] = 0
        colour[holes] = filled[holes]
    mask = torch.zeros((height, width, 3), dtype=torch.uint8, device=device)
    if green:
        mask[holes] = torch.tensor(GREEN, dtype=torch.uint8, device=device)
        return mask

    def code(n: tuple[float, float, float]) -> torch.Tensor:
        return torch.tensor([_encode(c) for c in n], dtype=torch.uint8, device=device)

    mask[holes & towards_right] = code(BORDER_LEFT)
    mask[holes & ~towards_right] = code(BORDER_RIGHT)
    empty_rows = ~covered.any(dim=1)
    if empty_rows.any():
        ys = torch.arange(height, device=device)
        first = int(torch.argmax((~empty_rows).int())) if (~empty_rows).any() else -1
        above = ys < first if first >= 0 else ys < height // 2
        mask[empty_rows & above] = code(BORDER_TOP)
        mask[empty_rows & ~above] = code(BORDER_BOTTOM)
    return mask
