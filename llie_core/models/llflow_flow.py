"""LLFlow's invertible network: Glow-style steps conditioned on encoder features (paper §"Invertible network").

Every layer maps ``(x, logdet) -> (y, logdet + log|det dy/dx|)`` forward and inverts it with ``reverse=True``
(logdet then decreases by the same amount). Per level: squeeze x2, ``n_plain`` unconditional steps (ActNorm,
invertible 1x1 conv) and ``K`` conditional steps (ActNorm, 1x1 conv, conditional affine coupling).

Names and numerics follow the released code (``wyf0912/LLFlow`` ``code/models/modules/FlowStep.py``,
``FlowAffineCouplingsAblation.py``, ``FlowActNorms.py``, ``Permutations.py``, ``flow.py``) so the official state
dict loads with ``strict=True`` (``shared/specs/weight_compat.md`` §3.3):

* ActNorm (Kingma & Dhariwal 2018): ``y = (x + bias) * exp(logs)``; data-dependent init on the first training
  batch (zero mean, unit std per channel); logdet ``H*W*sum(logs)``.
* Invertible 1x1 conv: full ``C x C`` matrix, random orthogonal (QR) init, no LU; the inverse is computed in
  float64; logdet ``H*W*log|det W|``.
* Conditional coupling (``CondAffineSeparatedAndCond``): a feature-only affine on all channels,
  ``z <- (z + shift_f) * scale_f`` with ``[shift_f, s_f] = fFeatures(cond)``, then an affine coupling of the
  second half, ``z2 <- (z2 + shift) * scale`` with ``[shift, s] = fAffine(cat(z1, cond))``; shift = even output
  channels, ``scale = sigmoid(s + 2) + 1e-4`` = odd channels. Each NN is conv3x3 + ActNorm, ReLU, conv1x1 +
  ActNorm, ReLU, zero-initialised conv3x3 scaled by ``exp(3 * logs)``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def squeeze2d(x: Tensor, factor: int = 2) -> Tensor:
    """``(B, C, H, W) -> (B, C*f*f, H/f, W/f)``; output channel ``c*f*f + dy*f + dx`` (released ``flow.squeeze2d``)."""
    b, c, h, w = x.shape
    if h % factor or w % factor:
        raise ValueError(f"squeeze by {factor} needs H and W divisible by {factor}, got {h}x{w}; pad the input "
                         f"(LLFlow needs multiples of 8)")
    x = x.reshape(b, c, h // factor, factor, w // factor, factor).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * factor * factor, h // factor, w // factor)


def unsqueeze2d(x: Tensor, factor: int = 2) -> Tensor:
    """Inverse of :func:`squeeze2d`."""
    b, c, h, w = x.shape
    x = x.reshape(b, c // (factor * factor), factor, factor, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // (factor * factor), h * factor, w * factor)


def _pixels(x: Tensor) -> int:
    return x.shape[2] * x.shape[3]


def _add(logdet: Tensor | None, delta: Tensor) -> Tensor | None:
    return None if logdet is None else logdet + delta


class ActNorm2d(nn.Module):
    """Per-channel affine ``(x + bias) * exp(logs)`` with data-dependent initialisation (Glow §3.1).

    The first forward-direction call in training mode sets ``bias = -mean`` and ``logs = log(1 / (std + 1e-6))``
    over the batch (averaged over processes under ``torch.distributed``), unless the parameters were loaded (a
    state-dict load marks the layer initialised) or ``bias`` is already non-zero (the released code's test).
    Reverse calls never initialise (the released code would normalise the latent instead; assumption).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.initialized = False

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """Data-dependent init from the batch ``x`` (zero mean, unit variance per channel)."""
        bias = -x.mean(dim=(0, 2, 3), keepdim=True)
        var = ((x + bias) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        logs = torch.log(1.0 / (var.sqrt() + 1e-6))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
            for t in (bias, logs):
                torch.distributed.all_reduce(t)
                t.div_(world)
        self.bias.copy_(bias)
        self.logs.copy_(logs)
        self.initialized = True

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 (torch hook signature)
        super()._load_from_state_dict(*args, **kwargs)
        self.initialized = True

    def forward(self, x: Tensor, logdet: Tensor | None = None, reverse: bool = False) -> tuple[Tensor, Tensor | None]:
        if not self.initialized and self.training and not reverse:
            if bool((self.bias != 0).any()):
                self.initialized = True
            else:
                self.initialize(x.detach())
        dlogdet = self.logs.sum() * _pixels(x)
        if not reverse:
            return (x + self.bias) * torch.exp(self.logs), _add(logdet, dlogdet)
        return x * torch.exp(-self.logs) - self.bias, _add(logdet, -dlogdet)


class InvertibleConv1x1(nn.Module):
    """Invertible 1x1 convolution with a full ``C x C`` weight (Glow §3.2), random orthogonal init."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linalg.qr(torch.randn(channels, channels))[0])

    def forward(self, x: Tensor, logdet: Tensor | None = None, reverse: bool = False) -> tuple[Tensor, Tensor | None]:
        c = self.weight.shape[0]
        dlogdet = torch.linalg.slogdet(self.weight)[1] * _pixels(x)
        if not reverse:
            return F.conv2d(x, self.weight.view(c, c, 1, 1)), _add(logdet, dlogdet)
        inverse = torch.linalg.inv(self.weight.double()).to(x.dtype)
        return F.conv2d(x, inverse.view(c, c, 1, 1)), _add(logdet, -dlogdet)


class Conv2dActNorm(nn.Conv2d):
    """'same'-padded conv without bias followed by an :class:`ActNorm2d` (weights ~ N(0, 0.05))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        nn.init.normal_(self.weight, 0.0, 0.05)
        self.actnorm = ActNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.actnorm(super().forward(x))[0]


class Conv2dZeros(nn.Conv2d):
    """Zero-initialised 'same' conv whose output is scaled by ``exp(logscale_factor * logs)`` (Glow)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, logscale_factor: float = 3.0) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.logscale_factor = logscale_factor
        self.logs = nn.Parameter(torch.zeros(out_channels, 1, 1))
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * torch.exp(self.logs * self.logscale_factor)


def coupling_net(in_channels: int, out_channels: int, hidden: int = 64) -> nn.Sequential:
    """``Sequential(0 Conv3x3+ActNorm, 1 ReLU, 2 Conv1x1+ActNorm, 3 ReLU, 4 Conv2dZeros 3x3)``."""
    return nn.Sequential(Conv2dActNorm(in_channels, hidden, 3), nn.ReLU(), Conv2dActNorm(hidden, hidden, 1),
                         nn.ReLU(), Conv2dZeros(hidden, out_channels, 3))


class CondAffineCoupling(nn.Module):
    """Feature-conditioned affine followed by an affine coupling (released ``CondAffineSeparatedAndCond``)."""

    def __init__(self, channels: int, cond_channels: int, hidden: int = 64, eps: float = 1e-4) -> None:
        super().__init__()
        self.channels_nn = channels // 2
        self.eps = eps
        self.fAffine = coupling_net(self.channels_nn + cond_channels, 2 * (channels - self.channels_nn), hidden)
        self.fFeatures = coupling_net(cond_channels, 2 * channels, hidden)

    def _shift_scale(self, h: Tensor) -> tuple[Tensor, Tensor]:
        return h[:, 0::2], torch.sigmoid(h[:, 1::2] + 2.0) + self.eps

    def forward(self, z: Tensor, cond: Tensor, logdet: Tensor | None = None,
                reverse: bool = False) -> tuple[Tensor, Tensor | None]:
        shift_f, scale_f = self._shift_scale(self.fFeatures(cond))
        if not reverse:
            z = (z + shift_f) * scale_f
            logdet = _add(logdet, torch.log(scale_f).sum(dim=(1, 2, 3)))
        z1, z2 = z[:, :self.channels_nn], z[:, self.channels_nn:]
        shift, scale = self._shift_scale(self.fAffine(torch.cat([z1, cond], dim=1)))
        if not reverse:
            z2 = (z2 + shift) * scale
            return torch.cat([z1, z2], dim=1), _add(logdet, torch.log(scale).sum(dim=(1, 2, 3)))
        z = torch.cat([z1, z2 / scale - shift], dim=1)
        logdet = _add(logdet, -torch.log(scale).sum(dim=(1, 2, 3)))
        return z / scale_f - shift_f, _add(logdet, -torch.log(scale_f).sum(dim=(1, 2, 3)))


class FlowStep(nn.Module):
    """ActNorm -> invertible 1x1 conv -> [conditional affine coupling] (``affine`` absent when unconditional)."""

    def __init__(self, channels: int, cond_channels: int | None = None, hidden: int = 64, eps: float = 1e-4) -> None:
        super().__init__()
        self.actnorm = ActNorm2d(channels)
        self.invconv = InvertibleConv1x1(channels)
        self.affine = CondAffineCoupling(channels, cond_channels, hidden, eps) if cond_channels else None

    def forward(self, z: Tensor, logdet: Tensor | None = None, reverse: bool = False,
                cond: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if self.affine is not None and cond is None:
            raise ValueError("a conditional FlowStep needs the conditioning features (cond=...)")
        if not reverse:
            z, logdet = self.actnorm(z, logdet)
            z, logdet = self.invconv(z, logdet)
            if self.affine is not None:
                z, logdet = self.affine(z, cond, logdet)
            return z, logdet
        if self.affine is not None:
            z, logdet = self.affine(z, cond, logdet, reverse=True)
        z, logdet = self.invconv(z, logdet, reverse=True)
        return self.actnorm(z, logdet, reverse=True)


class SqueezeLayer(nn.Module):
    """Space-to-depth x2 (volume preserving: logdet unchanged)."""

    def forward(self, x: Tensor, logdet: Tensor | None = None, reverse: bool = False,
                cond: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        return (unsqueeze2d(x) if reverse else squeeze2d(x)), logdet


class FlowUpsamplerNet(nn.Module):
    """The multi-level flow: ``layers`` = per level ``[Squeeze, n_plain x FlowStep, K x conditional FlowStep]``.

    Level ``l`` (1..L) runs at ``H/2^l`` with ``3*4^l`` channels and is conditioned on ``conds[l]`` (encoder
    features at that resolution with ``cond_channels`` channels). ``f`` is a parameterised conv the released
    class builds but never calls (``unused_f_in`` input channels); it is kept only so official checkpoints load
    strictly.
    """

    def __init__(self, K: int = 12, L: int = 3, n_plain: int = 2, cond_channels: int = 320, hidden: int = 64,
                 eps: float = 1e-4, in_channels: int = 3, unused_f_in: int = 320) -> None:
        super().__init__()
        self.L = L
        self.layers = nn.ModuleList()
        self.levels: list[int] = []
        channels = in_channels
        for level in range(1, L + 1):
            channels *= 4
            steps = [SqueezeLayer()] + [FlowStep(channels, None, hidden, eps) for _ in range(n_plain)]
            steps += [FlowStep(channels, cond_channels, hidden, eps) for _ in range(K)]
            self.layers.extend(steps)
            self.levels += [level] * len(steps)
        self.out_channels = channels
        self.f = nn.Sequential(nn.Conv2d(unused_f_in, 2 * 3 * 64, 3, padding=1))

    @property
    def initialized(self) -> bool:
        """Whether every ActNorm layer has its data-dependent (or loaded) parameters."""
        return all(m.initialized for m in self.modules() if isinstance(m, ActNorm2d))

    def encode(self, x: Tensor, conds: Mapping[int, Tensor], logdet: Tensor) -> tuple[Tensor, Tensor]:
        """Image -> latent ``z`` (``out_channels`` x H/2^L x W/2^L) and accumulated log-determinant."""
        for layer, level in zip(self.layers, self.levels):
            x, logdet = layer(x, logdet, cond=conds.get(level))
        return x, logdet

    def decode(self, z: Tensor, conds: Mapping[int, Tensor], logdet: Tensor) -> tuple[Tensor, Tensor]:
        """Latent -> image (inverse of :meth:`encode`); logdet decreases by the forward log-determinant."""
        for layer, level in zip(reversed(self.layers), reversed(self.levels)):
            z, logdet = layer(z, logdet, reverse=True, cond=conds.get(level))
        return z, logdet


# ------------------------------------------------------------------------ density (LLFlow Eq. 3-4)
LOG_2PI = math.log(2 * math.pi)


def flow_nll(z: Tensor, logdet: Tensor, mean: Tensor, num_pixels: int) -> Tensor:
    """Per-sample NLL in bits per pixel: ``-(logdet + sum log N(z; mean, I)) / (ln 2 * num_pixels)``."""
    log_prior = (-0.5 * ((z - mean) ** 2 + LOG_2PI)).flatten(1).sum(1)
    return -(logdet + log_prior) / (math.log(2.0) * num_pixels)
