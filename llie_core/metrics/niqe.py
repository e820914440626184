"""NIQE (Mittal, Soundararajan, Bovik, IEEE SPL 2013, "Making a completely blind image quality analyzer"),
faithful to the LIVE MATLAB release ``computequality.m`` with the LIVE pristine model (``niqe_pris_params.npz``,
the file BasicSR / iqa-torch ship), as BasicSR's numpy ``calculate_niqe`` ports it: 8-bit gray input rounded,
crop_border 0, 96x96 blocks, 2 scales (MATLAB bicubic antialiased ``imresize(., 0.5)``), 36 features per block,
``sqrt((mu_p - mu_d) pinv((C_p + C_d)/2) (mu_p - mu_d)^T)``. Lower is better.

Official differences offered as options: ``color='ycbcr_y'`` (BasicSR's default input, used by HVI-CIDNet's
``measure_niqe_bris.py``; ``'ycbcr_y_swapped'`` reproduces its RGB-as-BGR quirk), ``precision`` (see below).

Images without natural-scene statistics (protocol): a flat image (one gray level after rounding) and an image
of which fewer than two blocks have finite features score NaN (MATLAB's ``niqe`` gives NaN too), with one
``RuntimeWarning`` saying why; numpy's own warnings of the flat blocks are silenced. Blocks with undefined
features are left out of the mean feature vector (as BasicSR does). Tables never drop such a NaN: their means
propagate it and state how many images they average (``llie_core.evaluation``)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from llie_core.core import assets
from llie_core.metrics.base import NR, MetricInfo, PerImageMetric
from llie_core.metrics.nss import (ROUNDOFF_NOTE, aggd_beta_scale, aggd_mean, as_precision, fit_aggd, matlab_imresize,
                                   matlab_rgb2gray, mscn, neighbour_products)
from llie_core.metrics.registry import metric_class, register_metric

NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # computequality.m computefeature
YCBCR_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def block_features(block: np.ndarray) -> list[float]:
    """``computefeature``: AGGD (alpha, mean beta) of the MSCN block, then (alpha, mean, beta_l, beta_r) of
    the four neighbour products (circular shifts inside the block)."""
    alpha, std_l, std_r = fit_aggd(block)
    scale = aggd_beta_scale(alpha)
    feats = [alpha, (std_l + std_r) * scale / 2.0]
    for product in neighbour_products(block, NIQE_SHIFTS):
        alpha, std_l, std_r = fit_aggd(product)
        scale = aggd_beta_scale(alpha)
        feats += [alpha, aggd_mean(alpha, std_l * scale, std_r * scale), std_l * scale, std_r * scale]
    return feats


def niqe_features(gray: np.ndarray, window: np.ndarray, block_size: int = 96) -> np.ndarray:
    """``(n_blocks, 36)`` features of a 2-D image in [0, 255] (cropped to whole blocks first)."""
    rows, cols = gray.shape[0] // block_size, gray.shape[1] // block_size
    img = gray[:rows * block_size, :cols * block_size]
    per_scale = []
    for scale in (1, 2):
        coeffs, size = mscn(img, window, mode="nearest"), block_size // scale
        per_scale.append(np.array([block_features(coeffs[r * size:(r + 1) * size, c * size:(c + 1) * size])
                                   for r in range(rows) for c in range(cols)]))
        img = matlab_imresize(img, 0.5)
    return np.concatenate(per_scale, axis=1)


def niqe_score(gray: np.ndarray, params: dict[str, np.ndarray], block_size: int = 96) -> float:
    """NIQE of a rounded 2-D gray image in [0, 255] against the pristine model ``params``; NaN (with a
    ``RuntimeWarning``) for a flat image or one with fewer than two blocks of finite features."""
    rows, cols = gray.shape[0] // block_size, gray.shape[1] // block_size
    if rows * cols < 2:
        raise ValueError(f"NIQE needs at least two {block_size}x{block_size} blocks (a feature covariance), "
                         f"got an image of {gray.shape[0]}x{gray.shape[1]}; use e.g. >= {block_size}x{2 * block_size}")
    if np.ptp(gray) == 0:
        warnings.warn(f"NIQE is undefined for a flat image (every pixel {float(gray.flat[0]):g} of 255, "
                      f"{gray.shape[0]}x{gray.shape[1]}): scored NaN, which table means keep (never dropped)",
                      RuntimeWarning, stacklevel=2)
        return float("nan")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # flat blocks: "Mean of empty slice" etc.
        feats = niqe_features(gray, params["gaussian_window"], block_size)
    finite = feats[~np.isnan(feats).any(axis=1)]
    if len(finite) < 2:  # flat blocks have no NSS statistics; MATLAB's niqe gives NaN as well
        warnings.warn(f"NIQE is undefined for this {gray.shape[0]}x{gray.shape[1]} image: only {len(finite)} of "
                      f"{len(feats)} blocks have finite features (a flat or nearly flat image); scored NaN, which "
                      "table means keep (never dropped)",
                      RuntimeWarning, stacklevel=2)
        return float("nan")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu = np.nanmean(feats, axis=0)
    cov = np.cov(finite, rowvar=False)
    diff = params["mu_pris_param"].ravel() - mu
    return float(np.sqrt(diff @ np.linalg.pinv((params["cov_pris_param"] + cov) / 2.0) @ diff))


def to_niqe_gray(img: np.ndarray, color: str) -> np.ndarray:
    """The 2-D image NIQE sees: ``matlab_gray`` (LIVE release), ``ycbcr_y`` (BasicSR ``convert_to='y'``) or
    ``ycbcr_y_swapped`` (HVI-CIDNet quirk: RGB fed where BasicSR expects BGR, so R/B weights swap). Rounded."""
    if color == "matlab_gray":
        return np.round(matlab_rgb2gray(img))
    if color in ("ycbcr_y", "ycbcr_y_swapped"):
        weights = YCBCR_Y_WEIGHTS[::-1] if color == "ycbcr_y_swapped" else YCBCR_Y_WEIGHTS
        return np.round(img @ weights + 16.0)
    raise ValueError(f"color must be 'matlab_gray', 'ycbcr_y' or 'ycbcr_y_swapped', got {color!r}")


class NIQE(PerImageMetric):
    __doc__ = "NIQE with the LIVE pristine parameters (offline asset; ``python -m llie_core.core.assets setup``).\n\n" \
        + ROUNDOFF_NOTE

    def __init__(self, info: MetricInfo, device: str = "cpu", quantize: bool = True, color: str = "matlab_gray",
                 block_size: int = 96, crop_border: int = 0, precision: str = "float32") -> None:
        super().__init__(info, device=device, quantize=quantize)
        to_niqe_gray(np.zeros((1, 1, 3)), color)  # validate options now, not at the first image
        as_precision(np.zeros(1), precision)
        self.color, self.block_size, self.crop_border, self.precision = color, block_size, crop_border, precision
        self.params = assets.niqe_pristine_params()

    def score_image(self, output: np.ndarray, target: np.ndarray | None = None) -> float:
        gray = as_precision(to_niqe_gray(output, self.color), self.precision)
        if self.crop_border:
            gray = gray[self.crop_border:-self.crop_border, self.crop_border:-self.crop_border]
        return niqe_score(gray, self.params, self.block_size)


register_metric(MetricInfo(
    "niqe", NR, True, "NIQE, LIVE MATLAB release (computequality.m) with the LIVE pristine model, MATLAB rgb2gray "
    "input rounded, 96x96 blocks, 2 scales, crop_border 0 (BasicSR calculate_niqe port; color='ycbcr_y' for "
    "BasicSR's default). Needs >= 2 blocks. A flat image (one gray level) or one with < 2 blocks of finite "
    "features scores NaN (with a RuntimeWarning); table means keep the NaN.", (0.0, math.inf), factory=metric_class(NIQE)))
