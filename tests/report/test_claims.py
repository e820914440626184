"""The claims ledger and the claim statistics (llie_core.report.claims)."""
from __future__ import annotations

import math
import os
import time

import numpy as np
import pandas as pd
import pytest

from llie_core.core.methods import BASELINES, TRAINED_METHODS
from llie_core.evaluation.suite import PAIRED_METRICS, UNPAIRED_METRICS
from llie_core.report import claims as C
from llie_core.report.compare import parse_label
from llie_core.report.ledger import LEDGER_DIR, expected_direction, load_reported
from llie_core.training.recipes import method_variants
from tests.helpers import REPO_ROOT

IMAGES = [str(i) for i in range(1, 21)]
SCORE_COLUMNS = ["image", "psnr", "niqe", "height", "width", "seconds", "skipped"]


def _write_scores(path, psnr, niqe=None, images=IMAGES, mean_row=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    niqe = np.zeros(len(psnr)) if niqe is None else niqe
    frame = pd.DataFrame({"image": images, "psnr": psnr, "niqe": niqe, "height": 400, "width": 600,
                          "seconds": 0.1, "skipped": ""})
    if mean_row:  # evaluate() appends a summary row; it must not count as an image
        frame = pd.concat([frame, pd.DataFrame([{"image": "mean", "psnr": 1e6, "niqe": 1e6}])], ignore_index=True)
    frame[SCORE_COLUMNS].to_csv(path, index=False)


def _claim(better, worse, metric="psnr", direction="higher", claim_id="c1"):
    return pd.DataFrame([{"claim_id": claim_id, "paper": "jcrnet", "source": "test", "claim": "x", "dataset": "lol_v1",
                          "metric": metric, "direction": direction, "better": better, "worse": worse,
                          "reported_metric": "", "reported_better": math.nan, "reported_worse": math.nan}])


def _run(root, label, psnr, run_dir=None, fingerprint="abc123", **kw):
    run_dir = run_dir or label.replace("[", "-").replace("]", "").replace(",", "-")
    _write_scores(root / "runs" / run_dir / "scores" / fingerprint / label / "lol_v1.csv", psnr, **kw)


@pytest.fixture
def rng():
    return np.random.default_rng(123)


def test_a_known_difference_holds_and_its_reverse_is_reversed(tmp_path, rng):
    base = 20 + rng.normal(0, 1.0, len(IMAGES))
    _run(tmp_path, "jcrnet[ablation_budget]", base + 0.5 + rng.normal(0, 0.1, len(IMAGES)))
    _run(tmp_path, "jcrnet[wo_fes]", base)
    row = C.evaluate_claims(tmp_path, "quick", _claim("jcrnet[ablation_budget]", "jcrnet[wo_fes]")).iloc[0]
    assert row["verdict"] == "holds" and row["n"] == len(IMAGES)
    assert row["mean_diff"] == pytest.approx(0.5, abs=0.1)
    assert 0 < row["ci_low"] < row["mean_diff"] < row["ci_high"]
    reverse = C.evaluate_claims(tmp_path, "quick", _claim("jcrnet[wo_fes]", "jcrnet[ablation_budget]")).iloc[0]
    assert reverse["verdict"] == "reversed"
    assert reverse["mean_diff"] == pytest.approx(-row["mean_diff"])


def test_lower_is_better_metrics_are_sign_adjusted(tmp_path, rng):
    base = 5 + rng.normal(0, 0.5, len(IMAGES))
    _run(tmp_path, "jcrnet", np.zeros(len(IMAGES)), niqe=base - 1.0)
    _write_scores(tmp_path / "scores" / "zero_dce" / "lol_v1.csv", np.zeros(len(IMAGES)), niqe=base)
    row = C.evaluate_claims(tmp_path, "quick", _claim("jcrnet", "zero_dce", "niqe", "lower")).iloc[0]
    assert row["verdict"] == "holds" and row["mean_diff"] == pytest.approx(1.0)


def test_a_null_difference_is_inconclusive(tmp_path, rng):
    base = 20 + rng.normal(0, 1.0, len(IMAGES))
    _run(tmp_path, "iclr[ablation_budget]", base)
    _run(tmp_path, "iclr[ccl_to_l1]", base)  # identical scores: zero-width CI at 0
    noise = rng.normal(0, 0.3, len(IMAGES) // 2)
    symmetric = base + np.concatenate([noise, -noise])  # differences symmetric around 0
    _run(tmp_path, "iclr[ccl_to_l2]", symmetric)
    claims = pd.concat([_claim("iclr[ablation_budget]", "iclr[ccl_to_l1]", claim_id="a"),
                        _claim("iclr[ablation_budget]", "iclr[ccl_to_l2]", claim_id="b")], ignore_index=True)
    frame = C.evaluate_claims(tmp_path, "quick", claims).set_index("claim_id")
    assert frame.loc["a", "verdict"] == "inconclusive" and frame.loc["a", "ci_low"] == frame.loc["a", "ci_high"] == 0
    assert frame.loc["b", "verdict"] == "inconclusive"
    assert frame.loc["b", "mean_diff"] == pytest.approx(0, abs=1e-9)
    assert frame.loc["b", "ci_low"] < 0 < frame.loc["b", "ci_high"]


def test_missing_scores_give_not_run_naming_the_side(tmp_path):
    _run(tmp_path, "irle[ablation_budget]", np.full(len(IMAGES), 20.0))
    row = C.evaluate_claims(tmp_path, "quick", _claim("irle[ablation_budget]", "irle[wo_gafm]")).iloc[0]
    assert row["verdict"] == "not run" and row["n"] == 0
    assert "worse side `irle[wo_gafm]`" in row["note"] and "better" not in row["note"]
    row = C.evaluate_claims(tmp_path, "quick", _claim("irle[wo_iap]", "irle[ablation_budget]")).iloc[0]
    assert "better side `irle[wo_iap]`" in row["note"]


def test_pairs_only_common_images_and_averages_seed_replicas(tmp_path):
    _run(tmp_path, "frlie", np.full(len(IMAGES), 20.0))
    _run(tmp_path, "frlie[seed1]", np.full(len(IMAGES), 22.0), run_dir="frlie-seed1")
    _run(tmp_path, "frlie[ablation_budget]", np.full(len(IMAGES), 99.0))  # another run: never mixed in
    _run(tmp_path, "frlie[gate1.3]", np.full(len(IMAGES), 99.0), run_dir="frlie")  # a test option: not the run
    _write_scores(tmp_path / "scores" / "lime" / "lol_v1.csv", np.full(10, 18.0), images=IMAGES[:10])
    row = C.evaluate_claims(tmp_path, "quick", _claim("frlie", "lime")).iloc[0]
    assert row["seeds_better"] == 2 and row["seeds_worse"] == 1 and row["n"] == 10
    assert row["mean_better"] == pytest.approx(21.0) and row["mean_diff"] == pytest.approx(3.0)


def test_the_newest_weights_of_a_retrained_run_are_used(tmp_path):
    _run(tmp_path, "frlie[wo_fr]", np.full(len(IMAGES), 10.0), fingerprint="old")
    path = tmp_path / "runs" / "frlie-wo_fr" / "scores" / "old" / "frlie[wo_fr]" / "lol_v1.csv"
    _run(tmp_path, "frlie[wo_fr]", np.full(len(IMAGES), 12.0), fingerprint="new")
    newer = tmp_path / "runs" / "frlie-wo_fr" / "scores" / "new" / "frlie[wo_fr]" / "lol_v1.csv"
    os.utime(path, (1_000, 1_000))
    os.utime(newer, (2_000, 2_000))
    scores, runs = C.per_image_scores(tmp_path, "frlie[wo_fr]", "lol_v1", "psnr")
    assert runs == 1 and scores.mean() == pytest.approx(12.0)


def test_mean_ci_brackets_the_mean_and_is_reproducible(rng):
    values = rng.normal(3.0, 1.0, 40)
    first, second = C.mean_ci(values), C.mean_ci(values)
    assert first == second and first["n"] == 40
    assert first["ci_low"] < first["mean"] < first["ci_high"]
    assert first["ci_low"] < 3.0 < first["ci_high"]
    assert C.mean_ci([2.0, 2.0, 2.0]) == {"n": 3, "mean": 2.0, "ci_low": 2.0, "ci_high": 2.0}
    assert math.isnan(C.mean_ci([1.0])["ci_low"])


def test_markdown_pages_are_generated_from_the_data(tmp_path, rng):
    base = 20 + rng.normal(0, 1.0, len(IMAGES))
    _run(tmp_path, "jcrnet[ablation_budget]", base + 1.25)
    _run(tmp_path, "jcrnet[wo_fes]", base)
    claims = pd.concat([_claim("jcrnet[ablation_budget]", "jcrnet[wo_fes]", claim_id="a"),
                        _claim("jcrnet[ablation_budget]", "jcrnet[wo_jrs]", claim_id="b")], ignore_index=True)
    frame = C.evaluate_claims(tmp_path, "quick", claims)
    page = C.claims_markdown(frame)
    assert "1.250" in page and "**holds**" in page and "**not run**" in page and "nan" not in page
    assert page.count("\n| x |") == 2  # one row per claim
    summary = C.run_summary_markdown(frame, "jcrnet")
    assert summary.startswith("## What this run shows") and "1.250" in summary and "jcrnet[wo_jrs]" in summary
    assert "No claims" in C.run_summary_markdown(frame, "llflow")


# ------------------------------------------------------------------------------------------------ the claims file
def _label_is_known(label: str) -> bool:
    if label in BASELINES:
        return True
    run = parse_label(label)
    if run.method not in TRAINED_METHODS or any(t != "ablation_budget" for t in run.tags):
        return False
    return run.variant is None or run.variant in method_variants(run.method, "paper")


def test_the_claims_file_is_well_formed():
    claims = C.load_claims()
    assert len(claims) >= 15
    assert set(claims["paper"]) == {"frlie", "jcrnet", "llflow", "iclr", "irle"}
    for row in claims.to_dict("records"):  # a column of the per-image score files of evaluate_suite
        metrics = PAIRED_METRICS if row["dataset"] in ("lol_v1", "fivek", "synthetic") else UNPAIRED_METRICS
        assert row["metric"] in metrics, row["claim_id"]
        assert row["direction"] == expected_direction(row["metric"]), row["claim_id"]
        assert _label_is_known(row["better"]) and _label_is_known(row["worse"]), row["claim_id"]
        better, worse = parse_label(row["better"]), parse_label(row["worse"])
        if better.variant is None and worse.variant is not None and worse.method == better.method:
            # an ablation is compared with the full model at the same budget, never with the main run
            assert better.tags == ("ablation_budget",), row["claim_id"]
        assert row["claim"].strip() and row["source"].strip() and row["dataset"].strip()


def test_the_reported_numbers_are_the_ledgers():
    claims = C.load_claims()
    ledger = load_reported()
    with_numbers = claims[claims["reported_better"].notna()]
    assert len(with_numbers) >= 15
    for row in with_numbers.to_dict("records"):
        rows = ledger[(ledger["paper"] == row["paper"]) & (ledger["dataset"] == row["dataset"])
                      & (ledger["metric"] == row["reported_metric"])]
        for side in ("reported_better", "reported_worse"):
            assert np.isclose(rows["value"], row[side], atol=1e-9).any(), (row["claim_id"], side)
        direction = 1 if row["direction"] == "higher" else -1
        assert direction * (row["reported_better"] - row["reported_worse"]) > 0, row["claim_id"]
    assert not (LEDGER_DIR / "claims.csv").exists()  # the ledger reads every CSV of its folder


def test_every_claim_gets_a_verdict_on_the_committed_quick_results():
    results = REPO_ROOT / "results" / "quick"
    if not (results / "runs").is_dir():
        pytest.skip("results/quick is not present in this checkout")
    frame = C.evaluate_claims(results, "quick")
    assert len(frame) == len(C.load_claims())
    assert frame["verdict"].isin(C.VERDICTS).all()
    ran = frame[frame["verdict"] != "not run"]
    assert len(ran) >= 15 and (ran["n"] >= 2).all()
    assert (ran["ci_low"] <= ran["mean_diff"]).all() and (ran["mean_diff"] <= ran["ci_high"]).all()


def test_score_summary_gives_n_ci_and_std_over_seeds(tmp_path):
    _run(tmp_path, "irle", np.linspace(18, 22, len(IMAGES)))
    _run(tmp_path, "irle[seed1]", np.linspace(18, 22, len(IMAGES)) + 2.0, run_dir="irle-seed1")
    frame = C.score_summary(tmp_path, "irle", "lol_v1", ["psnr", "lpips_alex"]).set_index("metric")
    row = frame.loc["psnr"]
    assert row["n"] == len(IMAGES) and row["seeds"] == 2 and row["mean"] == pytest.approx(21.0)
    assert row["ci_low"] < 21.0 < row["ci_high"]
    assert row["std_over_seeds"] == pytest.approx(np.std([20.0, 22.0], ddof=1))
    assert frame.loc["lpips_alex", "n"] == 0 and frame.loc["lpips_alex", "seeds"] == 0  # not measured


def test_scores_index_lists_every_score_file_with_its_image_count(tmp_path):
    """Baselines and runs; of a retrained run only its newest weights' scores; the mean row is not an image."""
    def write(path, names):
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"image": [*names, "mean"], "psnr": [1.0] * (len(names) + 1), "images": 1}).to_csv(path,
                                                                                                      index=False)
    write(tmp_path / "scores" / "he" / "lol_v1.csv", ["1", "2", "3"])
    write(tmp_path / "runs" / "iclr" / "scores" / "old" / "iclr" / "lol_v1.csv", ["1"])
    time.sleep(0.01)
    write(tmp_path / "runs" / "iclr" / "scores" / "new" / "iclr" / "lol_v1.csv", ["1", "2"])
    index = C.scores_index(tmp_path)
    assert index[["label", "dataset", "images"]].values.tolist() == [["he", "lol_v1", 3], ["iclr", "lol_v1", 2]]
    assert index["file"].tolist() == ["scores/he/lol_v1.csv", "runs/iclr/scores/new/iclr/lol_v1.csv"]
    assert set(index["metrics"]) == {"psnr"}
    page = C.scores_index_markdown(index, "quick")
    assert page.startswith("# Per-image scores (quick)") and "runs/iclr/scores/new/iclr/lol_v1.csv" in page
