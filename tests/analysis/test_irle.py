"""IRLE figure analyses (llie_core.analysis.irle): internal references, GAFM modulation maps, residual noise by
local brightness, zoom windows and the blur/noise indicator."""
from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from llie_core.analysis import irle as analysis  # noqa: E402
from llie_core.evaluation.complexity import count_flops, count_parameters  # noqa: E402
from llie_core.models.irle import IRLE  # noqa: E402
from llie_core.models.irle_pseudo_gt import gaussian_blur  # noqa: E402
from llie_core.report.figure_check import figure_problems  # noqa: E402
from llie_core.report.ledger import load_reported  # noqa: E402
from tests.helpers import TINY_IRLE  # noqa: E402


def _scene(h: int = 48, w: int = 96, seed: int = 0) -> torch.Tensor:
    """A clean textured image whose brightness ramps from left (dark) to right (bright)."""
    g = torch.Generator().manual_seed(seed)
    texture = 0.5 + 0.3 * (gaussian_blur(torch.rand(1, 3, h, w, generator=g), 1.0) - 0.5) * 4
    ramp = torch.linspace(0.05, 1.0, w).view(1, 1, 1, w)
    return (texture.clamp(0, 1) * ramp).clamp(0, 1)


def _tiny_model() -> IRLE:
    torch.manual_seed(0)
    return IRLE(**TINY_IRLE).eval()


def test_internal_references_are_the_models_intermediates():
    model = _tiny_model()
    low = 0.1 * _scene()
    maps = analysis.internal_references(model, low)
    assert set(analysis.REFERENCE_PANELS) | {"enhanced_noisy", "gafm"} <= set(maps)
    for name in analysis.REFERENCE_PANELS:
        assert maps[name].shape == low.shape, name
    torch.testing.assert_close(maps["gain"], 1 / maps["illumination"])
    torch.testing.assert_close(maps["pseudo_gt"], model.pseudo_gt(low))
    torch.testing.assert_close(maps["enhanced_lowpass"], model.pseudo_gt.lowpass(maps["enhanced_noisy"]).clamp(0, 1))
    torch.testing.assert_close(maps["output"], model(low))
    assert maps["gafm"].shape == (1, 1, *low.shape[2:]) and maps["gafm"].abs().max() == 0  # zero-initialised heads
    model.train()
    analysis.internal_references(model, low)
    assert model.training                                                   # mode restored


def test_gafm_modulation_follows_the_gain_prior():
    model = _tiny_model()
    for head in model.denoiser.gafm.heads:
        torch.nn.init.normal_(head.weight, std=0.3)
        torch.nn.init.normal_(head.bias, std=0.1)
    flat = analysis.gafm_modulation(model.denoiser, torch.zeros(1, 3, 8, 12))
    assert torch.allclose(flat, flat[0, 0, 0, 0].expand_as(flat))            # same prior -> same modulation
    ramp = torch.linspace(0, 3, 12).view(1, 1, 1, 12).expand(1, 3, 8, 12)
    varying = analysis.gafm_modulation(model.denoiser, ramp)
    assert (varying[..., 0] - varying[..., -1]).abs().min() > 1e-4           # it changes with the gain
    plain = IRLE(**{**TINY_IRLE, "denoiser": {**TINY_IRLE["denoiser"], "gafm": False}})
    assert analysis.gafm_modulation(plain.denoiser, ramp).abs().max() == 0
    assert analysis.gafm_modulation(None, ramp).shape == (1, 1, 8, 12)


def test_noise_by_brightness_sees_dark_region_noise_and_ignores_exposure():
    reference = _scene()
    low = 0.08 * reference
    g = torch.Generator().manual_seed(1)
    brightness = analysis.local_brightness(low)
    noisy = reference + 0.02 / (brightness / brightness.max()).sqrt() * torch.randn(reference.shape, generator=g)
    curve = analysis.noise_by_brightness([low], [noisy], [reference], bins=4)
    assert list(curve["bin"]) == [0, 1, 2, 3]
    assert curve["pixels"].max() - curve["pixels"].min() <= 0.02 * curve["pixels"].sum()   # quantile bins
    assert (np.diff(curve["brightness"]) > 0).all()
    assert (np.diff(curve["noise_rms"]) < 0).all() and (np.diff(curve["abs_error"]) < 0).all()
    assert curve["noise_rms"].iloc[0] > 2 * curve["noise_rms"].iloc[-1]   # amplified noise lives in the dark
    exposed = analysis.noise_by_brightness([low], [0.6 * reference], [reference], bins=4)
    assert exposed["noise_rms"].max() < 1e-3 * curve["noise_rms"].min()    # an exposure change is not noise
    assert exposed["abs_error"].max() < 0.05 * curve["abs_error"].min()
    self_only = analysis.noise_by_brightness([low], [noisy], None, bins=4)  # reference-free: the output's high-pass
    assert (self_only["noise_rms"] > 0).all()
    with pytest.raises(ValueError, match="one output"):
        analysis.noise_by_brightness([low, low], [noisy])
    with pytest.raises(ValueError, match="shape"):
        analysis.noise_by_brightness([low], [noisy[..., :40]])


def test_noise_curves_share_bin_edges_across_models():
    reference = _scene()
    low = 0.08 * reference
    curves = analysis.noise_curves({"identity": lambda x: x / 0.08, "darker": lambda x: x},
                                   [low, low.flip(-1)], [reference, reference.flip(-1)], bins=5)
    assert list(curves["model"].unique()) == ["identity", "darker"]
    a, b = (curves[curves["model"] == m].reset_index(drop=True) for m in ("identity", "darker"))
    assert a["brightness"].equals(b["brightness"]) and a["pixels"].equals(b["pixels"])
    assert a["noise_rms"].max() < 1e-4                                    # a perfect (scaled) output
    fig = analysis.plot_noise_by_brightness(curves, "test", compare=("identity", "darker"),
                                            compare_note="darker changes the curve by at most {diff:.3f}")
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    lines = fig.axes[0].lines
    assert lines[0].get_marker() != lines[1].get_marker() and lines[0].get_linestyle() != lines[1].get_linestyle()
    gap = (a["noise_rms"] - b["noise_rms"]).abs().max()
    assert fig.axes[0].get_title().endswith(f"darker changes the curve by at most {gap:.3f}")
    assert figure_problems(fig) == []
    matplotlib.pyplot.close(fig)


def test_texture_box_and_high_frequency_ratio():
    image = torch.full((1, 3, 64, 80), 0.4)
    g = torch.Generator().manual_seed(2)
    image[..., 30:54, 44:70] += 0.3 * torch.rand(1, 3, 24, 26, generator=g)        # the only textured patch
    top, left, height, width = analysis.texture_box(image, size=24)
    assert (height, width) == (24, 24) and abs(top - 30) <= 6 and abs(left - 44) <= 6
    assert analysis.texture_box(image[..., :16, :16], size=24)[2:] == (16, 16)    # clipped to the image
    ref = _scene()
    assert analysis.high_frequency_ratio(ref, ref) == pytest.approx(1.0, rel=1e-4)
    assert analysis.high_frequency_ratio(2.0 * ref, ref) == pytest.approx(1.0, rel=1e-3)  # exposure-free
    assert analysis.high_frequency_ratio(gaussian_blur(ref, 1.5), ref) < 0.5
    assert analysis.high_frequency_ratio(ref + 0.05 * torch.randn(ref.shape, generator=g), ref) > 1.5
    assert analysis.crop(ref, (2, 3, 10, 11)).shape == (1, 3, 10, 11)


def test_figures_build():
    model = _tiny_model()
    low = 0.1 * _scene(32, 48)
    rows = [analysis.internal_references(model, low), {**analysis.internal_references(model, low), "reference": low}]
    fig = analysis.plot_internal_references(rows, ["a", "b"])
    assert len([ax for ax in fig.axes if ax.images]) == 2 * len(analysis.REFERENCE_PANELS) + 1   # no ref in row a
    matplotlib.pyplot.close(fig)
    image, cmap = analysis.panel_image("gain", rows[0]["gain"])
    assert image.shape == (32, 48) and cmap == "magma"
    assert analysis.panel_image("output", rows[0]["output"])[0].shape == (32, 48, 3)
    fig = analysis.plot_zoomed({"input": [low], "model": [low * 5]}, [(0, 0, 16, 16)], references=[low])
    assert "HF ratio" in fig.axes[1].get_title() and "HF ratio" not in fig.axes[0].get_title()
    matplotlib.pyplot.close(fig)


def test_shared_images_finds_identical_content_under_any_name(tmp_path):
    (tmp_path / "a.png").write_bytes(b"image one")
    (tmp_path / "b.png").write_bytes(b"image two")
    (tmp_path / "copy_of_a.png").write_bytes(b"image one")
    (tmp_path / "c.png").write_bytes(b"image three")
    train = [tmp_path / "a.png", tmp_path / "b.png"]
    assert analysis.shared_images(train, [tmp_path / "c.png"]) == []
    assert analysis.shared_images(train, [tmp_path / "c.png", tmp_path / "copy_of_a.png"]) == [
        (str(tmp_path / "a.png"), str(tmp_path / "copy_of_a.png"))]


def test_benchmark_table_layout():
    import pandas as pd

    measured = pd.DataFrame([
        {"method": "irle", "dataset": "lol_v1", "status": "ok", "psnr": 17.0, "niqe": 5.0},
        {"method": "he", "dataset": "lol_v1", "status": "ok", "psnr": 15.6, "niqe": 8.0},
        {"method": "irle", "dataset": "lol_v2_real", "status": "not run: lol_v2_real/test: none of the accepted "
         "layouts exists under /data (tried A | B). Fix: get it from: somewhere"},
        {"method": "he", "dataset": "lol_v2_real", "status": "not run: absent"},
        {"method": "irle", "dataset": "dicm", "status": "ok", "niqe": 4.0}])
    reported = pd.DataFrame([{"paper": "irle", "table": "methods.md §4", "method": "IRLE", "dataset": "lol_v1",
                              "metric": "niqe", "value": 4.279}])
    table = analysis.benchmark_table(measured, reported, ["lol_v1", "lol_v2_real", "dicm"], ["psnr", "niqe"],
                                     "quick", names={"he": "HE"})
    assert list(table.columns) == ["method", "dataset", "source", "status", "psnr", "niqe"]
    assert table["source"].tolist() == ["reported (irle methods.md §4)", "reproduced (quick)", "reproduced (quick)",
                                        "-", "reproduced (quick)"]
    assert table["method"].tolist() == ["IRLE", "IRLE", "HE", "IRLE", "IRLE"]
    assert table.loc[0, "niqe"] == 4.279 and np.isnan(table.loc[0, "psnr"])
    assert table.loc[3, "status"] == ("not run: lol_v2_real/test: none of the accepted layouts exists under "
                                      "/data (see `python -m data_prep status`)")  # one row, not one per baseline
    assert np.isnan(table.loc[4, "psnr"]) and table.loc[4, "niqe"] == 4.0


def test_table1_comparison_against_the_ledger_rows():
    measured = pd.DataFrame([
        {"method": "irle", "dataset": "lol_v1", "status": "ok", "psnr": 17.5, "ssim": 0.6, "psnr_gtmean": 21.0,
         "ssim_gtmean": 0.62},
        {"method": "he", "dataset": "lol_v1", "status": "ok", "psnr": 15.6, "ssim": 0.5, "psnr_gtmean": 18.0,
         "ssim_gtmean": 0.5},
        {"method": "irle", "dataset": "lol_v2_real", "status": "not run: lol_v2_real/test: none of the accepted "
         "layouts exists under /data (tried A | B). Fix: get it from: somewhere"}])
    table = analysis.table1_comparison(measured, load_reported("irle"), "quick")
    assert len(table) == 12 and table["metric"].tolist()[:4] == ["psnr", "ssim", "psnr_gtmean", "ssim_gtmean"]
    v1 = table[table["dataset"] == "lol_v1"].set_index("metric")
    assert v1.loc["psnr", "reported (page Table 1)"] == 20.60
    assert v1.loc["ssim_gtmean", "reported (page Table 1)"] == 0.788
    assert v1.loc["psnr", "reproduced"] == 17.5 and v1.loc["psnr", "difference"] == pytest.approx(17.5 - 20.60)
    assert v1.loc["psnr_gtmean", "setting"] == "GT-Mean" and v1.loc["ssim", "setting"] == "Normal"
    assert set(v1["status"]) == {"reproduced (quick)"}
    real = table[table["dataset"] == "lol_v2_real"]
    assert real["status"].str.startswith("not run: lol_v2_real/test").all() and real["reproduced"].isna().all()
    assert real.set_index("metric").loc["psnr_gtmean", "reported (page Table 1)"] == 26.24
    assert (table[table["dataset"] == "lol_v2_synthetic"]["status"] == "not run: no score").all()
    with pytest.raises(ValueError, match="Table 1"):
        analysis.table1_comparison(measured, load_reported("irle", "methods.md §4"), "quick")


def test_cost_table_counts_stage1_and_whole_network_against_table2():
    tiny = copy.deepcopy(TINY_IRLE)
    cost = analysis.model_cost(tiny, (1, 3, 40, 60))
    torch.manual_seed(0)
    real = IRLE(**copy.deepcopy(tiny))                         # the meta-device count equals a real-tensor count
    assert cost["whole_params"] == count_parameters(real)
    assert cost["whole_macs"] == count_flops(real, (1, 3, 40, 60)) // 2
    assert cost["stage1_params"] == count_parameters(real.illumination) + count_parameters(real.structure)
    assert 0 < cost["stage1_macs"] < cost["whole_macs"]
    table = analysis.cost_table({"tiny": tiny}, load_reported("irle"), (1, 3, 40, 60))
    assert table["part"].tolist() == ["stage 1", "whole network"]
    assert table["params_m (page)"].tolist() == [0.887, 2.204] and table["macs_g (page)"].tolist() == [32.479, 79.139]
    assert table["params_m"].iloc[1] == cost["whole_params"] / 1e6 and not table["within 10%"].any()
    with pytest.raises(ValueError, match="Table 2"):
        analysis.cost_table({"tiny": tiny}, load_reported("irle", "Table 1"))
