"""JCRNet stage 2, the joint refinement stage (JRS; paper §III-B, Fig. 3(2), Eqs. 5-6).

``x_J = x_A / R(S(x_A, E(x_A)))`` (Eq. 6): E = detail enhancement (consecutive 3x3 conv + ReLU down to a
one-channel detail map), S = spatial feature transform (Eq. 5, modulation pair (S_c, S_h) predicted from the
condition E(x_A), ref. [32]), R = colour correction ("conv + normalization + activation" layers and two residual
blocks at 128 channels, then 128 -> 3, a per-channel illumination in (0, 1)).

``branches`` (:data:`JRS_BRANCHES`) says how "the model independently estimates the brightness information for
each color channel" (l_rgb) is read:

* ``'single_rgb_map'`` (default; the released ``illuminationNet`` structure): one branch E/S on the RGB image,
  R ends in 3 channels, one illumination map per colour channel. This is the reading whose cost matches Table
  VII (see ``jcrnet.py``).
* ``'per_channel'`` (the earlier literal reading of "separately for each RGB channel"): E and S run as three
  unshared branches on the R, G and B channels, whose 3 x width features are merged for R (3 maps).
* ``'shared_map'`` (Table VI "w/o l_rgb" under the default reading): one branch on RGB, R ends in ONE channel,
  a single illumination shared by R, G and B (x_A / R then scales the three channels alike: no per-channel
  brightness estimate). The returned illumination is that map expanded to 3 channels.

Widths of E, the condition net and S are those of the released ``illuminationNet`` (32/64, 64 -> 32, 64).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SFT_MODES = ("affine", "concat")
CORRECTION_OUTPUTS = ("divide", "map")
JRS_BRANCHES = ("single_rgb_map", "per_channel", "shared_map")


def _conv_relu_chain(channels: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for cin, cout in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    return layers


def detail_net(in_channels: int, widths: tuple[int, int] = (32, 64)) -> nn.Sequential:
    """E: conv3x3+ReLU ``in -> w0 -> w0 -> w1 -> w1``, then conv1x1 ``w1 -> 1`` (released conv11-15).

    The released code ends with a ReLU on this one-channel map; it is left out here because the map is then
    identically zero from initialisation for about 4 in 10 seeds, which cuts E (and the SFT condition) off."""
    w0, w1 = widths
    return nn.Sequential(*_conv_relu_chain([in_channels, w0, w0, w1, w1]), nn.Conv2d(w1, 1, 1))


def condition_net(hidden: int = 64, out: int = 32) -> nn.Sequential:
    """The prior Phi -> condition: conv3x3 ``1 -> hidden``, ReLU, 1x1 ``hidden -> hidden``, ReLU, 1x1 ``-> out``."""
    return nn.Sequential(nn.Conv2d(1, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                         nn.Conv2d(hidden, out, 1))


class SFTLayer(nn.Module):
    """Eq. 5 ``SFTL(S_1 | S_c, S_h) = S_c * S_1 + S_h`` with ``(S_c, S_h) = R(Phi)`` from the condition.

    ``scale`` = conv3x3 -> LReLU(0.1) -> conv3x3, ``shift`` = the same with 1x1 convs (released widths).
    ``mode='concat'`` is the released code: ``LReLU(conv3x3([S_1, S_c])) + S_h`` (extra ``fuse`` conv).
    """

    def __init__(self, width: int = 64, cond_width: int = 32, mode: str = "affine") -> None:
        super().__init__()
        if mode not in SFT_MODES:
            raise ValueError(f"unknown SFT mode {mode!r}; choose one of {SFT_MODES}")
        self.mode = mode
        self.scale = nn.Sequential(nn.Conv2d(cond_width, cond_width, 3, padding=1), nn.LeakyReLU(0.1),
                                   nn.Conv2d(cond_width, width, 3, padding=1))
        self.shift = nn.Sequential(nn.Conv2d(cond_width, cond_width, 1), nn.LeakyReLU(0.1),
                                   nn.Conv2d(cond_width, width, 1))
        self.fuse = nn.Conv2d(2 * width, width, 3, padding=1) if mode == "concat" else None

    def forward(self, features: Tensor, cond: Tensor) -> Tensor:
        s_c, s_h = self.scale(cond), self.shift(cond)
        if self.fuse is not None:
            return F.leaky_relu(self.fuse(torch.cat([features, s_c], dim=1)), 0.2) + s_h
        return s_c * features + s_h


class SFTResBlock(nn.Module):
    """``x + conv1(SFT1(ReLU(conv0(SFT0(x)))))``; ``modulation=False`` (Table VI "w/o l_m") drops both SFT
    layers: ``x + conv1(ReLU(conv0(x)))``."""

    def __init__(self, width: int = 64, cond_width: int = 32, modulation: bool = True, mode: str = "affine") -> None:
        super().__init__()
        self.sft0 = SFTLayer(width, cond_width, mode) if modulation else None
        self.sft1 = SFTLayer(width, cond_width, mode) if modulation else None
        self.conv0 = nn.Conv2d(width, width, 3, padding=1)
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        fea = self.sft0(x, cond) if self.sft0 is not None else x
        fea = F.relu(self.conv0(fea))
        fea = self.sft1(fea, cond) if self.sft1 is not None else fea
        return x + self.conv1(fea)


class RefinementBranch(nn.Module):
    """One JRS branch (a colour channel, or all three for "w/o l_rgb"): ``S(x, E(x))``.

    ``feature`` conv3x3 ``in -> width`` gives S_1; with ``modulation`` the detail map E(x) is turned into the
    condition by ``condition`` and modulates S_1 in ``sft``. Without modulation E has no consumer and is omitted.
    """

    def __init__(self, in_channels: int, edge_widths: tuple[int, int] = (32, 64), cond_hidden: int = 64,
                 cond_width: int = 32, width: int = 64, modulation: bool = True, sft_mode: str = "affine") -> None:
        super().__init__()
        self.detail = detail_net(in_channels, edge_widths) if modulation else None
        self.condition = condition_net(cond_hidden, cond_width) if modulation else None
        self.feature = nn.Conv2d(in_channels, width, 3, padding=1)
        self.sft = SFTResBlock(width, cond_width, modulation, sft_mode)

    def forward(self, x: Tensor) -> Tensor:
        cond = self.condition(self.detail(x)) if self.detail is not None else None
        return self.sft(self.feature(x), cond)


class ResidualBN(nn.Module):
    """``ReLU(x + BN(conv(ReLU(BN(conv(x))))))`` at one width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.body(x))


def colour_correction(in_channels: int, width: int = 128, plain_layers: int = 2,
                      res_blocks: int = 2, out_channels: int = 3) -> nn.Sequential:
    """R of Eq. 6: ``plain_layers`` x (conv3x3 + BN + ReLU) to ``width``, ``res_blocks`` residual blocks, conv1x1
    ``width -> out_channels`` (3: one map per colour channel; 1: a shared map), sigmoid (released: six 128-channel
    convs; the paper: "multiple conv + normalization + activation and two residual blocks")."""
    layers: list[nn.Module] = []
    for i in range(plain_layers):
        layers += [nn.Conv2d(in_channels if i == 0 else width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    layers += [ResidualBN(width) for _ in range(res_blocks)]
    layers += [nn.Conv2d(width, out_channels, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


class JRS(nn.Module):
    """Joint refinement stage: ``forward(x_A) -> (x_J, illumination)`` (Eq. 6).

    ``branches`` (l_rgb; :data:`JRS_BRANCHES`, module docstring): ``'single_rgb_map'`` one RGB branch and a
    3-channel map, ``'per_channel'`` three single-channel branches, ``'shared_map'`` one RGB branch and one map
    shared by the colour channels; ``modulation`` (l_m): SFT on or off; ``output='divide'`` is Eq. 6
    ``x_A / (R + eps)``; ``'map'`` returns R itself (the released code, whose division is commented out).
    """

    def __init__(self, branches: str = "single_rgb_map", modulation: bool = True,
                 edge_widths: tuple[int, int] = (32, 64),
                 cond_hidden: int = 64, cond_width: int = 32, width: int = 64, correction_width: int = 128,
                 sft_mode: str = "affine", output: str = "divide", eps: float = 1e-5) -> None:
        super().__init__()
        if output not in CORRECTION_OUTPUTS:
            raise ValueError(f"unknown JRS output {output!r}; choose one of {CORRECTION_OUTPUTS}")
        if branches not in JRS_BRANCHES:
            raise ValueError(f"unknown JRS branches {branches!r}; choose one of {JRS_BRANCHES}")
        self.branches_mode, self.output, self.eps = branches, output, eps
        self.per_channel = branches == "per_channel"
        n, in_ch = (3, 1) if self.per_channel else (1, 3)
        self.branches = nn.ModuleList(
            RefinementBranch(in_ch, tuple(edge_widths), cond_hidden, cond_width, width, modulation, sft_mode)
            for _ in range(n))
        self.correction = colour_correction(n * width, correction_width,
                                            out_channels=1 if branches == "shared_map" else 3)

    def forward(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        inputs = x_a.split(1, dim=1) if self.per_channel else (x_a,)
        merged = torch.cat([branch(x) for branch, x in zip(self.branches, inputs)], dim=1)
        illumination = self.correction(merged)
        if illumination.shape[1] != x_a.shape[1]:          # 'shared_map': one map for R, G and B
            illumination = illumination.expand(-1, x_a.shape[1], -1, -1)
        if self.output == "map":
            return illumination, illumination
        return x_a / (illumination + self.eps), illumination
