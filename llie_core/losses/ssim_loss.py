"""SSIM loss, FRLIE Eq. 5: ``L_ssim = 1 - SSIM(D(F_r), I_h)`` (SSIM of Wang et al. 2004, paper ref. [22])."""
from __future__ import annotations

import kornia
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES

SSIM_PADDINGS = ("valid", "same", "zeros")
C1, C2 = 0.01 ** 2, 0.03 ** 2


def ssim_map(pred: Tensor, target: Tensor, window_size: int = 11, padding: str = "valid") -> Tensor:
    """Per-pixel, per-channel SSIM of (B, C, H, W) images in [0, 1] with kornia.

    Gaussian window ``window_size`` x ``window_size``, sigma 1.5, C1 = 0.01^2 and C2 = 0.03^2 (max_val 1, fixed
    whatever the input range, as FRLIE's ``src/loss.py``). ``padding='valid'`` (official: no padding, border of
    ``window_size // 2`` dropped), ``'same'`` (kornia default, reflect-padded filtering) or ``'zeros'``
    (zero-padded filtering, size kept: HVI-CIDNet / ICLR ``loss/loss_utils.py`` ``map_ssim``).
    """
    if padding not in SSIM_PADDINGS:
        raise ValueError(f"unknown SSIM padding {padding!r}; choose one of {SSIM_PADDINGS}")
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f"SSIM needs two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    if padding == "valid" and min(pred.shape[-2:]) < window_size:
        raise ValueError(f"images of {tuple(pred.shape[-2:])} px are smaller than the {window_size}px SSIM window; "
                         f"use larger crops or a smaller window_size")
    if padding == "zeros":
        return _ssim_zero_padded(pred, target, window_size)
    return kornia.metrics.ssim(pred, target, window_size, max_val=1.0, padding=padding)


def _ssim_zero_padded(pred: Tensor, target: Tensor, window_size: int) -> Tensor:
    kernel = kornia.filters.get_gaussian_kernel2d((window_size, window_size), (1.5, 1.5)).to(pred)

    def blur(x: Tensor) -> Tensor:
        return kornia.filters.filter2d(x, kernel, border_type="constant")

    mu_p, mu_t = blur(pred), blur(target)
    var_p, var_t = blur(pred * pred) - mu_p ** 2, blur(target * target) - mu_t ** 2
    cov = blur(pred * target) - mu_p * mu_t
    return ((2 * mu_p * mu_t + C1) * (2 * cov + C2)) / ((mu_p ** 2 + mu_t ** 2 + C1) * (var_p + var_t + C2))


@LOSSES.register()
class SSIMLoss(nn.Module):
    """``loss_weight * (1 - mean SSIM)`` (FRLIE Eq. 5; weight lambda_SSIM = 0.5 in Eq. 7).

    Defaults reproduce the released code: 11x11 Gaussian (sigma 1.5), no padding, fixed C1 = 1e-4 and
    C2 = 9e-4, mean over batch, channels and valid pixels. The mean SSIM equals scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
    channel_axis=...)`` on the same images.
    """

    def __init__(self, loss_weight: float = 1.0, window_size: int = 11, padding: str = "valid") -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.window_size = window_size
        self.padding = padding

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * (1 - ssim_map(pred, target, self.window_size, self.padding).mean())
