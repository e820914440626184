"""Notebook 13's analyses (llie_core.analysis.iclr): test-time options from one network pass, HV statistics, the
CCL gain / low-covariance summary, and the table-row helpers."""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from llie_core.analysis import iclr as an
from llie_core.analysis.common import read_image_scores
from llie_core.models.cidnet import CIDNet
from llie_core.models.hvi import HVITransform
from llie_core.training.recipes import load_method_config
from tests.helpers import TINY_CIDNET, rand

matplotlib.use("Agg")


# ---- test-time options ---------------------------------------------------------------------------------------
def test_option_labels_are_extra_tags():
    assert an.option_label("iclr", "gate1.3") == "iclr[gate1.3]"
    assert an.option_label("iclr[wo_mafm]", "gate1.3") == "iclr[wo_mafm,gate1.3]"
    assert an.option_label("iclr[ablation_budget]", "rgb0.84") == "iclr[ablation_budget,rgb0.84]"
    assert an.options_tag({"saturation_gate": 1.3}) == "gate1.3"
    assert an.options_tag({"rgb_scale": 0.84, "saturation_gate": 1.3}) == "rgb0.84+gate1.3"


def test_shared_pass_equals_the_model_with_each_option_and_runs_the_network_once():
    torch.manual_seed(0)
    model = CIDNet(**TINY_CIDNET).eval()
    shared = an.SharedHVIPass(model)
    low = rand(1, 3, 21, 30, seed=1)                      # not a multiple of 8: padded and cropped back
    outputs = {}
    for name, options in {"plain": {}, "gate": {"saturation_gate": 1.3}, "scale": {"rgb_scale": 0.84}}.items():
        outputs[name] = shared.enhancer(name, **options)(low)
        with torch.no_grad():
            torch.testing.assert_close(outputs[name], model(low, **options).clamp(0, 1), atol=0, rtol=0)
    assert shared.passes == 1
    assert (outputs["gate"] - outputs["plain"]).abs().max() > 1e-4
    shared.enhancer("plain")(rand(1, 3, 21, 30, seed=2))
    assert shared.passes == 2
    shared.clear()
    shared.enhancer("plain")(low)
    assert shared.passes == 3


def test_shared_pass_cache_is_bounded_and_options_are_checked():
    shared = an.SharedHVIPass(CIDNet(**TINY_CIDNET), max_items=2)
    for seed in range(4):
        shared.enhancer("x")(rand(1, 3, 16, 16, seed=seed))
    assert len(shared.cache) == 2
    with pytest.raises(TypeError, match="saturation_gate"):
        shared.enhancer("x", gamma=0.8)
    with pytest.raises(TypeError, match="predict_hvi"):
        an.SharedHVIPass(torch.nn.Identity())


def test_evaluate_with_test_options_scores_plain_and_option_rows(shared_root, tmp_path):
    from llie_core.core.profiles import load_profile

    profile = load_profile("smoke", data_root=shared_root / "data")
    torch.manual_seed(0)
    run = SimpleNamespace(model=CIDNet(**TINY_CIDNET).eval(), label="cidnet", config={"model": {"pad_multiple": 8}},
                          scores_dir=tmp_path)
    rows = an.evaluate_with_test_options(run, profile, ["lol_v1", "lol_v2_real"], [],
                                         {"lol_v1": {"saturation_gate": 1.3}, "lol_v2_real": {"rgb_scale": 0.84}},
                                         metrics=["psnr"])
    ok = rows[rows["status"] == "ok"].set_index("method")
    assert set(ok.index) == {"cidnet", "cidnet[gate1.3]"} and set(ok["dataset"]) == {"lol_v1"}
    assert ok.loc["cidnet", "psnr"] != ok.loc["cidnet[gate1.3]", "psnr"]
    assert rows[rows["dataset"] == "lol_v2_real"]["status"].str.startswith("not run").all()
    per_image = read_image_scores(an.run_scores_csv(run, "lol_v1", "cidnet[gate1.3]"))
    assert len(per_image) == ok.loc["cidnet[gate1.3]", "images"] and "mean" not in set(per_image["image"])


# ---- HV statistics -------------------------------------------------------------------------------------------
def test_hv_correlation_signs():
    h = rand(2, 1, 6, 6, seed=3) - 0.5
    noise = rand(2, 1, 6, 6, seed=4) - 0.5
    ones = torch.ones_like(h)
    torch.testing.assert_close(an.hv_correlation(torch.cat([h, h, ones], 1)), torch.ones(2))
    torch.testing.assert_close(an.hv_correlation(torch.cat([h, -2 * h, ones], 1)), -torch.ones(2))
    assert an.hv_correlation(torch.cat([h, noise, ones], 1)).abs().max() < 0.9


def test_image_hv_statistics_of_a_uniform_colour_and_of_a_two_colour_image():
    """A uniform image has no covariance but a non-zero E[HV]; a red/green split has a negative covariance."""
    uniform = torch.tensor([0.8, 0.4, 0.1]).view(3, 1, 1).expand(3, 4, 4).clone()
    split = torch.zeros(3, 4, 4)
    split[0, :, :2] = 1.0                                       # red: hue 0 -> (H, V) = (1, 0)
    split[1, :, 2:] = 1.0                                       # green: hue 1/3 -> (cos 120, sin 120)
    dataset = [{"name": "uniform", "low": 0.1 * uniform, "high": uniform, "size": (4, 4)},
               {"name": "split", "low": 0.1 * split, "high": split, "size": (4, 4)}]
    stats = an.image_hv_statistics(dataset, HVITransform(density_k=1.0)).set_index("image")
    assert stats.loc["uniform", "cov_high"] == pytest.approx(0.0, abs=1e-7)
    with torch.no_grad():
        hvi = HVITransform(density_k=1.0)(uniform[None])
    assert stats.loc["uniform", "moment_high"] == pytest.approx(float(hvi[0, 0, 0, 0] * hvi[0, 1, 0, 0]), rel=1e-5)
    # split: H = [1, -0.5], V = [0, 0.866] half the pixels each -> cov = -(1.5 * 0.866) / 4
    assert stats.loc["split", "cov_high"] == pytest.approx(-1.5 * np.sqrt(3) / 2 / 4, rel=1e-4)
    assert stats.loc["split", "corr_high"] == pytest.approx(-1.0, abs=1e-4)
    assert {"cov_low", "corr_low", "moment_low"} <= set(stats.columns)


# ---- gains and the low-covariance summary ----------------------------------------------------------------
def _scores(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"image": list(values), "psnr": list(values.values())})


def test_ccl_gain_table_is_full_minus_variant_per_image():
    stats = pd.DataFrame({"image": ["a", "b", "c"], "cov_high": [0.001, -0.002, 0.05]})
    table = an.ccl_gain_table(stats, _scores({"a": 20.0, "b": 18.0, "c": 15.0}),
                              {"l2": _scores({"a": 19.0, "b": 18.5, "c": 15.0})})
    assert list(table["gain_psnr_l2"]) == [1.0, -0.5, 0.0]
    with pytest.raises(ValueError, match=r"\['c'\]"):
        an.ccl_gain_table(stats, _scores({"a": 1.0, "b": 1.0}), {"l2": _scores({"a": 1.0, "b": 1.0})})


def test_low_covariance_summary_fractions_and_shares():
    table = pd.DataFrame({"image": list("abcd"), "cov_high": [0.001, -0.005, 0.02, -0.3],
                          "gain": [0.6, 0.3, 0.1, 0.0], "loss": [-1.0, 0.2, 0.1, 0.0]})
    summary = an.low_covariance_summary(table, ["gain", "loss"]).set_index("gain")
    assert summary.loc["gain", "low_cov_images"] == 2 and summary.loc["gain", "low_cov_fraction"] == 0.5
    assert summary.loc["gain", "low_cov_gain_share"] == pytest.approx(0.9)
    assert summary.loc["gain", "mean_gain_low_cov"] == pytest.approx(0.45)
    assert summary.loc["gain", "mean_gain_high_cov"] == pytest.approx(0.05)
    assert np.isnan(summary.loc["loss", "low_cov_gain_share"])          # total gain <= 0: no share


def test_covariance_gain_figure_has_one_panel_per_gain():
    table = pd.DataFrame({"image": ["a", "b"], "cov_high": [0.001, 0.2], "g1": [0.1, -0.2], "g2": [0.0, 0.3]})
    fig = an.covariance_gain_figure(table, {"g1": "vs L2", "g2": "vs L1"})
    assert [ax.get_title() for ax in fig.axes] == ["vs L2", "vs L1"]


# ---- table rows ---------------------------------------------------------------------------------------------
def test_result_rows_keep_label_order_and_not_run_statuses():
    measured = pd.DataFrame([
        {"method": "iclr", "dataset": "lol_v1", "status": "ok", "psnr": 18.0},
        {"method": "iclr[gate1.3]", "dataset": "lol_v1", "status": "ok", "psnr": 18.4},
        {"method": "iclr", "dataset": "lol_v2_real", "status": "not run: absent"},
    ])
    labels = {"iclr[gate1.3]": {"method": "ICLR", "test_options": "gate"}, "iclr": {"method": "ICLR",
                                                                                    "test_options": "none"}}
    rows = an.result_rows(measured, labels, ["lol_v1", "lol_v2_real"], ["psnr"], "reproduced (smoke)")
    assert list(rows["test_options"]) == ["gate", "none", "none"]
    assert list(rows["psnr"].fillna(-1)) == [18.4, 18.0, -1]
    assert rows["status"].iloc[-1] == "not run: absent" and set(rows["method"]) == {"ICLR"}


def test_reported_long_reads_the_ledger():
    rows = an.reported_long("iclr", "methods.md §2.4", ["lol_v1"], ["psnr_gtmean", "ssim_gtmean"])
    icl = rows.set_index("method").loc["ICLR"]
    assert icl["psnr_gtmean"] == pytest.approx(28.603) and icl["source"] == "reported (iclr methods.md §2.4)"
    assert an.reported_long("iclr", "methods.md §2.4", ["mef"], ["psnr"]).empty


def test_complexity_rows_match_the_official_counts(shared_root):
    listing = shared_root / "specs/state_dict_keys/hvi-cidnet_CIDNet_state_dict.txt"
    rows = an.complexity_rows({"CIDNet": {"type": "CIDNet"}}, sizes=((64, 64),), listings={"CIDNet": listing})
    row = rows.iloc[0]
    assert row["params"] == row["official_params"] == 1_975_569
    assert round(row["params_m"], 2) == 1.88
    assert row["gflops_64x64"] == pytest.approx(2 * row["gmacs_64x64"]) and row["gflops_64x64"] > 0


# ---- readings: released code (defaults) vs paper text (labelled rows) -------------------------------------------
@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_reported_rows_train_the_released_code_and_paper_text_rows_are_labelled(profile):
    full = load_method_config("iclr", profile)
    assert an.reading(full) == an.RELEASED_READING and an.row_method(full) == "ICLR"
    text = load_method_config("iclr", profile, "paper_text")
    assert an.reading(text) == an.PAPER_TEXT_READING and an.row_method(text) == "ICLR (paper-text reading)"
    for variant in ("wo_mafm", "cdem_to_tca", "ccl_to_l1", "ccl_to_l2", "wo_first_mafm", "wo_second_mafm"):
        cfg = load_method_config("iclr", profile, variant)     # ablations inherit the released reading
        assert an.reading(cfg) == an.RELEASED_READING, variant
        assert an.row_method(cfg) == cfg["ledger_method"], variant


def test_reading_of_mixed_and_default_switches():
    losses = [{"type": "CovarianceCorrectionLoss", "channel_order": "released", "name": "ccl_hvi"}]
    mixed = {"model": {"cdem_residual": "released", "fusion_weighting": "paper"}, "stages": {"main": {"losses": losses}}}
    assert an.reading(mixed) == ("mixed (cdem_residual=released, fusion_weighting=paper, ccl:ccl_hvi=released)")
    assert an.row_method(mixed).startswith("ICLR (mixed")
    assert an.reading({"model": {}}) == an.PAPER_TEXT_READING          # the class defaults are the paper text
    assert an.reading({"model": {"cdem_residual": "released", "fusion_weighting": "released"},
                       "stages": {"main": {"losses": [{"type": "L1Loss"}]}}}) == an.RELEASED_READING
