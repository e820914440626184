"""MATLAB building blocks shared by NIQE and BRISQUE (natural scene statistics), ported from the LIVE
MATLAB releases (``computequality.m`` / ``brisque_feature.m``, ``estimateaggdparam.m``, ``estimateggdparam.m``)
and MATLAB's ``rgb2gray`` / ``imresize`` (bicubic, antialiased), as BasicSR's ``matlab_functions.py`` does."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve
from scipy.special import gamma as gamma_fn

PRECISIONS = {"float32": np.float32, "float64": np.float64}
ROUNDOFF_NOTE = (
    "Precision: in flat regions the local variance E[x^2] - mu^2 is ~0 and the MSCN values there are round-off "
    "noise, whose signs feed the AGGD fits, so MATLAB's numbers depend on its round-off. Single precision (BasicSR's "
    "NIQE arithmetic, the default) reproduces the official TID2013 values within 0.034 (NIQE) / 2.7 (BRISQUE); "
    "precision='float64' drifts by 0.39 / 8.1 on I19.")


def as_precision(img: np.ndarray, precision: str) -> np.ndarray:
    """Cast to the working precision of the NSS pipeline (``'float32'`` or ``'float64'``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    return img.astype(PRECISIONS[precision])


MATLAB_GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def matlab_rgb2gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on an ``(H, W, 3)`` image in [0, 255]; rounded when the input holds 8-bit levels
    (MATLAB's uint8 path), unrounded otherwise (its double path)."""
    gray = img @ MATLAB_GRAY_WEIGHTS
    return np.round(gray) if np.array_equal(img, np.round(img)) else gray


def matlab_gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """``fspecial('gaussian', size, sigma)`` normalised to sum 1."""
    r = (size - 1) / 2.0
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    w = np.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    return w / w.sum()


def mscn(img: np.ndarray, window: np.ndarray, mode: str) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients ``(I - mu) / (sigma + 1)``.

    ``mode='nearest'`` = MATLAB ``imfilter(..., 'replicate')`` (NIQE); ``mode='constant'`` = ``filter2(..., 'same')``
    zero padding (BRISQUE)."""
    mu = convolve(img, window, mode=mode)
    sigma = np.sqrt(np.abs(convolve(img * img, window, mode=mode) - mu * mu))
    return (img - mu) / (sigma + 1.0)


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _resize_matrix(in_len: int, scale: float) -> np.ndarray:
    """The ``(out_len, in_len)`` matrix of MATLAB's bicubic ``imresize`` along one axis (antialiased when
    shrinking, symmetric boundary), from MATLAB's ``contributions``."""
    out_len = int(np.ceil(in_len * scale))
    antialias = scale < 1
    kernel_width = 4.0 / scale if antialias else 4.0
    u = np.arange(1, out_len + 1) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    idx = left[:, None] + np.arange(int(np.ceil(kernel_width)) + 2)[None, :]
    dist = u[:, None] - idx
    weights = scale * _cubic(dist * scale) if antialias else _cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    cols = mirror[np.mod(idx - 1, 2 * in_len).astype(np.int64)]
    matrix = np.zeros((out_len, in_len))
    np.add.at(matrix, (np.repeat(np.arange(out_len), idx.shape[1]), cols.ravel()), weights.ravel())
    return matrix


def matlab_imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB ``imresize(img, scale)`` (bicubic, antialiasing on) for a 2-D float image; no rounding/clipping."""
    if img.ndim != 2:
        raise ValueError(f"matlab_imresize expects a 2-D image, got shape {img.shape}")
    out = _resize_matrix(img.shape[0], scale) @ img @ _resize_matrix(img.shape[1], scale).T
    return out.astype(img.dtype, copy=False)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# MATLAB ``gam = 0.2:0.001:10`` and the GGD moment ratio gamma(1/g)gamma(3/g)/gamma(2/g)^2 over it (constants).
SHAPE_GRID = _read_only(np.linspace(0.2, 10.0, 9801))
GGD_RATIO = _read_only(gamma_fn(1.0 / SHAPE_GRID) * gamma_fn(3.0 / SHAPE_GRID) / gamma_fn(2.0 / SHAPE_GRID) ** 2)


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """``estimateggdparam.m``: shape ``alpha`` (moment matching on the grid) and ``sigma`` (RMS)."""
    x = x.ravel()
    sigma_sq = np.mean(x * x)
    rho = sigma_sq / np.mean(np.abs(x)) ** 2
    return float(SHAPE_GRID[np.argmin(np.abs(rho - GGD_RATIO))]), float(np.sqrt(sigma_sq))


def fit_aggd(x: np.ndarray) -> tuple[float, float, float]:
    """``estimateaggdparam.m``: shape ``alpha`` and the left / right standard deviations."""
    x = x.ravel()
    left_std = np.sqrt(np.mean(x[x < 0] ** 2))
    right_std = np.sqrt(np.mean(x[x > 0] ** 2))
    gamma_hat = left_std / right_std
    r_hat = np.mean(np.abs(x)) ** 2 / np.mean(x * x)
    r_hat_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = SHAPE_GRID[np.argmin((1.0 / GGD_RATIO - r_hat_norm) ** 2)]
    return float(alpha), float(left_std), float(right_std)


def aggd_beta_scale(alpha: float) -> float:
    """``sqrt(gamma(1/alpha) / gamma(3/alpha))``: std -> AGGD scale ``beta``."""
    return float(np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha)))


def aggd_mean(alpha: float, beta_left: float, beta_right: float) -> float:
    """Mean of an AGGD: ``(beta_r - beta_l) * gamma(2/alpha) / gamma(1/alpha)``."""
    return float((beta_right - beta_left) * gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha))


def neighbour_products(coeffs: np.ndarray, shifts: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
    """``coeffs .* circshift(coeffs, shift)`` for each shift (MATLAB circshift = ``np.roll``)."""
    return [coeffs * np.roll(coeffs, shift, axis=(0, 1)) for shift in shifts]
