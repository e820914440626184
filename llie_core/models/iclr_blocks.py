"""Blocks of ICLR's Dual-stream Interaction Enhancement Module (DIEM; Xu et al., AAAI 2026, arXiv 2511.13607,
§Method; code ``Derliye/ICLR`` ``net/MAFM.py``, ``net/CDEM.py``).

* :class:`MAFM` - multi-dimensional attention-guided fusion (channel, spatial and pixel attention);
* :class:`CDEM` - cross dynamic enhancement: the CIDNet cross-attention plus learnable dynamic weighting and an FFN;
* :class:`MFEM` - multi-branch feature enhancement (four depthwise branches of different shapes and dilations).

Attribute names follow the released code so the official ``ICLR()`` state dict loads with ``strict=True``.
Paper vs released code (the paper text is known here only through a third-party note, see ``methods.md`` §2):

* CDEM output. Paper: ``Z_hat = lambda FFN(alpha Z + beta F') + mu Z``; code: ``gamma t1 + delta FFN(t1)`` with
  ``t1 = beta Z + alpha F'`` (the residual carries ``t1``, not ``Z``). ``residual='paper'`` (default) or
  ``'released'``. Parameters (code names): ``beta`` scales Z, ``alpha`` scales F', ``delta`` the FFN (paper
  lambda) and ``gamma`` the residual (paper mu); all init 0.5.
* MAFM weights. Paper: ``F'_HV = F_init + W F_I + (1 - W) F_HV``; code: ``W`` weights the HV input.
  ``weighting='paper'`` (default) or ``'released'``.
* Kept from the code where the paper is silent: the channel attention is added without a sigmoid, the pixel
  attention map goes through a sigmoid twice (inside PA and in MAFM), 7x7 convolutions pad by reflection.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.models.cidnet_blocks import CrossAttention

CDEM_RESIDUALS = ("paper", "released")
MAFM_WEIGHTINGS = ("paper", "released")


class CDEM(CrossAttention):
    """Cross dynamic enhancement (paper "CDEM"): the attention result ``Z = linear(attn v)`` is mixed with the
    other branch's normalised features ``y`` and refined by an FFN (1x1 C->4C, GELU, 1x1 4C->C), then projected.
    """

    def __init__(self, dim: int, num_heads: int, residual: str = "paper") -> None:
        super().__init__(dim, num_heads)
        if residual not in CDEM_RESIDUALS:
            raise ValueError(f"unknown CDEM residual {residual!r}; choose one of {CDEM_RESIDUALS}")
        self.residual = residual
        self.linear = nn.Conv2d(dim, dim, 1, bias=False)
        self.ffn = nn.Sequential(nn.Conv2d(dim, 4 * dim, 1, bias=False), nn.GELU(),
                                 nn.Conv2d(4 * dim, dim, 1, bias=False))
        for name in ("alpha", "beta", "gamma", "delta"):
            setattr(self, name, nn.Parameter(torch.tensor(0.5)))

    def combine(self, z: Tensor, y: Tensor) -> Tensor:
        z = self.linear(z)
        t1 = self.beta * z + self.alpha * y
        kept = z if self.residual == "paper" else t1
        return self.gamma * kept + self.delta * self.ffn(t1)


def _depthwise(channels: int, kernel: tuple[int, int], dilation: int = 1) -> nn.Conv2d:
    padding = (dilation * (kernel[0] // 2), dilation * (kernel[1] // 2))
    return nn.Conv2d(channels, channels, kernel, padding=padding, dilation=dilation, groups=channels, bias=False)


class MFEM(nn.Module):
    """Multi-branch feature enhancement (paper "MFEM"), hidden h = int(2.66 C), every branch starts with 1x1 C->h:

    ``branch1`` dw3x3, ReLU; ``branch2`` dw1x3, dw3x1, dw3x3 dilation 3, ReLU; ``branch3`` dw3x1, dw1x3, dw3x3
    dilation 3, ReLU; ``branch4`` ReLU only. ``conv_cat`` fuses the concatenation 4h -> C. No biases.
    """

    def __init__(self, dim: int, expansion: float = 2.66) -> None:
        super().__init__()
        h = int(dim * expansion)

        def branch(*layers: nn.Module) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(dim, h, 1, bias=False), *layers, nn.ReLU())

        self.branch1 = branch(_depthwise(h, (3, 3)))
        self.branch2 = branch(_depthwise(h, (1, 3)), _depthwise(h, (3, 1)), _depthwise(h, (3, 3), 3))
        self.branch3 = branch(_depthwise(h, (3, 1)), _depthwise(h, (1, 3)), _depthwise(h, (3, 3), 3))
        self.branch4 = branch()
        self.conv_cat = nn.Conv2d(4 * h, dim, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return self.conv_cat(torch.cat([b(x) for b in branches], dim=1))


class ChannelAttention(nn.Module):
    """``ca(GAP(x))``: 1x1 C -> C/r, ReLU, 1x1 C/r -> C (with biases; no sigmoid, as released)."""

    def __init__(self, dim: int, reduction: int = 8) -> None:
        super().__init__()
        self.ca = nn.Sequential(nn.Conv2d(dim, dim // reduction, 1), nn.ReLU(), nn.Conv2d(dim // reduction, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.ca(x.mean(dim=(2, 3), keepdim=True))


class SpatialAttention(nn.Module):
    """``sa([mean_c x, max_c x])``: one 7x7 conv (2 -> 1, reflect padding, bias)."""

    def __init__(self) -> None:
        super().__init__()
        self.sa = nn.Conv2d(2, 1, 7, padding=3, padding_mode="reflect")

    def forward(self, x: Tensor) -> Tensor:
        return self.sa(torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1))


class PixelAttention(nn.Module):
    """Per-pixel, per-channel weights from ``x`` and a guide ``g`` (released: channels interleaved as
    x_0, g_0, x_1, g_1, ..., a grouped 7x7 conv with groups = C, reflect padding, bias, then a sigmoid).

    Computed as depthwise 7x7 convolutions, ``pa2.weight[:, 0]`` on x plus ``pa2.weight[:, 1]`` on g: the same sum
    with the same weights (``pa2`` keeps the released shape). :meth:`guided_pair` evaluates MAFM's two calls at
    once (see there); depthwise-convolution backward passes dominate ICLR's CPU training step.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pa2 = nn.Conv2d(2 * dim, dim, 7, padding=3, padding_mode="reflect", groups=dim)

    def _pad(self, x: Tensor) -> Tensor:
        return F.pad(x, self.pa2.padding * 2, mode="reflect")

    def forward(self, x: Tensor, guide: Tensor) -> Tensor:
        channels, weight = x.shape[1], self.pa2.weight
        out = (F.conv2d(self._pad(x), weight[:, :1], self.pa2.bias, groups=channels)
               + F.conv2d(self._pad(guide), weight[:, 1:], groups=channels))
        return torch.sigmoid(out)

    def guided_pair(self, x: Tensor, channel_shift: Tensor, pixel_shift: Tensor) -> tuple[Tensor, Tensor]:
        """``(forward(x, x + channel_shift), forward(x, x + pixel_shift))`` for a per-channel shift (B, C, 1, 1)
        and a per-pixel shift shared by the channels (B, 1, H, W) - MAFM's guides ``F0 + CA(F0)`` and
        ``F0 + SA(F0)``.

        Exact rewrite by linearity (reflect padding is linear, and a constant pads to a constant): with the
        x-taps ``w_x`` and the guide taps ``w_g``, ``conv(x, w_x) + conv(x + shift, w_g) = conv(x, w_x + w_g) +
        conv(shift, w_g)``; the channel shift's convolution is ``shift * sum(w_g)`` and the pixel shift's is one
        1 -> C convolution. One depthwise convolution instead of four (equal up to float rounding).
        """
        channels, weight = x.shape[1], self.pa2.weight
        w_x, w_g = weight[:, :1], weight[:, 1:]
        shared = F.conv2d(self._pad(x), w_x + w_g, self.pa2.bias, groups=channels)
        by_channel = channel_shift * w_g.sum(dim=(1, 2, 3)).view(1, channels, 1, 1)
        by_pixel = F.conv2d(self._pad(pixel_shift), w_g)
        return torch.sigmoid(shared + by_channel), torch.sigmoid(shared + by_pixel)


class MAFM(nn.Module):
    """Multi-dimensional attention-guided fusion of HV features ``x`` with I features ``y`` (paper "MAFM").

    ``F0 = x + y``; ``c = F0 + CA(F0)``; ``s = F0 + SA(F0)``; ``W = alpha sigma(PA(F0, c)) + beta sigma(PA(F0, s))``;
    paper: ``out = conv1x1(F0 + W y + (1 - W) x)`` (``weighting='released'``: W weights x).
    """

    def __init__(self, dim: int, reduction: int = 8, weighting: str = "paper") -> None:
        super().__init__()
        if weighting not in MAFM_WEIGHTINGS:
            raise ValueError(f"unknown MAFM weighting {weighting!r}; choose one of {MAFM_WEIGHTINGS}")
        self.weighting = weighting
        self.sa = SpatialAttention()
        self.ca = ChannelAttention(dim, reduction)
        self.pa = PixelAttention(dim)
        self.conv = nn.Conv2d(dim, dim, 1)
        self.alpha = nn.Parameter(torch.tensor(0.5))
        self.beta = nn.Parameter(torch.tensor(0.5))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        initial = x + y
        # PA(F0, F0 + CA(F0)) and PA(F0, F0 + SA(F0)) in one pass (PixelAttention.guided_pair)
        by_channel, by_pixel = self.pa.guided_pair(initial, self.ca(initial), self.sa(initial))
        weight = self.alpha * torch.sigmoid(by_channel) + self.beta * torch.sigmoid(by_pixel)
        first, second = (y, x) if self.weighting == "paper" else (x, y)
        return self.conv(initial + weight * first + (1 - weight) * second)
