"""GT-mean correction: an explicit wrapper, never a default (anchors_and_protocols.md, methods.md §0).

Origin: the KinD evaluation script. HVI-CIDNet / ICLR ``measure.py`` (``--use_GT_mean``) and Retinexformer
``test_from_dataset.py --GT_mean`` rescale the (8-bit) output by ``mean_gray(target) / mean_gray(output)``,
clip to the valid range and score the result without re-rounding. Variants (``variant=``):

- ``hvi`` (default): gray = cv2 RGB->GRAY (BT.601 ``.299R + .587G + .114B``, rounded on 8-bit images). With the
  8-bit output (``quantize=True``, the default) it reproduces IRLE Table 1 Zero-DCE 21.06/0.535 (``psnr_gtmean`` /
  ``ssim_gtmean`` of the released weights on LOLv1 eval15: 21.0567 / 0.5351; the other variants tried are in
  :mod:`llie_core.analysis.gt_mean_anchor` and notebook 05).
- ``retinexformer``: cv2 BGR->GRAY applied to RGB arrays, i.e. swapped R/B weights, unrounded floats.
- ``llflow``: LLFlow ``code/test.py``: gray mean of the target over the plain mean of *all output channels*.

Registered names: ``<base>_gtmean`` for every full-reference base metric in :data:`GT_MEAN_BASES`; this module
registers them itself, after importing the modules that register the bases.
"""
from __future__ import annotations

import torch

from llie_core.metrics import full_reference, lpips_metric  # noqa: F401  (register the bases wrapped below)
from llie_core.metrics.base import FR, Metric, MetricInfo
from llie_core.metrics.registry import create_metric, metric_info, register_metric

BT601 = (0.299, 0.587, 0.114)
VARIANTS = ("hvi", "retinexformer", "llflow")
GT_MEAN_BASES = ("psnr", "ssim", "ssim_matlab_gray", "ssim_gray", "lpips_alex", "lpips_vgg")  # full_reference, lpips


CV2_GRAY_FIXED_POINT = (9798, 19235, 3735)  # cv2 5.x RGB->GRAY on uint8: (9798R + 19235G + 3735B + 2^14) >> 15


def _gray_mean(x: torch.Tensor, weights: tuple[float, float, float], round_8bit: bool) -> torch.Tensor:
    """Mean gray level per image. With ``round_8bit``, 8-bit images (checked per image, up to float error) use
    cv2's exact fixed-point uint8 formula, as the official scripts do on saved PNGs; others the float weights."""
    x = x.double()
    levels = x * 255.0
    gray = torch.einsum("nchw,c->nhw", levels, torch.tensor(weights, dtype=x.dtype))
    if round_8bit:
        is_8bit = ((levels - torch.round(levels)).abs().flatten(1).amax(dim=1) < 1e-6).view(-1, 1, 1)
        q = torch.round(levels).to(torch.int64)
        fixed = torch.tensor(CV2_GRAY_FIXED_POINT if weights == BT601 else CV2_GRAY_FIXED_POINT[::-1])
        gray_8bit = (torch.einsum("nchw,c->nhw", q, fixed) + (1 << 14)) >> 15
        gray = torch.where(is_8bit, gray_8bit.double(), gray)
    return gray.flatten(1).mean(dim=1) / 255.0


def gray_mean(x: torch.Tensor, weights: tuple[float, float, float] = BT601, round_8bit: bool = True) -> torch.Tensor:
    """Mean gray level per image of an ``(N, 3, H, W)`` batch in [0, 1] (see the ``hvi`` variant: cv2's uint8
    fixed point on 8-bit images when ``round_8bit``, else the float ``weights``)."""
    return _gray_mean(x, weights, round_8bit)


def gt_mean_scale(output: torch.Tensor, target: torch.Tensor, variant: str = "hvi") -> torch.Tensor:
    """Per-image factor ``mean(target) / mean(output)`` of the chosen ``variant`` (shape ``(N,)``)."""
    if variant == "hvi":
        out_mean, gt_mean = _gray_mean(output, BT601, True), _gray_mean(target, BT601, True)
    elif variant == "retinexformer":
        out_mean, gt_mean = _gray_mean(output, BT601[::-1], False), _gray_mean(target, BT601[::-1], False)
    elif variant == "llflow":
        out_mean, gt_mean = output.double().flatten(1).mean(dim=1), _gray_mean(target, BT601, True)
    else:
        raise ValueError(f"GT-mean variant must be one of {VARIANTS}, got {variant!r}")
    if (out_mean <= 0).any():
        raise ValueError("GT-mean is undefined for an all-black output (mean 0); score it without GT-mean")
    return gt_mean / out_mean


def apply_gt_mean(output: torch.Tensor, target: torch.Tensor, variant: str = "hvi") -> torch.Tensor:
    """``clip(output * scale, 0, 1)`` with the per-image GT-mean ``scale`` (no re-rounding)."""
    scale = gt_mean_scale(output, target, variant).view(-1, 1, 1, 1)
    return (output.double() * scale).clamp(0.0, 1.0).to(output.dtype)


class GTMean(Metric):
    """Scores ``inner`` on the GT-mean-corrected output; the inner metric's 8-bit quantisation applies first."""

    def __init__(self, inner: Metric, variant: str = "hvi", info: MetricInfo | None = None) -> None:
        if inner.info.kind != FR:
            raise ValueError(f"GT-mean needs a full-reference metric, {inner.name!r} is {inner.info.kind}")
        if variant not in VARIANTS:
            raise ValueError(f"GT-mean variant must be one of {VARIANTS}, got {variant!r}")
        super().__init__(info or gt_mean_info(inner.info), device=inner.device, quantize=inner.quantize)
        self.inner, self.variant = inner, variant

    def score(self, output: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return self.inner.score(apply_gt_mean(output, target, self.variant), target)


def gt_mean(metric: Metric | str, variant: str = "hvi", **overrides) -> GTMean:
    """Wrap a full-reference metric (object or registered name) with the GT-mean correction."""
    inner = create_metric(metric, **overrides) if isinstance(metric, str) else metric
    return GTMean(inner, variant=variant)


def gt_mean_info(base: MetricInfo) -> MetricInfo:
    return MetricInfo(f"{base.name}_gtmean", FR, base.lower_better,
                      "GT-mean corrected (output x mean_gray(target)/mean_gray(output), clipped; variant='hvi' "
                      "default, HVI-CIDNet measure.py on the 8-bit output: reproduces IRLE Table 1 Zero-DCE "
                      f"21.06/0.535 with psnr/ssim; 'retinexformer', 'llflow'), then: {base.description}",
                      base.score_range,
                      factory=_gt_mean_factory(base.name))


def _gt_mean_factory(base_name: str):
    def factory(info: MetricInfo, device="cpu", variant: str = "hvi", **overrides) -> GTMean:
        return GTMean(create_metric(base_name, device=device, **overrides), variant=variant, info=info)
    return factory


def _register_variants(bases: tuple[str, ...]) -> None:
    """Register ``<name>_gtmean`` for each base metric (full-reference ones only: GT-mean needs the target)."""
    for name in bases:
        base = metric_info(name)
        if base.kind != FR:
            raise ValueError(f"GT-mean needs a full-reference metric, {name!r} is {base.kind}")
        register_metric(gt_mean_info(base))


_register_variants(GT_MEAN_BASES)
