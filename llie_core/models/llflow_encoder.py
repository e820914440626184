"""LLFlow's conditional encoder (paper §"Conditional encoder", Fig. 2) and its input preprocessing.

Input (released ``code/data/LoL_dataset.py``, ``ConditionEncoder.py``; ``shared/specs/methods.md`` §5.1): the log
of the low image ``log(max(x + 1e-3, 1e-3))`` and its per-channel histogram-equalised copy (``cv2.equalizeHist``
semantics, :func:`histogram_equalize`). Inside the encoder the illumination-invariant colour map ``C(x)`` and the
noise map ``N(x) = max(|d_h C|, |d_w C|)`` (central differences) are appended: 12 channels.

Trunk: conv3x3 -> LeakyReLU(0.2) -> conv3x3 -> maxpool2, ``nb`` RRDBs (ESRGAN, Wang et al. 2018) whose outputs at
``stack_blocks`` are kept, trunk conv + skip (H/2), then two bilinear-down + conv stages (H/4, H/8). Each level's
conditioning feature is that map concatenated with the kept RRDB outputs nearest-resized to it
(``nf * (len(stack_blocks) + 1)`` channels). The learned colour map ``g(x_l)`` = sigmoid(1x1 conv(nearest x2 of the
H/2 feature)) at full resolution; it sets the mean of the latent prior.

Names follow the released ``ConEncoder1`` (state-dict prefix ``RRDB.``), including four parameterised layers it
never calls (``downconv3``, ``HRconv``, ``conv_last``, ``awb_para``; kept for ``strict=True`` loading).
Released-code detail kept: its in-place LeakyReLU after ``downconv1`` also activates the H/4 conditioning feature.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

COLOR_MAP_NORMS = ("mean", "sum")
INPUT_MAPS = ("color", "noise")  # C(x), N(x): appended to the encoder input in this order (released)


def histogram_equalize(x: Tensor) -> Tensor:
    """Per-image, per-channel global histogram equalisation of ``x`` in [0, 1], like ``cv2.equalizeHist``.

    Values are quantised to uint8 (``round(255 x)``); the LUT is ``round((cdf - cdf[i0]) * (255 / (N - h[i0])))``
    in float32 (as OpenCV computes it) with ``i0`` the darkest occupied bin; a constant channel stays constant.
    Returns ``LUT / 255``.
    """
    b, c, h, w = x.shape
    q = (x.detach() * 255).round().clamp(0, 255).long().reshape(b * c, h * w)
    hist = torch.zeros(b * c, 256, dtype=torch.long, device=x.device).scatter_add_(1, q, torch.ones_like(q))
    cdf = hist.cumsum(1)
    first = (hist > 0).to(torch.int8).argmax(1, keepdim=True)
    base = hist.gather(1, first)
    scale = torch.tensor(255.0, dtype=torch.float32) / (h * w - base).clamp_min(1).float()   # float32 as in cv2
    lut = torch.round((cdf - cdf.gather(1, first)).float() * scale).clamp(0, 255)
    lut = torch.where(base == h * w, first.float().expand_as(lut), lut)
    return (lut.gather(1, q) / 255.0).to(x.dtype).reshape(b, c, h, w)


def log_input(x: Tensor, eps: float = 1e-3) -> Tensor:
    """``log(max(x + eps, eps))`` (released ``log_low: true``)."""
    return torch.log(torch.clamp(x + eps, min=eps))


def color_map(x: Tensor, norm: str = "mean", eps: float = 1e-4) -> Tensor:
    """Illumination-invariant colour map ``C(x)``: ``x / mean_c(x)`` (paper) or ``x / (sum_c(x) + 1e-4)``
    (released code, ``norm='sum'``; a factor 3 smaller)."""
    if norm == "mean":
        return x / (x.mean(dim=1, keepdim=True) + eps / x.shape[1])
    if norm == "sum":
        return x / (x.sum(dim=1, keepdim=True) + eps)
    raise ValueError(f"unknown colour-map normalisation {norm!r}; choose one of {COLOR_MAP_NORMS}")


def _central_difference(x: Tensor, dim: int) -> Tensor:
    """``0.5 * (x[i+1] - x[i-1])`` along ``dim`` with zeros outside the image."""
    pad = [0, 0, 0, 0]
    pad[2 * (3 - dim)] = pad[2 * (3 - dim) + 1] = 1
    p = F.pad(x, pad)
    n = x.shape[dim]
    return 0.5 * (p.narrow(dim, 2, n) - p.narrow(dim, 0, n))


def noise_map(cmap: Tensor) -> Tensor:
    """``N(x) = max(|d_h C(x)|, |d_w C(x)|)`` with central differences (paper Eq. for the noise map)."""
    return torch.maximum(_central_difference(cmap, 2).abs(), _central_difference(cmap, 3).abs())


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convs with dense connections (growth ``gc``), LeakyReLU(0.2) after conv1-4, ``x + 0.2 * conv5``.

    Kaiming-normal init scaled by 0.1 (ESRGAN / released ``initialize_weights(..., 0.1)``).
    """

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        for i in range(5):
            out = nf if i == 4 else gc
            conv = nn.Conv2d(nf + i * gc, out, 3, 1, 1)
            nn.init.kaiming_normal_(conv.weight, a=0, mode="fan_in")
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)
            self.add_module(f"conv{i + 1}", conv)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for i in range(1, 5):
            feats.append(self.lrelu(getattr(self, f"conv{i}")(torch.cat(feats, dim=1))))
        return x + 0.2 * self.conv5(torch.cat(feats, dim=1))


class RRDB(nn.Module):
    """Residual-in-residual dense block: ``x + 0.2 * RDB3(RDB2(RDB1(x)))``."""

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = (ResidualDenseBlock(nf, gc) for _ in range(3))

    def forward(self, x: Tensor) -> Tensor:
        return x + 0.2 * self.RDB3(self.RDB2(self.RDB1(x)))


def _half(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False, recompute_scale_factor=True)


class ConditionEncoder(nn.Module):
    """``(B, 6, H, W)`` [log low, histeq] -> ``{'conds': {1: H/2, 2: H/4, 3: H/8 features}, 'color_map': g(x_l)}``.

    ``input_maps``: which of C(x) (``'color'``) and N(x) (``'noise'``) are appended to the input, in the released
    order [C, N] (both: 12 channels, the released encoder). Dropping one is an ablation option (3 channels fewer,
    not weight-compatible); N(x) is computed from C(x) either way. ``color_map_norm`` is the C(x) normalisation
    (see :func:`color_map`); with ``'mean'`` the learned map is ``3 * sigmoid(.)`` so it spans the range of C(x)
    (assumption; the released head is a plain sigmoid for the ``'sum'`` normalisation).
    """

    def __init__(self, nf: int = 64, nb: int = 24, gc: int = 32, stack_blocks: Sequence[int] = (1, 3, 5, 7),
                 in_channels: int = 6, input_maps: Sequence[str] = INPUT_MAPS, color_map_norm: str = "mean") -> None:
        super().__init__()
        if color_map_norm not in COLOR_MAP_NORMS:
            raise ValueError(f"unknown colour-map normalisation {color_map_norm!r}; choose one of {COLOR_MAP_NORMS}")
        if any(not 0 <= b < nb for b in stack_blocks):
            raise ValueError(f"stack_blocks {list(stack_blocks)} must index the {nb} RRDB blocks")
        unknown = sorted(set(input_maps) - set(INPUT_MAPS))
        if unknown or len(set(input_maps)) != len(input_maps):
            raise ValueError(f"input_maps {list(input_maps)}: choose distinct entries of {list(INPUT_MAPS)}")
        self.stack_blocks = list(stack_blocks)
        self.input_maps = [m for m in INPUT_MAPS if m in input_maps]   # released order: C(x), then N(x)
        self.color_map_norm = color_map_norm
        self.conv_first = nn.Conv2d(in_channels + 3 * len(self.input_maps), nf, 3, 1, 1)
        self.conv_second = nn.Conv2d(nf, nf, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*(RRDB(nf, gc) for _ in range(nb)))
        for name in ("trunk_conv", "downconv1", "downconv2", "downconv3", "HRconv"):
            self.add_module(name, nn.Conv2d(nf, nf, 3, 1, 1))
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)      # unused (released)
        self.awb_para = nn.Linear(nf, 3)                # unused (released)
        self.fine_tune_color_map = nn.Sequential(nn.Conv2d(nf, 3, 1), nn.Sigmoid())
        self.lrelu = nn.LeakyReLU(0.2)
        self.out_channels = nf * (len(self.stack_blocks) + 1)

    def condition_maps(self, x: Tensor) -> dict[str, Tensor]:
        """``{'color': C(x), 'noise': N(x)}`` of the linear low image ``exp(x[:, :3])`` (the log input undone)."""
        cmap = color_map(x[:, :3].exp(), self.color_map_norm)
        return {"color": cmap, "noise": noise_map(cmap)}

    def forward(self, x: Tensor) -> dict[str, Tensor | dict[int, Tensor]]:
        if self.input_maps:
            maps = self.condition_maps(x)
            x = torch.cat([x, *(maps[m] for m in self.input_maps)], dim=1)
        head = F.max_pool2d(self.conv_second(self.lrelu(self.conv_first(x))), 2)
        fea, kept = head, {}
        for idx, block in enumerate(self.RRDB_trunk):
            fea = block(fea)
            if idx in self.stack_blocks:
                kept[idx] = fea
        down2 = head + self.trunk_conv(fea)
        down4 = self.lrelu(self.downconv1(_half(down2)))   # released in-place LeakyReLU also changes this level
        down8 = self.downconv2(_half(down4))
        g = self.fine_tune_color_map(F.interpolate(down2, scale_factor=2, mode="nearest"))
        if self.color_map_norm == "mean":
            g = 3.0 * g
        stacked = torch.cat([kept[i] for i in self.stack_blocks], dim=1) if kept else None
        conds = {}
        for level, feat in zip((1, 2, 3), (down2, down4, down8)):
            if stacked is not None:
                feat = torch.cat([feat, F.interpolate(stacked, size=feat.shape[2:], mode="nearest")], dim=1)
            conds[level] = feat
        return {"conds": conds, "color_map": g}
