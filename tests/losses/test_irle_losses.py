"""IRLE losses: IAP (illumination invariance, structure sensitivity), SISC (shift tolerance, no blur reward,
noise suppression, scale invariance) and the Neighbor2Neighbor spatial baseline."""
from __future__ import annotations

import pytest
import torch

from llie_core.losses.illumination_aligned_perceptual import (IlluminationAlignedPerceptualLoss, VGG16Features,
                                                              align_illumination)
from llie_core.losses.neighbor_subsampling import NeighborSubsamplingLoss
from llie_core.losses.registry import LOSSES
from llie_core.losses.spectral_correlation import (ShiftInvariantSpectralCorrelationLoss, image_tiles,
                                                   shift_invariant_spectral_correlation, spectral_correlation_terms)
from llie_core.models.irle_pseudo_gt import gaussian_blur
from tests.helpers import require_assets


def _texture(b: int = 1, h: int = 64, w: int = 64, seed: int = 0) -> torch.Tensor:
    """Blurred random texture plus a band of stripes, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    t = gaussian_blur(torch.rand(b, 3, h, w, generator=g), 1.0)
    t = (t - t.mean()) / t.std() * 0.15 + 0.5
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (t + 0.2 * torch.sin(xx / 3.0) * (yy > h // 2)).clamp(0, 1)


def _noise(shape: torch.Size, seed: int, std: float = 0.08) -> torch.Tensor:
    return std * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _l1(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().mean().item()


# ---- IAP -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iap_random() -> IlluminationAlignedPerceptualLoss:
    return IlluminationAlignedPerceptualLoss(layers=("relu1_2", "relu2_2"), weights="random", downsample=1)


def test_iap_is_invariant_to_the_illumination_of_the_reference(iap_random):
    x = _texture(b=2, seed=1) * 0.1
    pred = _texture(b=2, seed=2)
    base = iap_random(pred, x)
    for scale in (0.3, 4.0):
        torch.testing.assert_close(iap_random(pred, scale * x), base, rtol=1e-4, atol=1e-6)
    cast = torch.tensor([1.0, 0.7, 0.4]).view(1, 3, 1, 1)
    torch.testing.assert_close(iap_random(pred, cast * x), base, rtol=1e-4, atol=1e-6)  # per-channel alignment
    assert iap_random(8 * x, x) < 1e-6                                   # same structure, brighter: ~0


def test_local_alignment_removes_a_spatially_varying_illumination_shift(iap_random):
    """The enhancement applies a smooth, spatially varying gain; only the local alignment is blind to it."""
    x = _texture(b=1, h=64, w=96, seed=1) * 0.1
    xx = torch.linspace(0, 1, 96).view(1, 1, 1, 96)
    gain = 2.0 + 10.0 * xx ** 2 * torch.tensor([1.0, 0.8, 1.2]).view(1, 3, 1, 1)  # smooth, 2x..14x, coloured
    local = IlluminationAlignedPerceptualLoss(layers=("relu1_2", "relu2_2"), weights="random", downsample=1,
                                              align="local", align_sigma=8.0)
    channel = IlluminationAlignedPerceptualLoss(layers=("relu1_2", "relu2_2"), weights="random", downsample=1,
                                                align="channel")
    local.vgg.load_state_dict(iap_random.vgg.state_dict())
    channel.vgg.load_state_dict(iap_random.vgg.state_dict())
    enhanced = gain * x
    flipped = 5 * x.flip(-1)
    assert local(enhanced, x) < 0.1 * channel(enhanced, x)               # channel alignment sees the gain field
    assert local(enhanced, x) < 0.05 * local(flipped, x)                 # ... while structure still counts
    torch.testing.assert_close(local(enhanced, 0.3 * x), local(enhanced, x), rtol=1e-4, atol=1e-6)
    aligned = align_illumination(enhanced, x, "local", sigma=8.0)
    assert (aligned - enhanced).abs().mean() < 0.05 * enhanced.mean()
    with pytest.raises(ValueError, match="align"):
        align_illumination(enhanced, x, "patch")


def test_iap_is_sensitive_to_structure(iap_random):
    x = _texture(seed=1) * 0.1
    same = iap_random(6 * x, x)
    flipped = iap_random(6 * x.flip(-1), x)
    blurred = iap_random(gaussian_blur(6 * x, 2.0), x)
    assert flipped > 100 * (same + 1e-6) and blurred > 100 * (same + 1e-6)
    assert flipped > 1e-3


def test_iap_with_imagenet_weights():
    require_assets("vgg16_imagenet_features.pth")
    loss = IlluminationAlignedPerceptualLoss(loss_weight=0.5)
    x = _texture(seed=3) * 0.08
    assert loss(5 * x, x) < 1e-6
    assert loss(5 * x.flip(-1), x) > 0.05 and loss(gaussian_blur(5 * x, 2.0), x) > 0.05
    assert loss.loss_weight == 0.5 and loss.inputs == ("output", "low")


def test_iap_gradients_and_alignment_are_detached(iap_random):
    x = _texture(seed=4) * 0.1
    pred = (_texture(seed=5)).requires_grad_()
    iap_random(pred, x).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in iap_random.vgg.parameters())
    aligned = align_illumination(pred, x, "channel")
    assert not aligned.requires_grad
    torch.testing.assert_close(aligned.mean(dim=(2, 3)), pred.detach().mean(dim=(2, 3)))
    torch.testing.assert_close(align_illumination(pred, x, "global").mean(), pred.detach().mean())
    assert align_illumination(pred, x, "global", detach=False).requires_grad


def test_iap_options_validate():
    with pytest.raises(ValueError, match="VGG16 layers"):
        VGG16Features(("relu9_9",), weights="random")
    with pytest.raises(ValueError, match="weights"):
        VGG16Features(weights="pretrained")
    with pytest.raises(ValueError, match="align"):
        IlluminationAlignedPerceptualLoss(align="patch", weights="random")
    with pytest.raises(ValueError, match="layer_weights"):
        IlluminationAlignedPerceptualLoss(layers=("relu1_2",), layer_weights=(1.0, 2.0), weights="random")
    vgg = VGG16Features(("relu2_2", "relu1_2"), weights="random")
    f22, f12 = vgg(torch.rand(1, 3, 16, 16))
    assert f22.shape == (1, 128, 8, 8) and f12.shape == (1, 64, 16, 16)   # requested order kept
    assert len(vgg.features) == 9                                          # truncated after relu2_2


# ---- SISC ------------------------------------------------------------------------------------------------------
def test_sisc_tolerates_a_one_pixel_shift_unlike_l1():
    s, other = _texture(), _texture(seed=5)
    sisc = ShiftInvariantSpectralCorrelationLoss()
    assert sisc(s, s) < 1e-3
    for dims in (-1, -2):
        shifted = torch.roll(s, 1, dims=dims)
        assert sisc(shifted, s) < 0.1 * sisc(other, s)
        assert _l1(shifted, s) > 0.4 * _l1(other, s)
    no_shift = ShiftInvariantSpectralCorrelationLoss(max_shift=0, amplitude_weight=0.0)
    assert no_shift(torch.roll(s, 1, dims=-1), s) > 3 * sisc(torch.roll(s, 1, dims=-1), s)


def test_sisc_tolerates_a_one_pixel_shift_unlike_the_spatial_subsampling_loss():
    """The spatial baseline (Neighbor2Neighbor's MSE between sub-images) counts a 1-px offset as error."""
    s, other = _texture(), _texture(seed=5)
    spatial = NeighborSubsamplingLoss(gamma=0.0)
    zeros = torch.zeros_like(s)
    sisc = ShiftInvariantSpectralCorrelationLoss()
    for dims in (-1, -2):
        shifted = torch.roll(s, 1, dims=dims)
        spatial_ratio = spatial(shifted, s, zeros, zeros) / spatial(other, s, zeros, zeros)
        assert spatial_ratio > 0.25                                         # a shift costs a quarter of "unrelated"
        assert sisc(shifted, s) / sisc(other, s) < 0.25 * spatial_ratio      # SISC: a small fraction of that
    two_px = torch.roll(s, 2, dims=-1)                                      # beyond max_shift=1: penalised
    assert ShiftInvariantSpectralCorrelationLoss(amplitude_weight=0.0)(two_px, s) > 3 * sisc(torch.roll(s, 1, -1), s)


def test_sisc_does_not_reward_blur_under_misalignment_while_l1_does():
    """The spatial loss prefers a blurred prediction of a shifted reference (blur artefacts); SISC does not."""
    s = _texture()
    ref = torch.roll(s, 1, dims=-1)
    blurred = gaussian_blur(s, 1.0)
    assert _l1(blurred, ref) < _l1(s, ref)
    assert shift_invariant_spectral_correlation(s, ref) < shift_invariant_spectral_correlation(blurred, ref)


def test_sisc_suppresses_noise():
    s = _texture()
    ref = s + _noise(s.shape, 1)
    clean = shift_invariant_spectral_correlation(s, ref)
    noisy = shift_invariant_spectral_correlation(s + _noise(s.shape, 2), ref)
    assert clean < 0.6 * noisy                                            # an independent noisy copy scores worse
    penalties = [shift_invariant_spectral_correlation(s, ref, cutoff=c) for c in (None, 0.5, 0.25)]
    assert penalties[0] > penalties[1] > penalties[2]                    # the low-pass weighting discounts noise
    def amplitude_margin(noise_band):  # amplitude term: independently noisy prediction minus clean prediction
        return (spectral_correlation_terms(s + _noise(s.shape, 2), ref, noise_band=noise_band)[1].mean()
                - spectral_correlation_terms(s, ref, noise_band=noise_band)[1].mean())
    assert amplitude_margin(0.75) > 1.5 * amplitude_margin(None) > 0      # removing the noise floor helps


def test_sisc_is_scale_and_offset_invariant_and_bounded():
    s, other = _texture(), _texture(seed=7)
    base = shift_invariant_spectral_correlation(other, s)
    torch.testing.assert_close(shift_invariant_spectral_correlation(2 * other + 0.2, 0.5 * s), base,
                               rtol=1e-3, atol=1e-5)
    corr, amp = spectral_correlation_terms(other, s, noise_band=None)
    assert (amp <= corr + 1e-5).all()                 # amplitude agreement bounds the correlation at every shift
    assert (corr >= 0).all() and (corr <= 2).all() and (amp >= 0).all() and (amp <= 1).all()


def test_sisc_gradients_tiles_and_validation():
    pred = _texture(b=2, h=40, w=72).requires_grad_()
    loss = ShiftInvariantSpectralCorrelationLoss(loss_weight=2.0)
    value = loss(pred, _texture(b=2, h=40, w=72, seed=3))
    value.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert image_tiles(torch.rand(2, 3, 40, 72), 32).shape == (2 * 3 * 1 * 2, 32, 32)
    assert image_tiles(torch.rand(2, 3, 16, 20), 32).shape == (2 * 3, 16, 20)   # window clipped to the image
    assert image_tiles(torch.rand(2, 3, 16, 20), None).shape == (6, 16, 20)
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert torch.isfinite(shift_invariant_spectral_correlation(flat, flat))
    with pytest.raises(ValueError, match="shape"):
        loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="amplitude_weight"):
        ShiftInvariantSpectralCorrelationLoss(amplitude_weight=1.5)
    assert ShiftInvariantSpectralCorrelationLoss.inputs == ("output_sub", "reference_sub")


# ---- Neighbor2Neighbor (spatial sub-sampling) baseline ----------------------------------------------------------
def test_neighbor_subsampling_loss_formula():
    g = torch.Generator().manual_seed(0)
    pred, ref, f1, f2 = (torch.rand(2, 3, 8, 8, generator=g) for _ in range(4))
    plain = NeighborSubsamplingLoss(gamma=0.0)(pred, ref, f1, f2)
    torch.testing.assert_close(plain, ((pred - ref) ** 2).mean())
    full = NeighborSubsamplingLoss(loss_weight=2.0, gamma=1.5)(pred, ref, f1, f2)
    torch.testing.assert_close(full, 2.0 * (((pred - ref) ** 2).mean() + 1.5 * ((pred - ref - f1 + f2) ** 2).mean()))


def test_irle_losses_are_registered_with_their_default_inputs():
    for name, inputs in [("IlluminationAlignedPerceptualLoss", ("output", "low")),
                         ("ShiftInvariantSpectralCorrelationLoss", ("output_sub", "reference_sub")),
                         ("NeighborSubsamplingLoss", ("output_sub", "reference_sub", "output_full_sub1",
                                                      "output_full_sub2"))]:
        kwargs = {"weights": "random"} if name.startswith("Illumination") else {}
        loss = LOSSES.build({"type": name, "loss_weight": 0.3, **kwargs})
        assert loss.loss_weight == 0.3 and tuple(loss.inputs) == inputs and "high" not in loss.inputs
