"""Covariance Correction Loss (CCL) of ICLR (Xu et al., AAAI 2026, arXiv 2511.13607, §"Covariance Correction
Loss"; code ``Derliye/ICLR`` ``loss/losses.py`` class ``CCL``), on HVI tensors ``[H, V, I]``.

``L_CCL = L_I + L_{I-HV} + L_HV`` with, for a prediction (H, V, I) and its reference (H^, V^, I^):

* ``L_I = l(I, I^)``;
* luminance-guided chrominance correction ``L_{I-HV} = W_H l(H, H^) + W_V l(V, V^)``, ``W_H = 1 + mean|I - I^|``,
  ``W_V = 1 + std|I - I^|`` (luminance-residual statistics; not detached, as released);
* chrominance "covariance" ``L_HV = mean_b (mean_px(H V) - mean_px(H^ V^))^2`` (the joint second moment E[HV]
  per image, as the paper's formula and the code; not mean-centred).

``l`` is the mean squared error (released code; the paper says "pixel-wise"). Residual statistics are taken over
the whole batch (released code; ``std`` unbiased).

Channel order. The paper's meaning (``channel_order='paper'``, default) reads the HVI transform's output as
(H, V, I) = channels (0, 1, 2). The released code reads (I, H, V) = (0, 1, 2) although the transform outputs
(H, V, I), so there the "luminance" statistics come from H, ``W_H`` weights V, ``W_V`` weights I and the product
term is V * I: ``channel_order='released'`` reproduces that.
"""
from __future__ import annotations

from types import MappingProxyType

import torch.nn.functional as F
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES

CHANNEL_ORDERS = MappingProxyType({"paper": (0, 1, 2), "released": (1, 2, 0)})  # indices of (H, V, I)


def hv_second_moment(hvi: Tensor, order: str = "paper") -> Tensor:
    """Per-image ``mean_px(H * V)`` of a (B, 3, h, w) HVI tensor (the statistic L_HV matches), shape (B,)."""
    h, v, _ = _split(hvi, order)
    return (h * v).mean(dim=(1, 2))


def hv_covariance(hvi: Tensor, order: str = "paper") -> Tensor:
    """Per-image covariance ``mean((H - mean H)(V - mean V))`` of the chrominance channels, shape (B,) (for the
    paper's low-covariance analysis)."""
    h, v, _ = _split(hvi, order)
    h = h - h.mean(dim=(1, 2), keepdim=True)
    v = v - v.mean(dim=(1, 2), keepdim=True)
    return (h * v).mean(dim=(1, 2))


def _split(hvi: Tensor, order: str) -> tuple[Tensor, Tensor, Tensor]:
    if order not in CHANNEL_ORDERS:
        raise ValueError(f"unknown channel_order {order!r}; choose one of {sorted(CHANNEL_ORDERS)}")
    if hvi.dim() != 4 or hvi.shape[1] != 3:
        raise ValueError(f"CCL expects (B, 3, H, W) HVI tensors, got shape {tuple(hvi.shape)}; point its inputs at "
                         f"[output_hvi, high_hvi]")
    ih, iv, ii = CHANNEL_ORDERS[order]
    return hvi[:, ih], hvi[:, iv], hvi[:, ii]


@LOSSES.register()
class CovarianceCorrectionLoss(nn.Module):
    """``loss_weight * (L_I + L_{I-HV} + L_HV)`` on HVI tensors (default ``inputs``: output_hvi, high_hvi).

    Args:
        loss_weight: overall weight (official 1.0).
        channel_order: ``'paper'`` (H, V, I) or ``'released'`` (the code's I, H, V reading).
    """

    inputs = ("output_hvi", "high_hvi")

    def __init__(self, loss_weight: float = 1.0, channel_order: str = "paper") -> None:
        super().__init__()
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"unknown channel_order {channel_order!r}; choose one of {sorted(CHANNEL_ORDERS)}")
        self.loss_weight = loss_weight
        self.channel_order = channel_order

    def components(self, pred: Tensor, target: Tensor) -> dict[str, Tensor]:
        """The unweighted terms ``L_I``, ``L_I_HV``, ``L_HV`` and the weights ``W_H``, ``W_V``."""
        h, v, i = _split(pred, self.channel_order)
        h_ref, v_ref, i_ref = _split(target, self.channel_order)
        residual = (i - i_ref).abs()
        w_h, w_v = 1.0 + residual.mean(), 1.0 + residual.std()
        moments = (h * v).mean(dim=(1, 2)) - (h_ref * v_ref).mean(dim=(1, 2))
        return {"L_I": F.mse_loss(i, i_ref),
                "L_I_HV": w_h * F.mse_loss(h, h_ref) + w_v * F.mse_loss(v, v_ref),
                "L_HV": moments.pow(2).mean(), "W_H": w_h, "W_V": w_v}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        terms = self.components(pred, target)
        return self.loss_weight * (terms["L_I"] + terms["L_I_HV"] + terms["L_HV"])

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, channel_order={self.channel_order!r}"


__all__ = ["CovarianceCorrectionLoss", "hv_second_moment", "hv_covariance"]
