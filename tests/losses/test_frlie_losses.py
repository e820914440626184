"""FRLIE losses (paper Eq. 3, 5, 6): SSIM, hue and feature-matching."""
from __future__ import annotations

import math

import kornia
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from llie_core.losses.feature_matching import FeatureMatchingLoss
from llie_core.losses.hue_loss import HueLoss, circular_hue_distance, hue_degrees
from llie_core.losses.registry import LOSSES
from llie_core.losses.ssim_loss import SSIMLoss
from tests.helpers import rand


def _solid(hue_deg: float, h: int = 6, w: int = 6) -> torch.Tensor:
    hsv = torch.tensor([math.radians(hue_deg), 1.0, 1.0]).view(1, 3, 1, 1).expand(1, 3, h, w)
    return kornia.color.hsv_to_rgb(hsv.contiguous())


def test_losses_are_registered():
    for name in ("SSIMLoss", "HueLoss", "FeatureMatchingLoss"):
        assert name in LOSSES
    assert LOSSES.build({"type": "HueLoss", "loss_weight": 0.05}).loss_weight == 0.05


# ---- SSIM (Eq. 5) ----------------------------------------------------------------------------------------
def test_ssim_loss_is_zero_for_identical_images():
    x = rand(2, 3, 32, 32)
    assert SSIMLoss()(x, x).item() == pytest.approx(0.0, abs=1e-6)


def test_ssim_matches_skimage_gaussian_ssim():
    """Official SSIM (11x11 Gaussian, sigma 1.5, no padding, C1=1e-4, C2=9e-4) == skimage's Gaussian SSIM."""
    a = rand(2, 3, 24, 20, seed=1, dtype=torch.float64)
    b = (a + 0.2 * rand(2, 3, 24, 20, seed=2, dtype=torch.float64)).clamp(0, 1)
    expected = np.mean([structural_similarity(a[i].numpy(), b[i].numpy(), gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=1.0, channel_axis=0)
                        for i in range(2)])
    assert 1 - SSIMLoss()(a, b).item() == pytest.approx(expected, abs=1e-9)


def test_ssim_constants_do_not_depend_on_input_range():
    """C1, C2 are fixed (the code comments out the L-dependent constants): scaling by 255 changes SSIM."""
    a, b = rand(1, 3, 16, 16, seed=3), rand(1, 3, 16, 16, seed=4)
    assert SSIMLoss()(a * 255, b * 255).item() != pytest.approx(SSIMLoss()(a, b).item(), abs=1e-3)


def test_ssim_options_and_errors():
    a, b = rand(1, 3, 16, 16, seed=5), rand(1, 3, 16, 16, seed=6)
    assert SSIMLoss(loss_weight=0.5)(a, b).item() == pytest.approx(0.5 * SSIMLoss()(a, b).item(), rel=1e-6)
    assert SSIMLoss(padding="same")(a, b).item() != pytest.approx(SSIMLoss()(a, b).item(), abs=1e-4)
    with pytest.raises(ValueError, match="smaller than"):
        SSIMLoss()(a[..., :8, :8], b[..., :8, :8])
    with pytest.raises(ValueError, match="padding"):
        SSIMLoss(padding="circular")(a, b)


def test_ssim_gradients_flow():
    a = rand(1, 3, 16, 16, seed=7).requires_grad_()
    SSIMLoss()(a, rand(1, 3, 16, 16, seed=8)).backward()
    assert a.grad.isfinite().all() and a.grad.abs().sum() > 0


# ---- hue (Eq. 6) -----------------------------------------------------------------------------------------
def test_hue_of_primaries_in_degrees():
    rgb = torch.eye(3).view(3, 3, 1, 1)  # red, green, blue pixels
    assert hue_degrees(rgb).flatten().tolist() == pytest.approx([0.0, 120.0, 240.0], abs=1e-4)


def test_circular_distance_wraps_around():
    d = circular_hue_distance(torch.tensor([350.0, 10.0, 0.0, 90.0]), torch.tensor([10.0, 350.0, 180.0, 300.0]))
    assert d.tolist() == pytest.approx([20.0, 20.0, 180.0, 150.0])


def test_hue_loss_of_image_with_itself_and_hue_rotated():
    img = _solid(40)
    assert HueLoss()(img, img).item() == pytest.approx(0.0, abs=1e-6)
    assert HueLoss()(_solid(130), img).item() == pytest.approx(90 / 180, abs=1e-4)
    assert HueLoss()(_solid(350), _solid(10)).item() == pytest.approx(20 / 180, abs=1e-4)
    assert HueLoss(normalizer=360)(_solid(350), _solid(10)).item() == pytest.approx(20 / 360, abs=1e-4)


def test_hue_loss_default_is_the_paper_formula_on_a_hand_computed_example():
    """Eq. 6 with the paper's 1/180, L1 as a pixel mean, on four pixels whose hues are read off by hand:
    pred  = red (0), green (120), blue (240), (1, 0.5, 0) orange (30);
    target = blue (240), magenta (300), cyan (180), (1, 0, 0.5) rose (330).
    Circular distances: |0-240| = 240 -> 120; |120-300| = 180 -> 180; |240-180| = 60; |30-330| = 300 -> 60.
    mean = (120 + 180 + 60 + 60) / 4 = 105; paper: 105 / 180 = 0.58333...; weighted by lambda_Hue = 0.05."""
    pred = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.5, 0.0]]).T.reshape(1, 3, 2, 2)
    target = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]).T.reshape(1, 3, 2, 2)
    assert hue_degrees(pred).flatten().tolist() == pytest.approx([0, 120, 240, 30], abs=1e-3)
    assert hue_degrees(target).flatten().tolist() == pytest.approx([240, 300, 180, 330], abs=1e-3)
    paper = 105 / 180
    assert HueLoss()(pred, target).item() == pytest.approx(paper, abs=1e-5)
    assert HueLoss.PAPER_NORMALIZER == 180 and HueLoss().normalizer == 180
    assert HueLoss(loss_weight=0.05)(pred, target).item() == pytest.approx(0.05 * paper, abs=1e-6)
    released = HueLoss(normalizer=HueLoss.RELEASED_NORMALIZER)(pred, target).item()
    assert released == pytest.approx(105 / 360, abs=1e-5)
    assert released == pytest.approx(HueLoss()(pred, target).item() / 2, rel=1e-6)   # the option halves it
    assert LOSSES.build({"type": "HueLoss", "loss_weight": 1.0}).normalizer == 180
    with pytest.raises(ValueError, match="normalizer"):
        HueLoss(normalizer=0)


def _released_hue(rgb: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """The released min-channel hue formula (src/loss.py rgb2hsv), written out for comparison."""
    r, g, b = rgb.unbind(1)
    chroma = rgb.amax(1) - rgb.amin(1) + eps
    by_min = torch.stack((60 * (b - g) / chroma + 180, 60 * (r - b) / chroma + 300, 60 * (g - r) / chroma + 60))
    return by_min.gather(0, rgb.argmin(1).unsqueeze(0)).squeeze(0)


def test_hue_loss_matches_released_formula_on_colour_pixels():
    pred, target = rand(2, 3, 8, 8, seed=9), rand(2, 3, 8, 8, seed=10)
    d_released = circular_hue_distance(_released_hue(pred), _released_hue(target))
    assert HueLoss(normalizer=360)(pred, target).item() == pytest.approx(d_released.mean().item() / 360, abs=1e-5)


def test_hue_loss_gradients_are_finite_on_gray_images():
    gray = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    colour = rand(1, 3, 4, 4, seed=11).requires_grad_()
    loss = HueLoss()(gray, colour) + HueLoss()(colour, gray.detach() * 0) + HueLoss()(gray, gray.detach())
    loss.backward()
    assert gray.grad.isfinite().all() and colour.grad.isfinite().all()
    assert colour.grad.abs().sum() > 0
    assert hue_degrees(torch.full((1, 3, 1, 1), 0.3), gray_hue=180.0).item() == 180.0


# ---- feature matching (Eq. 3) ------------------------------------------------------------------------------
def test_feature_matching_targets():
    restored = rand(2, 8, 4, 4, seed=12).requires_grad_()
    high, low = rand(2, 8, 4, 4, seed=13).requires_grad_(), rand(2, 8, 4, 4, seed=14)
    paper = FeatureMatchingLoss(loss_weight=0.2)(restored, features_high=high, features_low=low)
    released = FeatureMatchingLoss(loss_weight=0.2, target="low")(restored, features_high=high, features_low=low)
    assert paper.item() == pytest.approx(0.2 * (restored - high).abs().mean().item(), rel=1e-6)
    assert released.item() == pytest.approx(0.2 * (restored - low).abs().mean().item(), rel=1e-6)
    assert paper.item() != pytest.approx(released.item(), rel=1e-3)
    paper.backward()
    assert restored.grad is not None and high.grad is None  # the target is detached


def test_feature_matching_errors():
    f = rand(1, 8, 4, 4)
    with pytest.raises(ValueError, match="features_high"):
        FeatureMatchingLoss()(f, features_low=f)
    with pytest.raises(ValueError, match="shapes differ"):
        FeatureMatchingLoss()(f, features_high=f[..., :2, :2])
    with pytest.raises(ValueError, match="target"):
        FeatureMatchingLoss(target="normal")


def test_zero_padded_ssim_matches_the_hvi_cidnet_formula_and_valid_inside():
    """HVI-CIDNet/ICLR map_ssim: conv2d with a 11x11 Gaussian (sigma 1.5) and zero padding of 5 px."""
    import torch.nn.functional as F

    from llie_core.losses.ssim_loss import ssim_map

    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(2, 3, 24, 30, generator=g), torch.rand(2, 3, 24, 30, generator=g)
    taps = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    taps = taps / taps.sum()
    w = torch.outer(taps, taps).expand(3, 1, 11, 11)
    f = lambda t: F.conv2d(t, w, padding=5, groups=3)  # noqa: E731
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx ** 2, f(y * y) - my ** 2, f(x * y) - mx * my
    expected = ((2 * mx * my + 1e-4) * (2 * sxy + 9e-4)) / ((mx ** 2 + my ** 2 + 1e-4) * (sxx + syy + 9e-4))
    zeros = ssim_map(x, y, padding="zeros")
    torch.testing.assert_close(zeros, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(zeros[..., 5:-5, 5:-5], ssim_map(x, y, padding="valid"), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(zeros, ssim_map(x, y, padding="same"), atol=1e-3)  # reflect != zero padding
