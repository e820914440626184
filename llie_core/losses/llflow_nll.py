"""LLFlow's objective: negative log-likelihood of the reference under the conditional flow (LLFlow paper Eq. 3-4).

Change of variables: ``-log p(x_h | x_l) = -log N(z; mu, I) - log|det dz/dx_h|`` with ``z = f(x_h; x_l)`` and
``mu`` the squeezed colour map (``g(x_l)``, or the reference's ``C(x_h)`` picked by the random selector). As in the
released code (``LLFlow_arch.py``) it is reported in bits per *pixel* (divided by ``ln 2 * H * W``, not by the
number of dimensions) and no dequantisation noise is added.
"""
from __future__ import annotations

from torch import Tensor, nn

from llie_core.losses.registry import LOSSES
from llie_core.models.llflow_flow import flow_nll


@LOSSES.register()
class LLFlowNLLLoss(nn.Module):
    """``loss_weight * mean_batch NLL`` from the model's ``z``, ``logdet`` and ``prior_mean`` outputs; ``high``
    only gives the pixel count (``LLFlow.nll_outputs`` returns the first three)."""

    inputs = ("z", "logdet", "prior_mean", "high")

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, z: Tensor, logdet: Tensor, prior_mean: Tensor, high: Tensor) -> Tensor:
        if logdet.shape != z.shape[:1]:
            raise ValueError(f"logdet must hold one value per sample ({z.shape[0]}), got shape {tuple(logdet.shape)}")
        return self.loss_weight * flow_nll(z, logdet, prior_mean, high.shape[-2] * high.shape[-1]).mean()

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"
