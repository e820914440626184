"""PSNR and the four SSIM protocols used by the LLIE papers (methods.md §0, anchors_and_protocols.md).

All of them score 8-bit images by default (``quantize=True``): LOL results are saved as PNG and the
LOL / Retinexformer / HVI-CIDNet / LLFlow scripts measure the uint8 files. ``quantize=False`` scores the floats.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity

from llie_core.metrics.base import FR, Metric, MetricInfo, PerImageMetric
from llie_core.metrics.nss import matlab_rgb2gray
from llie_core.metrics.registry import metric_class, register_metric


class PSNR(Metric):
    """PSNR on RGB, ``10 log10(1 / MSE)`` with data range 1 over all pixels and channels (HVI ``measure.py``,
    LLFlow ``Measure.py`` = skimage ``peak_signal_noise_ratio`` on uint8 RGB). Identical images give ``inf``
    (HVI adds 1e-8 to the MSE; we do not)."""

    def score(self, output: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        mse = (output - target).pow(2).flatten(1).mean(dim=1)
        return 10.0 * torch.log10(1.0 / mse)


def _is_8bit(img: np.ndarray) -> bool:
    """True when the [0, 255] image holds integer levels, i.e. it is what MATLAB / cv2 would see as uint8."""
    return bool(np.array_equal(img, np.round(img)))


def opencv_rgb2gray(img: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor(img, COLOR_RGB2GRAY)`` (BT.601, rounded on uint8 as OpenCV does), as float64."""
    src = img.astype(np.uint8) if _is_8bit(img) else img.astype(np.float32)
    return cv2.cvtColor(src, cv2.COLOR_RGB2GRAY).astype(np.float64)


def matlab_ssim(output: np.ndarray, target: np.ndarray) -> float:
    """Wang et al.'s ``ssim.m`` window: 11x11 Gaussian sigma 1.5, K1=0.01, K2=0.03, L=255, population
    covariance, mean over the valid region (5-px border dropped); per channel then averaged for colour."""
    channel_axis = -1 if output.ndim == 3 else None
    return float(structural_similarity(output, target, data_range=255.0, channel_axis=channel_axis,
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


class SSIM(PerImageMetric):
    """MATLAB-style SSIM per RGB channel, averaged (Retinexformer ``utils.py``, HVI ``measure.py``)."""

    def score_image(self, output: np.ndarray, target: np.ndarray | None) -> float:
        return matlab_ssim(output, target)


class SSIMMatlabGray(PerImageMetric):
    """MATLAB ``ssim(rgb2gray(a), rgb2gray(b))``: the same window on MATLAB's rgb2gray
    (``round(.298936 R + .587043 G + .114021 B)`` for 8-bit input). The calibration CSV's SSIM column."""

    def score_image(self, output: np.ndarray, target: np.ndarray | None) -> float:
        return matlab_ssim(matlab_rgb2gray(output), matlab_rgb2gray(target))


class SSIMGray(PerImageMetric):
    """LLFlow ``code/Measure.py``: ``skimage ssim(cv2 RGB2GRAY(a), cv2 RGB2GRAY(b))`` with skimage defaults
    (7x7 uniform window, sample covariance, data range 255 for uint8). LLFlow's README calls it "SSIM (gray)"."""

    def score_image(self, output: np.ndarray, target: np.ndarray | None) -> float:
        return float(structural_similarity(opencv_rgb2gray(output), opencv_rgb2gray(target), data_range=255.0))


FRLIE_SSIM_WINDOW = 51


class SSIMFRLIE(PerImageMetric):
    """FRLIE's released evaluation script: ``compare_ssim(rgb2gray(gt), rgb2gray(pred), data_range=1,
    win_size=51)`` (skimage ``structural_similarity``; ``compare_ssim`` is its old name), i.e. skimage ``rgb2gray``
    (0.2125 R + 0.7154 G + 0.0721 B, no rounding) of the [0, 1] float images, a 51x51 uniform window, sample
    covariance, K1 = 0.01, K2 = 0.03, data range 1, mean over the valid region. The images are the 8-bit outputs
    (PNG read as floats / 255) unless ``quantize=False``. This is the protocol of FRLIE's reported SSIM (ledger
    metric ``ssim_frlie``, Table 1)."""

    def score_image(self, output: np.ndarray, target: np.ndarray | None) -> float:
        return frlie_ssim(output / 255.0, target / 255.0)


def frlie_ssim(output: np.ndarray, target: np.ndarray) -> float:
    """FRLIE's SSIM of two RGB float images in [0, 1] (HWC): the released script's call, argument order included."""
    return float(structural_similarity(rgb2gray(target), rgb2gray(output), data_range=1,
                                       win_size=FRLIE_SSIM_WINDOW))


_QUANT = " Scored on 8-bit quantised images unless quantize=False."
register_metric(MetricInfo(
    "psnr", FR, False, "PSNR (dB) on RGB, data range 1, MSE over all channels." + _QUANT, (0.0, math.inf),
    factory=metric_class(PSNR)))
register_metric(MetricInfo(
    "ssim", FR, False, "SSIM, MATLAB ssim.m window (11x11 Gaussian sigma 1.5, K1=.01, K2=.03, L=255, valid "
    "region) per RGB channel, averaged (Retinexformer / HVI-CIDNet convention)." + _QUANT, (-1.0, 1.0),
    factory=metric_class(SSIM)))
register_metric(MetricInfo(
    "ssim_matlab_gray", FR, False, "SSIM, MATLAB ssim.m window on MATLAB rgb2gray "
    "(round(.298936R+.587043G+.114021B)): MATLAB ssim(rgb2gray(a), rgb2gray(b))." + _QUANT, (-1.0, 1.0),
    factory=metric_class(SSIMMatlabGray)))
register_metric(MetricInfo(
    "ssim_gray", FR, False, "SSIM, LLFlow convention: skimage defaults (7x7 uniform window, sample covariance) "
    "on cv2 RGB2GRAY images (LLFlow code/Measure.py)." + _QUANT, (-1.0, 1.0),
    factory=metric_class(SSIMGray)))
register_metric(MetricInfo(
    "ssim_frlie", FR, False, "SSIM, FRLIE released evaluation script: skimage structural_similarity(rgb2gray(gt), "
    "rgb2gray(pred), data_range=1, win_size=51) on [0, 1] float images (skimage rgb2gray 0.2125R+0.7154G+0.0721B, "
    "51x51 uniform window, sample covariance, valid region); the protocol of FRLIE's reported SSIM." + _QUANT,
    (-1.0, 1.0), factory=metric_class(SSIMFRLIE)))
