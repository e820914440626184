"""llie_core.analysis.jcrnet: channel histograms (Fig. 11), per-dataset means (Fig. 12), gray error maps
(Figs. 13/14/16), LPIPS heatmaps (Fig. 15), Table VII complexity rows, the saliency enhancement step and the
paper-table helper."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from llie_core.analysis import jcrnet as analysis
from llie_core.evaluation.complexity import build_on_meta, count_flops, count_flops_on_meta
from llie_core.core import assets
from llie_core.report.figure_check import figure_problems
from tests.helpers import skip_or_fail

matplotlib.use("Agg")


def _constant(value: float, h: int = 6, w: int = 5) -> torch.Tensor:
    return torch.full((1, 3, h, w), value)


# ---- Fig. 11 -------------------------------------------------------------------------------------------------
def test_histograms_are_per_channel_densities_of_8bit_values():
    image = torch.zeros(1, 3, 4, 4)
    image[:, 0] = 0.5                       # R: all at 128/255 -> bin 32 of 64
    image[:, 1, :2] = 1.0                   # G: half at 1.0 (last bin), half at 0
    hists = analysis.channel_histograms({"x": image}, bins=64)
    sums = hists.groupby("channel")["density"].sum()
    assert sums.to_dict() == pytest.approx({"R": 1.0, "G": 1.0, "B": 1.0})
    r = hists[hists["channel"] == "R"].set_index("bin")["density"]
    assert r[32] == 1.0 and r.drop(32).sum() == 0.0
    g = hists[hists["channel"] == "G"].set_index("bin")["density"]
    assert (g[0], g[63]) == (0.5, 0.5)
    with pytest.raises(ValueError, match="bins"):
        analysis.channel_histograms({"x": image}, bins=0)
    with pytest.raises(ValueError, match="RGB"):
        analysis.channel_histograms({"x": torch.zeros(1, 1, 4, 4)})


def test_histogram_emd_golden():
    """Delta histograms at 0.2 (bin 12) and 0.7 (bin 44): EMD = 32 bins x 1/64 = 0.5 in every channel."""
    hists = analysis.channel_histograms({"ours": _constant(0.2), "same": _constant(0.7),
                                        "reference": _constant(0.7)}, bins=64)
    frame = analysis.histogram_distances(hists)
    dist = frame.set_index("label")
    assert list(dist.index) == ["ours", "same"]
    assert dist.loc["ours", ["R", "G", "B", "mean"]].tolist() == pytest.approx([0.5] * 4)
    assert dist.loc["same", "mean"] == 0.0
    with pytest.raises(KeyError, match="reference"):
        analysis.histogram_distances(hists[hists["label"] != "reference"])
    fig = analysis.histogram_figure(hists, frame)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["ours (EMD 0.500)", "same (EMD 0.000)", "reference"]


# ---- Fig. 12 -------------------------------------------------------------------------------------------------
def test_per_dataset_means_keep_ok_rows_of_the_chosen_methods():
    measured = pd.DataFrame([
        {"method": "jcrnet", "dataset": "dicm", "status": "ok", "niqe": 3.0, "brisque": 20.0},
        {"method": "jcrnet", "dataset": "lime", "status": "ok", "niqe": 4.0, "brisque": 22.0},
        {"method": "jcrnet", "dataset": "mef", "status": "not run: absent", "niqe": np.nan, "brisque": np.nan},
        {"method": "he", "dataset": "dicm", "status": "ok", "niqe": 3.5, "brisque": np.nan},
        {"method": "other", "dataset": "dicm", "status": "ok", "niqe": 9.0, "brisque": 9.0},
    ])
    long = analysis.per_dataset_means(measured, methods=["jcrnet", "he"])
    assert len(long) == 5 and set(long["method"]) == {"jcrnet", "he"} and "mef" not in set(long["dataset"])
    assert long.query("method == 'jcrnet' and metric == 'niqe'")["value"].tolist() == [3.0, 4.0]
    fig = analysis.distribution_figure(long, names={"jcrnet": "JCRNet"})
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["JCRNet", "he"]


# ---- Figs. 13, 14, 16 ----------------------------------------------------------------------------------------
def test_error_map_is_the_channel_mean_of_the_absolute_error():
    out, ref = _constant(0.5), _constant(0.5)
    out[:, 0] = 0.8                                          # R off by 0.3, G and B exact
    torch.testing.assert_close(analysis.error_map(out, ref), torch.full((6, 5), 0.1))
    torch.testing.assert_close(analysis.error_map(_constant(1.5), _constant(0.0)), torch.ones(6, 5))  # clamped
    with pytest.raises(ValueError, match="shape"):
        analysis.error_map(out, ref[..., :3])


def test_residual_figure_draws_gray_error_maps_on_one_labelled_scale():
    gen = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 3, 6, 5, generator=gen)
    cols = {"input": [ref * 0.1], "full": [(ref + 0.05).clamp(0, 1)], "w/o X": [(ref - 0.2).clamp(0, 1)],
            "reference": [ref]}
    fig = analysis.residual_figure(cols, ["w/o X", "full"], ["img"])
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["input", "full", "w/o X", "reference", "|error| w/o X",
                                                 "|error| full"]
    maps = [ax.images[0] for ax in panels[-2:]]
    assert all(m.get_cmap().name == "gray" and m.get_array().ndim == 2 for m in maps)
    assert maps[0].get_clim() == maps[1].get_clim()          # one scale for every error map
    both = np.concatenate([np.asarray(m.get_array()).ravel() for m in maps])
    assert maps[0].get_clim() == (0.0, pytest.approx(np.quantile(both, analysis.ERROR_SCALE_QUANTILE)))
    assert figure_problems(fig) == []                       # the colour bar is labelled
    with pytest.raises(KeyError, match="reference"):
        analysis.residual_figure({"full": [ref]}, ["full"])


def test_wrapped_grid_puts_many_methods_in_rows():
    images = {name: _constant(0.1 * i) for i, name in enumerate(["input", "HE", "CLAHE", "LIME", "Zero-DCE", "JCRNet"])}
    fig = analysis.wrapped_grid(images, columns=4, title="img (dicm)")
    assert [ax.get_title() for ax in fig.axes] == [*images, "", ""]
    assert sum(bool(ax.images) for ax in fig.axes) == 6 and fig.axes[4].get_subplotspec().rowspan.start == 1
    assert figure_problems(fig) == []
    with pytest.raises(ValueError, match="at least one"):
        analysis.wrapped_grid({})


def test_captions_go_under_the_right_panels():
    from llie_core.report.figures import image_grid

    fig = image_grid({"a": [_constant(0.2), _constant(0.3)], "b": [_constant(0.4), _constant(0.5)]})
    analysis.add_captions(fig, [["N 3.1", ""], ["", "B 20.0"]])
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert texts == [["N 3.1"], [], [], ["B 20.0"]]


def test_stack_figures_keeps_each_part_and_its_title():
    import matplotlib.pyplot as plt

    small, wide = plt.figure(figsize=(2, 1)), plt.figure(figsize=(4, 2))
    fig = analysis.stack_figures([small, wide], ["(a) one", "(b) two"], dpi=50)
    shapes = [ax.images[0].get_array().shape for ax in fig.axes]
    assert shapes == [(50, 100, 3), (100, 200, 3)]
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["(a) one", "(b) two"]
    still_open = [plt.figure(n) for n in plt.get_fignums()]
    assert fig in still_open and small not in still_open and wide not in still_open      # the parts are closed
    with pytest.raises(ValueError, match="at least one"):
        analysis.stack_figures([])


# ---- Fig. 15 -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lpips_spatial():
    try:
        return analysis.spatial_lpips("alex")
    except assets.AssetsMissingError as exc:
        skip_or_fail(f"LPIPS assets missing: {exc}")


def test_lpips_heatmaps_are_zero_for_identical_images_and_average_to_the_score(lpips_spatial):
    from llie_core.metrics.lpips_metric import build_lpips

    gen = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 3, 64, 64, generator=gen)
    noisy = (ref + 0.2 * torch.randn(1, 3, 64, 64, generator=gen)).clamp(0, 1)
    same, diff = analysis.lpips_heatmaps(lpips_spatial, [ref, noisy], [ref, ref])
    assert same.shape == diff.shape == (1, 1, 64, 64)
    assert float(same.abs().max()) < 1e-6 and float(diff.min()) >= 0.0
    score = float(build_lpips("alex")(noisy * 2 - 1, ref * 2 - 1))
    assert float(diff.mean()) == pytest.approx(score, rel=0.1)       # bilinear upsampling moves the mean a little
    with pytest.raises(ValueError, match="shape"):
        analysis.lpips_heatmaps(lpips_spatial, [ref], [ref[..., :32, :32]])
    fig = analysis.heatmap_figure([noisy], {"w/o JRS": [diff], "JCRNet": [same]}, ["img"], references=[ref])
    assert [ax.get_title() for ax in fig.axes[:4]] == ["input img", "reference", f"w/o JRS: mean {diff.mean():.3f}",
                                                       "JCRNet: mean 0.000"]
    assert fig.axes[-1].get_ylabel() == analysis.LPIPS_MAP_LABEL and figure_problems(fig) == []


# ---- Table VII -----------------------------------------------------------------------------------------------
def test_complexity_table_rows_are_exact_and_built_one_by_one():
    built = []

    def factory():
        built.append(torch.empty(0).device.type)
        return torch.nn.Conv2d(3, 8, 3, padding=1)

    table = analysis.complexity_table({"conv": factory, "module": torch.nn.Conv2d(3, 3, 1)}, (1, 3, 16, 16),
                                      warmup=0, runs=1)
    assert built == ["meta", "cpu"]   # FLOPs counted on the meta device, then one real model for the latency
    assert table["model"].tolist() == ["conv", "module"]
    assert table["params"].tolist() == [3 * 8 * 9 + 8, 3 * 3 + 3]
    assert table["flops"].tolist() == [2 * 3 * 8 * 9 * 256, 2 * 3 * 3 * 256]
    assert (table["latency_runs"] == 1).all() and (table["measure_seconds"] > 0).all()


def test_stage_breakdown_adds_up_to_the_model():
    from llie_core.evaluation.complexity import count_flops, count_parameters
    from llie_core.models.jcrnet import JCRNet

    model = JCRNet(n_feat=8, unet_step=4, prior_width=8, edge_widths=(4, 8), cond_hidden=8, cond_width=4,
                   sft_width=8, correction_width=8, bp_width=8)
    table = analysis.stage_breakdown(model, (1, 3, 16, 16)).set_index("part")
    assert list(table.index) == ["fes", "jrs", "ias", "total"]
    assert table.loc["total", "params"] == count_parameters(model) == table.loc[["fes", "jrs", "ias"], "params"].sum()
    assert table.loc["total", "GFLOPs"] * 1e9 == count_flops(model, (1, 3, 16, 16))
    assert table.loc["total", "GMACs"] == pytest.approx(table.loc["total", "GFLOPs"] / 2)          # 1 MAC = 2 FLOPs
    assert table.loc["total", "params_M"] == pytest.approx(count_parameters(model) / 1e6)          # SI
    assert table.loc[["fes", "jrs", "ias"], "share_of_flops"].sum() == pytest.approx(1.0)
    no_jrs = analysis.stage_breakdown(JCRNet(jrs=False, n_feat=8, unet_step=4, prior_width=8, bp_width=8),
                                      (1, 3, 16, 16))
    assert list(no_jrs["part"]) == ["fes", "ias", "total"]
    on_meta = analysis.stage_breakdown(build_on_meta(lambda: JCRNet(n_feat=8, unet_step=4, prior_width=8, edge_widths=(4, 8),
                                                                    cond_hidden=8, cond_width=4, sft_width=8,
                                                                    correction_width=8, bp_width=8)), (1, 3, 16, 16))
    pd.testing.assert_frame_equal(on_meta.set_index("part"), table)   # the notebook counts the paper width there


def test_implemented_models_cover_every_configured_method_and_zero_dce():
    from llie_core.evaluation.complexity import count_parameters
    from llie_core.models.jcrnet import JCRNet
    from llie_core.training.recipes import available_methods

    models = analysis.implemented_models("paper")
    assert set(available_methods()) | {"zero_dce"} == set(models)
    jcrnet = models["jcrnet"]()
    assert isinstance(jcrnet, JCRNet) and count_parameters(jcrnet) == 1_981_797
    assert count_parameters(models["zero_dce"]()) == 79_416    # DCE-Net: 7 convs, 32 channels


def test_table7_compares_macs_with_macs_and_si_millions():
    """Every row in G MACs (Table VII's "FLOPs (G)" read as MACs), FLOPs only in their own column (measured rows);
    the measured JCRNet row's relative differences compare MACs with Table VII's number, never FLOPs."""
    from llie_core.report.ledger import load_reported

    measured = pd.DataFrame([{"model": "jcrnet", "params": 1_981_797, "params_M_2^20": 1_981_797 / 2**20,
                              "GFLOPs": 443.36, "GMACs": 221.68, "latency_fps": 0.5, "latency_median_s": 2.0,
                              "input_size": "1x3x384x384", "latency_threads": 2, "latency_runs": 3},
                             {"model": "other", "params": 10, "params_M_2^20": 10 / 2**20, "GFLOPs": 2.0,
                              "GMACs": 1.0, "input_size": "1x3x384x384"}])
    table = analysis.table7(measured, load_reported("jcrnet", "Table VII"), names={"jcrnet": "JCRNet"},
                            profile="quick")
    reported = table[table["source"].str.startswith("reported")].set_index("method")
    assert reported.loc["JCRNet", ["params_M", "GMACs", "fps"]].tolist() == [2.01, 219.74, 5.99]
    assert reported["GFLOPs"].isna().all()                 # the paper prints one number: it is in GMACs
    ours = table[table["method"] == "JCRNet"].iloc[-1]
    assert (ours["method"], ours["source"]) == ("JCRNet", "measured (quick)")
    assert ours["params_M"] == pytest.approx(1.981797) and ours["params_M_2^20"] == pytest.approx(1.890, abs=1e-3)
    assert ours["GMACs"] == 221.68 and ours["GFLOPs"] == 443.36 and ours["fps"] == 0.5
    assert ours["GMACs_vs_reported"] == pytest.approx(221.68 / 219.74 - 1)            # +0.9%: like with like
    assert ours["params_vs_reported"] == pytest.approx(1.981797 / 2.01 - 1)            # -1.4%
    assert pd.isna(table.iloc[-1]["GMACs_vs_reported"])     # no reported row of that name: no difference
    assert "G MACs" in analysis.TABLE7_UNITS and "2 x GMACs" in analysis.TABLE7_UNITS


def test_model_cost_counts_the_config_model_on_the_meta_device():
    from llie_core.evaluation.complexity import count_flops
    from llie_core.models import build_model

    cfg = {"type": "JCRNet", "n_feat": 8, "unet_step": 4, "prior_width": 8, "edge_widths": (4, 8), "cond_hidden": 8,
           "cond_width": 4, "sft_width": 8, "correction_width": 8, "bp_width": 8}
    cost = analysis.model_cost(cfg, 16)
    model = build_model(dict(cfg))
    assert cost["params"] == sum(p.numel() for p in model.parameters())
    assert cost["GFLOPs"] * 1e9 == count_flops(model, (1, 3, 16, 16)) and cost["GMACs"] == cost["GFLOPs"] / 2


# ---- Tables VIII-IX: the enhancement step --------------------------------------------------------------------
def test_enhance_images_writes_outputs_and_resumes(tmp_path):
    from data_prep.image_io import read_image, write_image

    files = [write_image(tmp_path / "in" / f"{i}.png", np.full((3, 8, 10), 0.2 * (i + 1), np.float32))
             for i in range(2)]
    calls = []

    def brighten(low):
        calls.append(tuple(low.shape))
        return low * 2

    table = analysis.enhance_images(brighten, files, tmp_path / "out", max_side=6)
    assert calls == [(1, 3, 6, 6)] * 2
    assert table["output"].map(lambda p: p.endswith(".png")).all()
    assert table["mean_out"].tolist() == pytest.approx([0.4, 0.8], abs=1 / 255)
    assert np.allclose(read_image(tmp_path / "out" / "1.png"), round(0.8 * 255) / 255)
    again = analysis.enhance_images(brighten, files, tmp_path / "out", max_side=6)
    assert len(calls) == 2 and again["seconds"].isna().all()          # nothing enhanced twice
    assert again["mean_out"].tolist() == pytest.approx(table["mean_out"].tolist(), abs=1e-6)


# ---- paper tables --------------------------------------------------------------------------------------------
def test_paper_table_lists_reported_then_reproduced_and_not_run_rows():
    measured = pd.DataFrame([
        {"method": "jcrnet[wo_fes]", "dataset": "lol_v1", "status": "ok", "psnr": 18.0, "ssim": 0.6},
        {"method": "jcrnet[ablation_budget]", "dataset": "lol_v1", "status": "ok", "psnr": 19.0, "ssim": 0.7},
        {"method": "jcrnet[wo_fes]", "dataset": "coco_lowlight", "status": "not run: absent here"},
    ])
    names = {"jcrnet[wo_fes]": "JCRNet w/o FES", "jcrnet[ablation_budget]": "JCRNet"}
    table = analysis.paper_table(measured, "Table IV", {"lol_v1": "lol_v1", "coco_lowlight": "coco_lowlight"},
                                 ["psnr", "ssim"], "quick", names)
    assert list(table.columns) == ["method", "dataset", "source", "status", "psnr", "ssim"]
    reported = table[table["status"] == "reported"]
    assert len(reported) == 8 and set(reported["dataset"]) == {"lol_v1", "coco_lowlight"}
    assert reported.query("method == 'JCRNet' and dataset == 'lol_v1'")["psnr"].item() == 24.901
    ours = table[table["source"] == "reproduced (quick)"].set_index(["method", "dataset"])
    assert ours.loc[("JCRNet w/o FES", "lol_v1"), "psnr"] == 18.0
    assert ours.loc[("JCRNet w/o FES", "coco_lowlight"), "status"] == "not run: absent here"
    assert ours.loc[("JCRNet", "coco_lowlight"), "status"] == "not run: no coco_lowlight scores"
    assert math.isnan(ours.loc[("JCRNet", "coco_lowlight"), "psnr"])
    assert analysis.not_run_rows(["a", "b"], "no data")["status"].tolist() == ["not run: no data"] * 2
    long = "not run: coco_lowlight/test: none of the accepted layouts exists under /d (tried A | B). Fix: get it"
    assert analysis.short_status(long) == ("not run: coco_lowlight/test: none of the accepted layouts exists under "
                                           "/d (see `python -m data_prep status`)")
    assert analysis.short_status("not run: absent here") == "not run: absent here"


def test_meta_device_flop_counts_equal_a_real_forward_for_every_implemented_model():
    """Table VII counts FLOPs on the meta device (no arithmetic): the same number a real forward counts."""
    for name, factory in analysis.implemented_models("smoke").items():
        torch.manual_seed(0)
        assert count_flops_on_meta(factory, (1, 3, 64, 64)) == count_flops(factory(), (1, 3, 64, 64)), name


def test_complexity_table_times_only_the_requested_runs_and_says_where_flops_were_counted():
    calls = []

    class Counted(torch.nn.Conv2d):
        def forward(self, x):
            if x.device.type != "meta":
                calls.append(x.shape)
            return super().forward(x)

    table = analysis.complexity_table({"conv": lambda: Counted(3, 4, 3)}, (1, 3, 16, 16), warmup=0, runs=1)
    assert len(calls) == 1 and table.loc[0, "flops_counted_on"] == "meta"
    assert table.loc[0, "flops"] == count_flops(Counted(3, 4, 3), (1, 3, 16, 16)) > 0
