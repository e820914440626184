"""JCRNet stage 3, the illumination adjustment stage (IAS; paper §III-C, Fig. 3(3), Eq. 7).

Back projection (ref. [33], via DLN ref. [15]): features x_F aggregated from the low-light input and the previous
stage's output go through a lightening block L1 and a darkening block D; the residual ``lambda x_F - D(L1(x_F))``
is lightened again by L2, ``R_F = L2(lambda x_F - D(L1(x_F)))`` (Eq. 7), and R_F is added to the prediction.
Lightening/darkening blocks: encoding conv + PReLU (64 -> 32), offset conv + PReLU, code +/- offset, decoding conv
+ PReLU (32 -> 64), as the paper describes. The aggregation and prediction path follow the released stage 7.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from llie_core.models.jcrnet_fes import ChannelAttention, FidelityStep, conv, shallow_features


def conv_prelu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    """DLN ``ConvBlock``: conv (bias) + PReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2), nn.PReLU())


class OffsetBlock(nn.Module):
    """Lightening (``sign=+1``) or darkening (``sign=-1``) block: ``dec(enc(x) + sign * offset(enc(x)))``."""

    def __init__(self, width: int = 64, sign: int = 1) -> None:
        super().__init__()
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 (lighten) or -1 (darken), got {sign}")
        self.sign = sign
        self.encoder = conv_prelu(width, width // 2)
        self.offset = conv_prelu(width // 2, width // 2)
        self.decoder = conv_prelu(width // 2, width)

    def forward(self, x: Tensor) -> Tensor:
        code = self.encoder(x)
        return self.decoder(code + self.sign * self.offset(code))


class BackProjection(nn.Module):
    """Eq. 7 ``R_F = L2(lambda * x_F - D(L1(x_F)))``; ``lam`` is learned unless ``learn_lambda=False``."""

    def __init__(self, width: int = 64, lam: float = 1.0, learn_lambda: bool = True) -> None:
        super().__init__()
        self.lighten1, self.darken, self.lighten2 = OffsetBlock(width, 1), OffsetBlock(width, -1), OffsetBlock(width, 1)
        lam_tensor = torch.tensor([float(lam)])
        if learn_lambda:
            self.lam = nn.Parameter(lam_tensor)
        else:
            self.register_buffer("lam", lam_tensor)

    def forward(self, x_f: Tensor) -> Tensor:
        return self.lighten2(self.lam * x_f - self.darken(self.lighten1(x_f)))


class Aggregation(nn.Module):
    """Feature aggregation (§III-C): concatenate, calibrate (``z + CA(z)``, squeeze-excitation as the released
    ``FusionLayer``), integrate (conv3x3 + PReLU to the back-projection width)."""

    def __init__(self, in_channels: int, out_channels: int = 64, reduction: int = 4) -> None:
        super().__init__()
        self.calibrate = ChannelAttention(in_channels, reduction)
        self.integrate = conv_prelu(in_channels, out_channels)

    def forward(self, *features: Tensor) -> Tensor:
        z = torch.cat(features, dim=1)
        return self.integrate(z + self.calibrate(z))


class IAS(nn.Module):
    """``forward(x, x_prev, fes_features) -> (enhanced, residual_image)``.

    x_F = Aggregation(CAB(conv(s)), fes_features) with ``s = x_prev - step * res_2(res_1(x_prev) - x)``, the
    Eq. 1 step taken from the previous stage's output towards the input (released stage 7); the prediction is
    ``x + tail(x_F)`` and ``residual_tail(R_F)`` (R_F of Eq. 7 in image space) is added to it.
    ``feature_channels=0`` when there is no FES ("w/o FES": nothing to concatenate).
    """

    def __init__(self, n_feat: int = 40, feature_channels: int = 40, reduction: int = 4, prior_width: int = 64,
                 width: int = 64, step: float = 1.0, learn_step: bool = False, lam: float = 1.0,
                 learn_lambda: bool = True) -> None:
        super().__init__()
        self.fidelity = FidelityStep(prior_width, step, learn_step)
        self.shallow = shallow_features(n_feat, reduction, cab=True)
        self.aggregate = Aggregation(n_feat + feature_channels, width, reduction)
        self.back_projection = BackProjection(width, lam, learn_lambda)
        self.tail = conv(width, 3)
        self.residual_tail = conv(width, 3)

    def forward(self, x: Tensor, x_prev: Tensor, features: Tensor | None = None) -> tuple[Tensor, Tensor]:
        f = self.shallow(self.fidelity(x_prev, x))
        x_f = self.aggregate(f) if features is None else self.aggregate(f, features)
        residual = self.residual_tail(self.back_projection(x_f))
        return x + self.tail(x_f) + residual, residual
