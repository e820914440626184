"""Helpers that only the notebooks call, driven with hand-built inputs shaped like the notebooks' own.

* ``report.method_tables.reported_rows`` / ``side_by_side`` (10_frlie Tables 1-2) and ``beats_baselines`` (every
  method notebook's ``<method>_vs_baselines``): measured frames have the columns of ``evaluation.suite.evaluate_suite``
  (one row per method x dataset, ``status`` ``ok`` or ``not run: <reason>``); reported rows come from the repository's
  ledger (``results/paper/reported``), so the reported numbers asserted here are the transcribed paper values.
* ``analysis.llflow.lol_table`` / ``velol_table`` (12_llflow): the protocol grid comes from ``grid_rows`` on a
  per-image frame whose every protocol column holds a distinct value, so each number can be traced to its cell.
* ``report.compare.comparison_protocol`` (90_tables): catalogued artifacts and provenance sidecars in ``tmp_path``.
* ``workbook.explorer.build_explorer`` (99_explore): a tiny LOL / DICM tree and per-image score CSVs in ``tmp_path``; the
  widgets are driven programmatically as in ``tests/workbook/test_explorer.py``.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from data_prep.testing import write_fake_images, write_fake_pairs
from llie_core.analysis.llflow import COMPETITOR_PROTOCOL, TABLE_COLUMNS, grid_rows, lol_table, velol_table
from llie_core.core.profiles import load_profile
from llie_core.evaluation.baselines import build_enhancer
from llie_core.models import build_model
from llie_core.report import artifacts as A, compare as P
from llie_core.report.figures import to_hwc
from llie_core.report.method_tables import BASELINES, beats_baselines, reported_rows, side_by_side
from llie_core.training.recipes import load_method_config
from llie_core.workbook import explorer as E
from tests.helpers import REPO_ROOT

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")

SUITE_METRICS = ("psnr", "ssim", "ssim_gray", "lpips_alex", "psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                 "niqe", "brisque")
NAN = float("nan")


def suite_row(method: str, dataset: str, status: str = "ok", kind: str = "paired", images: int = 15,
              **scores: float) -> dict:
    """One ``evaluate_suite`` row: every suite metric (NaN unless given); a ``not run`` row has 0 images."""
    ok = status == "ok"
    row = {"method": method, "dataset": dataset, "kind": kind, "images": images if ok else 0, "status": status}
    row.update({m: scores.get(m, NAN) for m in SUITE_METRICS})
    row["seconds_per_image"] = 0.5 if ok else NAN
    return row


def suite(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


# ============================================================================================ reported_rows
def test_reported_rows_pivots_one_ledger_table_to_method_rows():
    rows = reported_rows("frlie", "Table 1", "lol_v1", ["psnr", "ssim_frlie", "niqe"])
    assert list(rows.columns) == ["method", "source", "psnr", "ssim_frlie", "niqe"]
    assert len(rows) == 14 and set(rows["source"]) == {"reported (frlie Table 1)"}
    # first-appearance order of the ledger file, not alphabetical
    assert list(rows["method"][:3]) == ["BIMEF", "CRM", "Dong"] and list(rows["method"][-2:]) == ["FRLIE w/o FR",
                                                                                                  "FRLIE"]
    frlie = rows.set_index("method").loc["FRLIE"]
    assert (frlie["psnr"], frlie["ssim_frlie"], frlie["niqe"]) == (22.319, 0.8256, 3.528)
    wo_fr = rows.set_index("method").loc["FRLIE w/o FR"]
    assert (wo_fr["psnr"], wo_fr["ssim_frlie"], wo_fr["niqe"]) == (21.489, 0.7944, 3.9101)


def test_reported_rows_follow_the_requested_metrics():
    rows = reported_rows("frlie", "Table 1", "lol_v1", ["niqe", "lpips", "psnr"])
    assert list(rows.columns) == ["method", "source", "niqe", "lpips", "psnr"]  # order asked; ssim left out
    assert rows["lpips"].isna().all()  # not in the paper's table: a NaN column, not an error
    assert rows.set_index("method").loc["RRM", "niqe"] == 5.9416


def test_reported_rows_of_an_unreported_dataset_are_empty_and_unknown_tables_raise():
    rows = reported_rows("frlie", "Table 1", "dicm", ["psnr", "ssim"])
    assert rows.empty and list(rows.columns) == ["method", "source", "psnr", "ssim"]
    with pytest.raises(KeyError, match="Table 9.*available.*Table 1"):
        reported_rows("frlie", "Table 9", "lol_v1", ["psnr"])


# ============================================================================================ side_by_side
def frlie_measured() -> pd.DataFrame:
    """10_frlie's ``measured``: the main run on every set, ablation runs on the main set, baselines."""
    return suite(
        suite_row("frlie", "lol_v1", psnr=18.5, ssim=0.71, niqe=4.25),
        suite_row("frlie", "lime", kind="unpaired", images=10, niqe=3.9),
        suite_row("frlie", "npe", "not run: npe/test: none of the accepted layouts exists", kind="unpaired"),
        suite_row("frlie[ablation_budget]", "lol_v1", psnr=17.0, ssim=0.65, niqe=4.5),
        suite_row("frlie[wo_fr]", "lol_v1", psnr=16.0, ssim=0.6, niqe=5.0),
        suite_row("he", "lol_v1", psnr=14.9, ssim=0.45, niqe=8.0),
        suite_row("he", "lime", kind="unpaired", images=10, niqe=3.5),
        suite_row("zero_dce", "lol_v1", "not run: weights absent (Zero-DCE)"),
        suite_row("mystery", "lol_v1", psnr=1.0, ssim=0.1, niqe=9.0),
    )


def test_side_by_side_puts_reported_rows_first_then_the_ok_reproduced_rows():
    names = {"frlie": "FRLIE", "frlie[ablation_budget]": "FRLIE (ablation budget)", "frlie[wo_fr]": "FRLIE w/o FR"}
    table = side_by_side(frlie_measured(), "frlie", "Table 1", "lol_v1", ["psnr", "ssim", "niqe"], "quick", names)
    assert list(table.columns) == ["method", "dataset", "source", "psnr", "ssim", "niqe"]
    assert (table["dataset"] == "lol_v1").all()
    reported, reproduced = table.iloc[:14], table.iloc[14:]
    assert set(reported["source"]) == {"reported (frlie Table 1)"}
    assert set(reproduced["source"]) == {"reproduced (quick)"}
    # names mapping first, then display names, then the raw label; the not-run zero_dce row is absent
    assert list(reproduced["method"]) == ["FRLIE", "FRLIE (ablation budget)", "FRLIE w/o FR", "HE", "mystery"]
    mine = reproduced.set_index("method")
    assert tuple(mine.loc["FRLIE w/o FR", ["psnr", "ssim", "niqe"]]) == (16.0, 0.6, 5.0)
    assert tuple(mine.loc["HE", ["psnr", "ssim", "niqe"]]) == (14.9, 0.45, 8.0)
    # the same display name on both sides stays two rows, told apart by source
    wo_fr = table[table["method"] == "FRLIE w/o FR"]
    assert list(wo_fr["psnr"]) == [21.489, 16.0] and wo_fr["source"].iloc[0].startswith("reported")


def test_side_by_side_without_names_uses_display_names_and_nan_for_unmeasured_metrics():
    measured = frlie_measured().drop(columns=["niqe"])
    table = side_by_side(measured, "frlie", "Table 1", "lol_v1", ["psnr", "niqe"], "smoke")
    reproduced = table[table["source"] == "reproduced (smoke)"].set_index("method")
    assert list(reproduced.index) == ["FRLIE", "frlie[ablation_budget]", "FRLIE w/o FR", "HE", "mystery"]
    assert reproduced["niqe"].isna().all() and reproduced.loc["FRLIE", "psnr"] == 18.5
    assert table[table["source"].str.startswith("reported")]["niqe"].notna().all()  # reported values untouched


def test_side_by_side_table2_pattern_leaves_not_run_sets_without_reproduced_values():
    """10_frlie's Table 2: one side_by_side per no-reference set, concatenated and pivoted to sets as columns."""
    measured = frlie_measured()
    parts = [side_by_side(measured, "frlie", "Table 2", d, ["niqe"], "quick") for d in ("lime", "npe")]
    table2 = pd.concat(parts, ignore_index=True).pivot_table(index=["method", "source"], columns="dataset",
                                                             values="niqe", sort=False).reset_index()
    rows = table2.set_index(["method", "source"])
    assert (rows.loc[("FRLIE", "reproduced (quick)"), "lime"], rows.loc[("HE", "reproduced (quick)"), "lime"]) \
        == (3.9, 3.5)
    assert is_nan(rows.loc[("FRLIE", "reproduced (quick)"), "npe"])  # npe not run: no value, no row of its own
    assert (rows.loc[("CRM", "reported (frlie Table 2)"), "lime"], rows.loc[("CRM", "reported (frlie Table 2)"),
                                                                            "npe"]) == (3.7431, 3.68)
    assert not (table2["method"] == "mystery").any()  # no lime/npe scores at all


# ============================================================================================ beats_baselines
def test_beats_baselines_one_row_per_baseline_ties_lose_and_missing_ones_are_none():
    measured = suite(
        suite_row("frlie", "lol_v1", psnr=20.0),
        suite_row("input", "lol_v1", psnr=7.77),
        suite_row("he", "lol_v1", psnr=20.0),                       # tie
        suite_row("clahe", "lol_v1", psnr=21.5),                    # loses to clahe
        suite_row("lime", "lol_v1", "not run: lime crashed"),       # not ok -> as missing
        suite_row("zero_dce", "lime", kind="unpaired", psnr=30.0),  # only on another set -> missing
    )
    verdict = beats_baselines(measured, "frlie")
    assert list(verdict.columns) == ["method", "baseline", "dataset", "metric", "method_score", "baseline_score",
                                     "better"]
    assert list(verdict["baseline"]) == list(BASELINES)
    assert set(verdict["method"]) == {"frlie"} and set(verdict["dataset"]) == {"lol_v1"}
    assert set(verdict["metric"]) == {"psnr"} and (verdict["method_score"] == 20.0).all()
    assert list(verdict["better"]) == [True, False, False, None, None]
    assert verdict["baseline_score"].iloc[0] == 7.77 and verdict["baseline_score"].iloc[3:].isna().all()
    assert not verdict["better"].all()  # the notebooks' "beats every baseline" claim fails on a tie or a gap


def test_beats_baselines_all_won_and_lower_is_better_metrics():
    measured = suite(*[suite_row(b, "lol_v1", psnr=10.0 + i, lpips_alex=0.5 - 0.01 * i)
                       for i, b in enumerate(BASELINES)],
                     suite_row("jcrnet", "lol_v1", psnr=19.0, lpips_alex=0.46))
    assert beats_baselines(measured, "jcrnet")["better"].tolist() == [True] * 5
    lpips = beats_baselines(measured, "jcrnet", metric="lpips_alex")  # baselines 0.50 0.49 0.48 0.47 0.46
    assert lpips["better"].tolist() == [True, True, True, True, False]  # lower wins; the 0.46 tie does not
    assert lpips["baseline_score"].tolist() == pytest.approx([0.5, 0.49, 0.48, 0.47, 0.46])


def test_beats_baselines_respects_dataset_and_custom_baselines():
    measured = suite(suite_row("irle", "lol_v1", psnr=15.0), suite_row("he", "lol_v1", psnr=16.0),
                     suite_row("irle", "fivek", psnr=21.0), suite_row("he", "fivek", psnr=17.0))
    verdict = beats_baselines(measured, "irle", dataset="fivek", baselines=("he",))
    assert verdict[["method_score", "baseline_score", "better"]].values.tolist() == [[21.0, 17.0, True]]
    assert beats_baselines(measured, "irle", baselines=("he",))["better"].tolist() == [False]


def test_beats_baselines_without_scores_of_the_method_names_what_was_measured():
    measured = suite(suite_row("llflow", "lol_v1", "not run: lol_v1/test absent"), suite_row("he", "lol_v1",
                                                                                           psnr=15.0))
    with pytest.raises(KeyError, match=r"'llflow' has no lol_v1 scores; measured methods: \['he'\]"):
        beats_baselines(measured, "llflow")
    with pytest.raises(KeyError, match="iclr"):
        beats_baselines(measured, "iclr")


# ============================================================================================ lol_table
def per_image_grid_frame(offset: float = 0.0) -> pd.DataFrame:
    """A per-image :func:`protocol_grid` frame: two images plus a ``mean`` row that must be ignored; each
    protocol column has its own value (psnr 10/11/12, ssim .50/.51/.52, ssim_gray .60/.61/.62, lpips .30/.31/.32
    for GT-mean off/hvi/llflow; image 2 is image 1 plus 1, 0.01, 0.01, 0.01)."""
    base = {"psnr": 10.0, "ssim": 0.5, "ssim_gray": 0.6, "lpips_alex": 0.3}
    step = {"psnr": 1.0, "ssim": 0.01, "ssim_gray": 0.01, "lpips_alex": 0.01}
    columns = {}
    for i, suffix in enumerate(("", "_gtmean", "_gtmean_llflow")):
        for metric, value in base.items():
            first = value + i * step[metric] + offset
            columns[metric + suffix] = [first, first + step[metric], 999.0]
    return pd.DataFrame({"image": ["1", "2", "mean"], **columns})


def test_lol_table_reported_rows_then_readme_protocol_rows_then_the_reproduced_grid():
    grid = pd.concat([grid_rows(per_image_grid_frame(), "llflow", "lol_v1"),
                      grid_rows(per_image_grid_frame(offset=-5.0), "zero_dce", "lol_v1", COMPETITOR_PROTOCOL),
                      grid_rows(per_image_grid_frame(), "llflow", "lol_v2_real")], ignore_index=True)
    table = lol_table(grid, "smoke", {"llflow": "LLFlow"})
    assert list(table.columns) == list(TABLE_COLUMNS)  # 'images' of the grid is not a table column
    assert len(table) == 7 + 2 + 12  # the lol_v2_real rows are dropped

    document = table.iloc[:7]
    assert list(document["method"]) == ["LLFlow", "KinD++", "KinD", "Lv, Li, and Lu (2021)", "DRBN", "EnlightenGAN",
                                        "Zero-DCE"]
    assert set(document["source"]) == {"reported (llflow LOL table)"}
    assert set(document["gt_mean"]) == set(document["ssim_convention"]) == {"unspecified"}
    assert not document["released_protocol"].any()
    assert document.iloc[0][["psnr", "ssim", "lpips"]].tolist() == [25.19, 0.93, 0.11]
    assert document.iloc[6][["psnr", "ssim", "lpips"]].tolist() == [14.86, 0.54, 0.33]

    readme = table.iloc[7:9]
    assert set(readme["source"]) == {"reported (llflow methods.md §5.6)"} and set(readme["gt_mean"]) == {"llflow"}
    assert readme[["ssim_convention", "psnr", "ssim", "lpips", "released_protocol"]].values.tolist() == [
        ["gray", 25.19, 0.93, 0.11, True], ["rgb", 25.19, 0.86, 0.11, False]]

    reproduced = table.iloc[9:]
    assert set(reproduced["source"]) == {"reproduced (smoke)"} and set(reproduced["dataset"]) == {"lol_v1"}
    assert list(reproduced["method"]) == ["LLFlow"] * 6 + ["zero_dce"] * 6  # unnamed labels stay as they are
    llflow = reproduced[reproduced["method"] == "LLFlow"].set_index(["gt_mean", "ssim_convention"])
    # means over the two images (the 'mean' row ignored); the SSIM column follows the convention
    assert llflow.loc[("off", "rgb"), ["psnr", "ssim", "lpips"]].tolist() == pytest.approx([10.5, 0.505, 0.305])
    assert llflow.loc[("hvi", "gray"), ["psnr", "ssim", "lpips"]].tolist() == pytest.approx([11.5, 0.615, 0.315])
    assert llflow.loc[("llflow", "gray"), ["psnr", "ssim", "lpips"]].tolist() == pytest.approx([12.5, 0.625, 0.325])
    assert llflow.loc[("llflow", "rgb"), "ssim"] == pytest.approx(0.525)
    flagged = reproduced[reproduced["released_protocol"].astype(bool)]
    assert flagged[["method", "gt_mean", "ssim_convention"]].values.tolist() == [["LLFlow", "llflow", "gray"],
                                                                                 ["zero_dce", "off", "rgb"]]


def test_lol_table_of_another_test_set_keeps_the_reported_rows_on_lol_v1():
    grid = grid_rows(per_image_grid_frame(), "llflow", "lol_v2_real")
    table = lol_table(grid, "quick", {"llflow": "LLFlow"}, dataset="lol_v2_real")
    assert set(table.iloc[:9]["dataset"]) == {"lol_v1"}
    assert set(table.iloc[9:]["dataset"]) == {"lol_v2_real"} and len(table) == 15
    assert len(lol_table(grid, "quick")) == 9  # default dataset lol_v1: nothing reproduced on it


# ============================================================================================ velol_table
def test_velol_table_cross_maps_suite_columns_to_the_document_columns():
    scores = suite(suite_row("llflow", "ve_lol", images=3, psnr=19.25, ssim=0.71, ssim_gray=0.74,
                             lpips_alex=0.22, psnr_gtmean=24.0))
    scores["lpips"] = 0.99  # a decoy: the table's lpips is LPIPS-alex, never another column
    table = velol_table("VE-LOL cross", scores, "smoke")
    assert list(table.columns) == ["method", "dataset", "source", "status", "images", "psnr", "ssim", "ssim_gray",
                                   "lpips"]
    reported, reproduced = table.iloc[0], table.iloc[1]
    assert (reported["method"], reported["dataset"], reported["source"], reported["status"]) == (
        "LLFlow", "ve_lol", "reported (llflow VE-LOL cross)", "reported (protocol unspecified)")
    assert [reported["psnr"], reported["ssim"], reported["lpips"]] == [23.85, 0.8986, 0.1456]
    assert is_nan(reported["images"]) and is_nan(reported["ssim_gray"])
    assert (reproduced["method"], reproduced["source"], reproduced["status"], reproduced["images"]) == (
        "LLFlow", "reproduced (smoke)", "ok", 3)
    assert [reproduced["psnr"], reproduced["ssim"], reproduced["ssim_gray"], reproduced["lpips"]] == [
        19.25, 0.71, 0.74, 0.22]  # no GT-mean: psnr is 19.25, not the 24.0 of psnr_gtmean
    assert len(table) == 2


def test_velol_table_intra_not_run_row_keeps_the_reason_and_no_numbers():
    reason = "not run: ve_lol train split absent (ve_lol/train: none of the accepted layouts exists)"
    # exactly the frame 12_llflow builds when intra_dataset_run returns its reason
    intra = pd.DataFrame([{"method": "llflow[ve_lol_intra]", "dataset": "ve_lol", "kind": "paired", "images": 0,
                           "status": reason}])
    table = velol_table("VE-LOL intra", intra, "quick", method="LLFlow (VE-LOL)")
    assert table.iloc[0][["psnr", "ssim", "lpips"]].tolist() == [26.02, 0.9266, 0.0996]
    row = table.iloc[1]
    assert (row["method"], row["status"], row["images"], row["source"]) == ("LLFlow (VE-LOL)", reason, 0,
                                                                            "reproduced (quick)")
    assert all(is_nan(row[c]) for c in ("psnr", "ssim", "ssim_gray", "lpips"))
    # an evaluate_suite not-run row (metric columns present but NaN) gives the same empty numbers
    suite_not_run = velol_table("VE-LOL cross", suite(suite_row("llflow", "ve_lol", reason)), "quick").iloc[1]
    assert suite_not_run["status"] == reason and all(is_nan(suite_not_run[c]) for c in ("psnr", "lpips"))


def test_velol_table_without_scores_is_the_reported_row_only():
    table = velol_table("VE-LOL intra", pd.DataFrame(columns=["method", "dataset", "status"]), "smoke")
    assert len(table) == 1 and table.iloc[0]["source"] == "reported (llflow VE-LOL intra)"
    with pytest.raises(KeyError):
        velol_table("VE-LOL sideways", pd.DataFrame(), "smoke")


# ============================================================================================ comparison_protocol
LOL_NOTES = ("LOL test set (eval15); protocol unspecified in the review (LLFlow's own row is GT-mean with gray SSIM "
             "and LPIPS-alex per methods.md §5.6; competitor rows presumably copied from their papers)")
CROSS_NOTES = ("cross-dataset: trained on LOL, tested on VE-LOL; protocol unspecified; only LLFlow's figures given")
NOTES = "delta = reproduced - reported; status says why a cell has no reproduction"


def test_comparison_protocol_falls_back_to_the_suite_protocol_without_a_sidecar(tmp_path):
    protocol, notes = P.comparison_protocol(A.get("llflow_lol_table"), tmp_path)
    assert protocol == f"reproduced: {P.EVAL_PROTOCOL} || reported (llflow LOL table): {LOL_NOTES}"
    assert notes == NOTES
    (tmp_path / "llflow_lol_table.json").write_text("{not json", encoding="utf-8")  # unreadable sidecar
    assert P.comparison_protocol(A.get("llflow_lol_table"), tmp_path)[0].startswith(
        f"reproduced: {P.EVAL_PROTOCOL} ||")
    (tmp_path / "llflow_lol_table.json").write_text(json.dumps({"notes": "no protocol key"}), encoding="utf-8")
    assert P.EVAL_PROTOCOL in P.comparison_protocol(A.get("llflow_lol_table"), tmp_path)[0]


def test_comparison_protocol_uses_the_method_tables_sidecars(tmp_path):
    (tmp_path / "llflow_lol_table.json").write_text(json.dumps({"protocol": "psnr (RGB); gray ssim"}),
                                                    encoding="utf-8")
    protocol, _ = P.comparison_protocol(A.get("llflow_lol_table"), tmp_path)
    assert protocol == f"reproduced: psnr (RGB); gray ssim || reported (llflow LOL table): {LOL_NOTES}"
    assert P.EVAL_PROTOCOL not in protocol
    # several table outputs: their protocols in output order; figures and tables without a sidecar add nothing
    (tmp_path / "extra.json").write_text(json.dumps({"protocol": "niqe (LIVE)"}), encoding="utf-8")
    (tmp_path / "fig.json").write_text(json.dumps({"protocol": "a figure"}), encoding="utf-8")
    artifact = replace(A.get("llflow_lol_table"), outputs=("tables/extra.csv", "figures/fig.png", "tables/none.csv",
                                                           "tables/llflow_lol_table.csv"))
    assert P.comparison_protocol(artifact, tmp_path)[0].startswith(
        "reproduced: niqe (LIVE); psnr (RGB); gray ssim || ")


def test_comparison_protocol_joins_the_distinct_notes_of_every_ledger_table(tmp_path):
    artifact = replace(A.get("llflow_lol_table"), ledger=(("llflow", "VE-LOL cross"), ("llflow", "LOL table")))
    protocol, _ = P.comparison_protocol(artifact, tmp_path)
    # one copy of each table's notes (every row repeats them), sorted, labelled with the artifact's paper and label
    assert protocol.endswith(f"|| reported (llflow LOL table): {LOL_NOTES} | {CROSS_NOTES}")
    gtmean = P.comparison_protocol(A.get("llflow_gtmean_table"), tmp_path)[0]
    assert "reported (llflow methods.md §5.6): " in gtmean and gtmean.count(" | ") == 4  # 5 distinct notes


# ============================================================================================ build_explorer
LOW_SIZE = (12, 20)  # H, W of the fake LOL pairs; max_side 8 crops rows 2:10 and columns 6:14


def tiny_results(tmp_path, weights_root=None):
    """A data root with three LOL eval15 pairs (natural order 1, 2, 10) and one DICM image, and a results folder
    with per-image scores of the HE baseline and of the FRLIE w/o FR run (each CSV ends with its mean row); the
    smoke profile on them (weights root: ``weights_root``, else ``<tmp_path>/weights``, absent)."""
    data, results = tmp_path / "data", tmp_path / "results"
    write_fake_pairs(data, "LOLv1/eval15/low", "LOLv1/eval15/high", ["1.png", "2.png", "10.png"], size=LOW_SIZE)
    write_fake_images(data / "DICM", ["01.png"], size=(6, 10))
    per_image = {"he": [10.0, 12.0, 11.0], "frlie[wo_fr]": [13.0, 9.0, 14.0]}
    folders = {"he": results / "scores" / "he", "frlie[wo_fr]": results / "runs" / "frlie-wo_fr" / "scores" / "ab12"
               / "frlie[wo_fr]"}
    for label, values in per_image.items():
        folders[label].mkdir(parents=True)
        pd.DataFrame({"image": ["1", "2", "10", "mean"], "psnr": [*values, float(np.mean(values))],
                      "height": 8, "width": 8, "seconds": 0.1}).to_csv(folders[label] / "lol_v1.csv", index=False)
    profile = load_profile("smoke", overrides={"data": {"eval_paired": ["lol_v1", "ve_lol"],
                                                        "eval_unpaired": ["dicm", "lime"]}},
                           data_root=data, weights_root=weights_root)
    return profile, data, results


def png_hwc(path, rows=slice(None), cols=slice(None)) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)[rows, cols] / 255.0


@pytest.fixture()
def no_weights(tmp_path, monkeypatch):
    """No released weights under the profile's weights root (a fresh machine without ../shared); the environment
    may name real ones: library code does not read it."""
    monkeypatch.setenv("LLIE_WEIGHTS_ROOT", str(REPO_ROOT.parent / "shared" / "weights"))
    monkeypatch.setenv("LLIE_DATA_ROOT", str(REPO_ROOT.parent / "shared" / "data"))
    monkeypatch.setattr(E, "shipped_runs_dir", lambda profile: tmp_path / "nothing_shipped")


def test_build_explorer_falls_back_to_the_shipped_models(tmp_path, no_weights, monkeypatch):
    """No run of the profile (a fresh clone): the models shipped in checkpoints/quick are offered instead."""
    profile, data, results = tiny_results(tmp_path)
    cfg = load_method_config("frlie", "smoke")
    model = build_model(dict(cfg["model"]))
    shipped = tmp_path / "shipped"
    (shipped / "frlie" / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict()}, shipped / "frlie" / "stage2" / "checkpoints" / "best.pt")
    (shipped / "frlie" / "recipe.json").write_text(json.dumps({"method": "frlie", "profile": "smoke", "config": cfg}))
    monkeypatch.setattr(E, "shipped_runs_dir", lambda name: shipped)
    with pytest.warns(UserWarning, match="zero_dce"):
        explorer, skipped = E.build_explorer(profile, results, max_side=8)
    assert "FRLIE" in explorer.enhancers and "frlie" not in skipped
    assert {"llflow", "jcrnet", "iclr", "irle"} <= set(skipped)


def test_build_explorer_lists_present_sets_baselines_and_why_the_rest_is_skipped(tmp_path, no_weights):
    profile, data, results = tiny_results(tmp_path)
    with pytest.warns(UserWarning, match="zero_dce"):
        explorer, skipped = E.build_explorer(profile, results, max_side=8)
    assert list(explorer.catalogs) == ["lol_v1", "dicm"] and explorer.max_side == 8
    assert list(explorer.enhancers) == ["HE", "CLAHE", "LIME"]  # Zero-DCE: weights absent (a warning)
    assert set(skipped) == {"ve_lol", "lime", "frlie", "llflow", "jcrnet", "cidnet", "iclr", "irle"}
    assert skipped["ve_lol"].startswith("ve_lol/test: none of the accepted layouts exists")
    assert skipped["frlie"].startswith("NoTrainedRun: frlie: no finished run")
    # initial widget state: first set, its images in natural order, the first three methods
    assert explorer.dataset.value == "lol_v1" and explorer.image.options == ("1", "2", "10")
    assert explorer.image.value == "1" and explorer.methods.value == ("HE", "CLAHE", "LIME")
    # images are centre crops of the files, the reference too
    item = explorer.current_item()
    np.testing.assert_allclose(to_hwc(item["low"]), png_hwc(data / "LOLv1/eval15/low/1.png", slice(2, 10),
                                                            slice(6, 14)), atol=1e-6)
    panels = explorer.panels()
    assert list(panels) == ["input", "HE", "CLAHE", "LIME", "reference"]
    np.testing.assert_allclose(panels["reference"], png_hwc(data / "LOLv1/eval15/high/1.png", slice(2, 10),
                                                            slice(6, 14)), atol=1e-6)
    # the HE panel is the HE baseline applied to the cropped input
    he = build_enhancer("he")(item["low"][None])[0]
    np.testing.assert_allclose(panels["HE"], to_hwc(he), atol=1e-6)


def test_build_explorer_widgets_select_images_toggle_modes_and_sort_scores(tmp_path, no_weights):
    profile, data, results = tiny_results(tmp_path)
    with pytest.warns(UserWarning, match="zero_dce"):
        explorer, _ = E.build_explorer(profile, results, max_side=8)
    # per-image scores of baselines and runs, run labels shown by display name, the mean rows dropped
    assert explorer.metric.options == ("psnr",) and explorer.sort_by.options == ("image", "FRLIE w/o FR", "HE")
    table = explorer.metrics_table()
    assert list(table.columns) == ["image", "FRLIE w/o FR", "HE"] and len(table) == 3
    explorer.sort_by.value = "HE"
    assert list(explorer.metrics_table()["image"]) == ["2", "10", "1"]  # descending
    explorer.ascending.value = True
    assert list(explorer.metrics_table()["HE"]) == [10.0, 11.0, 12.0]

    explorer.methods.value = ("LIME",)
    explorer.image.value = "10"  # the observer re-renders the chosen image
    assert explorer.current_item()["name"] == "10"
    assert explorer.last_figure is not None and "lol_v1 / 10" in explorer.last_figure._suptitle.get_text()
    np.testing.assert_allclose(explorer.panels()["input"], png_hwc(data / "LOLv1/eval15/low/10.png", slice(2, 10),
                                                                   slice(6, 14)), atol=1e-6)
    explorer.mode.value = E.BEFORE_AFTER
    explorer.split.value = 0.5
    panels = explorer.panels()
    assert list(panels) == ["input | LIME", "reference"]
    lime = to_hwc(explorer.enhanced("LIME"))
    np.testing.assert_allclose(panels["input | LIME"][:, 4:], lime[:, 4:], atol=1e-6)
    np.testing.assert_allclose(panels["input | LIME"][:, :4], to_hwc(explorer.current_item()["low"])[:, :4],
                               atol=1e-6)
    explorer.mode.value = E.SIDE_BY_SIDE
    assert list(explorer.panels()) == ["input", "LIME", "reference"]

    explorer.dataset.value = "dicm"  # unpaired, no scores: image list, sort options and table follow
    assert explorer.image.options == ("01",) and explorer.image.value == "01"
    assert explorer.sort_by.options == ("image",) and explorer.metrics_table().empty
    assert list(explorer.panels()) == ["input", "LIME"] and explorer.panels()["input"].shape == (6, 8, 3)


def test_build_explorer_profile_side_dataset_choice_and_no_data(tmp_path, no_weights):
    profile, _, results = tiny_results(tmp_path)
    with pytest.warns(UserWarning):
        explorer, skipped = E.build_explorer(profile, results, datasets=["dicm", "npe"])
    assert list(explorer.catalogs) == ["dicm"] and "npe" in skipped and "lol_v1" not in skipped
    assert explorer.max_side == profile.notebook("99_explore")["max_side"] == 128  # the profile's default side
    assert explorer.metrics_table().empty  # no dicm scores
    absent = profile.with_overrides({"data": {"root": str(tmp_path / "nowhere"), "eval_paired": ["lol_v1"],
                                              "eval_unpaired": []}})
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="at least one dataset"):
        E.build_explorer(absent, results)


def test_build_explorer_with_the_released_zero_dce(tmp_path, shared_root, monkeypatch):
    monkeypatch.setattr(E, "shipped_runs_dir", lambda profile: tmp_path / "nothing_shipped")  # baselines only
    weights = shared_root / "weights"
    if not (weights / "zero_dce" / "Epoch99.pth").is_file():
        pytest.skip("../shared/weights/zero_dce/Epoch99.pth is absent")
    profile, _, results = tiny_results(tmp_path, weights_root=weights)
    explorer, skipped = E.build_explorer(profile, results, max_side=8)
    assert list(explorer.enhancers) == ["HE", "CLAHE", "LIME", "Zero-DCE"] and "zero_dce" not in skipped
    explorer.methods.value = ("Zero-DCE",)
    panels = explorer.panels()
    released = build_enhancer("zero_dce", weights_root=weights)(explorer.current_item()["low"][None])[0]
    np.testing.assert_allclose(panels["Zero-DCE"], to_hwc(released), atol=1e-6)
    assert not np.allclose(panels["Zero-DCE"], panels["input"], atol=1e-3)
