"""LLFlow analyses (``llie_core.analysis.llflow``): brightness of latent sweeps, the GT-mean x SSIM protocol
grid, the output cache, and the VE-LOL "not run" path."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from llie_core.analysis.llflow import (GT_MEAN_SETTINGS, CachedEnhancer, brightness, grid_metric_name, grid_rows,
                                       intra_dataset_run, is_monotone, latent_sweep, missing_split, protocol_grid,
                                       protocol_metrics, released_enhancer, shift_strip, sweep_summary)
from llie_core.core.profiles import load_profile
from llie_core.evaluation.loop import as_enhancer
from llie_core.models.llflow import LLFlow
from llie_core.models.llflow_flow import ActNorm2d, InvertibleConv1x1
from tests.helpers import TINY_LLFLOW_SHALLOW

pytestmark = pytest.mark.usefixtures("one_thread")


def _low(seed: int = 0, size: tuple[int, int] = (16, 24)) -> torch.Tensor:
    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed)) * 0.3


def _elementwise_flow(seed: int = 0) -> LLFlow:
    """A fixed model whose decode is elementwise increasing in z: invertible convs = I, ActNorms with random
    bias/scale, couplings at their (zero) initialisation, i.e. positive constant scales."""
    torch.manual_seed(seed)
    model = LLFlow(**TINY_LLFLOW_SHALLOW).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, InvertibleConv1x1):
                m.weight.copy_(torch.eye(m.weight.shape[0]))
            elif isinstance(m, ActNorm2d):
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.logs.copy_(0.1 * torch.randn(m.logs.shape, generator=gen))
                m.initialized = True
    return model


def _random_model(seed: int = 0) -> LLFlow:
    torch.manual_seed(seed)
    model = LLFlow(**TINY_LLFLOW_SHALLOW).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith("invconv.weight"):
                p.add_(0.05 * torch.randn(p.shape, generator=gen))
    for m in model.modules():
        if isinstance(m, ActNorm2d):
            m.initialized = True
    return model


# ---- brightness and the sweep ---------------------------------------------------------------------------------
def test_brightness_is_the_bt601_mean_luma():
    images = torch.zeros(3, 3, 4, 5)
    images[0] = 0.4
    images[1, 0] = 1.0
    images[2, 1, :2] = 1.0                                   # green on half the image
    torch.testing.assert_close(brightness(images), torch.tensor([0.4, 0.299, 0.587 / 2]))
    with pytest.raises(ValueError, match="RGB"):
        brightness(torch.zeros(1, 1, 4, 4))


def test_is_monotone():
    assert is_monotone([0.1, 0.2, 0.2, 0.5]) and not is_monotone([0.1, 0.3, 0.2])
    assert is_monotone([0.1, 0.3, 0.29], tol=0.02) and is_monotone([3, 2, 1], increasing=False)


def test_temperature_zero_is_the_deterministic_decode_and_draws_are_reproducible():
    model = _random_model()
    images = {"a": _low(1), "b": _low(2, (19, 26))}           # the second is padded to 24 x 32 and cropped back
    sweep = latent_sweep(model, images, shifts=[0.0, 0.2], temperatures=[0.0, 0.5, 1.0], samples=3, seed=4)
    assert list(sweep.columns) == ["image", "kind", "value", "sample", "brightness", "spread"]
    assert len(sweep) == 2 * (2 + 1 + 3 + 3)
    with torch.no_grad():
        for name, low in images.items():
            expected = float(brightness(model(low))[0])
            rows = sweep[(sweep["image"] == name) & (sweep["value"] == 0.0)]
            assert len(rows) == 2                            # shift 0 and temperature 0: both the forward() decode
            assert rows["brightness"].tolist() == pytest.approx([expected] * 2, abs=1e-6)
            draw = model.sample(low, temperature=0.5, generator=torch.Generator().manual_seed(4 + 1))
            row = sweep[(sweep["image"] == name) & (sweep["kind"] == "temperature") & (sweep["value"] == 0.5)
                        & (sweep["sample"] == 1)]
            assert float(row["brightness"].iloc[0]) == pytest.approx(float(brightness(draw)[0]), abs=1e-6)
    again = latent_sweep(model, images, shifts=[0.0, 0.2], temperatures=[0.0, 0.5, 1.0], samples=3, seed=4)
    pd.testing.assert_frame_equal(sweep, again)
    spread = sweep[sweep["kind"] == "temperature"].groupby("value")["spread"].mean()
    assert spread[0.0] == 0.0 and 0.0 < spread[0.5] < spread[1.0]
    assert not model.training


def test_brightness_is_monotone_in_the_latent_shift_on_a_fixed_model():
    shifts = [-0.3, -0.15, 0.0, 0.15, 0.3]
    images = {"a": _low(3), "b": _low(4)}
    increasing = latent_sweep(_elementwise_flow(), images, shifts=shifts, temperatures=[0.0])
    values = increasing[(increasing["kind"] == "shift") & (increasing["image"] == "a")]["brightness"].tolist()
    assert all(b > a for a, b in zip(values, values[1:]))
    summary = sweep_summary(increasing)
    assert bool(summary[summary["kind"] == "shift"]["monotone"].all())
    assert summary[summary["kind"] == "temperature"]["monotone"].isna().all()
    decreasing = increasing.copy()
    rows_b = (decreasing["image"] == "b") & (decreasing["kind"] == "shift")
    decreasing.loc[rows_b, "brightness"] = decreasing.loc[rows_b, "brightness"].to_numpy()[::-1]
    assert not bool(sweep_summary(decreasing).query("kind == 'shift'")["monotone"].iloc[0])   # one image suffices


def test_shift_strip_matches_the_sweep():
    model, low = _random_model(1), _low(5)
    strip = shift_strip(model, low, [-0.2, 0.3])
    sweep = latent_sweep(model, {"x": low}, shifts=[-0.2, 0.3], temperatures=[])
    assert [tuple(s.shape) for s in strip] == [tuple(low.shape)] * 2
    assert [float(brightness(s)[0]) for s in strip] == pytest.approx(sweep["brightness"].tolist(), abs=1e-6)


# ---- protocol grid -------------------------------------------------------------------------------------------
def test_released_enhancer_equalises_before_padding():
    model, low = _random_model(2), _low(6, (19, 26))
    enhancer = released_enhancer(SimpleNamespace(model=model, label="llflow[x]"))
    assert (enhancer.name, enhancer.pad_multiple) == ("llflow[x]", 1)
    with torch.no_grad():
        out = enhancer(low)
        torch.testing.assert_close(out, model(low))
        padded_first = as_enhancer(model, "outside", pad_multiple=8)(low)   # histeq also sees the padded border
    assert out.shape == low.shape and (out - padded_first).abs().max() > 0


def test_cached_enhancer_runs_each_image_once():
    calls = []
    enhancer = as_enhancer(lambda x: (calls.append(1), x * 2)[1], "double")
    cached = CachedEnhancer(enhancer, capacity=2)
    a, b, c = _low(1), _low(2), _low(3)
    out = cached(a)
    out.add_(1.0)                                              # callers may modify what they get
    torch.testing.assert_close(cached(a), (a * 2).clamp(0, 1))
    cached(b), cached(c), cached(a)                            # capacity 2: a was evicted by c
    assert (cached.hits, cached.misses, len(calls)) == (1, 4, 4)
    assert cached.name == "double" and cached.pad_multiple == 1


def test_protocol_metrics_cover_the_grid_and_the_llflow_variant_differs():
    metrics = protocol_metrics()
    assert len(metrics) == 3 * 4 and grid_metric_name("ssim_gray", "llflow") in metrics
    with pytest.raises(ValueError, match="GT-mean"):
        grid_metric_name("psnr", "kind")
    target = torch.full((1, 3, 16, 16), 0.5)
    output = torch.zeros(1, 3, 16, 16)
    output[:, 1] = 0.4                                         # green: gray mean 0.235, channel mean 0.133
    off, hvi, llf = (float(metrics[grid_metric_name("psnr", g)](output, target)) for g in GT_MEAN_SETTINGS)
    assert len({round(off, 3), round(hvi, 3), round(llf, 3)}) == 3


def test_grid_rows_pick_each_protocol_column():
    columns = {grid_metric_name(b, g): [i + 10 * j, i + 10 * j + 2] for j, g in enumerate(GT_MEAN_SETTINGS)
               for i, b in enumerate(("psnr", "ssim", "ssim_gray", "lpips_alex"))}
    frame = pd.DataFrame({"image": ["1", "2"], **columns})
    frame = pd.concat([frame, pd.DataFrame({"image": ["mean"], **{k: [1e9] for k in columns}})])   # ignored
    rows = grid_rows(frame, "m", "lol_v1").set_index(["gt_mean", "ssim_convention"])
    assert rows.loc[("llflow", "gray"), ["psnr", "ssim", "lpips"]].tolist() == [21.0, 23.0, 24.0]
    assert rows.loc[("off", "rgb"), ["psnr", "ssim", "lpips"]].tolist() == [1.0, 2.0, 4.0]
    assert rows["released_protocol"].sum() == 1 and rows.loc[("llflow", "gray"), "released_protocol"]
    assert set(rows["images"]) == {2}
    competitor = grid_rows(frame, "m", "lol_v1", released=("off", "rgb")).set_index(["gt_mean", "ssim_convention"])
    assert competitor["released_protocol"].sum() == 1 and competitor.loc[("off", "rgb"), "released_protocol"]


def test_protocol_grid_end_to_end(shared_root, tmp_path):
    profile = load_profile("smoke", {"data": {"max_eval_images": 2, "eval_max_side": 64}},
                           data_root=str(shared_root / "data"))
    enhancer = as_enhancer(lambda x: (x * 4).clamp(0, 1), "gain4")
    grid = protocol_grid(enhancer, profile, tmp_path, dataset="lol_v1")
    assert len(grid) == 6 and set(grid["images"]) == {2}
    per_image = pd.read_csv(tmp_path / "gain4" / "lol_v1.csv", dtype={"image": str})
    assert grid_metric_name("lpips_alex", "llflow") in per_image.columns
    off = grid.set_index(["gt_mean", "ssim_convention"])
    assert off.loc[("off", "rgb"), "psnr"] == off.loc[("off", "gray"), "psnr"]
    assert off.loc[("llflow", "gray"), "psnr"] != off.loc[("off", "gray"), "psnr"]
    again = protocol_grid(enhancer, profile, tmp_path, dataset="lol_v1")      # resumed from the CSV
    pd.testing.assert_frame_equal(grid, again)


# ---- VE-LOL ---------------------------------------------------------------------------------------------------
def test_intra_dataset_run_is_not_run_without_the_data(tmp_path):
    profile = load_profile("smoke", data_root=str(tmp_path))
    reason = missing_split("ve_lol", profile.data, "train")
    assert reason and reason.startswith("ve_lol train split absent")
    result = intra_dataset_run("llflow", profile, tmp_path / "runs")
    assert isinstance(result, str) and result.startswith("not run: ve_lol train split absent")
    assert not (tmp_path / "runs").exists()
