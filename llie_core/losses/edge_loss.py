"""Charbonnier edge loss, JCRNet Eq. 9: ``sqrt((Delta(x) - Delta(x_gt))^2 + eps^2)`` averaged, eps = 1e-3;
JCRNet weights it by 0.05 (Eq. 10, after ref. [35]).

``operator='pyramid'`` (default): Delta is one Laplacian-pyramid level (x minus its Gaussian-blurred,
decimated, re-expanded copy; :func:`llie_core.losses.laplacian_edge_loss.laplacian`), as in the released JCRNet
``losses.py`` and MPRNet, whose paper describes the same term with the same words ("Laplacian operator").
``operator='laplace'``: the discrete 3x3 Laplace operator ``[[0,1,0],[1,-4,1],[0,1,0]]`` (replicate padding),
the literal reading of "Delta is the Laplace operator".
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.charbonnier import charbonnier
from llie_core.losses.laplacian_edge_loss import laplacian
from llie_core.losses.registry import LOSSES

EDGE_OPERATORS = ("pyramid", "laplace")
LAPLACE_3X3 = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def laplace3x3(x: Tensor) -> Tensor:
    """Per-channel discrete Laplacian (4-neighbour), replicate padding, size kept."""
    kernel = x.new_tensor(LAPLACE_3X3).expand(x.shape[1], 1, 3, 3)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=x.shape[1])


@LOSSES.register()
class CharbonnierEdgeLoss(nn.Module):
    """``loss_weight * charbonnier(Delta(pred), Delta(target), eps)`` (Eq. 9)."""

    inputs = ("output", "high")

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-3, operator: str = "pyramid") -> None:
        super().__init__()
        if operator not in EDGE_OPERATORS:
            raise ValueError(f"unknown edge operator {operator!r}; choose one of {EDGE_OPERATORS}")
        self.loss_weight, self.eps, self.operator = loss_weight, eps, operator

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.shape != target.shape or pred.dim() != 4:
            raise ValueError(f"edge loss needs two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} and "
                             f"{tuple(target.shape)}")
        delta = laplacian if self.operator == "pyramid" else laplace3x3
        return self.loss_weight * charbonnier(delta(pred), delta(target), self.eps)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, eps={self.eps}, operator={self.operator!r}"
