"""Tiled inference: exact for pointwise enhancers, near-exact for local networks, budget errors, no resizing."""
from __future__ import annotations

import pytest
import torch

from llie_core.evaluation.tiling import (MemoryBudgetError, TileConfig, blend_window, enhance_tiled, estimate_memory_mb,
                                         tile_starts)


def gamma(x: torch.Tensor) -> torch.Tensor:
    return x.clamp_min(0) ** 0.5


@pytest.mark.parametrize("size", [(97, 131), (64, 64), (130, 61)])
def test_pointwise_tiled_equals_untiled(size):
    torch.manual_seed(0)
    image = torch.rand(1, 3, *size)
    out = enhance_tiled(gamma, image, TileConfig(tile_size=40, overlap=12))
    assert out.shape == image.shape
    torch.testing.assert_close(out, gamma(image), rtol=0, atol=1e-6)


def test_local_network_matches_untiled_when_receptive_field_below_margin():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 3, 3, padding=1)).eval()  # receptive radius 3 < margin 4
    image = torch.rand(1, 3, 101, 87)
    cfg = TileConfig(tile_size=48, overlap=16)
    with torch.no_grad():
        full = net(image)
    tiled = enhance_tiled(net, image, cfg)
    assert (tiled - full).abs().max() < 1e-4


def test_pad_multiple_tiles_see_multiples():
    seen = []

    def record(x):
        seen.append(tuple(x.shape[-2:]))
        return x

    image = torch.rand(1, 3, 70, 53)
    out = enhance_tiled(record, image, TileConfig(tile_size=34, overlap=8), pad_multiple=8)
    assert all(h % 8 == 0 and w % 8 == 0 and h <= 32 and w <= 32 for h, w in seen)
    torch.testing.assert_close(out, image, rtol=0, atol=1e-6)


def test_windows_of_neighbours_sum_to_one_and_starts_cover():
    win = blend_window(40, 12, 3, True, True)
    assert win[:3].eq(0).all() and win[-3:].eq(0).all() and win[12:28].eq(1).all()
    first, second = blend_window(40, 12, 3, False, True), blend_window(40, 12, 3, True, False)
    torch.testing.assert_close(first[-12:] + second[:12], torch.ones(12))
    assert tile_starts(100, 40, 28) == [0, 28, 56, 60]
    assert tile_starts(30, 40, 28) == [0]


def test_whole_image_runs_untiled_when_it_fits_budget():
    calls = []
    image = torch.rand(1, 3, 50, 60)
    enhance_tiled(lambda x: calls.append(x.shape) or x, image,
                  TileConfig(tile_size=32, overlap=8, memory_budget_mb=1000))
    assert calls == [image.shape]


def test_budget_too_small_for_one_tile_raises_naming_budget_and_size():
    image = torch.zeros(1, 3, 400, 600)
    cfg = TileConfig(tile_size=256, overlap=16, memory_budget_mb=1, channels_factor=64)
    with pytest.raises(MemoryBudgetError, match=r"400x600.*1 MiB"):
        enhance_tiled(gamma, image, cfg)


def test_invalid_config_rejected():
    with pytest.raises(ValueError, match="2 \\* overlap"):
        TileConfig(tile_size=32, overlap=16)


def test_6000x4000_runs_tiled_within_budget():
    image = torch.zeros(1, 3, 4000, 6000)
    cfg = TileConfig(tile_size=1024, overlap=32, memory_budget_mb=300, channels_factor=64)
    assert estimate_memory_mb(4000, 6000, 64) > cfg.memory_budget_mb
    biggest = []

    def brighten(x):
        biggest.append(x.shape[-2] * x.shape[-1])
        return x + 0.25

    out = enhance_tiled(brighten, image, cfg)
    assert out.shape == image.shape
    assert max(biggest) <= 1024 * 1024 and len(biggest) > 1
    assert estimate_memory_mb(1024, 1024, 64) <= cfg.memory_budget_mb
    assert float(out.min()) == pytest.approx(0.25, abs=1e-6) and float(out.max()) == pytest.approx(0.25, abs=1e-6)


def test_enhancers_that_may_not_be_tiled_run_on_the_whole_image():
    """Issue 18, defect 1: an enhancer with ``tileable = False`` (whole-image statistics) is never tiled, whatever
    the tile size or memory budget."""
    seen = []

    def normalise(x):  # a global method: the output depends on the whole image's mean
        seen.append(tuple(x.shape[-2:]))
        return x / x.mean()

    normalise.tileable = False
    image = torch.rand(1, 3, 150, 210, generator=torch.Generator().manual_seed(0))
    for cfg in (TileConfig(tile_size=64, overlap=8), TileConfig(64, 8, memory_budget_mb=0.01)):
        out = enhance_tiled(normalise, image, cfg)
        torch.testing.assert_close(out, image / image.mean(), rtol=0, atol=1e-6)
    assert seen == [(150, 210), (150, 210)]


def test_baselines_declare_whether_they_may_be_tiled():
    from llie_core.evaluation.baselines import build_enhancer
    from llie_core.evaluation.baselines.zero_dce import ZeroDCE
    from llie_core.evaluation.loop import as_enhancer

    assert {name: build_enhancer(name).tileable for name in ("input", "he", "clahe", "lime")} == {
        "input": True, "he": False, "clahe": False, "lime": False}
    assert as_enhancer(torch.nn.Conv2d(3, 3, 3), "net").tileable is False  # a network: global unless it declares
    assert as_enhancer(ZeroDCE(), "zero_dce", tileable=True).tileable is True


def test_tiled_local_network_on_a_large_image_is_within_rounding_of_the_whole_image():
    """A tileable network (Zero-DCE's architecture, random weights, receptive radius 7) on a 1300x900 image with
    enhance's default tiles (1024 px, overlap 64): the blended output equals the whole-image output up to float
    rounding (bound 1e-4, far below one 8-bit level)."""
    from llie_core.evaluation.baselines.zero_dce import ZeroDCE

    torch.manual_seed(0)
    net = ZeroDCE(features=8).eval()
    image = torch.rand(1, 3, 900, 1300, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = net(image)
    tiled = enhance_tiled(net, image, TileConfig(tile_size=1024, overlap=64))
    assert (tiled - whole).abs().max() < 1e-4
