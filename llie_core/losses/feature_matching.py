"""Feature matching loss, FRLIE Eq. 3: ``L_FM = || F_r - F_h ||_1`` with F_r = FRNet(E(I_l)), F_h = E(I_h).

Released-code bug: ``Model.process_restoration`` (``src/models.py``) computes the target as E(input), i.e. the
*low-light* features, so FRNet is pulled towards the identity. ``target='high'`` (default) is the paper;
``target='low'`` reproduces the release. Both targets carry no gradient (E is frozen in stage 2).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES

FEATURE_TARGETS = ("high", "low")


@LOSSES.register()
class FeatureMatchingLoss(nn.Module):
    """``loss_weight * mean |restored - target|`` (mean-reduced L1 as ``nn.L1Loss``; lambda_FM = 0.2 in Eq. 7)."""

    def __init__(self, loss_weight: float = 1.0, target: str = "high") -> None:
        super().__init__()
        if target not in FEATURE_TARGETS:
            raise ValueError(f"unknown feature target {target!r}; choose 'high' (paper Eq. 3: E(normal-light)) "
                             f"or 'low' (released code: E(low-light input))")
        self.loss_weight = loss_weight
        self.target = target
        # tensors read from the model outputs (``FRLIE.stage2_outputs``) by the loss set
        self.inputs = {"restored": "restored", f"features_{target}": f"features_{target}"}

    def forward(self, restored: Tensor, features_high: Tensor | None = None,
                features_low: Tensor | None = None) -> Tensor:
        """``restored`` = FRNet(E(low)); pass E(high) and/or E(low) (``FRLIE.stage2_outputs`` gives all three)."""
        target = features_high if self.target == "high" else features_low
        if target is None:
            raise ValueError(f"FeatureMatchingLoss(target={self.target!r}) needs features_{self.target}=E("
                             f"{'normal-light' if self.target == 'high' else 'low-light'} image)")
        if target.shape != restored.shape:
            raise ValueError(f"feature shapes differ: restored {tuple(restored.shape)} vs target "
                             f"{tuple(target.shape)}")
        return self.loss_weight * F.l1_loss(restored, target.detach())
