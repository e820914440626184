"""IRLE component (1): the local exposure-simulated pseudo ground truth (He et al. 2026, arXiv 2605.28605).

Paper (abstract; project page visonj.github.io/IRLE "Method Overview" and Fig. 1; the full text and code are not
public): "a local exposure-simulated scheme to extract a low-frequency pseudo ground-truth. This serves as an
internal physical reference to guide global illumination estimation and correct color casts"; "a local
exposure-simulated scheme featuring robust white balancing and adaptive shadow desaturation extracts a pseudo-GT
to guide global color and brightness restoration." Everything below is a pure function of the low-light input:
no parameters, no randomness, no reference image.

ASSUMPTIONS (our design; every choice is an argument of :func:`pseudo_ground_truth`):

* Exposure simulation: a ladder of virtual exposures ``clip(k * x, 0, 1)`` with ``k`` in ``exposures``
  (default 1, 2, 4, ..., 64: six stops, enough to lift LOL's darkest regions, mean ~0.05, to mid-grey). A linear
  camera response with clipping; no gamma.
* Local selection: each exposure gets a per-pixel weight from the *locally averaged* brightness of that exposure
  (Mertens et al. 2007 "well-exposedness", applied to a Gaussian-blurred HSV value max_c instead of single
  pixels): ``w_k = exp(-(blur(V_k) - target)^2 / (2 spread^2))`` with ``target`` 0.6 (the well-exposedness
  level E = 0.6 of Zero-DCE's exposure loss, Guo et al. CVPR 2020, from the same group), ``spread`` 0.2,
  blur sigma ``local_sigma`` = 16 px. Weights are normalised over k and the exposures fused pixel-wise, so each
  region takes the exposures that bring *its* neighbourhood to a well-exposed level (a local, not global, gain).
* Robust white balancing: grey world on the fused image, with the channel means taken only over pixels whose
  luminance lies between the ``wb_quantiles`` (5 %, 95 %) of the image, so black and clipped pixels do not vote
  (``color_correction='robust_gray_world'``; ``'gray_world'`` uses every pixel, ``None`` skips it). Gains
  ``(mean_c' m / m_c)^color_strength`` preserve the mean luminance of the channels' average.
* Adaptive shadow desaturation: the more a region had to be amplified, the more its chroma (amplified noise and
  residual casts in deep shadows) is pulled towards its luminance: ``alpha = desaturation * clip(log k_eff /
  log k_max, 0, 1)`` with ``k_eff = sum_k w_k k`` the local effective gain; ``out = Y + (1 - alpha) (fused - Y)``
  (Rec. 601 luminance Y; ``desaturation`` 0.5, 0 disables it).
* Low frequency: a Gaussian low-pass (sigma ``lowpass_sigma`` = 8 px) removes texture and the amplified noise, so
  the reference constrains only global/local brightness and colour. The same low-pass is applied to the network
  prediction before comparing (``IRLE.stage1_outputs`` -> ``enhanced_lowpass``), so the loss ignores high frequencies.
* Sigmas are in pixels of the image the function sees (training crops and full images give the same local
  behaviour); blur radii are clipped to the image size (reflect padding).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DEFAULT_EXPOSURES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
DEFAULT_TARGET = 0.6  # Zero-DCE's well-exposedness level E (Guo et al. CVPR 2020, same group)
COLOR_CORRECTIONS = ("robust_gray_world", "gray_world", None)
LUMA = (0.299, 0.587, 0.114)
QUANTILE_SAMPLES = 1 << 20


def gaussian_kernel1d(sigma: float, radius: int, device: torch.device | None = None,
                      dtype: torch.dtype = torch.float32) -> Tensor:
    """Normalised 1-D Gaussian of length ``2 * radius + 1``."""
    t = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: Tensor, sigma: float, truncate: float = 3.0) -> Tensor:
    """Separable Gaussian blur of a (B, C, H, W) tensor, reflect padding, radius ``ceil(truncate * sigma)``
    clipped to ``min(H, W) - 1``. ``sigma <= 0`` returns ``x``."""
    if sigma <= 0:
        return x
    h, w = x.shape[-2:]
    radius = min(int(math.ceil(truncate * sigma)), h - 1, w - 1)
    if radius < 1:
        return x
    k = gaussian_kernel1d(sigma, radius, x.device, x.dtype)
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def simulate_exposures(x: Tensor, exposures: Sequence[float] = DEFAULT_EXPOSURES) -> Tensor:
    """Virtual exposures ``clip(k * x, 0, 1)``: (B, 3, H, W) -> (K, B, 3, H, W)."""
    return torch.stack([(k * x).clamp(0, 1) for k in exposures])


def exposure_weights(stack: Tensor, target: float = DEFAULT_TARGET, spread: float = 0.2,
                     local_sigma: float = 16.0) -> Tensor:
    """Normalised local well-exposedness weights (K, B, 1, H, W) of an exposure stack (K, B, 3, H, W)."""
    k, b, _, h, w = stack.shape
    value = stack.amax(dim=2, keepdim=True).reshape(k * b, 1, h, w)  # HSV value per exposure
    local = gaussian_blur(value, local_sigma).reshape(k, b, 1, h, w)
    weights = torch.exp(-0.5 * ((local - target) / spread) ** 2)
    return weights / weights.sum(dim=0, keepdim=True).clamp_min(1e-12)


def luminance(x: Tensor) -> Tensor:
    """Rec. 601 luma (B, 1, H, W) of an RGB batch."""
    return (x * x.new_tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def gray_world(x: Tensor, strength: float = 1.0, quantiles: tuple[float, float] | None = None,
               eps: float = 1e-6) -> Tensor:
    """Grey-world white balance: channel c scaled by ``(mean over channels of m / m_c) ** strength``, ``m_c`` the
    per-image mean of channel c over all pixels, or (robust) over pixels whose luminance lies between the given
    ``quantiles`` of the image."""
    if quantiles is None:
        means = x.mean(dim=(2, 3), keepdim=True)
    else:
        y = luminance(x).flatten(1)
        step = max(1, y.shape[1] // QUANTILE_SAMPLES)  # torch.quantile caps its input size; a strided sample suffices
        bounds = torch.quantile(y[:, ::step], y.new_tensor(quantiles), dim=1)  # (2, B)
        mask = ((y >= bounds[0:1].T) & (y <= bounds[1:2].T)).to(x.dtype).view(x.shape[0], 1, *x.shape[2:])
        means = (x * mask).sum(dim=(2, 3), keepdim=True) / mask.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    means = means.clamp_min(eps)
    return x * (means.mean(dim=1, keepdim=True) / means) ** strength


def shadow_desaturation(x: Tensor, gain: Tensor, max_gain: float, strength: float = 0.5) -> Tensor:
    """Pull chroma towards luminance by ``strength * clip(log gain / log max_gain, 0, 1)`` per pixel."""
    if strength <= 0 or max_gain <= 1:
        return x
    alpha = strength * (torch.log(gain.clamp_min(1.0)) / math.log(max_gain)).clamp(0, 1)
    y = luminance(x)
    return y + (1 - alpha) * (x - y)


@torch.no_grad()
def pseudo_ground_truth(x: Tensor, exposures: Sequence[float] = DEFAULT_EXPOSURES, target: float = DEFAULT_TARGET,
                        spread: float = 0.2, local_sigma: float = 16.0, lowpass_sigma: float = 8.0,
                        color_correction: str | None = "robust_gray_world", color_strength: float = 1.0,
                        wb_quantiles: tuple[float, float] = (0.05, 0.95), desaturation: float = 0.5) -> Tensor:
    """Low-frequency pseudo ground truth of a low-light batch (B, 3, H, W) in [0, 1] (see module ASSUMPTIONS).

    ``fused = sum_k w_k clip(k x)`` -> (robust) grey-world white balance -> adaptive shadow desaturation ->
    Gaussian low-pass -> clamp to [0, 1]. Deterministic and gradient-free (it is a target, not a prediction).
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"pseudo_ground_truth expects a (B, 3, H, W) RGB batch, got {tuple(x.shape)}")
    if color_correction not in COLOR_CORRECTIONS:
        raise ValueError(f"unknown color_correction {color_correction!r}; choose one of {COLOR_CORRECTIONS}")
    stack = simulate_exposures(x.clamp(0, 1), exposures)
    weights = exposure_weights(stack, target, spread, local_sigma)
    fused = (weights * stack).sum(dim=0)
    if color_correction is not None:
        quantiles = tuple(wb_quantiles) if color_correction == "robust_gray_world" else None
        fused = gray_world(fused, color_strength, quantiles)
    gains = x.new_tensor(tuple(exposures)).view(-1, 1, 1, 1, 1)
    fused = shadow_desaturation(fused, (weights * gains).sum(dim=0), max(exposures), desaturation)
    return gaussian_blur(fused, lowpass_sigma).clamp(0, 1)


class LocalExposurePseudoGT(nn.Module):
    """Parameter-free module holding the :func:`pseudo_ground_truth` settings; ``forward(x)`` -> pseudo GT.

    ``lowpass(image)`` applies the same low-pass filter, for comparing a prediction with the pseudo GT.
    """

    def __init__(self, exposures: Sequence[float] = DEFAULT_EXPOSURES, target: float = DEFAULT_TARGET,
                 spread: float = 0.2, local_sigma: float = 16.0, lowpass_sigma: float = 8.0,
                 color_correction: str | None = "robust_gray_world", color_strength: float = 1.0,
                 wb_quantiles: Sequence[float] = (0.05, 0.95), desaturation: float = 0.5) -> None:
        super().__init__()
        if not exposures or min(exposures) <= 0:
            raise ValueError(f"exposures must be positive gains, got {exposures!r}")
        if color_correction not in COLOR_CORRECTIONS:
            raise ValueError(f"unknown color_correction {color_correction!r}; choose one of {COLOR_CORRECTIONS}")
        self.settings = dict(exposures=tuple(float(k) for k in exposures), target=target, spread=spread,
                             local_sigma=local_sigma, lowpass_sigma=lowpass_sigma,
                             color_correction=color_correction, color_strength=color_strength,
                             wb_quantiles=tuple(wb_quantiles), desaturation=desaturation)

    def forward(self, x: Tensor) -> Tensor:
        return pseudo_ground_truth(x, **self.settings)

    def lowpass(self, image: Tensor) -> Tensor:
        return gaussian_blur(image, self.settings["lowpass_sigma"])

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.settings.items())
