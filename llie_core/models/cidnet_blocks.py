"""Blocks of CIDNet (HVI-CIDNet, Yan et al., CVPR 2025, §3.2, Fig. 3), shared with ICLR.

Names and layouts follow the released code (``net/transformer_utils.py``, ``net/LCA.py``) so official state dicts
load: ``NormDownsample.down.0``/``prelu``, ``NormUpsample.up_scale.0``/``up``/``prelu``, and in a lighten
cross-attention (LCA) block ``norm`` (LayerNorm), ``ffn`` (cross-attention block, CAB) and ``gdfn`` (intensity
enhancement layer, IEL). Every convolution is bias-free, as released.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of a (B, C, H, W) tensor: ``w * (x - mean_c) / sqrt(var_c + eps) + b``
    (biased variance, eps 1e-6; the released ``LayerNorm(data_format='channels_first')``)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class NormDownsample(nn.Module):
    """3x3 conv -> bilinear x0.5 (``nn.UpsamplingBilinear2d``, i.e. align_corners=True) -> PReLU (one slope).

    The released ``use_norm`` option (a LayerNorm after the PReLU) is off in every released model and omitted.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
                                  nn.UpsamplingBilinear2d(scale_factor=0.5))
        self.prelu = nn.PReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.prelu(self.down(x))


class NormUpsample(nn.Module):
    """3x3 conv -> bilinear x2 (align_corners=True); concatenate the skip; 1x1 conv (2C -> C); PReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up_scale = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
                                      nn.UpsamplingBilinear2d(scale_factor=2))
        self.up = nn.Conv2d(2 * out_channels, out_channels, 1, bias=False)
        self.prelu = nn.PReLU()

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.prelu(self.up(torch.cat([self.up_scale(x), skip], dim=1)))


def padded_stem(in_channels: int, out_channels: int) -> nn.Sequential:
    """``Sequential(0 ReplicationPad2d(1), 1 Conv3x3(p=0, no bias))``: the stems and output heads."""
    return nn.Sequential(nn.ReplicationPad2d(1), nn.Conv2d(in_channels, out_channels, 3, 1, 0, bias=False))


class CrossAttention(nn.Module):
    """Cross-attention block (CAB; CIDNet §3.2): channel ("transposed", Restormer-style) attention with the query
    from ``x`` and key/value from ``y``.

    ``q = dw3x3(1x1(x))``; ``k, v = split(dw3x3(1x1(y)))``; per head, q and k are L2-normalised over the pixels and
    ``attn = softmax(q k^T * temperature)`` is a (C/heads x C/heads) map; ``out = project_out(attn v)``.
    Subclasses change what happens between the attention and the output projection (:meth:`combine`).
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.q = nn.Conv2d(dim, dim, 1, bias=False)
        self.q_dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim, bias=False)
        self.kv = nn.Conv2d(dim, 2 * dim, 1, bias=False)
        self.kv_dwconv = nn.Conv2d(2 * dim, 2 * dim, 3, 1, 1, groups=2 * dim, bias=False)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=False)

    def attend(self, x: Tensor, y: Tensor) -> Tensor:
        """``attn @ v`` reshaped back to (B, C, H, W)."""
        b, c, h, w = x.shape
        heads = self.num_heads
        q = self.q_dwconv(self.q(x)).reshape(b, heads, c // heads, h * w)
        k, v = self.kv_dwconv(self.kv(y)).chunk(2, dim=1)
        k = k.reshape(b, heads, c // heads, h * w)
        v = v.reshape(b, heads, c // heads, h * w)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = torch.softmax(q @ k.transpose(-2, -1) * self.temperature, dim=-1)
        return (attn @ v).reshape(b, c, h, w)

    def combine(self, z: Tensor, y: Tensor) -> Tensor:
        """What is projected out; CAB: the attention result itself."""
        return z

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.project_out(self.combine(self.attend(x, y), y))


class IEL(nn.Module):
    """Intensity enhancement layer (CIDNet §3.2; ``gdfn`` in the code; the HV branch's copy is the paper's CDL).

    hidden = int(2.66 C): ``1x1 (C -> 2h)`` -> depthwise 3x3 -> split x1, x2; ``xi <- tanh(dw3x3(xi)) + xi``;
    ``out = 1x1(x1 * x2)``.
    """

    def __init__(self, dim: int, expansion: float = 2.66) -> None:
        super().__init__()
        hidden = int(dim * expansion)
        self.project_in = nn.Conv2d(dim, 2 * hidden, 1, bias=False)
        self.dwconv = nn.Conv2d(2 * hidden, 2 * hidden, 3, 1, 1, groups=2 * hidden, bias=False)
        self.dwconv1 = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False)
        self.dwconv2 = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        x1 = torch.tanh(self.dwconv1(x1)) + x1
        x2 = torch.tanh(self.dwconv2(x2)) + x2
        return self.project_out(x1 * x2)


class InteractionBlock(nn.Module):
    """A dual-branch interaction block: ``x <- x + ffn(LN x, LN y)``; ``x <- [x +] gdfn(LN x)``.

    One LayerNorm instance normalises both inputs (as released). ``residual_gdfn=False`` drops the second residual
    (CIDNet's HV-branch ``HV_LCA``); ``True`` keeps it (``I_LCA``, and both ICLR blocks).
    """

    def __init__(self, attention: nn.Module, enhancement: nn.Module, dim: int, residual_gdfn: bool) -> None:
        super().__init__()
        self.norm = ChannelLayerNorm(dim)
        self.ffn = attention
        self.gdfn = enhancement
        self.residual_gdfn = residual_gdfn

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        x = x + self.ffn(self.norm(x), self.norm(y))
        out = self.gdfn(self.norm(x))
        return x + out if self.residual_gdfn else out


def lighten_cross_attention(dim: int, num_heads: int, residual_gdfn: bool) -> InteractionBlock:
    """CIDNet's LCA: CAB + IEL; ``residual_gdfn=False`` for ``HV_LCA``, ``True`` for ``I_LCA``."""
    return InteractionBlock(CrossAttention(dim, num_heads), IEL(dim), dim, residual_gdfn)
