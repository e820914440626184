"""The HVI colour space of HVI-CIDNet (Yan et al., CVPR 2025, §3.1, Eqs. 1-6; repo ``Fediory/HVI-CIDNet``
``net/HVI_transform.py``), used by CIDNet and ICLR.

Forward (RGB in [0, 1] -> H, V, I; channel order ``[H, V, I]``):

* intensity ``I = max(R, G, B)``; HSV hue ``h`` in [0, 1) and saturation ``S = (max - min) / (max + eps)``;
* the collapse function ``C_k = (sin(pi I / 2) + eps) ** k`` with the learnable density ``k``;
* ``H = C_k S cos(2 pi h)``, ``V = C_k S sin(2 pi h)``.

The code's ``density_k`` (init 0.2) is the reciprocal of the paper's k (a comment in the official code); the
parameter is named ``density_k`` so official checkpoints load (``trans.density_k``).

Inverse: clamp, divide H, V by ``C_k + eps``, clamp again, ``h = atan2(V + eps, H + eps) / 2 pi mod 1``,
``s = sqrt(H^2 + V^2 + eps)``, then the standard HSV -> RGB sextant formula.

Official-code details kept: eps = 1e-8 everywhere it appears, the hue assignment order blue, green, red (red wins
ties), hue 0 for grey pixels, ``S = 0`` where ``max = 0``. The official inverse uses the k of the *last* forward call
stored as a Python float (``this_k``, no gradient); here the inverse reads the current ``density_k`` detached, which
is the same value in every training/eval call (the forward transform always runs first) and keeps no hidden state.

One deliberate difference: when ``h`` rounds up to exactly 1.0 in float32 (``atan2`` of a tiny negative angle),
the official code finds no sextant (``floor(6h) = 6``) and outputs black; here the sextant index is taken modulo 6
(hue 0), the mathematically correct colour.

Test-time options of the official ``eval.py`` are explicit arguments of :meth:`HVITransform.inverse`, never
attributes: ``saturation_gate`` (``gated``: s x 1.3, LOLv1) and ``rgb_scale`` (``gated2``: RGB x alpha, LOLv2-real).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from llie_core.core.precision import full_precision

EPS = 1e-8


def rgb_to_hue_saturation(rgb: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor, Tensor]:
    """(hue in [0, 1), saturation, value) of a (B, 3, H, W) RGB tensor, each (B, 1, H, W), as the official HVIT."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    value = rgb.amax(dim=1, keepdim=True)
    vmin = rgb.amin(dim=1, keepdim=True)
    delta = value - vmin + eps
    hue = torch.zeros_like(value)
    hue = torch.where(b == value, 4.0 + (r - g) / delta, hue)
    hue = torch.where(g == value, 2.0 + (b - r) / delta, hue)
    hue = torch.where(r == value, torch.remainder((g - b) / delta, 6.0), hue)
    hue = torch.where(vmin == value, torch.zeros_like(hue), hue) / 6.0
    saturation = torch.where(value == 0, torch.zeros_like(value), (value - vmin) / (value + eps))
    return hue, saturation, value


def hsv_to_rgb(hue: Tensor, saturation: Tensor, value: Tensor) -> Tensor:
    """Standard sextant HSV -> RGB (hue in [0, 1]); inputs (B, 1, H, W), output (B, 3, H, W)."""
    sector = torch.floor(hue * 6.0)
    f = hue * 6.0 - sector
    v, s = value, saturation
    p, q, t = v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s)
    index = torch.remainder(sector, 6.0).long()
    candidates = {  # per channel, the value for sectors 0..5
        "r": torch.cat([v, q, p, p, t, v], dim=1),
        "g": torch.cat([t, v, v, q, p, p], dim=1),
        "b": torch.cat([p, p, t, v, v, q], dim=1),
    }
    return torch.cat([c.gather(1, index) for c in candidates.values()], dim=1)


class HVITransform(nn.Module):
    """RGB <-> HVI with a learnable density ``k`` (``density_k``, shape [1], official init 0.2).

    ``forward(rgb)`` returns the (B, 3, H, W) HVI tensor ``[H, V, I]``; :meth:`inverse` maps it back to RGB.
    """

    def __init__(self, density_k: float = 0.2, eps: float = EPS) -> None:
        super().__init__()
        self.density_k = nn.Parameter(torch.full([1], float(density_k)))
        self.eps = eps

    def collapse(self, intensity: Tensor, k: Tensor) -> Tensor:
        """``C_k(I) = (sin(pi I / 2) + eps) ** k`` (paper Eq. 3, with the code's reciprocal k)."""
        return (torch.sin(intensity * (0.5 * math.pi)) + self.eps).pow(k)

    @full_precision
    def forward(self, rgb: Tensor) -> Tensor:
        _check(rgb, "RGB")
        hue, saturation, value = rgb_to_hue_saturation(rgb, self.eps)
        chroma = self.collapse(value, self.density_k) * saturation
        angle = 2.0 * math.pi * hue
        return torch.cat([chroma * torch.cos(angle), chroma * torch.sin(angle), value], dim=1)

    @full_precision
    def inverse(self, hvi: Tensor, saturation_gate: float | None = None, rgb_scale: float | None = None,
                k_gradient: bool = False) -> Tensor:
        """HVI -> RGB (official ``PHVIT``).

        Args:
            saturation_gate: multiply the recovered saturation by this factor before clamping (official
                ``gated``, 1.3 for the LOLv1 test). ``None``: off.
            rgb_scale: multiply the RGB result by this factor (official ``gated2`` alpha, e.g. 0.84 for the
                LOLv2-real test). ``None``: off.
            k_gradient: let gradients reach ``density_k`` through the inverse (the official code does not).
        """
        _check(hvi, "HVI")
        k = self.density_k if k_gradient else self.density_k.detach()
        h = hvi[:, 0:1].clamp(-1, 1)
        v = hvi[:, 1:2].clamp(-1, 1)
        intensity = hvi[:, 2:3].clamp(0, 1)
        collapse = self.collapse(intensity, k) + self.eps
        h = (h / collapse).clamp(-1, 1)
        v = (v / collapse).clamp(-1, 1)
        hue = torch.remainder(torch.atan2(v + self.eps, h + self.eps) / (2.0 * math.pi), 1.0)
        saturation = torch.sqrt(h * h + v * v + self.eps)
        if saturation_gate is not None:
            saturation = saturation * saturation_gate
        rgb = hsv_to_rgb(hue, saturation.clamp(0, 1), intensity)
        return rgb * rgb_scale if rgb_scale is not None else rgb

    def extra_repr(self) -> str:
        return f"density_k={self.density_k.item():.6g}, eps={self.eps:g}"


def _check(x: Tensor, name: str) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"the HVI transform expects a (B, 3, H, W) {name} tensor, got shape {tuple(x.shape)}")
