"""Charbonnier loss (Charbonnier et al. ICIP 1994), JCRNet Eq. 8: ``sqrt((x - x_gt)^2 + eps^2)``, eps = 1e-3.

Averaged over all elements, as the released JCRNet ``losses.py`` and MPRNet (ref. [30]) do; Eq. 8 writes the
norm of the whole difference, whose per-element mean is what every implementation of the term computes.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES


def charbonnier(pred: Tensor, target: Tensor, eps: float = 1e-3) -> Tensor:
    """``mean(sqrt((pred - target)^2 + eps^2))`` (a smooth L1)."""
    if pred.shape != target.shape:
        raise ValueError(f"Charbonnier loss needs tensors of one shape, got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    diff = pred - target
    return torch.sqrt(diff * diff + eps * eps).mean()


@LOSSES.register()
class CharbonnierLoss(nn.Module):
    """``loss_weight * charbonnier(pred, target, eps)``."""

    inputs = ("output", "high")

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__()
        self.loss_weight, self.eps = loss_weight, eps

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * charbonnier(pred, target, self.eps)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, eps={self.eps}"
