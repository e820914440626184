"""Reported vs reproduced comparisons (deltas, reasons, seeds, run choice), the cross-method table and the
LaTeX writer, on small hand-made result folders."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from llie_core.core.profiles import load_profile
from llie_core.report import artifacts as A, compare as P
from llie_core.report.ledger import reported_value
from llie_core.workbook.context import NotebookContext


@pytest.fixture()
def smoke():
    """The smoke profile on whole test sets at full size, so its measured cells are 'reproduced'."""
    return load_profile("smoke", overrides={"data": {"root": None, "eval_max_side": None, "max_eval_images": None}})


def _scores(rows):
    base = {"kind": "paired", "images": 3, "status": "ok"}
    return pd.DataFrame([{**base, **r} for r in rows])


def _tables(tmp_path, baselines=(), **method_scores):
    tables = tmp_path / "tables"
    tables.mkdir(exist_ok=True)
    if baselines:
        _scores(baselines).to_csv(tables / "baselines.csv", index=False)
    for name, rows in method_scores.items():
        _scores(rows).to_csv(tables / f"{name}.csv", index=False)
    return tables


def _by(frame, method, dataset, metric):
    row = frame[(frame.method == method) & (frame.dataset == dataset) & (frame.metric == metric)]
    assert len(row) == 1, (method, dataset, metric, len(row))
    return row.iloc[0]


def test_parse_label_and_ledger_names():
    run = P.parse_label("jcrnet[wo_fes,ablation_budget]")
    assert (run.method, run.variant, run.tags, run.is_main) == ("jcrnet", "wo_fes", ("ablation_budget",), False)
    run = P.parse_label("frlie[seed2]")
    assert (run.variant, run.seed, run.base, run.is_main) == (None, 2, "frlie", True)
    assert P.parse_label("jcrnet[ablation_budget]").variant is None
    with pytest.raises(ValueError, match="run label"):
        P.parse_label("a[b]c")
    assert P.ledger_names("jcrnet[wo_fes]", "quick")[0] == "JCRNet w/o FES"
    assert P.ledger_names("jcrnet", "quick") == ("JCRNet (PyTorch)", "JCRNet")
    assert P.ledger_names("frlie[wo_fr]", "smoke") == ("FRLIE w/o FR",)
    assert P.ledger_names("zero_dce", "smoke") == ("Zero-DCE",)
    assert {"LIME", "FRLIE w/o FR", "JCRNet w/o SSB", "LLFlow"} <= P.implemented_names("quick")
    assert "KinD" not in P.implemented_names("quick")


def test_frlie_table1_deltas_reasons_and_extra_rows(tmp_path, smoke):
    tables = _tables(tmp_path, baselines=[{"method": "lime", "dataset": "lol_v1", "psnr": 16.0, "ssim": 0.5,
                                           "niqe": 8.0}])
    pd.DataFrame([{"method": "FRLIE", "dataset": "lol_v1", "source": "reproduced (smoke)", "psnr": 20.0,
                   "ssim_frlie": 0.7, "niqe": 4.0},
                  {"method": "Input", "dataset": "lol_v1", "source": "reproduced (smoke)", "psnr": 7.7,
                   "ssim_frlie": 0.2, "niqe": 6.7},
                  {"method": "FRLIE", "dataset": "lol_v1", "source": "reported (frlie Table 1)", "psnr": 99.0,
                   "ssim_frlie": 0.9, "niqe": 1.0}]).to_csv(tables / "frlie_table1.csv", index=False)
    frame = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    assert tuple(frame.columns) == P.COMPARISON_COLUMNS
    frlie = _by(frame, "FRLIE", "lol_v1", "psnr")
    assert frlie.status == "reproduced" and frlie.origin == "frlie_table1.csv"
    assert frlie.reported == reported_value("frlie", "Table 1", "FRLIE", "lol_v1", "psnr")  # ledger, not the file
    assert frlie.delta == pytest.approx(20.0 - 22.319)
    lime = _by(frame, "LIME", "lol_v1", "niqe")  # no row in the method table: taken from the baseline scores
    assert lime.reproduced == 8.0 and lime.origin == "scores: lime" and lime.direction == "lower"
    # the reported SSIM is FRLIE's protocol (ssim_frlie), compared with the table's ssim_frlie column
    assert _by(frame, "FRLIE", "lol_v1", "ssim_frlie").reproduced == 0.7
    assert _by(frame, "BIMEF", "lol_v1", "ssim_frlie").status == "reported only: BIMEF is not implemented in this workbook"
    wo_fr = _by(frame, "FRLIE w/o FR", "lol_v1", "psnr")  # no scores of frlie[wo_fr] at all: never trained
    assert wo_fr.status == ("not run: FRLIE w/o FR (config variant frlie[wo_fr]) is not trained in the smoke "
                            "profile: 10_frlie wrote no scores for it")
    extra = _by(frame, "Input", "lol_v1", "psnr")
    assert math.isnan(extra.reported) and extra.status == "reproduced only (no reported value)"
    assert len(frame) == 42 + 3  # every reported cell, plus the extra reproduced ones


def test_absent_datasets_take_the_reason_of_the_scores(tmp_path):
    smoke = load_profile("smoke", overrides={"data": {"root": None, "eval_unpaired": ["dicm", "lime", "npe"]}})
    tables = _tables(tmp_path, frlie_scores=[
        {"method": "frlie", "dataset": "dicm", "kind": "unpaired", "niqe": 5.5},
        {"method": "frlie", "dataset": "npe", "kind": "unpaired", "images": 0, "status": "not run: NPE missing"}])
    frame = P.compare_table(A.get("frlie_table2"), tables, P.build_context(smoke, tables))
    assert _by(frame, "FRLIE", "dicm", "niqe").reproduced == 5.5
    assert _by(frame, "FRLIE", "npe", "niqe").status == "not run: NPE missing"
    # a method this workbook does not implement says so, whatever the data (no data would make its row run)
    assert _by(frame, "KinD", "npe", "niqe").status == "reported only: KinD is not implemented in this workbook"
    assert _by(frame, "FRLIE", "mef", "niqe").status == "not run: mef is not a test set of the smoke profile"


def test_wide_one_metric_tables_are_read(tmp_path, smoke):
    tables = _tables(tmp_path)
    pd.DataFrame([{"method": "FRLIE", "source": "reproduced (smoke)", "lime": 4.4, "dicm": 3.3},
                  {"method": "FRLIE", "source": "reported (frlie Table 2)", "lime": 3.8, "dicm": 2.8}]
                 ).to_csv(tables / "frlie_table2.csv", index=False)
    frame = P.compare_table(A.get("frlie_table2"), tables, P.build_context(smoke, tables))
    assert _by(frame, "FRLIE", "lime", "niqe").delta == pytest.approx(4.4 - 3.7993)


def test_seeds_are_averaged(tmp_path, smoke):
    tables = _tables(tmp_path, frlie_scores=[{"method": "frlie[seed0]", "dataset": "lol_v1", "psnr": 10.0},
                                             {"method": "frlie[seed1]", "dataset": "lol_v1", "psnr": 12.0}])
    frame = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    row = _by(frame, "FRLIE", "lol_v1", "psnr")
    assert (row.reproduced, row.seeds) == (11.0, 2) and row.reproduced_std == pytest.approx(2 ** 0.5)


def test_ablation_tables_use_the_equal_budget_run(tmp_path):
    quick = load_profile("quick", overrides={"data": {"root": None}})
    tables = _tables(tmp_path, jcrnet_scores=[
        {"method": "jcrnet", "dataset": "dicm", "kind": "unpaired", "niqe": 4.0},
        {"method": "jcrnet[ablation_budget]", "dataset": "dicm", "kind": "unpaired", "niqe": 5.0},
        {"method": "jcrnet[wo_fes]", "dataset": "dicm", "kind": "unpaired", "niqe": 6.0}])
    ctx = P.build_context(quick, tables)
    table3 = P.compare_table(A.get("jcrnet_table3"), tables, ctx)
    assert _by(table3, "JCRNet", "dicm", "niqe").reproduced == 5.0
    assert _by(table3, "JCRNet w/o FES", "dicm", "niqe").reproduced == 6.0
    table2 = P.compare_table(A.get("jcrnet_table2"), tables, ctx)
    assert _by(table2, "JCRNet (PyTorch)", "dicm", "niqe").reproduced == 4.0
    assert _by(table2, "JCRNet (PyTorch)", "exdark", "niqe").status.startswith("not run: exdark is not a test set")


def test_tables_that_cannot_run_say_why_in_every_cell(tmp_path, smoke):
    tables = _tables(tmp_path)
    frame = P.compare_table(A.get("jcrnet_table9"), tables, P.build_context(smoke, tables))
    assert len(frame) == 108 and set(frame["status"]) == {A.get("jcrnet_table9").status.of("smoke")}


def test_lpips_of_unstated_backbone_is_compared_with_alexnet(tmp_path, smoke):
    tables = _tables(tmp_path, baselines=[{"method": "zero_dce", "dataset": "lol_v1", "psnr": 14.9, "ssim": 0.56,
                                           "lpips_alex": 0.335}])
    frame = P.compare_table(A.get("llflow_lol_table"), tables, P.build_context(smoke, tables))
    assert _by(frame, "Zero-DCE", "lol_v1", "lpips").delta == pytest.approx(0.335 - 0.33)
    assert _by(frame, "LLFlow", "lol_v1", "psnr").status.startswith("not run: tables/llflow_lol_table.csv not written")


def test_lpips_alias_is_used_where_the_preferred_column_is_nan(tmp_path, smoke):
    # jcrnet_scores.csv writes `lpips` and `lpips_alex`, llflow_scores.csv only `lpips_alex`: once concatenated,
    # the LLFlow rows have lpips = NaN and must fall back to lpips_alex
    tables = _tables(tmp_path,
                     jcrnet_scores=[{"method": "jcrnet", "dataset": "lol_v1", "psnr": 16.0, "lpips": 0.30,
                                     "lpips_alex": 0.31}],
                     llflow_scores=[{"method": "llflow", "dataset": "lol_v1", "psnr": 17.0, "lpips_alex": 0.433}])
    ctx = P.build_context(smoke, tables)
    assert ctx.scores["lpips"].isna().sum() == 1
    frame = P.compare_table(A.get("jcrnet_table1"), tables, ctx)
    llflow = _by(frame, "LLFlow", "lol_v1", "lpips")
    assert llflow.reproduced == 0.433 and llflow.origin == "scores: llflow"
    assert llflow.status.startswith("measured, protocol differs (JCRNet tests the 100 LOL pairs")
    assert _by(frame, "JCRNet (PyTorch)", "lol_v1", "lpips").reproduced == 0.30  # the preferred column first
    row = pd.Series({"lpips": float("nan"), "lpips_alex": 0.5})
    assert P.first_value(row, ("lpips", "lpips_alex")) == 0.5 and P.first_value(row, ("lpips", None)) is None


def test_method_table_reasons_and_untrained_variants_explain_missing_cells(tmp_path):
    quick = load_profile("quick", overrides={"data": {"root": None}})
    tables = _tables(tmp_path, iclr_scores=[{"method": "iclr[wo_mafm]", "dataset": "lol_v1", "psnr": 18.0}],
                     jcrnet_scores=[{"method": "jcrnet", "dataset": "lol_v1", "psnr": 16.0},
                                    {"method": "jcrnet", "dataset": "dicm", "kind": "unpaired", "niqe": 4.5}])
    budget = "not run: outside the quick budget (the paper profile runs it)"
    pd.DataFrame([{"method": "ICLR w/o MAFM", "dataset": "lol_v1", "source": "reproduced (quick)", "status": "ok",
                   "psnr_gtmean": 22.0},
                  {"method": "ICLR w/o 1st MAFM of DIEM", "dataset": "lol_v1", "source": "reproduced (quick)",
                   "status": budget},
                  {"method": "ICLR w/o 2nd MAFM of DIEM", "dataset": "lol_v1", "source": "reported (iclr)",
                   "status": "not run: a reported row is never a reason"}]).to_csv(tables / "iclr_ablation.csv",
                                                                                   index=False)
    ctx = P.build_context(quick, tables)
    ablation = P.compare_table(A.get("iclr_ablation"), tables, ctx)
    assert _by(ablation, "ICLR w/o 1st MAFM of DIEM", "lol_v1", "psnr_gtmean_delta").status == budget
    assert _by(ablation, "ICLR w/o MAFM", "lol_v1", "psnr_gtmean").reproduced == 22.0
    second = _by(ablation, "ICLR w/o 2nd MAFM of DIEM", "lol_v1", "psnr_gtmean_delta").status
    assert "iclr[wo_second_mafm]) is not trained in the quick profile" in second  # reported rows give no reason
    assert _by(ablation, "ICLR w/o MAFM", "lol_v1", "ssim_gtmean").status.startswith("not run: no reproduced row")
    table1 = P.compare_table(A.get("jcrnet_table1"), tables, ctx)
    mindspore = _by(table1, "JCRNet (MindSpore)", "lol_v1", "psnr").status
    assert mindspore == ("not run: JCRNet (MindSpore) (config variant jcrnet[released_code]) is not trained in the "
                         "quick profile: 11_jcrnet wrote no scores for it")
    assert P.table_reasons(pd.DataFrame({"method": ["A"], "source": ["reproduced (quick)"],
                                         "status": ["not run: x"]})) == {("A", "none"): "not run: x"}


def test_summary_counts_outcomes(tmp_path, smoke):
    tables = _tables(tmp_path, baselines=[{"method": "lime", "dataset": "lol_v1", "psnr": 16.0}])
    ctx = P.build_context(smoke, tables)
    frames = {a: P.compare_table(A.get(a), tables, ctx) for a in ("frlie_table1", "jcrnet_table8")}
    summary = P.comparison_summary(frames, {a: A.get(a) for a in frames}, "smoke").set_index("id")
    assert summary.loc["frlie_table1", "reproduced_cells"] == 1
    assert summary.loc["frlie_table1", "reported_only_cells"] == 11 * 3
    assert summary.loc["jcrnet_table8", "not_run_cells"] == 90
    assert summary.loc["frlie_table1", "median_abs_delta_psnr_db"] == pytest.approx(abs(16.0 - 16.759))
    assert summary.loc["frlie_table1", "psnr_cells"] == 1 and "median_abs_delta" not in summary


def test_cells_on_other_test_data_are_measured_not_reproduced_and_rows_name_their_run(tmp_path, smoke):
    cropped = load_profile("smoke", overrides={"data": {"root": None}})
    assert P.protocol_difference("frlie", "lol_v1", smoke.data) is None
    assert "at most 3 images, evenly spaced, centre-cropped to 256 px" in P.protocol_difference("frlie", "lol_v1",
                                                                                              cropped.data)
    assert P.protocol_difference("jcrnet", "lol_v1", smoke.data).startswith("JCRNet tests the 100 LOL pairs")
    assert "500-image test split" in P.protocol_difference("frlie", "fivek", smoke.data)
    quick = load_profile("quick", overrides={"data": {"root": None}})
    assert P.protocol_difference("frlie", "dicm", quick.data).startswith(
        f"at most {quick.data.max_unpaired_images} images, evenly spaced, centre-cropped to "
        f"{quick.data.unpaired_side} px")
    tables = _tables(tmp_path, baselines=[{"method": "lime", "dataset": "fivek", "psnr": 16.0}])
    frame = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    assert set(frame["run"]) >= {"baseline", "-"}
    assert _by(frame, "FRLIE", "lol_v1", "psnr").run == "main run"
    ablation = P.compare_table(A.get("iclr_ablation"), tables, P.build_context(smoke, tables))
    assert _by(ablation, "ICLR w/o MAFM", "lol_v1", "psnr_gtmean").run == "variant wo_mafm (ablation budget)"
    assert P.latex_escape("JCRNet w/o ℓ_{rgb} & ℓ_m") == r"JCRNet w/o $\ell_{\mathrm{rgb}}$ \& $\ell_{\mathrm{m}}$"


def test_cross_method_table_means_stds_and_missing_rows(smoke):
    scores = _scores([
        {"method": "he", "dataset": "lol_v1", "psnr": 15.0},
        {"method": "frlie[seed0]", "dataset": "lol_v1", "psnr": 10.0},
        {"method": "frlie[seed1]", "dataset": "lol_v1", "psnr": 14.0},
        {"method": "frlie[wo_fr]", "dataset": "lol_v1", "psnr": 1.0},
        {"method": "frlie[seed0]", "dataset": "dicm", "kind": "unpaired", "images": 0, "status": "not run: gone"},
        {"method": "irle_pseudo_gt", "dataset": "lol_v1", "psnr": 30.0}])
    cross = P.cross_method_table(scores, smoke.data).set_index(["label", "dataset"])
    assert "irle_pseudo_gt" not in set(cross.index.get_level_values("label"))  # a diagnostic, not a method
    assert "irle_pseudo_gt" in P.DIAGNOSTIC_RUNS
    frlie = cross.loc[("frlie", "lol_v1")]
    assert (frlie.psnr, frlie.seeds, frlie.method) == (12.0, 2, "FRLIE")
    assert frlie.psnr_std == pytest.approx(8 ** 0.5)
    assert ("frlie[wo_fr]", "lol_v1") not in cross.index  # ablation variants are not main runs
    assert cross.loc[("frlie", "dicm"), "status"] == "not run: gone"
    assert cross.loc[("frlie", "lime"), "status"].startswith("not run: lime was not scored")
    assert cross.loc[("irle", "lol_v1"), "status"].startswith("not run: no scores of irle")
    assert math.isnan(cross.loc[("he", "lol_v1"), "psnr_std"])
    shown = P.format_mean_std(cross.reset_index()).set_index(["method", "dataset"])
    assert shown.loc[("FRLIE", "lol_v1"), "psnr"] == "12.000 ± 2.828"
    assert shown.loc[("HE", "lol_v1"), "psnr"] == "15.000" and shown.loc[("HE", "lol_v1"), "ssim"] == "-"


def test_a_one_seed_cross_method_cell_carries_its_ci_over_images(smoke):
    scores = _scores([{"method": "he", "dataset": "lol_v1", "psnr": 15.0, "psnr_ci95_low": 14.2,
                       "psnr_ci95_high": 15.9},
                      {"method": "frlie[seed0]", "dataset": "lol_v1", "psnr": 10.0, "psnr_ci95_low": 9.0,
                       "psnr_ci95_high": 11.0},
                      {"method": "frlie[seed1]", "dataset": "lol_v1", "psnr": 14.0, "psnr_ci95_low": 13.0,
                       "psnr_ci95_high": 15.0}])
    cross = P.cross_method_table(scores, smoke.data).set_index(["label", "dataset"])
    assert tuple(cross.loc[("he", "lol_v1"), ["psnr_ci95_low", "psnr_ci95_high"]]) == (14.2, 15.9)
    assert cross.loc[("frlie", "lol_v1"), ["psnr_ci95_low", "psnr_ci95_high"]].isna().all()  # two seeds: std
    shown = P.format_mean_std(cross.reset_index()).set_index(["method", "dataset"])
    assert shown.loc[("HE", "lol_v1"), "psnr"] == "15.000 [14.200, 15.900]"
    assert shown.loc[("FRLIE", "lol_v1"), "psnr"] == "12.000 ± 2.828" and "psnr_ci95_low" not in shown


def test_latex_escapes_and_marks_missing_values():
    table = pd.DataFrame({"method": ["JCRNet w/o ℓ_{rgb}", "A & B"], "psnr": [22.5, float("nan")],
                          "note": ["50% ± 1", "x"]})
    tex = P.to_latex(table, caption="t_1", label="tab:t")
    assert tex.startswith("\\begin{longtable}{lrl}") and tex.rstrip().endswith("\\end{longtable}")
    assert "JCRNet w/o $\\ell_{\\mathrm{rgb}}$" in tex and "A \\& B" in tex and "50\\% $\\pm$ 1" in tex
    assert "22.5 &" in tex and "-- &" in tex and "\\caption{t\\_1}\\label{tab:t}" in tex


def test_save_table_with_latex_writes_three_files(tmp_path, smoke):
    ctx = NotebookContext("90_tables", smoke, tmp_path, tmp_path / "results" / "smoke")
    table = pd.DataFrame({"method": ["FRLIE"], "psnr": [22.31949], "psnr_std": [float("nan")]})
    paths = P.save_table_with_latex(ctx, table, "demo", protocol="psnr (RGB)", notes="a note")
    assert [p.suffix for p in paths] == [".csv", ".md", ".tex"]
    assert "protocol: psnr (RGB)" in paths[1].read_text() and "% protocol: psnr (RGB)" in paths[2].read_text()
    assert "nan" not in paths[1].read_text() and "| -" in paths[1].read_text()  # missing values shown as '-'
    assert pd.read_csv(paths[0])["psnr"].iloc[0] == 22.3195
    cross = pd.DataFrame({"method": ["FRLIE"], "label": ["frlie"], "dataset": ["lol_v1"], "psnr": [12.0],
                          "psnr_std": [1.0]})
    md = P.save_cross_method(ctx, cross)[1].read_text()
    assert "12.000 ± 1.000" in md and "Profile: `smoke`" in md and "psnr_std" not in md
    assert "diagnostic runs left out (not methods): irle_pseudo_gt" in md  # the exclusion is stated
    assert ctx.check_outputs()


def test_long_reasons_are_short_in_markdown_and_latex_only(tmp_path, smoke):
    ctx = NotebookContext("90_tables", smoke, tmp_path, tmp_path / "results" / "smoke")
    layouts = " | ".join(f"COCO{i}/test/low + COCO{i}/test/high" for i in range(12))
    long = (f"not run: coco_lowlight/test: none of the accepted layouts exists under /data (tried {layouts}). "
            "Fix: get it from: nowhere; put it under /data as COCO/test/low")
    table = pd.DataFrame({"method": ["LLFlow", "LIME"], "psnr": [float("nan"), 16.0],
                          "status": [long, "reproduced"]})
    csv, md, tex = P.save_table_with_latex(ctx, table, "compare_demo", protocol="psnr")
    short = "not run: coco_lowlight/test: none of the accepted layouts exists under /data (see `python -m data_prep"
    assert pd.read_csv(csv)["status"].iloc[0] == long  # the CSV keeps the whole reason
    assert short in md.read_text() and "(tried" not in md.read_text() and "Fix:" not in md.read_text()
    assert "(tried" not in tex.read_text() and "none of the accepted layouts exists under /data" in tex.read_text()
    assert len(P.short_reason(long)) < 120 and P.short_reason("reproduced") == "reproduced"
    assert P.short_reason("not run: " + "x" * 500).endswith("...") and len(P.short_reason("y" * 500)) == P.MAX_REASON
    assert math.isnan(P.short_reason(float("nan")))


def test_protocol_grid_tables_map_rows_to_protocol_metrics(tmp_path, smoke):
    tables = _tables(tmp_path)
    grid = [("off", "rgb", 20.0, 0.80), ("off", "gray", 20.0, 0.82), ("hvi", "rgb", 24.0, 0.84),
            ("hvi", "gray", 24.0, 0.86), ("llflow", "rgb", 25.0, 0.88), ("llflow", "gray", 25.0, 0.90)]
    rows = [{"method": "LLFlow", "dataset": "lol_v1", "source": "reported (llflow LOL table)", "gt_mean": "unspecified",
             "ssim_convention": "unspecified", "psnr": 25.19, "ssim": 0.93, "lpips": 0.11, "released_protocol": False}]
    rows += [{"method": "LLFlow", "dataset": "lol_v1", "source": "reproduced (smoke)", "gt_mean": g,
              "ssim_convention": c, "psnr": p, "ssim": q, "lpips": 0.2, "released_protocol": (g, c) == ("llflow", "gray")}
             for g, c, p, q in grid]
    pd.DataFrame(rows).to_csv(tables / "llflow_lol_table.csv", index=False)
    ctx = P.build_context(smoke, tables)
    lol = P.compare_table(A.get("llflow_lol_table"), tables, ctx)
    assert _by(lol, "LLFlow", "lol_v1", "psnr").reproduced == 25.0  # the released protocol's row
    assert _by(lol, "LLFlow", "lol_v1", "ssim").reproduced == 0.90
    readme = P.compare_table(A.get("llflow_gtmean_table"), tables, ctx)
    assert _by(readme, "LLFlow", "lol_v1", "psnr_gtmean").reproduced == 25.0
    assert _by(readme, "LLFlow", "lol_v1", "ssim_gray_gtmean").reproduced == 0.90
    assert _by(readme, "LLFlow", "lol_v1", "ssim_gtmean").reproduced == 0.88  # same GT-mean setting, colour SSIM
    assert _by(readme, "LLFlow", "lol_v1", "lpips_alex_gtmean").reproduced == 0.2
    assert P.protocol_metric("ssim", "off", "gray") == "ssim_gray" and P.protocol_metric("psnr", "hvi") == "psnr_gtmean"


def test_complexity_tables_without_dataset_column(tmp_path, smoke):
    tables = _tables(tmp_path)
    pd.DataFrame([{"method": "JCRNet", "source": "reported (jcrnet Table VII)", "params_M": 2.03, "GMACs": 219.0,
                   "fps": 10.0},
                  {"method": "JCRNet", "source": "measured (smoke)", "params_M": 2.0, "GMACs": 221.0,
                   "GFLOPs": 442.0, "fps": 0.5}]
                 ).to_csv(tables / "jcrnet_table7.csv", index=False)
    frame = P.compare_table(A.get("jcrnet_table7"), tables, P.build_context(smoke, tables))
    assert _by(frame, "JCRNet", "none", "params_m").reproduced == 2.0
    # Table VII's "FLOPs (G)" are compared with the measured G MACs (like with like), never with GFLOPs
    assert _by(frame, "JCRNet", "none", "flops_g").reproduced == 221.0
    assert _by(frame, "JCRNet", "none", "flops_g").delta == pytest.approx(221.0 - reported_value(
        "jcrnet", "Table VII", "JCRNet", "none", "flops_g"))
    assert _by(frame, "JCRNet", "none", "fps").delta == pytest.approx(0.5 - reported_value(
        "jcrnet", "Table VII", "JCRNet", "none", "fps"))
    assert _by(frame, "KinD", "none", "flops_g").status.startswith("reported only")


# ------------------------------------------------------------------------------------------------ n and CI
def _per_image(path, values, metric="psnr"):
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [str(i) for i in range(1, len(values) + 1)]
    pd.DataFrame({"image": [*names, "mean"], metric: [*values, sum(values) / len(values)],
                  "skipped": "", "images": 1}).to_csv(path, index=False)


def _bca(values):
    """Independent reference: scipy.stats.bootstrap, BCa, 10,000 resamples, seed 0."""
    import numpy as np
    from scipy import stats
    res = stats.bootstrap((np.asarray(values, dtype=float),), np.mean, confidence_level=0.95, n_resamples=10_000,
                          method="BCa", random_state=np.random.default_rng(0), vectorized=True)
    return res.confidence_interval.low, res.confidence_interval.high


def test_reproduced_means_carry_n_and_the_bootstrap_ci_of_their_per_image_scores(tmp_path, smoke):
    lime = [15.0, 17.5, 16.2, 14.8, 18.9, 16.1]
    tables = _tables(tmp_path, baselines=[{"method": "lime", "dataset": "lol_v1", "psnr": sum(lime) / len(lime),
                                           "niqe": 8.0, "images": len(lime)}])
    _per_image(tmp_path / "scores" / "lime" / "lol_v1.csv", lime)  # the baseline's per-image scores (no niqe)
    frlie = [19.0, 21.0, 20.5, 22.0, 18.5, 20.0]
    _per_image(tmp_path / "runs" / "frlie" / "scores" / "abc" / "frlie" / "lol_v1.csv", frlie)
    pd.DataFrame([{"method": "FRLIE", "dataset": "lol_v1", "source": "reproduced (smoke)",
                   "psnr": sum(frlie) / len(frlie), "niqe": 4.0},
                  {"method": "Input", "dataset": "lol_v1", "source": "reproduced (smoke)", "psnr": 7.7}]
                 ).to_csv(tables / "frlie_table1.csv", index=False)
    frame = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    for method, values in (("LIME", lime), ("FRLIE", frlie)):
        row = _by(frame, method, "lol_v1", "psnr")
        assert row.n == len(values)
        assert (row.ci95_low, row.ci95_high) == pytest.approx(_bca(values))
        assert row.ci95_low < row.reproduced < row.ci95_high
    again = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    pd.testing.assert_frame_equal(frame, again)  # the resampling is seeded
    # a mean without per-image scores (LIME's NIQE), or whose per-image scores do not give its value (Input: the
    # table's number, no score file), gets no n and no interval
    for method, metric in (("LIME", "niqe"), ("FRLIE", "niqe"), ("Input", "psnr")):
        row = _by(frame, method, "lol_v1", metric)
        assert not math.isnan(row.reproduced) and pd.isna(row.n)
        assert math.isnan(row.ci95_low) and math.isnan(row.ci95_high)
    shown = P.format_comparison(frame).set_index(["method", "metric"])
    assert list(P.format_comparison(frame).columns)[6:9] == ["reproduced", "ci95", "n"]
    assert shown.loc[("LIME", "niqe"), "ci95"] == "-" and shown.loc[("LIME", "niqe"), "n"] == "-"
    low, high = _bca(lime)
    assert shown.loc[("LIME", "psnr"), "ci95"] == f"[{round(low, 4):g}, {round(high, 4):g}]"
    assert shown.loc[("LIME", "psnr"), "n"] == str(len(lime))
    assert shown.loc[("BIMEF", "psnr"), "ci95"] == "-"  # reported only


def test_a_cell_over_seeds_gets_the_ci_of_the_per_image_seed_average_and_its_std(tmp_path, smoke):
    seed0, seed1 = [18.0, 20.0, 19.0, 21.0], [20.0, 22.0, 21.0, 23.0]
    tables = _tables(tmp_path, frlie_scores=[{"method": "frlie", "dataset": "lol_v1", "psnr": 19.5, "images": 4},
                                             {"method": "frlie[seed1]", "dataset": "lol_v1", "psnr": 21.5,
                                              "images": 4}])
    _per_image(tmp_path / "runs" / "frlie" / "scores" / "a" / "frlie" / "lol_v1.csv", seed0)
    _per_image(tmp_path / "runs" / "frlie-seed1" / "scores" / "b" / "frlie[seed1]" / "lol_v1.csv", seed1)
    frame = P.compare_table(A.get("frlie_table1"), tables, P.build_context(smoke, tables))
    row = _by(frame, "FRLIE", "lol_v1", "psnr")
    assert row.reproduced == pytest.approx(20.5) and row.seeds == 2
    assert row.reproduced_std == pytest.approx(pd.Series([19.5, 21.5]).std())
    assert row.n == 4 and (row.ci95_low, row.ci95_high) == pytest.approx(_bca([19.0, 21.0, 20.0, 22.0]))


def test_a_metric_scored_in_its_protocol_folder_is_found(tmp_path):
    _per_image(tmp_path / "scores" / "ssim_frlie" / "lime" / "lol_v1.csv", [0.7, 0.8, 0.75], metric="ssim_frlie")
    _per_image(tmp_path / "scores" / "lime" / "lol_v1.csv", [15.0, 16.0, 17.0])
    scores, runs = P.per_image_scores(tmp_path, "lime", "lol_v1", "ssim_frlie")
    assert runs == 1 and scores.mean() == pytest.approx(0.75)
    found = P.per_image_ci(tmp_path, ["lime"], "lol_v1", ["ssim_frlie"], 0.75)
    assert found["n"] == 3 and found["ci_low"] <= 0.75 <= found["ci_high"]
    assert P.per_image_ci(tmp_path, ["lime"], "lol_v1", ["ssim_frlie"], 0.9) is None  # another value: no CI
