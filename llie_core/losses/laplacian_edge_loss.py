"""Laplacian edge loss of HVI-CIDNet / ICLR (``loss/losses.py`` class ``EdgeLoss``; the one-level Laplacian-pyramid
loss of MPRNet, Zamir et al. CVPR 2021, Eq. 3), weight 50 in both objectives.

``L(x) = x - g(up(down(g(x))))`` with ``g`` the 5x5 Gaussian ``k k^T``, ``k = [.05, .25, .4, .25, .05]``
(replicate padding, per channel), ``down`` = every second pixel, ``up`` = zero insertion with the kept values x 4;
the loss is ``loss_weight * MSE(L(pred), L(target))``. Works for any channel count (RGB and HVI).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES

GAUSS_TAPS = (0.05, 0.25, 0.4, 0.25, 0.05)


def gaussian_blur5(x: Tensor) -> Tensor:
    """Depthwise 5x5 blur with ``outer(GAUSS_TAPS)``, replicate padding (size kept)."""
    taps = x.new_tensor(GAUSS_TAPS)
    kernel = torch.outer(taps, taps).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), kernel, groups=x.shape[1])


def laplacian(x: Tensor) -> Tensor:
    """One Laplacian-pyramid level: ``x`` minus its blurred, decimated, zero-upsampled (x4), re-blurred copy."""
    blurred = gaussian_blur5(x)
    upsampled = torch.zeros_like(blurred)
    upsampled[..., ::2, ::2] = 4 * blurred[..., ::2, ::2]
    return x - gaussian_blur5(upsampled)


@LOSSES.register()
class LaplacianEdgeLoss(nn.Module):
    """``loss_weight * mean (L(pred) - L(target))^2`` (official weight 50)."""

    inputs = ("output", "high")

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(f"edge loss needs two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} and "
                             f"{tuple(target.shape)}")
        return self.loss_weight * F.mse_loss(laplacian(pred), laplacian(target))

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
