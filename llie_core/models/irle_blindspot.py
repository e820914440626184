"""IRLE component (4): a blind-spot denoiser guided by Gain-Adaptive Feature Modulation (GAFM).

Paper (abstract; project page Fig. 2; no equations public): "GAFM ... address[es] highly spatially-variant
residual noise. By transforming the self-estimated illumination map into an internal spatial gain prior, GAFM
dynamically guides a blind-spot network for spatially-aware denoising"; Fig. 2 "(b) Stage 2: Gain-guided
blind-spot denoising ... (c) The detailed architecture of the Gain-Aware Block. (d) The Gain-Adaptive Feature
Modulation (GAFM) module." Our dilated residual block followed by its GAFM modulation stands in for the
(unpublished) Gain-Aware Block.

ASSUMPTIONS (our design):

* Blind-spot network: the D-BSN / AP-BSN branch design (Wu et al. ECCV 2020; Lee et al. CVPR 2022): 1x1 head,
  one 3x3 convolution whose *centre tap is masked to zero*, two 1x1 convs, ``num_blocks`` residual blocks of a
  3x3 convolution with dilation 2 and a 1x1 conv, 1x1 tail. The receptive field of output pixel p contains only
  offsets ``b + 2m`` with b a non-zero tap of the masked 3x3 kernel (at least one odd coordinate) and m integer,
  never (0, 0): the output at p is *exactly* independent of the input at p (``tests/models/test_irle.py`` checks the
  gradient is zero there and non-zero at neighbours), whatever the depth. Single branch (AP-BSN uses two).
* Gain prior: ``log(gain)`` with ``gain = 1 / illumination`` (per channel), i.e. the amplification the
  enhancement applied to the input noise at each pixel; noise standard deviation in the brightened image scales
  with it. The prior is an input separate from the noisy image, so modulation does not open the blind spot.
* GAFM: FiLM-style modulation (Perez et al. 2018) after the masked conv and after every dilated block,
  ``h <- h * (1 + gamma(prior)) + beta(prior)``, where a shared 1x1 encoder embeds the prior and one 1x1 head per
  modulation predicts (gamma, beta). Heads are zero-initialised, so training starts from the plain network.
  With the class defaults only 1x1 convolutions touch the prior, at full resolution (the former layout); the paper
  config runs the prior branch at 1/4 resolution with 3x3 convolutions and upsamples (gamma, beta) bilinearly
  (``prior_scale`` / ``prior_kernel`` / ``prior_layers``; why: COST in ``irle.py``). The prior never enters the
  body's spatial path, so neither layout opens the blind spot.
* ``cell`` > 1: the body works on the ``cell`` x ``cell`` pixel-unshuffled image; the masked convolution then
  blinds the whole cell (tested at every pixel of odd sizes).
* Output = blind base + learned correction (``base='ring_mean'``, default): the base is the mean of the 8 neighbours
  of each pixel (3x3 ring, reflect padding, which never maps a neighbour onto the pixel itself), blind by
  construction; the last tail convolution is zero-initialised, so training starts from that mild blind-spot
  smoothing instead of a random image (short CPU budgets and the smoke profile otherwise evaluate near-constant
  outputs). ``base=None``: the plain network output.
* ``gafm=False`` gives the plain blind-spot network (the "w/o GAFM" ablation); ``gain_prior`` is then ignored.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BASES = ("ring_mean", None)


def ring_mean(x: Tensor) -> Tensor:
    """Mean of the 8 neighbours of every pixel (reflect padding): a blind-spot estimate with no parameters."""
    c = x.shape[1]
    kernel = x.new_full((c, 1, 3, 3), 1 / 8)
    kernel[:, :, 1, 1] = 0
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), kernel, groups=c)


class CentralMaskedConv2d(nn.Conv2d):
    """Conv2d (odd kernel, 'same' zero padding) whose centre tap is held at zero: the blind spot."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f"a centre-masked convolution needs an odd kernel, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        mask = torch.ones(1, 1, kernel_size, kernel_size)
        mask[..., kernel_size // 2, kernel_size // 2] = 0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class DilatedResidualBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3_dilated(x)))`` (AP-BSN's DCl block; dilation 2 keeps the blind spot closed)."""

    def __init__(self, channels: int, dilation: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mix(F.relu(self.conv(x)))


class GainAdaptiveModulation(nn.Module):
    """GAFM: per-pixel FiLM of ``num_layers`` feature maps from a gain prior (see module ASSUMPTIONS).

    ``embed(prior)`` -> hidden features once; ``modulate(h, embedding, i)`` applies head ``i``. ``scale`` > 1
    computes the embedding and the (gamma, beta) maps on the prior area-pooled to 1/``scale`` of its size and
    upsamples them bilinearly to the features' size (the gain map is itself a bilinear upsampling of a
    1/``downsample`` illumination map, so little is lost). ``kernel``: size of the encoder/head convolutions (1:
    per-pixel, the original design; 3: spatial context in the prior branch). ``layers``: encoder convolutions.
    """

    def __init__(self, prior_channels: int, channels: int, num_layers: int, hidden: int = 32, scale: int = 1,
                 kernel: int = 1, layers: int = 2) -> None:
        super().__init__()
        if scale < 1 or kernel % 2 == 0 or layers < 1:
            raise ValueError(f"GAFM needs scale >= 1, an odd kernel and layers >= 1; got scale={scale}, "
                             f"kernel={kernel}, layers={layers}")
        self.scale = scale
        pad = kernel // 2
        convs: list[nn.Module] = []
        for i in range(layers):
            convs += [nn.Conv2d(prior_channels if i == 0 else hidden, hidden, kernel, padding=pad,
                                padding_mode="replicate"), nn.ReLU()]
        self.encoder = nn.Sequential(*convs)
        self.heads = nn.ModuleList(nn.Conv2d(hidden, 2 * channels, kernel, padding=pad, padding_mode="replicate")
                                   for _ in range(num_layers))
        for head in self.heads:
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def embed(self, prior: Tensor) -> Tensor:
        if self.scale > 1:
            h, w = prior.shape[-2:]
            prior = F.adaptive_avg_pool2d(prior, (math.ceil(h / self.scale), math.ceil(w / self.scale)))
        return self.encoder(prior)

    def modulation(self, embedding: Tensor, index: int, size: tuple[int, int] | None = None) -> tuple[Tensor, Tensor]:
        """(gamma, beta) of layer ``index``, upsampled to ``size`` when the embedding is smaller."""
        out = self.heads[index](embedding)
        if size is not None and tuple(out.shape[-2:]) != tuple(size):
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        gamma, beta = out.chunk(2, dim=1)
        return gamma, beta

    def modulate(self, h: Tensor, embedding: Tensor, index: int) -> Tensor:
        gamma, beta = self.modulation(embedding, index, tuple(h.shape[-2:]))
        return h * (1 + gamma) + beta


class BlindSpotDenoiser(nn.Module):
    """Blind-spot denoiser with optional GAFM: ``forward(noisy, gain_prior)`` -> denoised (B, C, H, W).

    Args:
        channels: feature width. num_blocks: dilated residual blocks.
        gafm: modulate features with the gain prior (False: plain blind-spot network).
        prior_channels: channels of the prior (``log gain``: 3 for per-channel illumination).
        prior_hidden / prior_scale / prior_kernel / prior_layers: GAFM width, resolution (1/``prior_scale`` of the
            image), convolution size and encoder depth (see :class:`GainAdaptiveModulation`).
        cell: pixel-unshuffle factor of the body (1: full resolution). With ``cell`` = 2 the body sees the image as
            2x2 cells (12 channels at half resolution) and its centre-masked convolution blinds the whole cell, so
            the output at p is exactly independent of the input at p (and of the other 3 pixels of its cell).
            Sizes not divisible by ``cell`` are replicate-padded: a padded copy stays in its own pixel's cell.
        base: ``'ring_mean'``: output = 8-neighbour mean (full resolution) + network (zero-initialised last
            layer); ``None``: the network alone.
    """

    def __init__(self, in_channels: int = 3, channels: int = 64, num_blocks: int = 8, gafm: bool = True,
                 prior_channels: int = 3, prior_hidden: int = 32, base: str | None = "ring_mean", cell: int = 1,
                 prior_scale: int = 1, prior_kernel: int = 1, prior_layers: int = 2) -> None:
        super().__init__()
        if base not in BASES:
            raise ValueError(f"unknown base {base!r}; choose one of {BASES}")
        if cell < 1:
            raise ValueError(f"cell must be >= 1, got {cell}")
        self.base, self.cell = base, cell
        body_in = in_channels * cell * cell
        self.head = nn.Conv2d(body_in, channels, 1)
        self.masked = CentralMaskedConv2d(channels, channels, 3)
        self.mix = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 1), nn.ReLU())
        self.blocks = nn.ModuleList(DilatedResidualBlock(channels, 2) for _ in range(num_blocks))
        self.tail = nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, body_in, 1))
        self.gafm = (GainAdaptiveModulation(prior_channels, channels, num_blocks + 1, prior_hidden, prior_scale,
                                            prior_kernel, prior_layers) if gafm else None)
        if base is not None:
            nn.init.zeros_(self.tail[-1].weight)
            nn.init.zeros_(self.tail[-1].bias)

    def forward(self, noisy: Tensor, gain_prior: Tensor | None = None) -> Tensor:
        embedding = None
        if self.gafm is not None:
            if gain_prior is None:
                raise ValueError("this denoiser was built with gafm=True and needs gain_prior (log gain map); "
                                 "build it with gafm=False for the plain blind-spot network")
            embedding = self.gafm.embed(gain_prior)
        h, w = noisy.shape[-2:]
        x = noisy
        if self.cell > 1:
            pad = (0, (-w) % self.cell, 0, (-h) % self.cell)
            x = F.pixel_unshuffle(F.pad(x, pad, mode="replicate") if any(pad) else x, self.cell)
        feat = F.relu(self.masked(F.relu(self.head(x))))
        feat = self._modulate(feat, embedding, 0)
        feat = self.mix(feat)
        for i, block in enumerate(self.blocks, start=1):
            feat = self._modulate(block(feat), embedding, i)
        out = self.tail(feat)
        if self.cell > 1:
            out = F.pixel_shuffle(out, self.cell)[..., :h, :w]
        return out + ring_mean(noisy) if self.base == "ring_mean" else out

    def _modulate(self, h: Tensor, embedding: Tensor | None, index: int) -> Tensor:
        return h if embedding is None else self.gafm.modulate(h, embedding, index)
