"""LIME: Guo, Li & Ling, "LIME: Low-light Image Enhancement via Illumination Map Estimation", IEEE TIP 2017.

Steps (paper Sec. III), all on an (H,W,3) image L in [0,1]:

1. Initial illumination, Eq. (2): ``T_hat(x) = max_c L^c(x)``.
2. Refinement objective: ``min_T ||T_hat - T||_F^2 + alpha * ||W o grad T||_1`` (W: structure-aware weights).
3. Sped-up solver: the l1 term is approximated by ``sum_x sum_{d in h,v} W_d(x) (grad_d T(x))^2 /
   (|grad_d T_hat(x)| + eps)``, so the minimiser solves the sparse SPD system
   ``(I + alpha * sum_d D_d^T Diag(w_tilde_d) D_d) t = t_hat`` with ``w_tilde_d = W_d / (|grad_d T_hat| + eps)``
   (solved here with ``scipy.sparse.linalg.spsolve``, or conjugate gradients with ``solver='cg'``).
4. Weighting strategies: I ``W_d = 1``; II ``W_d = 1 / (|grad_d T_hat| + eps)``; III (default)
   ``W_d = sum_y G_sigma(x,y) / (|sum_y G_sigma(x,y) grad_d T_hat(y)| + eps)`` (Gaussian-smoothed gradient).
5. Gamma correction of the illumination ``T <- T^gamma`` (gamma = 0.8) and ``R = L / T`` (Retinex, Eq. (1)).

Choices and assumptions (configurable): alpha = 0.15, sigma = 2, eps = 1e-3, gamma = 0.8 (the paper's
experimental settings as we read them); forward differences with a zero gradient past the last row/column
(Neumann border; the official code's FFT variant wraps around); ``T`` is floored at ``t_floor = 1e-3`` before
dividing; output clipped to [0,1]. The optional BM3D denoising of the paper (Sec. III-D) is out of scope: this is
LIME without denoising. Large images: when H*W exceeds ``max_pixels`` the system is solved on an area-downsampled
``T_hat`` and the refined T is bilinearly upsampled (the output keeps full resolution; T loses fine structure).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from llie_core.evaluation.baselines.classical import per_image
from llie_core.evaluation.baselines.registry import ENHANCERS
from llie_core.evaluation.loop import Enhancer, as_enhancer


def initial_illumination(image: np.ndarray) -> np.ndarray:
    """Eq. (2): the max over colour channels of an (H,W,3) image."""
    return image.max(axis=-1)


def forward_gradients(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical forward differences, zero past the last column/row (matches the D matrices)."""
    grad_h = np.zeros_like(t)
    grad_v = np.zeros_like(t)
    grad_h[:, :-1] = t[:, 1:] - t[:, :-1]
    grad_v[:-1, :] = t[1:, :] - t[:-1, :]
    return grad_h, grad_v


def difference_operators(height: int, width: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Sparse D_h, D_v on row-major flattened (H,W) maps, consistent with :func:`forward_gradients`."""

    def diff_1d(n: int) -> sp.csr_matrix:
        d = sp.diags([-np.ones(n), np.ones(n - 1)], [0, 1], shape=(n, n), format="lil")
        d[n - 1, n - 1] = 0.0
        return d.tocsr()

    d_h = sp.kron(sp.identity(height), diff_1d(width), format="csr")
    d_v = sp.kron(diff_1d(height), sp.identity(width), format="csr")
    return d_h, d_v


def structure_weights(t_hat: np.ndarray, strategy: int = 3, sigma: float = 2.0, eps: float = 1e-3
                      ) -> tuple[np.ndarray, np.ndarray]:
    """W_h, W_v of strategy I, II or III (Gaussian sums normalised, so the numerator is 1)."""
    grads = forward_gradients(t_hat)
    if strategy == 1:
        return np.ones_like(t_hat), np.ones_like(t_hat)
    if strategy == 2:
        return tuple(1.0 / (np.abs(g) + eps) for g in grads)  # type: ignore[return-value]
    if strategy == 3:
        return tuple(1.0 / (np.abs(ndi.gaussian_filter(g, sigma, mode="nearest")) + eps)
                     for g in grads)  # type: ignore[return-value]
    raise ValueError(f"LIME: strategy must be 1, 2 or 3, got {strategy!r}")


def illumination_system(t_hat: np.ndarray, alpha: float, strategy: int = 3, sigma: float = 2.0,
                        eps: float = 1e-3) -> tuple[sp.csr_matrix, np.ndarray]:
    """The sped-up solver's ``A = I + alpha * sum_d D_d^T Diag(w_tilde_d) D_d`` and right-hand side ``t_hat``."""
    height, width = t_hat.shape
    d_h, d_v = difference_operators(height, width)
    w_h, w_v = structure_weights(t_hat, strategy, sigma, eps)
    g_h, g_v = forward_gradients(t_hat)
    wt_h = (w_h / (np.abs(g_h) + eps)).ravel()
    wt_v = (w_v / (np.abs(g_v) + eps)).ravel()
    laplacian = d_h.T @ sp.diags(wt_h) @ d_h + d_v.T @ sp.diags(wt_v) @ d_v
    system = (sp.identity(height * width, format="csr") + alpha * laplacian).tocsr()
    return system, t_hat.ravel().astype(np.float64)


def solve_illumination(t_hat: np.ndarray, alpha: float = 0.15, strategy: int = 3, sigma: float = 2.0,
                       eps: float = 1e-3, solver: str = "spsolve") -> np.ndarray:
    """Refined illumination T (H,W): the sped-up solver's linear system solved exactly (or by CG)."""
    system, rhs = illumination_system(t_hat.astype(np.float64), alpha, strategy, sigma, eps)
    if solver == "spsolve":
        t = spla.spsolve(system.tocsc(), rhs)
    elif solver == "cg":
        t, info = spla.cg(system, rhs, x0=rhs, rtol=1e-8, maxiter=2000)
        if info != 0:
            raise RuntimeError(f"LIME: conjugate gradients did not converge (info={info}); use solver='spsolve'")
    else:
        raise ValueError(f"LIME: solver must be 'spsolve' or 'cg', got {solver!r}")
    return t.reshape(t_hat.shape)


def estimate_illumination(image: np.ndarray, alpha: float = 0.15, strategy: int = 3, sigma: float = 2.0,
                          eps: float = 1e-3, max_pixels: int = 1_000_000, solver: str = "spsolve") -> np.ndarray:
    """Refined illumination of an (H,W,3) image; solved at reduced size when H*W > ``max_pixels``."""
    t_hat = initial_illumination(image)
    height, width = t_hat.shape
    if height * width <= max_pixels:
        return solve_illumination(t_hat, alpha, strategy, sigma, eps, solver)
    scale = math.sqrt(max_pixels / (height * width))
    small_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    small = cv2.resize(t_hat.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    t_small = solve_illumination(small.astype(np.float64), alpha, strategy, sigma, eps, solver)
    return cv2.resize(t_small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float64)


def lime_enhance(image: np.ndarray, alpha: float = 0.15, gamma: float = 0.8, strategy: int = 3,
                 sigma: float = 2.0, eps: float = 1e-3, t_floor: float = 1e-3, max_pixels: int = 1_000_000,
                 solver: str = "spsolve") -> tuple[np.ndarray, np.ndarray]:
    """LIME on an (H,W,3) image in [0,1]: returns (enhanced image, gamma-corrected illumination T)."""
    refined = estimate_illumination(image, alpha, strategy, sigma, eps, max_pixels, solver)
    illumination = np.clip(refined, t_floor, 1.0) ** gamma
    return np.clip(image / illumination[..., None], 0.0, 1.0), illumination


@ENHANCERS.register("lime")
def build_lime(alpha: float = 0.15, gamma: float = 0.8, strategy: int = 3, sigma: float = 2.0, eps: float = 1e-3,
               t_floor: float = 1e-3, max_pixels: int = 1_000_000, solver: str = "spsolve") -> Enhancer:
    """LIME (no denoising) with the sped-up solver; see the module docstring for the defaults."""
    if strategy not in (1, 2, 3):
        raise ValueError(f"lime: strategy must be 1, 2 or 3, got {strategy!r}")

    def run(image: np.ndarray) -> np.ndarray:
        return lime_enhance(image, alpha, gamma, strategy, sigma, eps, t_floor, max_pixels, solver)[0]

    return as_enhancer(per_image(run), "lime", tileable=False)  # the illumination solve couples the whole image
