"""IRLE: Internally Referenced Low-Light Enhancement (He, Wang, Liu, Li, Guo; arXiv 2605.28605, 2026).

Self-supervised: trained on low-light images only, from references extracted from the input itself. The paper's
equations, widths and code are not public; the structure follows the abstract and the project page
(visonj.github.io/IRLE, read from the stored ``visonj/IRLE`` repository): "Fig. 2 (a) Stage 1: Illumination
estimation and structure extraction via a Dual-Domain Collaborative Retinex network, guided by a local
exposure-simulated pseudo-GT. (b) Stage 2: Gain-guided blind-spot denoising, which handles spatially-variant
noise. (c) ... Gain-Aware Block. (d) The Gain-Adaptive Feature Modulation (GAFM) module." Everything the page
does not specify is an assumption stated below and exposed as an argument.

Pipeline (our design):

* Stage 1 (``stage1_outputs``): ``IlluminationNet`` self-estimates an illumination map L; ``gain = 1 / L``;
  ``enhanced_noisy = low * gain`` (Retinex brightening; noise amplified by gain); ``StructureNet`` refines it
  into the stage-1 output (structure extraction). Losses (configs ``llie_core/configs/irle``): (1) L1 between
  the low-passed ``enhanced_noisy`` / stage-1 output and the local exposure-simulated pseudo GT
  (``irle_pseudo_gt.py``; the config uses the first); (2) IAP between the stage-1 output and the input
  (``losses/illumination_aligned_perceptual.py``); (3) SISC between StructureNet applied to one neighbour
  sub-image of ``enhanced_noisy`` (``output_sub``) and the other sub-image (``reference_sub``)
  (``losses/spectral_correlation.py``; ``NeighborSubsamplingLoss`` is the spatial variant).
* Stage 2 (``stage2_outputs``, stage 1 frozen): the blind-spot denoiser, modulated by ``log gain`` through GAFM
  (``irle_blindspot.py``), denoises the stage-1 output; trained with the blind-spot objective (output vs its own
  input, ``blind_spot_target``), which the blind spot makes non-trivial.

Training protocol (configs): ``training: self_supervised`` (the recipes hide ``high`` from the model and the
losses) and reference-free checkpoint selection (``eval: {every: null}``: each stage keeps its last weights).

ASSUMPTIONS (model level):

* Illumination predicted at 1/``downsample`` resolution (area pooling of the input and its max channel, in the
  log domain), plain 3x3 conv/ReLU stack, ``L = min_illumination ** sigmoid(z)`` (zero-initialised head: a flat
  ``init_illumination`` at the start), bilinear upsampling: smooth by construction, so no separate smoothness
  loss. ``per_channel=True`` (3 maps) lets the gain correct colour casts; ``False`` gives one grey map.
* StructureNet: residual CNN on [enhanced_noisy, log gain] (head 3x3, ``num_blocks`` ReLU residual blocks, 3x3
  tail initialised to zero so training starts from ``enhanced_noisy``), working at 1/``scale`` resolution on the
  pixel-unshuffled input (see COST). Its residual is
  high-passed (minus a Gaussian blur, ``highpass_sigma`` = the pseudo-GT low-pass sigma): brightness and colour
  are the illumination branch's job (Retinex split), structure/noise the StructureNet's. Without it, a short
  trial on LOL training crops showed StructureNet taking over the brightening (pseudo-GT loss) while the IAP
  term grew. ``structure=None`` makes the stage-1 output ``enhanced_noisy`` itself.
* Neighbour sub-sampling (Neighbor2Neighbor, Huang et al. CVPR 2021): in each 2x2 cell a random pair of
  4-adjacent pixels; the gain map is sub-sampled with the same indices. Odd image sides are cropped by one.
* Stage 2 input is the stage-1 output, whose residual noise is spatially correlated by StructureNet; training
  therefore applies the denoiser to pixel-shuffle-downsampled sub-images (``train_pd_factor`` 2, AP-BSN, Lee et
  al. CVPR 2022), which spreads correlated neighbours apart, and inference uses ``pd_factor`` (default 1: the
  asymmetric PD of AP-BSN). The blind spot is exact w.r.t. the denoiser's input, for any image size and
  ``pd_factor`` (odd sizes are replicate-padded, ``pd_pad``; tests check every pixel); end to end, the output
  at p still depends on low(p) through stage 1 (illumination and StructureNet see it), by design.
* Raw (unclamped) tensors go to the losses; ``forward`` (inference) clamps to [0, 1].

COST (project page, Table 2, 400x600 input, RTX 3090): whole network 2.204 M parameters / 79.139 G MACs, stage 1
0.887 M / 32.479 G. "M" is 10^6 here (the page's Zero-DCE row, 0.079 M / 19.008 G, is Zero-DCE's 79,416
parameters in SI millions and about 79 k MACs per pixel x 240,000 pixels), and the figures are multiply-adds. A
network of 2.2 M parameters that convolves every pixel costs about params x pixels = 530 G MACs; 79 G means that
about 85 % of the weights work at reduced resolution (MACs / (params x pixels) = 0.15 for both stages). The
page does not say how; the design below is [A]ssumed, chosen to meet both figures within 10 % while keeping every
component the page names (counted by ``llie_core.evaluation.complexity`` / torch's FlopCounterMode at 1x3x400x600,
conv and matmul only; ``tests/models/test_irle.py`` pins them):

* [A] Illumination at 1/4 resolution (unchanged idea, wider: 96 channels x 8 layers, 504,387 parameters at
  15,000 positions). Illumination is smooth, so this is where a Retinex design can spend parameters cheaply.
* [A] StructureNet on the 2x2 pixel-unshuffled input (``structure.scale: 2``; 24 input channels at 200x300, 52
  channels x 8 residual blocks, 407,120): a residual CNN at half resolution whose 2x2 pixel-shuffled output still
  carries full-resolution detail (the 12 output channels are the 4 pixels of each cell).
* [A] Denoiser body on 2x2 cells (``denoiser.cell: 2``; 72 channels x 10 dilated blocks, 584,148 at 60,000 cell
  positions). The centre-masked convolution then blinds the whole 2x2 cell: the output at p is exactly
  independent of the input at p (and of its 3 cell neighbours); the blind 8-neighbour ring-mean base stays at full
  resolution. A larger blind region also suits the spatially correlated residual noise of the stage-1 output.
* [A] GAFM prior branch at 1/4 resolution (``prior_scale: 4``; 3 layers of 3x3 encoder and 3x3 FiLM heads, 48
  hidden channels, 728,784): the gain prior is the bilinear upsampling of a 1/4-resolution illumination map, so
  (gamma, beta) are computed there and upsampled bilinearly to the body's resolution.

Counted (paper config): stage 1 911,507 parameters (+2.8 %) / 32.004 G MACs (-1.5 %); whole network 2,224,439
(+0.9 %) / 77.856 G MACs (-1.6 %). The earlier full-resolution topology (every branch at full resolution,
1x1 GAFM) is kept as :data:`FULL_RESOLUTION_MODEL` (2,215,497 parameters but 525.5 G MACs: stage 1 214.0 G,
denoiser 311.5 G): build it with ``IRLE(**FULL_RESOLUTION_MODEL)``; the switches are ``structure.scale``,
``denoiser.cell``, ``denoiser.prior_scale`` / ``prior_kernel`` / ``prior_layers`` (1 / 1 / 1 / 1 / 2 there, the
class defaults; ``tests/helpers.TINY_IRLE`` keeps them, so the small unit tests cover both layouts).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.models.blocks import ResBlock
from llie_core.models.irle_blindspot import BlindSpotDenoiser
from llie_core.models.irle_pseudo_gt import LocalExposurePseudoGT, gaussian_blur
from llie_core.models.registry import MODELS

# The pre-issue-19 paper topology: every branch at full resolution (2,215,497 parameters, 525.5 G MACs at 400x600,
# 6.6x the page's Table 2); the class defaults of the resolution switches reproduce it.
FULL_RESOLUTION_MODEL: dict[str, Any] = {
    "illumination": {"channels": 32, "num_layers": 4, "downsample": 4},
    "structure": {"channels": 64, "num_blocks": 12, "scale": 1},
    "denoiser": {"channels": 96, "num_blocks": 12, "prior_hidden": 32, "cell": 1, "prior_scale": 1,
                 "prior_kernel": 1, "prior_layers": 2},
}

# the 8 ordered pairs of 4-adjacent positions in a 2x2 cell (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)
NEIGHBOR_PAIRS = ((0, 1), (1, 0), (0, 2), (2, 0), (1, 3), (3, 1), (2, 3), (3, 2))


class IlluminationNet(nn.Module):
    """Low-light image -> smooth illumination map in [min_illumination, 1] (see module ASSUMPTIONS).

    Works in the log domain: input ``log(max(pooled image and its max channel, 1e-3))``, output
    ``L = min_illumination ** sigmoid(z)``, so log L is an affine, bounded function of the network output and the
    gain the pseudo GT implies (about target / local brightness) is close to linear in the input.
    """

    def __init__(self, channels: int = 32, num_layers: int = 4, downsample: int = 4, per_channel: bool = True,
                 min_illumination: float = 0.02, init_illumination: float = 0.2) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"IlluminationNet needs num_layers >= 2, got {num_layers}")
        if not 0 < min_illumination < init_illumination < 1:
            raise ValueError(f"need 0 < min_illumination ({min_illumination}) < init_illumination "
                             f"({init_illumination}) < 1")
        self.downsample, self.min_illumination = downsample, min_illumination
        layers: list[nn.Module] = [nn.Conv2d(4, channels, 3, padding=1, padding_mode="replicate"), nn.ReLU()]
        for _ in range(num_layers - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate"), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 3 if per_channel else 1, 3, padding=1, padding_mode="replicate")
        start = math.log(init_illumination) / math.log(min_illumination)  # sigmoid(bias) -> init_illumination
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, math.log(start / (1 - start)))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        s = self.downsample
        small = F.adaptive_avg_pool2d(x, (math.ceil(h / s), math.ceil(w / s))) if s > 1 else x
        inp = torch.log(torch.cat([small, small.amax(dim=1, keepdim=True)], dim=1).clamp_min(1e-3))
        illum = self.min_illumination ** torch.sigmoid(self.head(self.body(inp)))
        if s > 1:
            illum = F.interpolate(illum, size=(h, w), mode="bilinear", align_corners=False)
        return illum.expand(-1, 3, -1, -1) if illum.shape[1] == 1 else illum


class StructureNet(nn.Module):
    """Stage-1 structure extraction: ``enhanced + highpass(tail(blocks(head([enhanced, log_gain]))))`` (module
    ASSUMPTIONS). ``highpass_sigma``: the residual minus its Gaussian blur, so the branch cannot move brightness or
    colour at the scale the pseudo GT constrains; ``None`` keeps the raw residual. ``scale`` > 1: head, blocks and
    tail work on the pixel-unshuffled input (``6 * scale**2`` channels at 1/``scale`` resolution; sizes padded by
    replication to a multiple and cropped back) and the residual is pixel-shuffled back to full resolution."""

    def __init__(self, channels: int = 48, num_blocks: int = 4, highpass_sigma: float | None = 8.0,
                 scale: int = 1) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"StructureNet scale must be >= 1, got {scale}")
        self.highpass_sigma, self.scale = highpass_sigma, scale
        self.head = nn.Sequential(nn.Conv2d(6 * scale * scale, channels, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(*(ResBlock(channels, activation="relu") for _ in range(num_blocks)))
        self.tail = nn.Conv2d(channels, 3 * scale * scale, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, enhanced: Tensor, log_gain: Tensor) -> Tensor:
        x = torch.cat([enhanced, log_gain], dim=1)
        h, w = x.shape[-2:]
        s = self.scale
        if s > 1:
            pad = (0, (-w) % s, 0, (-h) % s)
            x = F.pixel_unshuffle(F.pad(x, pad, mode="replicate") if any(pad) else x, s)
        residual = self.tail(self.blocks(self.head(x)))
        if s > 1:
            residual = F.pixel_shuffle(residual, s)[..., :h, :w]
        if self.highpass_sigma:
            residual = residual - gaussian_blur(residual, self.highpass_sigma)
        return enhanced + residual


def neighbor_pair_indices(shape: torch.Size | tuple[int, ...], device: torch.device | None = None,
                          generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Random cell positions (B, 1, 1, H/2, W/2) of the first and second pixel of a 4-adjacent pair per 2x2 cell."""
    b, _, h, w = shape
    choice = torch.randint(len(NEIGHBOR_PAIRS), (b, 1, 1, h // 2, w // 2), device=device, generator=generator)
    table = torch.tensor(NEIGHBOR_PAIRS, device=device)
    return table[:, 0][choice], table[:, 1][choice]


def neighbor_subsample(x: Tensor, index: Tensor) -> Tensor:
    """The sub-image (B, C, H/2, W/2) taking, in each 2x2 cell, the pixel at cell position ``index``."""
    b, c, h, w = x.shape
    cells = F.pixel_unshuffle(x[..., : h // 2 * 2, : w // 2 * 2], 2).view(b, c, 4, h // 2, w // 2)
    return cells.gather(2, index.expand(b, c, 1, h // 2, w // 2)).squeeze(2)


def pd_down(x: Tensor, factor: int) -> Tensor:
    """Pixel-shuffle downsampling (AP-BSN): (B, C, H, W) -> (B * f^2, C, H/f, W/f) sub-images."""
    b, c, h, w = x.shape
    sub = F.pixel_unshuffle(x, factor).view(b, c, factor * factor, h // factor, w // factor)
    return sub.transpose(1, 2).reshape(b * factor * factor, c, h // factor, w // factor)


def pd_pad(x: Tensor, factor: int) -> Tensor:
    """Pad right/bottom to a multiple of ``factor`` for :func:`pd_down`, keeping the denoiser blind.

    Replicate padding: padded row ``H + k`` (k = 0 .. factor-2) copies row ``H - 1``, which lies ``k + 1``
    (1 .. factor-1) rows away, hence in another pixel-shuffle sub-image (likewise for columns and the corner).
    Sub-images are separate batch entries of the denoiser, so no pixel's copy enters its own receptive field.
    Reflect padding (row ``H + k`` copies row ``H - 2 - k``, ``2k + 2`` rows away) puts the copy in the pixel's
    own sub-image whenever ``factor`` divides ``2k + 2`` (always for factor 2): the output at the last row/column
    then depends on its own input pixel (gradient ~0.4 on a 15x15 input with the tiny test network).
    """
    h, w = x.shape[-2:]
    pad = (0, (-w) % factor, 0, (-h) % factor)
    return F.pad(x, pad, mode="replicate") if any(pad) else x


def pd_up(x: Tensor, factor: int) -> Tensor:
    """Inverse of :func:`pd_down`."""
    bf, c, h, w = x.shape
    b = bf // (factor * factor)
    sub = x.view(b, factor * factor, c, h, w).transpose(1, 2).reshape(b, c * factor * factor, h, w)
    return F.pixel_shuffle(sub, factor)


@MODELS.register()
class IRLE(nn.Module):
    """Internally referenced enhancement: stage 1 (illumination, gain, structure) -> stage 2 (GAFM blind-spot
    denoising). ``forward(low)`` is the whole pipeline; ``stage1_outputs`` / ``stage2_outputs`` feed the losses.

    Args:
        illumination: ``IlluminationNet`` kwargs (channels, num_layers, downsample, per_channel,
            min_illumination, init_illumination).
        structure: ``StructureNet`` kwargs (channels, num_blocks, highpass_sigma, scale); ``None``: stage-1
            output = low * gain.
        denoiser: ``BlindSpotDenoiser`` kwargs (channels, num_blocks, gafm, prior_hidden, base, cell, prior_scale,
            prior_kernel, prior_layers); ``None``: no stage 2
            (the output is the stage-1 output, the "no denoiser" ablation).
        pseudo_gt: ``LocalExposurePseudoGT`` kwargs.
        train_pd_factor: pixel-shuffle downsampling factor applied to the denoiser's input in ``stage2_outputs``.
    """

    min_side = 2  # the 2x2 unshuffle of the structure net and the blind-spot cells; enhancers pad smaller images

    def __init__(self, illumination: Mapping[str, Any] | None = None, structure: Mapping[str, Any] | None = None,
                 denoiser: Mapping[str, Any] | None = None, pseudo_gt: Mapping[str, Any] | None = None,
                 train_pd_factor: int = 2) -> None:
        super().__init__()
        self.illumination = IlluminationNet(**dict(illumination or {}))
        self.structure = StructureNet(**dict(structure)) if structure is not None else None
        self.denoiser = BlindSpotDenoiser(**dict(denoiser)) if denoiser is not None else None
        self.pseudo_gt = LocalExposurePseudoGT(**dict(pseudo_gt or {}))
        self.train_pd_factor = int(train_pd_factor)

    # -- parts ------------------------------------------------------------------------------------------------
    def enhance(self, low: Tensor) -> dict[str, Tensor]:
        """``illumination`` L, ``gain`` 1/L and ``enhanced_noisy`` = low * gain (Retinex brightening)."""
        _check_image(low)
        illum = self.illumination(low)
        gain = 1.0 / illum
        return {"illumination": illum, "gain": gain, "enhanced_noisy": low * gain}

    def extract_structure(self, enhanced: Tensor, gain: Tensor) -> Tensor:
        """Stage-1 output: StructureNet refinement of ``enhanced`` (identity without a structure branch)."""
        return enhanced if self.structure is None else self.structure(enhanced, torch.log(gain))

    def denoise(self, noisy: Tensor, gain: Tensor, pd_factor: int = 1) -> Tensor:
        """Blind-spot denoising of ``noisy`` guided by ``log(gain)``, optionally on pixel-shuffle-downsampled
        sub-images (``pd_factor`` > 1; sizes are replicate-padded to a multiple and cropped back, which keeps the
        blind spot exact for any size, see :func:`pd_pad`)."""
        if self.denoiser is None:
            return noisy
        if pd_factor <= 1:
            return self.denoiser(noisy, torch.log(gain))
        h, w = noisy.shape[-2:]
        noisy, gain = pd_pad(noisy, pd_factor), pd_pad(gain, pd_factor)
        out = self.denoiser(pd_down(noisy, pd_factor), torch.log(pd_down(gain, pd_factor)))
        return pd_up(out, pd_factor)[..., :h, :w]

    # -- inference --------------------------------------------------------------------------------------------
    def forward(self, low: Tensor, pd_factor: int = 1) -> Tensor:
        """Enhanced image in [0, 1]. ``pd_factor`` > 1 runs the denoiser on pixel-shuffle sub-images (AP-BSN
        style; an inference option, not described by the paper)."""
        parts = self.enhance(low)
        stage1 = self.extract_structure(parts["enhanced_noisy"], parts["gain"])
        return self.denoise(stage1, parts["gain"], pd_factor).clamp(0, 1)

    @torch.no_grad()
    def analysis(self, low: Tensor, pd_factor: int = 1) -> dict[str, Tensor]:
        """Every intermediate for figures: illumination, gain, enhanced_noisy, stage1_output, pseudo_gt, output."""
        parts = self.enhance(low)
        stage1 = self.extract_structure(parts["enhanced_noisy"], parts["gain"])
        return {**parts, "stage1_output": stage1, "pseudo_gt": self.pseudo_gt(low),
                "output": self.denoise(stage1, parts["gain"], pd_factor).clamp(0, 1)}

    # -- training ---------------------------------------------------------------------------------------------
    def stage1_outputs(self, low: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Tensors of the stage-1 losses (the ``forward:`` of stage 1).

        ``output`` = stage-1 output (raw), ``illumination``, ``gain``, ``enhanced_noisy``, ``pseudo_gt`` (no
        grad), ``output_lowpass`` / ``enhanced_lowpass`` (the pseudo-GT low-pass of output / enhanced_noisy),
        ``output_sub`` = StructureNet on neighbour sub-image 1 of enhanced_noisy, ``reference_sub`` = sub-image 2
        (detached), ``output_full_sub1`` / ``output_full_sub2`` = the two sub-images of the detached output
        (Neighbor2Neighbor's regulariser). Pair indices come from ``generator`` (default: the global RNG).
        """
        parts = self.enhance(low)
        noisy, gain = parts["enhanced_noisy"], parts["gain"]
        output = self.extract_structure(noisy, gain)
        first, second = neighbor_pair_indices(noisy.shape, noisy.device, generator)
        output_sub = self.extract_structure(neighbor_subsample(noisy, first), neighbor_subsample(gain, first))
        detached = output.detach()
        return {
            "output": output, **parts,
            "pseudo_gt": self.pseudo_gt(low),
            "output_lowpass": self.pseudo_gt.lowpass(output),
            "enhanced_lowpass": self.pseudo_gt.lowpass(noisy),
            "output_sub": output_sub,
            "reference_sub": neighbor_subsample(noisy.detach(), second),
            "output_full_sub1": neighbor_subsample(detached, first),
            "output_full_sub2": neighbor_subsample(detached, second),
        }

    def stage2_outputs(self, low: Tensor) -> dict[str, Tensor]:
        """Tensors of the stage-2 loss (the ``forward:`` of stage 2): ``output`` = denoiser(stage-1 output) on
        ``train_pd_factor`` sub-images, ``blind_spot_target`` = the stage-1 output it must predict without seeing
        (detached), plus ``gain`` / ``illumination`` / ``enhanced_noisy``. Stage 1 runs without gradient."""
        if self.denoiser is None:
            raise ValueError("this IRLE has no denoiser (denoiser=None): drop stage 2 from the config")
        with torch.no_grad():
            parts = self.enhance(low)
            stage1 = self.extract_structure(parts["enhanced_noisy"], parts["gain"])
        output = self.denoise(stage1, parts["gain"], self.train_pd_factor)
        return {"output": output, "blind_spot_target": stage1, **parts}


def _check_image(x: Tensor) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"IRLE expects a (B, 3, H, W) RGB batch in [0, 1], got shape {tuple(x.shape)}")
