"""The ledger of reported numbers: shapes per table, values checked against the documents, loader validation."""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from llie_core.report import ledger
from llie_core.report.ledger import LedgerError, load_reported, reported_tables, reported_value

# (paper, table) -> (csv file, n_rows, n_methods, n_datasets, metric names), derived from the documents
# (see results/paper/README.md for how each flattened table was reconstructed).
EXPECTED = {
    ("frlie", "Table 1"): ("frlie_table1.csv", 42, 14, 1, {"psnr", "ssim_frlie", "niqe"}),
    ("frlie", "Table 2"): ("frlie_table2.csv", 48, 12, 4, {"niqe"}),
    ("llflow", "LOL table"): ("llflow_lol_table.csv", 21, 7, 1, {"psnr", "ssim", "lpips"}),
    ("llflow", "VE-LOL cross"): ("llflow_velol_cross.csv", 3, 1, 1, {"psnr", "ssim", "lpips"}),
    ("llflow", "VE-LOL intra"): ("llflow_velol_intra.csv", 3, 1, 1, {"psnr", "ssim", "lpips"}),
    ("llflow", "methods.md §5.6"): ("llflow_methods_5_6.csv", 7, 1, 2,
                                   {"psnr_gtmean", "ssim_gray_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                                    "psnr", "ssim", "lpips"}),
    ("jcrnet", "Table I"): ("jcrnet_table1.csv", 345, 23, 3, {"psnr", "ssim", "brisque", "niqe", "lpips"}),
    ("jcrnet", "Table II"): ("jcrnet_table2.csv", 240, 20, 6, {"brisque", "niqe"}),
    ("jcrnet", "Table III"): ("jcrnet_table3.csv", 48, 4, 6, {"brisque", "niqe"}),
    ("jcrnet", "Table IV"): ("jcrnet_table4.csv", 32, 4, 2, {"psnr", "ssim", "brisque", "niqe"}),
    ("jcrnet", "Table V"): ("jcrnet_table5.csv", 24, 5, 2, {"psnr", "ssim", "brisque", "niqe"}),
    ("jcrnet", "Table VI"): ("jcrnet_table6.csv", 16, 4, 1, {"psnr", "ssim", "brisque", "niqe"}),
    ("jcrnet", "Table VII"): ("jcrnet_table7.csv", 18, 6, 1, {"params_m", "flops_g", "fps"}),
    ("jcrnet", "Table VIII"): ("jcrnet_table8.csv", 90, 9, 5, {"niqe", "brisque"}),
    ("jcrnet", "Table IX"): ("jcrnet_table9.csv", 108, 6, 3,
                             {"sod_mae", "sod_max_f", "sod_avg_f", "sod_weighted_f", "sod_s_measure",
                              "sod_e_measure"}),
    ("iclr", "methods.md §2.4"): ("iclr_methods_2_4.csv", 15, 3, 3,
                                 {"psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean"}),
    ("iclr", "methods.md §2.4 ablation"): ("iclr_methods_2_4_ablation.csv", 17, 7, 1,
                                          {"psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                                           "psnr_gtmean_delta"}),
    ("iclr", "methods.md §2.1"): ("iclr_methods_2_1.csv", 3, 3, 1, {"params_m"}),
    ("cidnet", "methods.md §1.5"): ("cidnet_methods_1_5.csv", 32, 5, 8,
                                   {"psnr", "ssim", "lpips_alex", "psnr_gtmean", "ssim_gtmean",
                                    "lpips_alex_gtmean", "niqe"}),
    ("cidnet", "methods.md §1.2"): ("cidnet_methods_1_2.csv", 2, 1, 1, {"params_m", "flops_g"}),
    ("irle", "methods.md §4"): ("irle_methods_4.csv", 1, 1, 1, {"niqe"}),
    ("irle", "Table 1"): ("irle_project_page_table1.csv", 180, 15, 3,
                          {"psnr", "ssim", "psnr_gtmean", "ssim_gtmean"}),
    ("irle", "Table 2"): ("irle_project_page_table2.csv", 75, 15, 2,
                          {"psnr", "params_m", "macs_g", "runtime_ms", "fps"}),
}

# Full grids: every method x dataset x metric cell of the document is filled (no '-' cells).
FULL_GRIDS = [k for k in EXPECTED if k[0] in ("frlie", "jcrnet") and k != ("jcrnet", "Table V")]

FRLIE, JCRNET, LLFLOW, METHODS = ("seeds/frlie_2022_paper.txt", "seeds/jcrnet_2023_paper.txt",
                                  "seeds/llflow_2022_review.txt", "specs/methods.md")
IRLE_PAGE = "specs/irle_project_page.md"
# (paper, table, method, dataset, metric, value as printed, source file, snippet of the source around it).
# The snippet ties the number to its row/column: it holds the row label, or the neighbouring cells of a
# transposed row ending at the line end.
SPOTS = [
    ("frlie", "Table 1", "BIMEF", "lol_v1", "psnr", "13.875", FRLIE, "PSNR $\\uparrow$\t13.875\t17.203"),
    ("frlie", "Table 1", "FRLIE", "lol_v1", "ssim_frlie", "0.8256", FRLIE, "0.7944\t<b>0.8256</b>\n"),
    ("frlie", "Table 1", "SRIE", "lol_v1", "niqe", "7.5349", FRLIE, "NIQE $\\downarrow$\t7.5349\t9.7289"),
    ("frlie", "Table 2", "CRM", "lime", "niqe", "3.7431", FRLIE, "CRM [14]\t3.7431"),
    ("frlie", "Table 2", "FRLIE", "dicm", "niqe", "2.8276", FRLIE, "3.1561\t<b>2.8276</b>\n"),
    ("frlie", "Table 2", "Retinex-Net", "mef", "niqe", "5.0047", FRLIE, "Ret-Net [1]\t4.9078\t4.0676\t5.0047"),
    ("llflow", "LOL table", "LLFlow", "lol_v1", "psnr", "25.19", LLFLOW, "LLFlow (Ours)25.190.930.11"),
    ("llflow", "LOL table", "DRBN", "lol_v1", "ssim", "0.83", LLFLOW, "DRBN (Yang et al. 2020)20.130.830.16"),
    ("llflow", "LOL table", "Zero-DCE", "lol_v1", "lpips", "0.33", LLFLOW, "(Guo et al. 2020)14.860.540.33"),
    ("llflow", "VE-LOL cross", "LLFlow", "ve_lol", "psnr", "23.85", LLFLOW, "PSNR 23.85, SSIM 0.8986"),
    ("llflow", "VE-LOL cross", "LLFlow", "ve_lol", "lpips", "0.1456", LLFLOW, "LPIPS 0.1456"),
    ("llflow", "VE-LOL intra", "LLFlow", "ve_lol", "ssim", "0.9266", LLFLOW, "PSNR 26.02, SSIM 0.9266"),
    ("llflow", "VE-LOL intra", "LLFlow", "ve_lol", "lpips", "0.0996", LLFLOW, "LPIPS 0.0996"),
    ("llflow", "methods.md §5.6", "LLFlow", "lol_v1", "ssim_gray_gtmean", "0.93", METHODS, "25.19 / 0.93 (gray"),
    ("llflow", "methods.md §5.6", "LLFlow", "ve_lol", "lpips", "0.0995", METHODS, "26.02 / 0.927 / 0.0995"),
    ("jcrnet", "Table I", "HE", "lol_v1", "psnr", "15.255", JCRNET, "LOL\tPSNR↑\t15.255\t13.027"),
    ("jcrnet", "Table I", "JCRNet (MindSpore)", "lol_v1", "psnr", "23.563", JCRNET, "\t24.901\t23.563\n"),
    ("jcrnet", "Table I", "HE", "fivek", "psnr", "16.017", JCRNET, "MIT\tPSNR↑\t16.017"),
    ("jcrnet", "Table I", "JCRNet (PyTorch)", "coco_lowlight", "lpips", "0.024", JCRNET, "\t0.095\t0.024\t0.053\n"),
    ("jcrnet", "Table II", "HE", "exdark", "brisque", "28.719", JCRNET, "HE\t28.719\t3.712"),
    ("jcrnet", "Table II", "KinD++", "vv", "niqe", "3.306", JCRNET, "21.984\t3.306\n"),
    ("jcrnet", "Table II", "JCRNet (MindSpore)", "npe", "brisque", "33.347", JCRNET, "3.558\t33.347\t3.582"),
    ("jcrnet", "Table III", "JCRNet w/o FES", "exdark", "brisque", "27.638", JCRNET, "w/o FES\t\t✓\t✓\t27.638"),
    ("jcrnet", "Table III", "JCRNet", "lime", "brisque", "28.400", JCRNET, "2.790\t28.400\t3.206"),
    ("jcrnet", "Table III", "JCRNet w/o IAS", "vv", "niqe", "3.740", JCRNET, "24.237\t3.740\n"),
    ("jcrnet", "Table IV", "JCRNet w/o JRS", "lol_v1", "psnr", "22.926", JCRNET, "w/o JRS\t✓\t\t✓\t22.926"),
    ("jcrnet", "Table IV", "JCRNet w/o IAS", "coco_lowlight", "ssim", "0.859", JCRNET, "23.318\t0.859\t26.343"),
    ("jcrnet", "Table V", "JCRNet w/o JRS", "toys_flash", "niqe", "5.027", JCRNET, "Toys\tw/o JRS\t5.027"),
    ("jcrnet", "Table V", "JCRNet w/o CAB", "lol_v1", "psnr", "24.758", JCRNET, "w/o CAB\t4.719\t14.283\t24.758"),
    ("jcrnet", "Table V", "JCRNet", "toys_flash", "ssim", "0.848", JCRNET, "Full\t4.642\t17.959\t24.524\t0.848"),
    ("jcrnet", "Table VI", "JCRNet w/o ℓ_{rgb}", "lol_v1", "brisque", "15.737", JCRNET, "\t4.341\t15.737"),
    ("jcrnet", "Table VI", "JCRNet w/o ℓ_m", "lol_v1", "ssim", "0.835", JCRNET, "4.216\t15.649\t23.774\t0.835"),
    ("jcrnet", "Table VII", "KinD", "none", "params_m", "8.54", JCRNET, "Params(M)↓\t8.54"),
    ("jcrnet", "Table VII", "JCRNet", "none", "flops_g", "219.74", JCRNET, "\t66.31\t219.74\n"),
    ("jcrnet", "Table VII", "DDNet", "none", "fps", "108.45", JCRNET, "0.06\t108.45\t5.99\n"),
    ("jcrnet", "Table VIII", "CSDNet", "phone_huawei_mate20pro", "niqe", "5.587", JCRNET, "CSDNet [60]\t5.587"),
    ("jcrnet", "Table VIII", "JCRNet", "phone_average", "brisque", "51.197", JCRNET, "\t5.063\t51.197\n"),
    ("jcrnet", "Table VIII", "RUAS", "phone_xiaomi_mimix3", "niqe", "11.812", JCRNET, "71.316\t11.812\t84.224"),
    ("jcrnet", "Table IX", "Low-light", "sod_lowlight_rgb", "sod_mae", "0.054", JCRNET, "Low-light\t0.054\t0.936"),
    ("jcrnet", "Table IX", "JCRNet", "sod_lowlight_rgbt", "sod_e_measure", "0.923", JCRNET, "\t0.878\t0.923\n"),
    ("jcrnet", "Table IX", "IAT", "sod_lowlight_rgbd", "sod_max_f", "0.928", JCRNET, "0.917\t0.041\t0.928"),
    ("iclr", "methods.md §2.4", "ICLR", "lol_v1", "psnr_gtmean", "28.603", METHODS, "| ICLR | 28.603 / 0.885"),
    ("iclr", "methods.md §2.4", "URWKV", "lol_v2_synthetic", "psnr_gtmean", "20.518", METHODS, "31.413 | 20.518 |"),
    ("iclr", "methods.md §2.4", "CIDNet", "lol_v1", "lpips_alex_gtmean", "0.117", METHODS, "27.732 / 0.870 / 0.117"),
    ("iclr", "methods.md §2.4 ablation", "ICLR w/o MAFM", "lol_v1", "psnr_gtmean", "28.028", METHODS,
     "w/o MAFM 28.028/0.880"),
    ("iclr", "methods.md §2.4 ablation", "ICLR CCL->L2", "lol_v1", "lpips_alex_gtmean", "0.073", METHODS,
     "CCL→L2 28.275/0.880/0.073"),
    ("iclr", "methods.md §2.4 ablation", "ICLR w/o 2nd MAFM of DIEM", "lol_v1", "psnr_gtmean_delta", "-0.231",
     METHODS, "−0.268 / −0.231 dB"),
    ("iclr", "methods.md §2.1", "ICLR", "none", "params_m", "4.27", METHODS, "Params 4.27 M"),
    ("iclr", "methods.md §2.1", "URWKV", "none", "params_m", "2.25", METHODS, "URWKV 2.25 M"),
    ("cidnet", "methods.md §1.5", "CIDNet (w/o perc)", "lol_v1", "psnr_gtmean", "28.141", METHODS,
     "| LOLv1 | w/o perc, GT-mean | 28.141 |"),
    ("cidnet", "methods.md §1.5", "CIDNet (w/ perc)", "lol_v2_synthetic", "lpips_alex", "0.045", METHODS,
     "| LOLv2-syn | w/ perc | 25.129 | 0.939 | 0.045 |"),
    ("cidnet", "methods.md §1.5", "CIDNet (LOLv2-syn weights)", "vv", "niqe", "3.21", METHODS, "3.74/3.21 (syn"),
    ("cidnet", "methods.md §1.2", "CIDNet", "none", "flops_g", "7.57", METHODS, "1.88 M params, 7.57 GFLOPs"),
    ("cidnet", "methods.md §1.2", "CIDNet", "none", "params_m", "1.88", METHODS, "1.88 M params"),
    ("irle", "methods.md §4", "IRLE", "lol_v1", "niqe", "4.279", METHODS, "LOLv1 NIQE 4.279"),
    ("irle", "Table 1", "IRLE", "lol_v1", "psnr_gtmean", "24.65", IRLE_PAGE, "| IRLE (ours) | 20.60 | 0.760 | 24.65 |"),
    ("irle", "Table 1", "Zero-DCE", "lol_v2_synthetic", "ssim_gtmean", "0.849", IRLE_PAGE,
     "| 17.76 | 0.813 | 21.50 | 0.849 |\n"),
    ("irle", "Table 1", "Li et al.", "lol_v2_real", "ssim", "0.795", IRLE_PAGE,
     "| Li et al. (ICLR'25) | 19.82 | 0.751 | 23.97 | 0.779 | 20.35 | 0.795 |"),
    ("irle", "Table 2", "IRLE", "none", "macs_g", "79.139", IRLE_PAGE, "| IRLE (Total) | 20.60 | 2.204 | 79.139 |"),
    ("irle", "Table 2", "IRLE (stage 1)", "none", "params_m", "0.887", IRLE_PAGE, "| IRLE (Stage 1) | 20.39 | 0.887 |"),
    ("irle", "Table 2", "SCI", "none", "fps", "3113.86", IRLE_PAGE, "| 0.32 | 3113.86 |\n"),
]


@pytest.fixture(scope="module")
def ledger_frame() -> pd.DataFrame:
    return load_reported()


def _raw_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------- shapes per table
def test_tables_have_the_expected_shape(ledger_frame):
    summary = reported_tables().set_index(["paper", "table"])
    assert set(summary.index) == set(EXPECTED)
    for key, (_, n_rows, n_methods, n_datasets, metrics) in EXPECTED.items():
        got = summary.loc[key]
        assert (got.n_rows, got.n_methods, got.n_datasets, got.n_metrics) == \
               (n_rows, n_methods, n_datasets, len(metrics)), key
        table = ledger_frame[(ledger_frame.paper == key[0]) & (ledger_frame.table == key[1])]
        assert set(table.metric) == metrics, key


def test_one_csv_per_source_table():
    for (paper, table), (name, n_rows, *_) in EXPECTED.items():
        rows = _raw_rows(ledger.LEDGER_DIR / name)
        assert {(r["paper"], r["table"]) for r in rows} == {(paper, table)}, name
        assert len(rows) == n_rows, name
    assert {p.name for p in ledger.LEDGER_DIR.glob("*.csv")} == {v[0] for v in EXPECTED.values()}


@pytest.mark.parametrize("key", FULL_GRIDS, ids=lambda k: f"{k[0]}-{k[1]}")
def test_document_tables_are_complete_grids(ledger_frame, key):
    table = ledger_frame[(ledger_frame.paper == key[0]) & (ledger_frame.table == key[1])]
    assert len(table) == table.method.nunique() * table.dataset.nunique() * table.metric.nunique()


def test_loaded_rows_are_labelled_reported(ledger_frame):
    assert list(ledger_frame.columns) == [*ledger.COLUMNS, "kind"]
    assert set(ledger_frame.kind) == {"reported"}
    assert ledger_frame.value.dtype == float
    assert set(ledger_frame.paper) == set(ledger.PAPERS)


def test_directions_follow_the_metric(ledger_frame):
    for metric in ("lpips", "lpips_alex_gtmean", "niqe", "brisque", "params_m", "flops_g", "macs_g", "runtime_ms",
                   "sod_mae"):
        assert set(ledger_frame.loc[ledger_frame.metric == metric, "direction"]) == {"lower"}, metric
    for metric in ("psnr", "ssim", "ssim_gray_gtmean", "fps", "sod_s_measure"):
        assert set(ledger_frame.loc[ledger_frame.metric == metric, "direction"]) == {"higher"}, metric


def test_unstated_protocols_say_unspecified(ledger_frame):
    seeds = ledger_frame[ledger_frame.paper.isin(["frlie", "jcrnet"]) |
                         ledger_frame.table.isin(["LOL table", "VE-LOL cross", "VE-LOL intra"])]
    assert seeds.protocol_notes.str.contains("unspecified").all()


# ------------------------------------------------------------------------------- values against the documents
@pytest.mark.parametrize("spot", SPOTS, ids=lambda s: f"{s[0]}-{s[1]}-{s[2]}-{s[4]}")
def test_spot_values_match_the_document(shared_root, spot):
    paper, table, method, dataset, metric, printed, source, snippet = spot
    text = (shared_root / source).read_text(encoding="utf-8")
    assert snippet in text, f"snippet not found in {source}: {snippet!r}"
    assert printed.lstrip("-") in snippet
    assert reported_value(paper, table, method, dataset, metric) == pytest.approx(float(printed), abs=0)


def test_every_transcribed_value_occurs_in_its_source(shared_root):
    texts: dict[str, str] = {}
    for path in sorted(ledger.LEDGER_DIR.glob("*.csv")):
        for line, row in enumerate(_raw_rows(path), start=2):
            source = row["source"].split(":")[0]
            if source not in texts:
                texts[source] = (shared_root / source).read_text(encoding="utf-8")
            assert row["value"].lstrip("-") in texts[source], f"{path.name} line {line}: {row['value']}"


# How each seed table is printed: the ledger columns that identify one printed line (values in CSV order,
# joined by the separator, must reappear verbatim in the document with the highlight markup removed).
PRINTED_LINES = {
    "frlie_table1.csv": (FRLIE, ("metric", "half"), "\t"),
    "frlie_table2.csv": (FRLIE, ("method",), "\t"),
    "llflow_lol_table.csv": (LLFLOW, ("method",), ""),
    "jcrnet_table1.csv": (JCRNET, ("dataset", "metric"), "\t"),
    "jcrnet_table2.csv": (JCRNET, ("method",), "\t"),
    "jcrnet_table3.csv": (JCRNET, ("method",), "\t"),
    "jcrnet_table4.csv": (JCRNET, ("method",), "\t"),
    "jcrnet_table5.csv": (JCRNET, ("dataset", "method"), "\t"),
    "jcrnet_table6.csv": (JCRNET, ("method",), "\t"),
    "jcrnet_table7.csv": (JCRNET, ("metric",), "\t"),
    "jcrnet_table8.csv": (JCRNET, ("method",), "\t"),
    "jcrnet_table9.csv": (JCRNET, ("method",), "\t"),
    "irle_project_page_table1.csv": (IRLE_PAGE, ("method",), " | "),   # markdown rows: 12 cells per method
    "irle_project_page_table2.csv": (IRLE_PAGE, ("method",), " | "),   # PSNR, Params, MACs, RT, FPS
}


@pytest.mark.parametrize("name", sorted(PRINTED_LINES))
def test_document_lines_rebuild_from_the_ledger(shared_root, name):
    source, columns, sep = PRINTED_LINES[name]
    text = (shared_root / source).read_text(encoding="utf-8")
    for tag in ("<b>", "</b>", "<u>", "</u>"):
        text = text.replace(tag, "")
    rows = _raw_rows(ledger.LEDGER_DIR / name)
    for i, row in enumerate(rows):
        row["half"] = str(i // 21)  # FRLIE Table 1 is printed as two blocks of 7 methods x 3 metrics
    lines: dict[tuple[str, ...], list[str]] = {}
    for row in rows:
        lines.setdefault(tuple(row[c] for c in columns), []).append(row["value"])
    for key, values in lines.items():
        assert sep.join(values) in text, f"{name} {key}: {sep.join(values)!r} is not a line of {source}"
    # the cells of every printed line of a block carry the same column labels in the same order, so a label
    # swapped inside one line (a value filed under the wrong column) fails
    rest = [c for c in ("method", "dataset", "metric") if c not in columns]
    blocks: dict[str, set[tuple[tuple[str, ...], ...]]] = {}
    for key in lines:
        block = [r for r in rows if tuple(r[c] for c in columns) == key]
        blocks.setdefault(block[0]["half"] if "half" in columns else "", set()).add(
            tuple(tuple(r[c] for c in rest) for r in block))
    assert all(len(orders) == 1 for orders in blocks.values()), f"{name}: column order differs between lines"


# ------------------------------------------------------------- cell by cell: the tables printed as prose / markdown
# The nine tables above that are not printed as tab-separated lines (83 rows), transcribed by hand from the
# documents by (table, row, column). Each entry is a verbatim fragment of the section named by the rows' ``source``
# column (a methods.md heading ``§X.Y``, or a bullet of a seed section) and the cells it prints, in print order, as
# (method, dataset, metric, value as printed). The fragment's decimal numbers, read left to right, must be exactly
# these values, and the ledger row (method, dataset, metric) must hold exactly that value: a number moved to
# another row or column of its table fails, and so does a ledger row that no fragment accounts for.
def _cells(method: str, dataset: str, metrics: tuple[str, ...], values: tuple[str, ...]) -> list[tuple[str, ...]]:
    assert len(metrics) == len(values)
    return [(method, dataset, m, v) for m, v in zip(metrics, values)]


PSL = ("psnr", "ssim", "lpips")
PSL_ALEX, PSL_GTMEAN = ("psnr", "ssim", "lpips_alex"), ("psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean")
SYN = "CIDNet (LOLv2-syn weights)"
DOCUMENT_CELLS: dict[str, list[tuple[str, list[tuple[str, ...]]]]] = {
    "llflow_velol_cross.csv": [  # seed bullet 2 of 主な発見
        ("on VE-LOL when trained on LOL (PSNR 23.85, SSIM 0.8986, LPIPS 0.1456)",
         _cells("LLFlow", "ve_lol", PSL, ("23.85", "0.8986", "0.1456")))],
    "llflow_velol_intra.csv": [  # seed bullet 3 of 主な発見
        ("Intra-dataset VE-LOL results (re-trained on VE-LOL) show LLFlow leading with PSNR 26.02, SSIM 0.9266, "
         "LPIPS 0.0996", _cells("LLFlow", "ve_lol", PSL, ("26.02", "0.9266", "0.0996")))],
    "llflow_methods_5_6.csv": [
        ("[C] README: LOL 25.19 / 0.93 (gray SSIM; 0.86 colour) / 0.11 (GT-mean protocol)",
         _cells("LLFlow", "lol_v1", ("psnr_gtmean", "ssim_gray_gtmean", "ssim_gtmean", "lpips_alex_gtmean"),
                ("25.19", "0.93", "0.86", "0.11"))),
        ("[P] PapersWithCode: LOLv2 (VE-LOL-L style) 26.02 / 0.927 / 0.0995",
         _cells("LLFlow", "ve_lol", PSL, ("26.02", "0.927", "0.0995")))],
    "iclr_methods_2_4.csv": [
        ("| Method | LOLv1 PSNR/SSIM/LPIPS | LOLv2-real PSNR | LOLv2-syn PSNR |", []),  # the column header
        *[(f"| {method} | {v1[0]} / {v1[1]} / {v1[2]} | {real} | {syn} |",
           _cells(method, "lol_v1", PSL_GTMEAN, v1) + _cells(method, "lol_v2_real", ("psnr_gtmean",), (real,))
           + _cells(method, "lol_v2_synthetic", ("psnr_gtmean",), (syn,)))
          for method, v1, real, syn in [("ICLR", ("28.603", "0.885", "0.068"), "32.320", "20.719"),
                                        ("CIDNet", ("27.732", "0.870", "0.117"), "31.436", "20.375"),
                                        ("URWKV", ("26.513", "0.869", "0.107"), "31.413", "20.518")]]],
    "iclr_methods_2_4_ablation.csv": [
        *[(f"{label} {v[0]}/{v[1]}/{v[2]}", _cells(method, "lol_v1", PSL_GTMEAN, v))
          for label, method, v in [("Ablation (LOLv1): full", "ICLR", ("28.603", "0.885", "0.068")),
                                   ("; w/o MAFM", "ICLR w/o MAFM", ("28.028", "0.880", "0.080")),
                                   ("; CDEM→plain cross-attn", "ICLR CDEM->plain cross-attn",
                                    ("27.998", "0.883", "0.074")),
                                   ("; CCL→L1", "ICLR CCL->L1", ("28.202", "0.879", "0.073")),
                                   ("; CCL→L2", "ICLR CCL->L2", ("28.275", "0.880", "0.073"))]],
        ("Removing 1st / 2nd MAFM of DIEM: −0.268 / −0.231 dB",
         _cells("ICLR w/o 1st MAFM of DIEM", "lol_v1", ("psnr_gtmean_delta",), ("-0.268",))
         + _cells("ICLR w/o 2nd MAFM of DIEM", "lol_v1", ("psnr_gtmean_delta",), ("-0.231",)))],
    "iclr_methods_2_1.csv": [
        ("Params 4.27 M (vs CIDNet 1.88 M, URWKV 2.25 M)",
         _cells("ICLR", "none", ("params_m",), ("4.27",)) + _cells("CIDNet", "none", ("params_m",), ("1.88",))
         + _cells("URWKV", "none", ("params_m",), ("2.25",)))],
    "cidnet_methods_1_5.csv": [
        ("| Set | Setting | PSNR | SSIM | LPIPS |", []),  # the column header
        *[(f"| {set_} | {setting} | {v[0]} | {v[1]} | {v[2]} |",
           _cells(method, dataset, PSL_GTMEAN if "GT-mean" in setting.split(", ")[-1] else PSL_ALEX, v))
          for set_, setting, method, dataset, v in [
              ("LOLv1", "w/ perc", "CIDNet (w/ perc)", "lol_v1", ("23.809", "0.857", "0.086")),
              ("LOLv1", "w/ perc, GT-mean", "CIDNet (w/ perc)", "lol_v1", ("27.715", "0.876", "0.079")),
              ("LOLv1", "w/o perc", "CIDNet (w/o perc)", "lol_v1", ("23.500", "0.870", "0.105")),
              ("LOLv1", "w/o perc, GT-mean", "CIDNet (w/o perc)", "lol_v1", ("28.141", "0.889", "0.099")),
              ("LOLv2-real", 'best "normal"', "CIDNet (best normal weight)", "lol_v2_real",
               ("24.111", "0.868", "0.116")),
              ("LOLv2-real", "best GT-mean weight, GT-mean", "CIDNet (best GT-mean weight)", "lol_v2_real",
               ("28.139", "0.892", "0.101")),
              ("LOLv2-syn", "w/o perc", "CIDNet (w/o perc)", "lol_v2_synthetic", ("25.705", "0.942", "0.047")),
              ("LOLv2-syn", "w/o perc, GT-mean", "CIDNet (w/o perc)", "lol_v2_synthetic",
               ("29.566", "0.950", "0.044")),
              ("LOLv2-syn", "w/ perc", "CIDNet (w/ perc)", "lol_v2_synthetic", ("25.129", "0.939", "0.045"))]],
        ("NIQE (DICM/LIME/MEF/NPE/VV) 3.79/4.13/3.56/3.74/3.21 (syn weights)",
         [(SYN, "dicm", "niqe", "3.79"), (SYN, "lime", "niqe", "4.13"), (SYN, "mef", "niqe", "3.56"),
          (SYN, "npe", "niqe", "3.74"), (SYN, "vv", "niqe", "3.21")])],
    "cidnet_methods_1_2.csv": [
        ("Size: 1.88 M params, 7.57 GFLOPs",
         _cells("CIDNet", "none", ("params_m",), ("1.88",)) + _cells("CIDNet", "none", ("flops_g",), ("7.57",)))],
    "irle_methods_4.csv": [
        ("only number found: LOLv1 NIQE 4.279 (wizwand)", _cells("IRLE", "lol_v1", ("niqe",), ("4.279",)))],
}
DECIMAL = re.compile(r"[−-]?\d+\.\d+")  # the documents print negative deltas with U+2212


def _source_section(shared_root: Path, source: str) -> str:
    """The text a ledger ``source`` cell points at: ``specs/methods.md: §X.Y ...`` is the section under the heading
    numbered X.Y (up to the next heading); ``seeds/...: <title> bullet N`` is the N-th bullet after that title."""
    path, _, where = source.partition(": ")
    lines = (shared_root / path).read_text(encoding="utf-8").splitlines()
    if where.startswith("§"):
        number = where[1:].split()[0]
        start = next(i for i, line in enumerate(lines) if re.match(rf"#+ {re.escape(number)}[ .]", line))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
        return "\n".join(lines[start:end])
    title, _, bullet = where.rpartition(" bullet ")
    start = lines.index(title)
    bullets = [line for line in lines[start:] if line.startswith("  •")]
    return bullets[int(bullet) - 1]


def test_document_cells_cover_exactly_the_prose_tables():
    printed = {name for name, *_ in EXPECTED.values() if name not in PRINTED_LINES}
    assert set(DOCUMENT_CELLS) == printed
    assert sum(len(cells) for entries in DOCUMENT_CELLS.values() for _, cells in entries) == 83


@pytest.mark.parametrize("name", sorted(DOCUMENT_CELLS))
def test_prose_table_cells_match_the_document_by_row_and_column(shared_root, name):
    rows = _raw_rows(ledger.LEDGER_DIR / name)
    ledger_cells = {(r["method"], r["dataset"], r["metric"]): r["value"] for r in rows}
    assert len(ledger_cells) == len(rows), f"{name}: duplicate (method, dataset, metric)"
    sources = {r["source"] for r in rows}
    sections = [_source_section(shared_root, s) for s in sorted(sources)]
    transcribed: dict[tuple[str, str, str], str] = {}
    for fragment, cells in DOCUMENT_CELLS[name]:
        assert any(fragment in section for section in sections), f"{name}: {fragment!r} not in {sorted(sources)}"
        # the fragment's numbers, left to right, are the transcribed cells in print order (ties value <-> column)
        assert [v.replace("−", "-") for v in DECIMAL.findall(fragment)] == [c[3] for c in cells], fragment
        for method, dataset, metric, value in cells:
            assert (method, dataset, metric) not in transcribed, (name, method, dataset, metric)
            transcribed[(method, dataset, metric)] = value
    assert set(ledger_cells) == set(transcribed), \
        f"{name}: rows without a document cell {sorted(set(ledger_cells) - set(transcribed))}, " \
        f"document cells without a row {sorted(set(transcribed) - set(ledger_cells))}"
    wrong = {k: (ledger_cells[k], v) for k, v in transcribed.items() if ledger_cells[k] != v}
    assert not wrong, f"{name}: (ledger, document) differ at {wrong}"
    for (method, dataset, metric), value in transcribed.items():
        paper, table = rows[0]["paper"], rows[0]["table"]
        assert reported_value(paper, table, method, dataset, metric) == float(value)


def test_spots_cover_every_table():
    covered = {(s[0], s[1]) for s in SPOTS}
    assert covered == set(EXPECTED)
    assert all(sum((s[0], s[1]) == key for s in SPOTS) >= 2 for key in EXPECTED if EXPECTED[key][1] > 1)


# ---------------------------------------------------------------------------------------- lookup and filters
def test_reported_value_and_filters():
    assert reported_value("frlie", "Table 1", "FRLIE", "lol_v1", "psnr") == 22.319
    jcr = load_reported("jcrnet", "Table VII")
    assert len(jcr) == 18 and set(jcr.paper) == {"jcrnet"}
    with pytest.raises(KeyError, match="available"):
        load_reported("jcrnet", "Table X")
    with pytest.raises(KeyError, match="Did you mean"):
        reported_value("frlie", "Table 1", "FRLEI", "lol_v1", "psnr")
    with pytest.raises(KeyError, match="metric='psnr_gtmean'"):
        reported_value("frlie", "Table 1", "FRLIE", "lol_v1", "psnr_gtmean")


# --------------------------------------------------------------------------------- validation on a temp ledger
@pytest.fixture
def temp_ledger(tmp_path) -> Path:
    shutil.copy(ledger.LEDGER_DIR / "frlie_table1.csv", tmp_path / "a.csv")
    return tmp_path


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=ledger.COLUMNS, lineterminator="\n").writerows(rows)


def _row(**changes: str) -> dict[str, str]:
    base = dict(paper="frlie", table="Table 9", method="X", dataset="lol_v1", metric="psnr", value="1.0",
                direction="higher", protocol_notes="unspecified", source="seeds/x.txt: Table 9")
    return {**base, **changes}


def test_temp_ledger_loads(temp_ledger):
    assert len(load_reported(ledger_dir=temp_ledger)) == 42


def test_duplicate_rows_are_rejected(temp_ledger):
    first = _raw_rows(temp_ledger / "a.csv")[0]
    _append(temp_ledger / "b.csv", [])
    (temp_ledger / "b.csv").write_text(",".join(ledger.COLUMNS) + "\n", encoding="utf-8")
    _append(temp_ledger / "b.csv", [{**first, "value": "99"}])
    with pytest.raises(LedgerError, match=r"duplicate ledger key.*a\.csv line 2.*b\.csv line 2"):
        load_reported(ledger_dir=temp_ledger)


@pytest.mark.parametrize("bad, message", [
    (_row(metric="niqe", direction="higher"), "inconsistent directions"),
    (_row(metric="lpips_vgg", direction="higher"), "lower-is-better"),
    (_row(direction="up"), "must be one of"),
    (_row(value="nan"), "not a finite number"),
    (_row(value="22.3 dB"), "not a finite number"),
    (_row(method=""), "empty 'method'"),
    (_row(paper="retinexformer"), "not in"),
])
def test_bad_rows_are_rejected(temp_ledger, bad, message):
    _append(temp_ledger / "a.csv", [bad])
    with pytest.raises(LedgerError, match=message) as info:
        load_reported(ledger_dir=temp_ledger)
    assert "a.csv" in str(info.value)


def test_wrong_columns_and_empty_folder_are_rejected(tmp_path):
    with pytest.raises(LedgerError, match="no ledger CSV"):
        load_reported(ledger_dir=tmp_path)
    (tmp_path / "c.csv").write_text("paper,table,method,dataset,metric,value\n", encoding="utf-8")
    with pytest.raises(LedgerError, match=r"c\.csv: columns"):
        load_reported(ledger_dir=tmp_path)


def test_irle_page_tables_agree_on_lolv1_normal_psnr(ledger_frame):
    """The page's Table 2 PSNR column is Table 1's LOLv1 Normal PSNR (the page says so): a transcription check
    across the two tables; only 'IRLE (stage 1)' is in Table 2 alone, only CLODE in Table 1 alone."""
    irle = ledger_frame[ledger_frame.paper == "irle"]
    t1 = irle[(irle.table == "Table 1") & (irle.dataset == "lol_v1") & (irle.metric == "psnr")].set_index("method")
    t2 = irle[(irle.table == "Table 2") & (irle.metric == "psnr")].set_index("method")
    assert set(t2.index) - set(t1.index) == {"IRLE (stage 1)"} and set(t1.index) - set(t2.index) == {"CLODE"}
    both = sorted(set(t1.index) & set(t2.index))
    assert (t2.value[both] == t1.value[both]).all()
    assert reported_value("irle", "Table 2", "IRLE", "none", "params_m") == 2.204
    assert reported_value("irle", "Table 2", "IRLE (stage 1)", "none", "macs_g") == 32.479
