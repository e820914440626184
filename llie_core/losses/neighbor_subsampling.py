"""Spatial sub-sampling loss (Neighbor2Neighbor, Huang et al. CVPR 2021, Eq. 7): the spatial-domain baseline the
IRLE paper compares its spectral SISC loss with ("spectral-domain constraints ... reduce blurring ... than spatial
sub-sampling approaches"; IRLE variant ``sisc_to_spatial``).

``L = ||f(g1(y)) - g2(y)||^2 + gamma * ||f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))||^2`` with g1, g2 the
random neighbour sub-samplers and f(y) computed without gradient; mean squared error as in the released code.
``IRLE.stage1_outputs`` provides ``output_sub`` = f(g1(y)), ``reference_sub`` = g2(y) and
``output_full_sub1`` / ``output_full_sub2`` = g1(f(y)) / g2(f(y)) (detached).

ASSUMPTION: the released code ramps gamma linearly from 0 to 2 over training; the loss protocol has no access to
the iteration, so gamma is constant (default 1.0, the ramp's mean). ``gamma=0`` gives the plain
reconstruction term.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES


@LOSSES.register()
class NeighborSubsamplingLoss(nn.Module):
    """``loss_weight * (MSE(pred_sub, ref_sub) + gamma * MSE(pred_sub - ref_sub, full_sub1 - full_sub2))``."""

    inputs = ("output_sub", "reference_sub", "output_full_sub1", "output_full_sub2")

    def __init__(self, loss_weight: float = 1.0, gamma: float = 1.0) -> None:
        super().__init__()
        self.loss_weight, self.gamma = loss_weight, gamma

    def forward(self, pred_sub: Tensor, ref_sub: Tensor, full_sub1: Tensor, full_sub2: Tensor) -> Tensor:
        residual = pred_sub - ref_sub
        loss = residual.pow(2).mean()
        if self.gamma:
            loss = loss + self.gamma * F.mse_loss(residual, (full_sub1 - full_sub2).detach())
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, gamma={self.gamma}"
