"""Hue loss, FRLIE Eq. 6: circular distance between the HSV hues of the output and the normal-light image.

Paper vs. code. The printed Eq. 6, ``(1/180) * || 180 - |H(D(F_r)) - H(I_h)| ||_1``, lacks the outer
``180 - |.|`` (as printed it would *reward* hue differences). The released ``src/loss.py`` computes the
wrap-around distance ``d = 180 - |180 - |h1 - h2||`` in degrees (0 <= d <= 180) and returns ``mean(d) / 360``.
We implement that distance (the only reading under which Eq. 6 is a loss) with the paper's prefactor:
``normalizer=180`` (the default) gives ``mean(d) / 180`` in [0, 1]; ``normalizer=360`` is the released code's
value (half the paper's loss; variant ``released_code`` of configs/frlie). The L1 norm is taken as a mean over
pixels (both the code and the other FRLIE losses average).
"""
from __future__ import annotations

import math

import kornia
import torch
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES


def hue_degrees(rgb: Tensor, gray_hue: float = 0.0) -> Tensor:
    """HSV hue in degrees [0, 360) of a (B, 3, H, W) RGB tensor (kornia's ``rgb_to_hsv``).

    Gray pixels (max == min, hue undefined) get ``gray_hue`` and no gradient, so gray images give finite
    gradients. (The released code divides by ``max - min + 1e-10`` and, through ``argmin`` tie-breaking, gives
    gray pixels hue 180 with gradients up to 60/1e-10; set ``gray_hue=180`` to match its values.)
    """
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"hue needs a (B, 3, H, W) RGB tensor, got shape {tuple(rgb.shape)}")
    hue = kornia.color.rgb_to_hsv(rgb)[:, 0] * (180.0 / math.pi)
    gray = rgb.amax(dim=1) == rgb.amin(dim=1)
    return torch.where(gray, torch.full_like(hue, gray_hue), hue)


def circular_hue_distance(h1: Tensor, h2: Tensor) -> Tensor:
    """``180 - |180 - |h1 - h2||``: the shorter way round the hue circle, in degrees (350 vs 10 -> 20)."""
    return 180 - (180 - (h1 - h2).abs()).abs()


@LOSSES.register()
class HueLoss(nn.Module):
    """``loss_weight * mean(d) / normalizer`` with ``d`` the circular hue distance (FRLIE Eq. 6;
    lambda_Hue = 0.05 in Eq. 7). Range [0, 180 / normalizer].

    ``normalizer``: 180 (default) is the paper's ``1/180`` prefactor; 360 is the released ``src/loss.py``
    (explicit official option, which halves the loss and so the effective lambda_Hue).
    """

    PAPER_NORMALIZER = 180.0
    RELEASED_NORMALIZER = 360.0

    def __init__(self, loss_weight: float = 1.0, normalizer: float = PAPER_NORMALIZER,
                 gray_hue: float = 0.0) -> None:
        super().__init__()
        if normalizer <= 0:
            raise ValueError(f"normalizer must be positive, got {normalizer}")
        self.loss_weight = loss_weight
        self.normalizer = normalizer
        self.gray_hue = gray_hue

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        d = circular_hue_distance(hue_degrees(pred, self.gray_hue), hue_degrees(target, self.gray_hue))
        return self.loss_weight * d.mean() / self.normalizer
