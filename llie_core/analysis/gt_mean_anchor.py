"""Zero-DCE as the anchor that ties the papers' GT-mean protocols together (issue 19 §5; notebook 05).

Zero-DCE's released weights are a row of LLFlow's LOL table and of IRLE's Table 1 (LOLv1, GT-mean 21.06 / 0.535).
:func:`gt_mean_variant_table` scores one set of outputs under the GT-mean variants of the leading repositories,
so the variant behind a reported GT-mean number can be named. Every variant rescales the output by a per-image
factor ``mean(target) / mean(output)`` and scores PSNR (RGB, data range 1) and SSIM (MATLAB ``ssim.m`` window per RGB
channel, the registry's ``ssim``) of the result against the 8-bit reference; the variants differ in

* the output the factor is computed on and applied to: the 8-bit output (a saved PNG, as every official script
  reads it) or the float network output;
* the means: gray means with OpenCV's BT.601 RGB->GRAY (HVI-CIDNet / ICLR ``measure.py``; exact uint8 fixed point on
  8-bit images), with the R/B weights swapped (Retinexformer ``--GT_mean`` on RGB arrays), LLFlow ``test.py`` (gray
  mean of the target over the plain mean of all output channels), per-channel means (one factor per channel), or
  the mean over all channels of both images;
* clipping to [0, 1] after the rescaling (all official scripts clip) and re-rounding to 8 bits (none does).

Result (LOLv1 eval15, 15 full 600x400 pairs, released ``Epoch99.pth``): the suite's default ``psnr_gtmean`` /
``ssim_gtmean`` (variant ``hvi``: HVI-CIDNet's gray-mean ratio on the 8-bit output, clipped, not re-rounded) gives
21.0567 / 0.5351 and reproduces IRLE Table 1's Zero-DCE 21.06 / 0.535; see notebook 05 for the whole table.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from llie_core.core.profiles import Profile
from llie_core.evaluation.baselines import build_enhancer
from llie_core.evaluation.suite import paired_test_set
from llie_core.metrics import create_metric
from llie_core.metrics.base import quantize_8bit
from llie_core.metrics.gt_mean import BT601, gray_mean

# IRLE Table 1, Zero-DCE (official weights), LOLv1 GT-mean: PSNR / SSIM as printed, and the match tolerances of the
# issue (0.02 dB, 0.002): half a unit of the printed decimals would be 0.005 / 0.0005.
IRLE_ZERO_DCE_GTMEAN = {"psnr": 21.06, "ssim": 0.535}
MATCH_TOLERANCE = {"psnr": 0.02, "ssim": 0.002}
PRINTED_DECIMALS = {"psnr": 2, "ssim": 3}   # IRLE prints 21.06 / 0.535
MEANS = ("gray_cv2", "gray_bgr", "llflow", "per_channel", "rgb")


@dataclass(frozen=True)
class GTMeanVariant:
    """One GT-mean protocol: see the module docstring for the fields."""

    name: str
    description: str
    means: str = "gray_cv2"
    output_8bit: bool = True
    clip: bool = True
    reround: bool = False

    def __post_init__(self) -> None:
        if self.means not in MEANS:
            raise ValueError(f"means must be one of {MEANS}, got {self.means!r}")

    def scale(self, output: Tensor, target: Tensor) -> Tensor:
        """The per-image (``(N, 1, 1, 1)``) or per-channel (``(N, 3, 1, 1)``) factor."""
        if self.means == "gray_cv2":
            ratio = gray_mean(target, BT601, True) / gray_mean(output, BT601, True)
        elif self.means == "gray_bgr":
            ratio = gray_mean(target, BT601[::-1], False) / gray_mean(output, BT601[::-1], False)
        elif self.means == "llflow":
            ratio = gray_mean(target, BT601, True) / output.double().flatten(1).mean(dim=1)
        elif self.means == "rgb":
            ratio = target.double().flatten(1).mean(dim=1) / output.double().flatten(1).mean(dim=1)
        else:
            return (target.double().mean(dim=(2, 3)) / output.double().mean(dim=(2, 3))).view(-1, 3, 1, 1)
        return ratio.view(-1, 1, 1, 1)

    def correct(self, output: Tensor, target: Tensor) -> Tensor:
        """The corrected float64 output (may exceed 1 when ``clip`` is False)."""
        out = quantize_8bit(output.double()) if self.output_8bit else output.double()
        corrected = out * self.scale(out, target.double())
        if self.clip:
            corrected = corrected.clamp(0.0, 1.0)
        if self.reround:
            corrected = quantize_8bit(corrected.clamp(0.0, 1.0))
        return corrected


VARIANTS: tuple[GTMeanVariant, ...] = (
    GTMeanVariant("hvi", "HVI-CIDNet / ICLR measure.py (the suite's psnr_gtmean / ssim_gtmean): cv2 BT.601 gray means "
                         "of the 8-bit output and GT, clipped, not re-rounded"),
    GTMeanVariant("hvi_rerounded", "as hvi, the corrected output re-rounded to 8 bits", reround=True),
    GTMeanVariant("hvi_no_clip", "as hvi, not clipped", clip=False),
    GTMeanVariant("hvi_float", "as hvi on the float network output (no 8-bit rounding before the correction)",
                  output_8bit=False),
    GTMeanVariant("retinexformer", "Retinexformer --GT_mean: cv2 BGR2GRAY on RGB arrays (R/B weights swapped), "
                                   "float gray", means="gray_bgr"),
    GTMeanVariant("llflow", "LLFlow test.py: gray mean of the GT over the mean of all output channels",
                  means="llflow"),
    GTMeanVariant("per_channel", "per-channel means (one factor per RGB channel), 8-bit output, clipped",
                  means="per_channel"),
    GTMeanVariant("per_channel_float", "per-channel means on the float output, clipped", means="per_channel",
                  output_8bit=False),
    GTMeanVariant("rgb_mean", "mean over all channels of output and GT (one factor), 8-bit output, clipped",
                  means="rgb"),
)


def gt_mean_variant_table(pairs: Iterable[tuple[Tensor, Tensor]], variants: Sequence[GTMeanVariant] = VARIANTS,
                          reported: Mapping[str, float] = IRLE_ZERO_DCE_GTMEAN,
                          tolerance: Mapping[str, float] = MATCH_TOLERANCE) -> pd.DataFrame:
    """One row per variant: ``variant, description, psnr, ssim`` (means over the ``(output, target)`` pairs: float
    ``(3, H, W)`` or ``(1, 3, H, W)`` images in [0, 1], the target 8-bit), ``d_psnr`` / ``d_ssim`` (minus
    ``reported``), ``matches`` (both within ``tolerance``) and ``printed_digits`` (both round to the reported
    numbers at the printed decimals, :data:`PRINTED_DECIMALS`)."""
    psnr, ssim = create_metric("psnr", quantize=False), create_metric("ssim", quantize=False)
    scores: dict[str, dict[str, list[float]]] = {v.name: {"psnr": [], "ssim": []} for v in variants}
    for output, target in pairs:
        output = output.reshape(1, *output.shape[-3:]).double()
        target = quantize_8bit(target.reshape(1, *target.shape[-3:]).double())
        for v in variants:
            corrected = v.correct(output, target)
            scores[v.name]["psnr"].append(float(psnr.score(corrected, target)[0]))
            scores[v.name]["ssim"].append(float(ssim.score(corrected, target)[0]))
    rows: list[dict[str, Any]] = []
    for v in variants:
        row: dict[str, Any] = {"variant": v.name, "description": v.description,
                               "psnr": float(np.mean(scores[v.name]["psnr"])),
                               "ssim": float(np.mean(scores[v.name]["ssim"]))}
        for m in ("psnr", "ssim"):
            row[f"d_{m}"] = row[m] - reported[m]
        row["matches"] = all(abs(row[f"d_{m}"]) <= tolerance[m] for m in ("psnr", "ssim"))
        row["printed_digits"] = all(round(row[m], PRINTED_DECIMALS[m]) == round(reported[m], PRINTED_DECIMALS[m])
                                    for m in ("psnr", "ssim"))
        rows.append(row)
    return pd.DataFrame(rows)


def enhanced_pairs(enhancer: Any, dataset: Iterable[Mapping[str, Any]]) -> list[tuple[Tensor, Tensor]]:
    """``(output, target)`` of every item of a paired test set (:func:`~llie_core.evaluation.suite.paired_test_set`),
    both cropped to the item's ``size`` as the suite crops them; the output is the enhancer's float output."""
    pairs = []
    for item in dataset:
        low = item["low"][None] if item["low"].ndim == 3 else item["low"]
        high = item["high"][None] if item["high"].ndim == 3 else item["high"]
        h, w = (int(v) for v in item.get("size", low.shape[-2:]))
        with torch.no_grad():
            out = enhancer(low.float())
        pairs.append((out[..., :h, :w].float().cpu(), high[..., :h, :w].float()))
    return pairs


def zero_dce_anchor_table(profile: Profile, dataset: str = "lol_v1") -> pd.DataFrame:
    """:func:`gt_mean_variant_table` of the released Zero-DCE (weights under ``profile.data.weights_root``; raises
    :class:`~llie_core.evaluation.baselines.WeightsAbsent` without them) on ``dataset``'s test set as the profile
    crops it (``quick`` / ``paper``: LOLv1 eval15 at full 600x400)."""
    pairs = enhanced_pairs(build_enhancer("zero_dce", weights_root=profile.data.weights_root),
                           paired_test_set(dataset, profile.data))
    return gt_mean_variant_table(pairs).assign(dataset=dataset, images=len(pairs))


__all__ = ["zero_dce_anchor_table", "PRINTED_DECIMALS", "GTMeanVariant", "VARIANTS", "IRLE_ZERO_DCE_GTMEAN", "MATCH_TOLERANCE", "gt_mean_variant_table",
           "enhanced_pairs"]
