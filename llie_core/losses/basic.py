"""Pixel losses: L1 and L2 (mean squared error), BasicSR style (``loss_weight * mean |pred - target|^p``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES


class _PixelLoss(nn.Module):
    inputs = ("output", "high")

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"


@LOSSES.register()
class L1Loss(_PixelLoss):
    """``loss_weight * mean |pred - target|`` (mean absolute error)."""

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * F.l1_loss(pred, target)


@LOSSES.register()
class MSELoss(_PixelLoss):
    """``loss_weight * mean (pred - target)^2`` (the L2 loss of most LLIE papers)."""

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.loss_weight * F.mse_loss(pred, target)
