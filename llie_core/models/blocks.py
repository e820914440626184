"""Small shared building blocks (pure torch): conv helpers, residual and dilated context blocks.

Module names and ``nn.Sequential`` indices are part of the interface: official checkpoints address parameters
by them (e.g. FRLIE's ``res.0`` / ``res.2`` and ``conv0`` ... ``fusion``), so keep the layouts stable.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

ACTIVATIONS = ("relu", "lrelu", None)
PADDINGS = ("reflect", "zeros")


def make_activation(name: str | None, negative_slope: float = 0.2) -> nn.Module | None:
    """``'relu'`` -> ReLU, ``'lrelu'`` -> LeakyReLU(negative_slope), ``None`` -> no layer."""
    if name is None:
        return None
    if name == "relu":
        return nn.ReLU()
    if name == "lrelu":
        return nn.LeakyReLU(negative_slope)
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


def conv_layers(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                padding: str = "reflect", bias: bool = True) -> list[nn.Module]:
    """A 'same'-padded convolution: ``[ReflectionPad2d(k//2), Conv(p=0)]`` or ``[Conv(p=k//2)]``."""
    if padding not in PADDINGS:
        raise ValueError(f"unknown padding {padding!r}; choose one of {PADDINGS}")
    pad = kernel_size // 2
    if padding == "reflect":
        return [nn.ReflectionPad2d(pad), nn.Conv2d(in_channels, out_channels, kernel_size, stride, 0, bias=bias)]
    return [nn.Conv2d(in_channels, out_channels, kernel_size, stride, pad, bias=bias)]


def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
               padding: str = "reflect", batch_norm: bool = False, activation: str | None = None,
               upsample: nn.Module | None = None) -> nn.Sequential:
    """``Sequential([upsample], pad?, conv, [BatchNorm2d], [activation])`` (conv -> norm -> act order)."""
    layers: list[nn.Module] = [upsample] if upsample is not None else []
    layers += conv_layers(in_channels, out_channels, kernel_size, stride, padding)
    return nn.Sequential(*layers, *_norm_activation(out_channels, batch_norm, activation))


def pixelshuffle_block(in_channels: int, out_channels: int, scale: int = 2, batch_norm: bool = True,
                       activation: str | None = "relu") -> nn.Sequential:
    """``Sequential(Conv3x3(in -> out*scale^2, zero pad), PixelShuffle(scale), [BN], [act])`` (ESPCN upsampling)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels * scale * scale, 3, 1, 1),
                               nn.PixelShuffle(scale)]
    return nn.Sequential(*layers, *_norm_activation(out_channels, batch_norm, activation))


def _norm_activation(channels: int, batch_norm: bool, activation: str | None) -> list[nn.Module]:
    """The ``[BatchNorm2d], [activation]`` tail shared by the conv blocks."""
    layers: list[nn.Module] = [nn.BatchNorm2d(channels)] if batch_norm else []
    act = make_activation(activation)
    return layers + ([act] if act is not None else [])


class ResBlock(nn.Module):
    """Residual block without normalisation (He et al. 2016, EDSR-style): ``x + s * conv(act(conv(x)))``.

    Parameters live in ``res`` = ``Sequential(0 conv, 1 act, 2 conv)`` (zero padding, bias).
    """

    def __init__(self, channels: int, kernel_size: int = 3, activation: str = "lrelu",
                 negative_slope: float = 0.2, res_scale: float = 1.0) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.res = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, 1, pad),
            make_activation(activation, negative_slope) or nn.Identity(),
            nn.Conv2d(channels, channels, kernel_size, 1, pad),
        )
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        return x + self.res(x) * self.res_scale


class ContextBlock(nn.Module):
    """Multi-dilation context block (SADNet, Chang et al. ECCV 2020, ref. [11] of FRLIE).

    ``conv0`` (1x1) reduces ``channels`` -> ``reduced``; ``conv1`` ... ``convN`` are parallel 3x3 convolutions with
    the given ``dilations`` (padding = dilation), each followed by LeakyReLU; their concatenation is fused by the
    1x1 ``fusion`` conv back to ``channels`` and added to the input. The reduction has no activation.
    """

    def __init__(self, channels: int = 128, reduced: int = 32, dilations: Sequence[int] = (1, 2, 3, 4),
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        if not dilations:
            raise ValueError("ContextBlock needs at least one dilation")
        self.conv0 = nn.Conv2d(channels, reduced, 1)
        self.branch_names = [f"conv{i}" for i in range(1, len(dilations) + 1)]
        for name, d in zip(self.branch_names, dilations):
            self.add_module(name, nn.Conv2d(reduced, reduced, 3, 1, padding=d, dilation=d))
        self.fusion = nn.Conv2d(reduced * len(dilations), channels, 1)
        self.act = nn.LeakyReLU(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        reduced = self.conv0(x)
        branches = [self.act(getattr(self, name)(reduced)) for name in self.branch_names]
        return x + self.fusion(torch.cat(branches, dim=1))


def kaiming_init_(module: nn.Module, bn_std: float = 0.02) -> nn.Module:
    """pix2pix/EdgeConnect-style init: Kaiming-normal (fan_in, a=0) conv weights, zero biases, BN weight
    N(1, bn_std) and zero bias. Returns ``module`` for chaining."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, bn_std)
            nn.init.zeros_(m.bias)
    return module
