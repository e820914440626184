"""JCRNet stage 1, the feature extraction stage (FES; paper §III-A, Fig. 3(1)), and blocks the IAS reuses.

``FidelityStep`` is Eq. 1, ``CAB`` the residual channel attention of Eqs. 2-4, ``EncoderDecoder`` the U-Net of
the released code (HINet-style blocks, DGUNet lineage) and ``SSB`` the self-supervised block (MPRNet's supervised
attention module, paper ref. [30]). Widths default to the released ``JCRNet_LBP9_M.py`` (n_feat 40,
scale_unetfeats 20, depth 2, reduction 4, bias-free ``conv()`` layers).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def conv(in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = False) -> nn.Conv2d:
    """'Same'-padded convolution, bias-free by default (the released ``conv()`` helper)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)


class PriorResBlock(nn.Module):
    """``res_k`` of Eq. 1: ``x + conv3x3(PReLU(conv3x3(x)))`` on images (3 -> ``width`` -> 3, with bias)."""

    def __init__(self, channels: int = 3, width: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, width, bias=True), nn.PReLU(), conv(width, channels, bias=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class FidelityStep(nn.Module):
    """Eq. 1 ``x_r = x - step * res_2(res_1(x) - y)`` with ``y = x`` in the FES (DGUNet's gradient step).

    The paper writes no step size (``step=1``); the released code multiplies by the constants 0.4412 (FES) and
    0.4965 (IAS). ``learn_step=True`` makes it a parameter (DGUNet). The IAS applies the same step to the JRS
    output with ``y`` = the low-light input (released code, stage 7).
    """

    def __init__(self, width: int = 64, step: float = 1.0, learn_step: bool = False) -> None:
        super().__init__()
        self.res_1, self.res_2 = PriorResBlock(3, width), PriorResBlock(3, width)
        step_tensor = torch.tensor([float(step)])
        if learn_step:
            self.step = nn.Parameter(step_tensor)
        else:
            self.register_buffer("step", step_tensor)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        y = x if y is None else y
        return x - self.step * self.res_2(self.res_1(x) - y)


class ChannelAttention(nn.Module):
    """Squeeze (Eq. 2, global average), excitation ``sigmoid(w_2 relu(w_1 z))`` (Eq. 3), scaling (Eq. 4)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(nn.Conv2d(channels, channels // reduction, 1, bias=False), nn.ReLU(),
                                     nn.Conv2d(channels // reduction, channels, 1, bias=False), nn.Sigmoid())

    def forward(self, u: Tensor) -> Tensor:
        return u * self.conv_du(u.mean(dim=(-2, -1), keepdim=True))


class CAB(nn.Module):
    """Residual channel attention block (§III-A, ref. [29]): ``x + CA(conv(PReLU(conv(x))))``."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(channels, channels), nn.PReLU(), conv(channels, channels))
        self.CA = ChannelAttention(channels, reduction)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.CA(self.body(x))


def shallow_features(n_feat: int, reduction: int, cab: bool) -> nn.Sequential:
    """``conv3x3(3 -> n_feat)`` then a CAB (``cab=False``: the Table V "w/o CAB" row, convolution only)."""
    layers: list[nn.Module] = [conv(3, n_feat)]
    if cab:
        layers.append(CAB(n_feat, reduction))
    return nn.Sequential(*layers)


class UNetConvBlock(nn.Module):
    """HINet block: conv3x3 -> [half instance norm] -> LReLU(0.2) -> conv3x3 -> LReLU(0.2), plus a 1x1 identity;
    ``downsample`` adds a 4x4 stride-2 conv and returns ``(down, full_resolution)``."""

    def __init__(self, in_size: int, out_size: int, downsample: bool, use_hin: bool) -> None:
        super().__init__()
        self.identity = nn.Conv2d(in_size, out_size, 1)
        self.conv_1 = nn.Conv2d(in_size, out_size, 3, padding=1)
        self.conv_2 = nn.Conv2d(out_size, out_size, 3, padding=1)
        self.norm = nn.InstanceNorm2d(out_size // 2, affine=True) if use_hin else None
        self.downsample = nn.Conv2d(out_size, out_size, 4, stride=2, padding=1, bias=False) if downsample else None
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        out = self.conv_1(x)
        if self.norm is not None:
            half = out.shape[1] // 2
            out = torch.cat([self.norm(out[:, :half]), out[:, half:]], dim=1)
        out = self.act(self.conv_2(self.act(out))) + self.identity(x)
        return (self.downsample(out), out) if self.downsample is not None else out


class EncoderDecoder(nn.Module):
    """The FES encoder-decoder with skips (§III-A): widths ``n_feat + step * i`` for ``depth`` levels
    (``depth - 1`` downsamplings), transposed-conv upsampling, 3x3 skip convs, concat, conv block."""

    def __init__(self, n_feat: int = 40, step: int = 20, depth: int = 2) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"the encoder-decoder needs depth >= 2 (one downsampling), got {depth}")
        widths = [n_feat + step * i for i in range(depth)]
        self.encoder = nn.ModuleList(UNetConvBlock(widths[i], widths[i + 1], True, True) for i in range(depth - 1))
        self.bottom = UNetConvBlock(widths[-1], widths[-1], False, True)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(depth - 1)))
        self.skip_conv = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 3, padding=1)
                                       for i in reversed(range(depth - 1)))
        self.decoder = nn.ModuleList(UNetConvBlock(2 * widths[i], widths[i], False, False)
                                     for i in reversed(range(depth - 1)))
        self.multiple = 2 ** (depth - 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for block in self.encoder:
            x, full = block(x)
            skips.append(full)
        x = self.bottom(x)
        for up, skip_conv, block, skip in zip(self.up, self.skip_conv, self.decoder, reversed(skips)):
            x = block(torch.cat([up(x), skip_conv(skip)], dim=1))
        return x


class SSB(nn.Module):
    """Self-supervised block (§III-A; MPRNet's supervised attention module, ref. [30]).

    ``image = conv2(f) + x_r`` is the supervised stage-1 image x_A; the features passed on are
    ``conv1(f) * sigmoid(conv3(image)) + f``. ``gate=False`` is the released code (no ``conv3``, no sigmoid
    gate: ``conv1(f) + f``). ``features=False`` when no later stage reads them (no IAS): only ``conv2`` is
    built and ``None`` is returned for them. Kernel size 1 as released (MPRNet uses 3).
    """

    def __init__(self, n_feat: int = 40, kernel_size: int = 1, gate: bool = True, features: bool = True) -> None:
        super().__init__()
        self.conv1 = conv(n_feat, n_feat, kernel_size) if features else None
        self.conv2 = conv(n_feat, 3, kernel_size)
        self.conv3 = conv(3, n_feat, kernel_size) if features and gate else None

    def forward(self, f: Tensor, x_img: Tensor) -> tuple[Tensor | None, Tensor]:
        image = self.conv2(f) + x_img
        if self.conv1 is None:
            return None, image
        feats = self.conv1(f)
        if self.conv3 is not None:
            feats = feats * torch.sigmoid(self.conv3(image))
        return feats + f, image


class FES(nn.Module):
    """Feature extraction stage: Eq. 1 -> shallow conv + CAB -> encoder-decoder -> SSB.

    Returns ``(x_A, features)``: the stage-1 image (deep-supervised) and the features passed on to the IAS
    (``None`` when ``pass_features=False``, i.e. there is no IAS to read them).
    Switches for Table V: ``encoder_decoder`` ("w/o E-D": the SSB reads the CAB features), ``cab`` ("w/o CAB"),
    ``ssb`` ("w/o SSB": x_A = ``to_image(f) + x_r`` with a plain conv, the decoder features are passed on
    unattended, and the recipe drops the stage-1 supervision).
    """

    def __init__(self, n_feat: int = 40, unet_step: int = 20, unet_depth: int = 2, reduction: int = 4,
                 prior_width: int = 64, step: float = 1.0, learn_step: bool = False, encoder_decoder: bool = True,
                 cab: bool = True, ssb: bool = True, ssb_gate: bool = True, ssb_kernel: int = 1,
                 pass_features: bool = True) -> None:
        super().__init__()
        self.pass_features = pass_features
        self.fidelity = FidelityStep(prior_width, step, learn_step)
        self.shallow = shallow_features(n_feat, reduction, cab)
        self.encoder_decoder = EncoderDecoder(n_feat, unet_step, unet_depth) if encoder_decoder else None
        self.ssb = SSB(n_feat, ssb_kernel, ssb_gate, pass_features) if ssb else None
        self.to_image = None if ssb else conv(n_feat, 3, ssb_kernel)

    @property
    def multiple(self) -> int:
        return self.encoder_decoder.multiple if self.encoder_decoder is not None else 1

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        x_r = self.fidelity(x)
        f = self.shallow(x_r)
        if self.encoder_decoder is not None:
            f = self.encoder_decoder(f)
        if self.ssb is not None:
            features, x_a = self.ssb(f, x_r)
            return x_a, features
        return self.to_image(f) + x_r, (f if self.pass_features else None)
