"""IRLE component (3): the Shift-Invariant Spectral Correlation (SISC) loss (He et al. 2026, arXiv 2605.28605).

Paper (abstract; project page visonj.github.io/IRLE, Figs. 1 and 5): "a Shift-Invariant Spectral Correlation loss
captures fine-grained local structures and suppresses high-frequency noise"; "our spectral-domain design provides
internal structural references that preserve structures and suppress noise without the blur artifacts caused by
spatial misalignment" (the misalignment of spatial sub-sampling losses such as Neighbor2Neighbor, whose two
sub-images are offset by a pixel; see ``neighbor_subsampling.py`` for that spatial baseline); Fig. 5 (cross-
frequency correlation): "mid-frequency bands preserve stable structural correlations between low-light and
normal-light images, while extreme low- and high-frequency bands are more affected by illumination degradation and
amplified noise. This motivates SISC to retain reliable texture bands and suppress noise-dominated components."

ASSUMPTIONS (our design; each an argument). Both images are cut into ``window`` x ``window`` tiles (local
structure; the remainder of the image beyond a whole number of tiles is ignored), each tile has its mean
removed (brightness offsets are not structure) and is compared in the Fourier domain (``torch.fft.rfft2``):

* Mid-band frequency weighting ``W(f) = exp(-f^2 / (2 cutoff^2)) * (1 - exp(-f^2 / (2 low_cutoff^2)))``, f the
  radial frequency relative to Nyquist (``cutoff`` 0.5, ``low_cutoff`` 0.1; ``None`` disables either side):
  white noise spreads its energy evenly over frequencies while texture concentrates at mid frequencies, and the
  lowest band carries the illumination change. Equivalent to comparing tiles filtered by a band-pass whose
  squared spectrum is W.
* Correlation term (phase-sensitive): the normalised cross-correlation of the filtered tiles for every circular
  shift tau, ``rho(tau) = IFFT(W P conj(R))(tau) / sqrt(E_P E_R)`` (Parseval), maximised over
  ``|tau|_inf <= max_shift`` pixels (default 1): a whole-pixel misalignment costs nothing, so the loss does
  not reward blur as a hedge against it. Scale-invariant per tile, so the reference may be at any brightness.
  Term: ``1 - max rho``.
* Amplitude term (fully translation-invariant): ``1 - cos(sqrt(W)|P|, sqrt(W)|R_d|)`` over frequencies, where
  ``|R_d|^2 = max(|R|^2 - n, 0)`` removes the reference's noise floor n, estimated as the mean power of the
  reference above ``noise_band`` x Nyquist (``noise_band=None`` disables it). Blur removes mid/high amplitude
  and is penalised; noise adds amplitude the de-noised reference spectrum does not have and is penalised.
  Note ``cos >= |rho(tau)|`` for every shift, so this term is the shift-free limit of the correlation term.
* Flat tiles: energies get a floor of ``eps`` per pixel (1e-6, i.e. tile standard deviations below ~1e-3 count as
  flat), which keeps the normalisation and its gradient bounded; above it the loss is invariant to gain/offset.
* Loss = ``(1 - amplitude_weight) * correlation term + amplitude_weight * amplitude term`` (default weight 0.5),
  mean over tiles, channels and batch, times ``loss_weight``.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from llie_core.losses.registry import LOSSES


def image_tiles(x: Tensor, window: int | None) -> Tensor:
    """(B, C, H, W) -> (N, h, w) non-overlapping tiles (``window`` clipped to the image; ``None``: whole image)."""
    b, c, h, w = x.shape
    if window is None:
        return x.reshape(b * c, h, w)
    th, tw = min(window, h), min(window, w)
    tiles = x[..., : h // th * th, : w // tw * tw].unfold(2, th, th).unfold(3, tw, tw)
    return tiles.reshape(-1, th, tw)


def radial_frequency(h: int, w: int, device: torch.device, dtype: torch.dtype = torch.float32) -> Tensor:
    """Radial frequency (h, w//2+1) of the rfft2 bins of an h x w tile, relative to Nyquist (0.5 cycles/pixel)."""
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype).view(-1, 1)
    fx = torch.fft.rfftfreq(w, device=device, dtype=dtype).view(1, -1)
    return torch.sqrt(fy ** 2 + fx ** 2) / 0.5


def frequency_weight(h: int, w: int, cutoff: float | None, device: torch.device,
                     dtype: torch.dtype = torch.float32, low_cutoff: float | None = None) -> Tensor:
    """Band weight over rfft2 bins: Gaussian low-pass ``cutoff`` times Gaussian high-pass ``low_cutoff``."""
    radius = radial_frequency(h, w, device, dtype)
    weight = torch.ones_like(radius)
    if cutoff is not None:
        weight = weight * torch.exp(-0.5 * (radius / cutoff) ** 2)
    if low_cutoff is not None:
        weight = weight * (1 - torch.exp(-0.5 * (radius / low_cutoff) ** 2))
    return weight


def _rfft_multiplicity(h: int, w: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """How many full-spectrum bins each rfft2 bin stands for (1 at column 0 and, for even w, the last; else 2)."""
    m = torch.full((1, w // 2 + 1), 2.0, device=device, dtype=dtype)
    m[0, 0] = 1.0
    if w % 2 == 0:
        m[0, -1] = 1.0
    return m.expand(h, -1)


def _shift_window(h: int, w: int, max_shift: int, device: torch.device) -> tuple[Tensor, Tensor]:
    dy = torch.arange(-max_shift, max_shift + 1, device=device) % h
    dx = torch.arange(-max_shift, max_shift + 1, device=device) % w
    return dy.unique(), dx.unique()


def spectral_correlation_terms(pred: Tensor, ref: Tensor, window: int | None = 32, max_shift: int = 1,
                               cutoff: float | None = 0.5, noise_band: float | None = 0.75,
                               low_cutoff: float | None = 0.1, eps: float = 1e-6) -> tuple[Tensor, Tensor]:
    """Per-tile ``(1 - max_tau rho(tau), 1 - amplitude cosine)``, each of shape (N,) (see module ASSUMPTIONS)."""
    if pred.shape != ref.shape or pred.dim() != 4:
        raise ValueError(f"SISC needs two (B, C, H, W) tensors of one shape, got {tuple(pred.shape)} and "
                         f"{tuple(ref.shape)}")
    p, r = image_tiles(pred, window), image_tiles(ref, window)
    p = p - p.mean(dim=(-2, -1), keepdim=True)
    r = r - r.mean(dim=(-2, -1), keepdim=True)
    h, w = p.shape[-2:]
    fp, fr = torch.fft.rfft2(p), torch.fft.rfft2(r)
    weight = frequency_weight(h, w, cutoff, p.device, p.dtype, low_cutoff)
    floor = eps * h * w
    energy_p = torch.fft.irfft2(weight * fp.abs() ** 2, s=(h, w))[:, 0, 0]
    energy_r = torch.fft.irfft2(weight * fr.abs() ** 2, s=(h, w))[:, 0, 0]
    cross = torch.fft.irfft2(weight * fp * fr.conj(), s=(h, w))
    dy, dx = _shift_window(h, w, max_shift, p.device)
    rho = cross[:, dy][:, :, dx].flatten(1) / torch.sqrt((energy_p + floor) * (energy_r + floor)).unsqueeze(1)
    correlation_term = 1 - rho.amax(dim=1)

    power_r = fr.abs() ** 2
    if noise_band is not None:
        band = radial_frequency(h, w, p.device, p.dtype) > noise_band
        if band.any():
            noise = power_r[:, band].mean(dim=1).view(-1, 1, 1)
            power_r = (power_r - noise).clamp_min(0)
    mult = _rfft_multiplicity(h, w, p.device, p.dtype)
    amp_p = torch.sqrt(weight * fp.abs() ** 2 + 1e-12)  # smooth at zero amplitude
    amp_r = torch.sqrt(weight * power_r)
    dot = (mult * amp_p * amp_r).sum(dim=(-2, -1))
    norms = torch.sqrt((mult * amp_p ** 2).sum(dim=(-2, -1)) * (mult * amp_r ** 2).sum(dim=(-2, -1)) + floor ** 2)
    amplitude_term = 1 - dot / norms
    return correlation_term, amplitude_term


def shift_invariant_spectral_correlation(pred: Tensor, ref: Tensor, window: int | None = 32, max_shift: int = 1,
                                         cutoff: float | None = 0.5, noise_band: float | None = 0.75,
                                         amplitude_weight: float = 0.5, low_cutoff: float | None = 0.1) -> Tensor:
    """Unweighted SISC loss (scalar); see :class:`ShiftInvariantSpectralCorrelationLoss`."""
    corr, amp = spectral_correlation_terms(pred, ref, window, max_shift, cutoff, noise_band, low_cutoff)
    return (1 - amplitude_weight) * corr.mean() + amplitude_weight * amp.mean()


@LOSSES.register()
class ShiftInvariantSpectralCorrelationLoss(nn.Module):
    """``loss_weight * SISC(pred, ref)`` (see module ASSUMPTIONS). Default ``inputs``: ``(output_sub,
    reference_sub)`` = IRLE's stage-1 StructureNet on one neighbour sub-image vs the other sub-image
    (``IRLE.stage1_outputs``).
    """

    inputs = ("output_sub", "reference_sub")

    def __init__(self, loss_weight: float = 1.0, window: int | None = 32, max_shift: int = 1,
                 cutoff: float | None = 0.5, low_cutoff: float | None = 0.1, noise_band: float | None = 0.75,
                 amplitude_weight: float = 0.5) -> None:
        super().__init__()
        if max_shift < 0 or not 0 <= amplitude_weight <= 1:
            raise ValueError(f"need max_shift >= 0 and 0 <= amplitude_weight <= 1, got {max_shift}, "
                             f"{amplitude_weight}")
        self.loss_weight, self.window, self.max_shift = loss_weight, window, max_shift
        self.cutoff, self.low_cutoff = cutoff, low_cutoff
        self.noise_band, self.amplitude_weight = noise_band, amplitude_weight

    def forward(self, pred: Tensor, ref: Tensor) -> Tensor:
        return self.loss_weight * shift_invariant_spectral_correlation(
            pred, ref, self.window, self.max_shift, self.cutoff, self.noise_band, self.amplitude_weight,
            self.low_cutoff)

    def extra_repr(self) -> str:
        return (f"loss_weight={self.loss_weight}, window={self.window}, max_shift={self.max_shift}, "
                f"cutoff={self.cutoff}, low_cutoff={self.low_cutoff}, noise_band={self.noise_band}, "
                f"amplitude_weight={self.amplitude_weight}")
