"""HVI colour space (HVI-CIDNet §3.1): official goldens, round trip, gradients, edge cases, test-time options."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from llie_core.models.hvi import HVITransform, hsv_to_rgb, rgb_to_hue_saturation
from tests.helpers import rand, skip_or_fail

GOLDEN_TOL = 1e-5


@pytest.fixture(scope="module")
def goldens(shared_root: Path) -> dict[str, torch.Tensor]:
    folder = shared_root / "reference" / "hvi"
    if not (folder / "density_k.npy").is_file():
        skip_or_fail(f"HVI goldens not found in {folder} (shared/reference/hvi from mlx-cidnet-swift)")
    return {p.stem: torch.from_numpy(np.load(p)) for p in folder.glob("*.npy")}


@pytest.fixture(scope="module")
def official_k(goldens) -> HVITransform:
    """The transform with the Generalization checkpoint's learned k = 0.98354679."""
    return HVITransform(density_k=float(goldens["density_k"][0]))


# ---- official goldens (produced by the official net/HVI_transform.py) ----------------------------------------
def test_stored_k_is_the_generalization_checkpoint(goldens):
    assert float(goldens["density_k"][0]) == pytest.approx(0.98354679, abs=1e-7)


def test_forward_matches_official_goldens(goldens, official_k):
    with torch.no_grad():
        torch.testing.assert_close(official_k(goldens["hvit_in"]), goldens["hvit_out"], atol=GOLDEN_TOL, rtol=0)


def test_forward_edge_cases_match_official(goldens, official_k):
    """black, white, grey, red, green, blue, yellow, cyan: exact hue/sector conventions and the eps handling."""
    with torch.no_grad():
        torch.testing.assert_close(official_k(goldens["hvit_edge_in"]), goldens["hvit_edge_out"],
                                   atol=GOLDEN_TOL, rtol=0)


def test_inverse_and_round_trip_match_official_goldens(goldens, official_k):
    with torch.no_grad():
        torch.testing.assert_close(official_k.inverse(goldens["phvit_in"]), goldens["phvit_out"],
                                   atol=GOLDEN_TOL, rtol=0)
        round_trip = official_k.inverse(official_k(goldens["hvit_in"]))
    torch.testing.assert_close(round_trip, goldens["roundtrip_out"], atol=GOLDEN_TOL, rtol=0)


# ---- invariants on random images ----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0.2, 1.0, 3.0])
def test_round_trip_on_random_images(k):
    """inverse(forward(x)) = x up to the eps inside the saturation's square root (s >= 1e-4)."""
    x = rand(2, 3, 17, 23, seed=1)
    t = HVITransform(density_k=k)
    with torch.no_grad():
        torch.testing.assert_close(t.inverse(t(x)), x, atol=2e-4, rtol=0)


def test_forward_ranges_and_channel_meaning():
    x = rand(2, 3, 16, 16, seed=2)
    with torch.no_grad():
        hvi = HVITransform()(x)
    torch.testing.assert_close(hvi[:, 2], x.amax(dim=1))                    # I = max(R, G, B)
    assert hvi[:, :2].abs().max() <= 1 and (hvi[:, 0] ** 2 + hvi[:, 1] ** 2).max() <= 1 + 1e-6


def test_hue_and_saturation_agree_with_kornia_hsv():
    import kornia

    x = rand(1, 3, 9, 11, seed=3)
    hue, sat, val = rgb_to_hue_saturation(x)
    ref = kornia.color.rgb_to_hsv(x)
    torch.testing.assert_close(hue[:, 0], ref[:, 0] / (2 * math.pi), atol=1e-5, rtol=0)
    torch.testing.assert_close(sat[:, 0], ref[:, 1], atol=1e-5, rtol=0)
    torch.testing.assert_close(hsv_to_rgb(hue, sat, val), x, atol=1e-5, rtol=0)


def test_density_k_shapes_the_dark_chroma():
    """Larger k collapses the chroma of dark pixels more strongly (C_k = sin(pi I / 2)^k < 1)."""
    dark = torch.tensor([0.1, 0.02, 0.05]).view(1, 3, 1, 1)
    with torch.no_grad():
        radii = [HVITransform(density_k=k)(dark)[:, :2].norm(dim=1).item() for k in (0.2, 1.0, 3.0)]
    assert radii[0] > radii[1] > radii[2] > 0


@pytest.mark.parametrize("rgb, hvi", [
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),        # black: the HVI origin (no black plane as in HSV)
    ((1.0, 1.0, 1.0), (0.0, 0.0, 1.0)),        # white: grey axis, I = 1
    ((0.3, 0.3, 0.3), (0.0, 0.0, 0.3)),        # grey: hue 0, no chroma
    ((1.0, 0.0, 0.0), (1.0, 0.0, 1.0)),        # saturated red at full intensity: C_k(1) = 1
])
def test_edge_case_values(rgb, hvi):
    x = torch.tensor(rgb).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(HVITransform()(x).flatten(), torch.tensor(hvi), atol=1e-6, rtol=0)


def test_saturated_colours_round_trip_exactly():
    x = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [0.5, 0, 0.25]],
                     dtype=torch.float32).T.reshape(1, 3, 1, 7)
    t = HVITransform(density_k=0.7)
    with torch.no_grad():
        torch.testing.assert_close(t.inverse(t(x)), x, atol=1e-5, rtol=0)


def test_hue_wrapping_to_one_gives_hue_zero_not_black():
    """h = 1.0 after the modulo (float32 rounding) is hue 0 (the official code would output black)."""
    hue, sat, val = torch.ones(1, 1, 1, 1), torch.full((1, 1, 1, 1), 0.5), torch.full((1, 1, 1, 1), 0.8)
    torch.testing.assert_close(hsv_to_rgb(hue, sat, val), hsv_to_rgb(torch.zeros_like(hue), sat, val))


# ---- gradients ----------------------------------------------------------------------------------------------
def test_forward_gradcheck_and_gradient_reaches_k():
    x = (0.1 + 0.8 * rand(1, 3, 3, 4, seed=4, dtype=torch.float64)).requires_grad_(True)
    t = HVITransform(density_k=0.5).double()
    assert torch.autograd.gradcheck(t, (x,), eps=1e-6, atol=1e-5)
    t(x).sum().backward()
    assert t.density_k.grad is not None and torch.isfinite(t.density_k.grad).all()


def test_inverse_gradcheck_and_k_gradient_switch():
    t = HVITransform(density_k=0.5).double()
    with torch.no_grad():
        hvi = t((0.1 + 0.8 * rand(1, 3, 3, 4, seed=5, dtype=torch.float64)))
    hvi.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: t.inverse(z), (hvi,), eps=1e-7, atol=1e-4)
    t.inverse(hvi).sum().backward()
    assert t.density_k.grad is None                     # official: the inverse uses a detached k
    t.inverse(hvi, k_gradient=True).sum().backward()
    assert t.density_k.grad is not None


def test_gradients_finite_on_black_white_and_grey():
    x = torch.tensor([[0.0, 1.0, 0.5, 0.0], [0.0, 1.0, 0.5, 1e-6], [0.0, 1.0, 0.5, 0.0]]).reshape(1, 3, 1, 4)
    x.requires_grad_(True)
    t = HVITransform()
    t.inverse(t(x)).square().sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(t.density_k.grad).all()


# ---- test-time options are arguments, not state --------------------------------------------------------------
def test_saturation_gate_and_rgb_scale_are_explicit_and_off_by_default():
    t = HVITransform()
    x = rand(1, 3, 8, 8, seed=6)
    with torch.no_grad():
        hvi = t(x)
        plain = t.inverse(hvi)
        scaled = t.inverse(hvi, rgb_scale=0.84)
        gated = t.inverse(hvi, saturation_gate=1.3)
    torch.testing.assert_close(scaled, 0.84 * plain)
    _, s_plain, _ = rgb_to_hue_saturation(plain)
    _, s_gated, _ = rgb_to_hue_saturation(gated)
    assert (s_gated >= s_plain - 1e-6).all() and (s_gated > s_plain + 1e-3).any()
    torch.testing.assert_close(t.inverse(hvi), plain)   # no state left behind
    assert not any(hasattr(t, name) for name in ("gated", "gated2", "alpha", "this_k"))


def test_shape_errors_name_the_expected_layout():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) RGB"):
        HVITransform()(torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="HVI"):
        HVITransform().inverse(torch.rand(3, 4, 4))
