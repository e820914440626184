"""Tiled inference for images too large for the enhancer's working memory (never resizes).

An image is split into overlapping tiles of ``tile_size`` pixels that advance by ``tile_size - overlap``; the
last tile of a row/column is shifted back to end at the border, so every tile is full size when the image is
larger than a tile. Each tile is enhanced on its own and the outputs are blended with a separable window that is
0 in the outer ``blend_margin`` pixels of an inner (shared) edge, rises as a raised cosine across the rest of the
overlap and is 1 elsewhere (image borders are never down-weighted). Blending divides by the summed window, so a
pointwise enhancer gives the untiled result up to float32 rounding, and a network whose receptive-field radius is
at most ``blend_margin`` gives the untiled result up to rounding too (its corrupted tile rims get zero weight).

Enhancers that may not be tiled (``getattr(fn, 'tileable', True)`` is False: HE, CLAHE, LIME and networks with
global pooling/attention, whose output depends on whole-image statistics) always run on the whole image, whatever
the tile size or memory budget: tiling them would change the result (e.g. HE on a 4288x2848 photo in 1024 px tiles
differed by 43/255 on average, with visible blocks).

Memory model (an assumption, documented in :func:`estimate_memory_mb`): an enhancer needs about
``channels_factor`` float32 activations per pixel. The full-size input/output buffers held by the caller are not
counted against the budget.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


class MemoryBudgetError(RuntimeError):
    """Raised when not even one tile fits the memory budget."""


@dataclass(frozen=True)
class TileConfig:
    """How to tile: ``tile_size`` (side in px, overlap included), ``overlap`` (px shared by neighbours),
    ``memory_budget_mb`` (None: always tile images larger than one tile), ``channels_factor`` (float32
    activations per pixel assumed by the memory estimate), ``blend_margin`` (px of each shared edge given zero
    weight; default ``overlap // 4``)."""

    tile_size: int = 512
    overlap: int = 32
    memory_budget_mb: float | None = None
    channels_factor: float = 64.0
    blend_margin: int | None = None

    def __post_init__(self) -> None:
        if self.tile_size <= 0 or self.overlap < 0:
            raise ValueError(f"TileConfig needs tile_size > 0 and overlap >= 0, got {self.tile_size}, {self.overlap}")
        if self.tile_size <= 2 * self.overlap:
            raise ValueError(f"TileConfig: tile_size ({self.tile_size}) must exceed 2 * overlap ({self.overlap}); "
                             "use a larger tile or a smaller overlap")
        if not 0 <= self.margin <= self.overlap // 2:
            raise ValueError(f"TileConfig: blend_margin must be in [0, overlap // 2], got {self.blend_margin}")

    @property
    def margin(self) -> int:
        return self.overlap // 4 if self.blend_margin is None else self.blend_margin


def estimate_memory_mb(height: int, width: int, channels_factor: float = 64.0) -> float:
    """Working memory (MiB) of an enhancer holding ``channels_factor`` float32 values per pixel."""
    return height * width * channels_factor * 4 / 2**20


def pad_to_multiple(image: Tensor, multiple: int, min_side: int = 1) -> Tensor:
    """Pad (N,C,H,W) at the bottom/right to multiples of ``multiple``, and to at least ``min_side`` (rounded up to
    the multiple): reflect, or replicate when the image is too small to reflect. Crop back with
    ``out[..., :H, :W]``."""
    multiple = max(int(multiple), 1)
    h, w = image.shape[-2:]
    floor = -(-max(int(min_side), 1) // multiple) * multiple
    pad_h, pad_w = max((-h) % multiple, floor - h), max((-w) % multiple, floor - w)
    if pad_h == 0 and pad_w == 0:
        return image
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(image, (0, pad_w, 0, pad_h), mode=mode)


def run_padded(fn: Callable[[Tensor], Tensor], image: Tensor, multiple: int, min_side: int = 1) -> Tensor:
    """``fn`` on ``image`` padded to ``multiple`` (and to at least ``min_side``), cropped back to the input size."""
    h, w = image.shape[-2:]
    return fn(pad_to_multiple(image, multiple, min_side))[..., :h, :w]


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets covering ``[0, length)``; the last tile ends exactly at ``length``."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(tile: int, overlap: int, margin: int, ramp_start: bool, ramp_end: bool) -> Tensor:
    """1-D weights of one tile: 0 over ``margin``, raised cosine over ``overlap - 2*margin``, then 1, at each
    shared edge; the mirrored ramps of two neighbours sum to 1 over an overlap of exactly ``overlap``."""
    window = torch.ones(tile, dtype=torch.float32)
    ramp_len = overlap - 2 * margin
    ramp = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(ramp_len, dtype=torch.float32) + 0.5) / max(ramp_len, 1))
    rise = torch.cat([torch.zeros(margin), ramp])
    if ramp_start and overlap > 0:
        window[: rise.numel()] = rise
    if ramp_end and overlap > 0:
        window[tile - rise.numel():] = torch.minimum(window[tile - rise.numel():], rise.flip(0))
    return window


def _axis_plan(length: int, tile: int, cfg: TileConfig) -> list[tuple[int, int, Tensor]]:
    """(start, size, window) per tile along one axis."""
    size = min(tile, length)
    starts = tile_starts(length, size, size - cfg.overlap)
    last = len(starts) - 1
    return [(s, size, blend_window(size, cfg.overlap, cfg.margin, i > 0, i < last)) for i, s in enumerate(starts)]


def choose_tile_size(cfg: TileConfig, pad_multiple: int) -> int:
    """``cfg.tile_size`` rounded down to ``pad_multiple`` (so interior tiles need no padding)."""
    tile = cfg.tile_size - cfg.tile_size % max(pad_multiple, 1)
    if tile <= 2 * cfg.overlap:
        raise ValueError(f"tile_size {cfg.tile_size} rounded to pad_multiple {pad_multiple} leaves no room for "
                         f"overlap {cfg.overlap}; raise tile_size")
    return tile


def _check_budget(cfg: TileConfig, height: int, width: int, tile: int) -> bool:
    """True when the whole image fits the budget; raises when even one tile does not."""
    if cfg.memory_budget_mb is None:
        return height <= tile and width <= tile
    if estimate_memory_mb(height, width, cfg.channels_factor) <= cfg.memory_budget_mb:
        return True
    need = estimate_memory_mb(min(tile, height), min(tile, width), cfg.channels_factor)
    if need > cfg.memory_budget_mb:
        raise MemoryBudgetError(
            f"image {height}x{width}: one {tile}x{tile} tile needs ~{need:.0f} MiB, over the memory budget of "
            f"{cfg.memory_budget_mb:.0f} MiB (channels_factor={cfg.channels_factor}); use a smaller tile_size "
            "or a larger memory_budget_mb")
    return False


@torch.no_grad()
def enhance_tiled(fn: Callable[[Tensor], Tensor], image: Tensor, cfg: TileConfig, pad_multiple: int = 1) -> Tensor:
    """Enhance ``image`` (N,C,H,W) tile by tile with ``fn`` and blend; runs untiled when the image fits or when
    ``fn.tileable`` is False (whole-image statistics; the memory budget does not apply then).

    Output channels may differ from input channels; the spatial size is always preserved (no resizing).
    """
    if image.dim() != 4:
        raise ValueError(f"enhance_tiled expects (N,C,H,W), got shape {tuple(image.shape)}")
    n, _, height, width = image.shape
    tile = choose_tile_size(cfg, pad_multiple)
    if not getattr(fn, "tileable", True) or _check_budget(cfg, height, width, tile):
        return run_padded(fn, image, pad_multiple)
    rows, cols = _axis_plan(height, tile, cfg), _axis_plan(width, tile, cfg)
    weight_rows = torch.zeros(height)
    weight_cols = torch.zeros(width)
    for y, size_y, win_y in rows:
        weight_rows[y:y + size_y] += win_y
    for x, size_x, win_x in cols:
        weight_cols[x:x + size_x] += win_x
    out: Tensor | None = None
    low, high = math.inf, -math.inf
    for y, size_y, win_y in rows:
        for x, size_x, win_x in cols:
            piece = run_padded(fn, image[..., y:y + size_y, x:x + size_x], pad_multiple)
            if out is None:
                out = torch.zeros(n, piece.shape[1], height, width, dtype=piece.dtype, device=piece.device)
            weight = (win_y[:, None] * win_x[None, :]).to(piece)
            out[..., y:y + size_y, x:x + size_x] += piece * weight
            low, high = min(low, float(piece.min())), max(high, float(piece.max()))
    # the summed window is separable because the tiles form a grid: sum_ij wy_i wx_j = (sum wy)(sum wx)
    out /= (weight_rows[:, None] * weight_cols[None, :]).to(out)
    # a blend is a convex combination of the tiles, so it lies within their range; rounding in the sums and the
    # division can step out of it by an ulp (e.g. 1.0000001 for outputs in [0, 1], which the metrics reject)
    return out.clamp_(low, high)
