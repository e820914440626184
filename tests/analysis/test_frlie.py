"""Notebook 10's FRLIE Table 1 protocol (llie_core.analysis.frlie): the reported SSIM is compared with
``ssim_frlie`` (FRLIE's released script), scored by the evaluation suite in score files of its own."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from llie_core.analysis import frlie as an
from llie_core.core.profiles import load_profile
from llie_core.evaluation.loop import as_enhancer
from llie_core.evaluation.suite import paired_test_set
from llie_core.metrics import create_metric
from llie_core.report.method_tables import reported_rows


def _run(label, scores_dir, gain):
    return SimpleNamespace(label=label, scores_dir=scores_dir,
                           enhancer=lambda: as_enhancer(lambda low: (low * gain).clamp(0, 1), label, 1))


def test_protocol_scores_are_the_metric_on_the_suite_outputs_in_their_own_files(shared_root, tmp_path):
    profile = load_profile("smoke", data_root=shared_root / "data")
    runs = [_run("frlie", tmp_path / "a", 4.0), _run("frlie", tmp_path / "a", 4.0), _run("frlie[wo_fr]", tmp_path / "b", 3.0)]
    rows = an.protocol_scores(runs, profile, tmp_path / "base", "lol_v1", baselines=False)
    assert list(rows["method"]) == ["frlie", "frlie[wo_fr]"] and (rows["status"] == "ok").all()  # one row per label
    assert list(rows.columns) == ["method", "dataset", "status", "ssim_frlie"]
    # the suite's value = the mean over the test images of the metric on the enhanced, cropped images
    metric = create_metric("ssim_frlie")
    values = []
    for item in paired_test_set("lol_v1", profile.data):
        h, w = (int(v) for v in item.get("size", item["low"].shape[-2:]))
        values.append(metric((item["low"][:, :h, :w] * 4.0).clamp(0, 1), item["high"][:, :h, :w]))
    assert rows.loc[0, "ssim_frlie"] == pytest.approx(float(np.mean(values)), abs=1e-9)
    assert (tmp_path / "a" / "ssim_frlie" / "frlie" / "lol_v1.csv").is_file()      # not the main score files
    assert not (tmp_path / "a" / "frlie").exists()


def test_with_metrics_joins_by_method_and_dataset():
    measured = pd.DataFrame({"method": ["frlie", "lime", "frlie"], "dataset": ["lol_v1", "lol_v1", "lime"],
                             "psnr": [20.0, 16.0, np.nan], "ssim_frlie": [0.1, 0.1, 0.1]})
    extra = pd.DataFrame({"method": ["lime", "frlie"], "dataset": ["lol_v1", "lol_v1"], "status": "ok",
                          "ssim_frlie": [0.5, 0.8]})
    out = an.with_metrics(measured, extra)
    assert list(out["method"]) == ["frlie", "lime", "frlie"] and list(out["psnr"].fillna(-1)) == [20.0, 16.0, -1]
    assert out["ssim_frlie"].tolist()[:2] == [0.8, 0.5] and np.isnan(out["ssim_frlie"].iloc[2])
    with pytest.raises(ValueError, match="repeat"):
        an.with_metrics(measured, pd.concat([extra, extra]))


def test_table1_compares_the_reported_ssim_with_ssim_frlie_and_keeps_the_others_as_extras():
    assert an.TABLE1_METRICS[:3] == ("psnr", "ssim_frlie", "niqe")
    rows = reported_rows("frlie", "Table 1", "lol_v1", an.TABLE1_METRICS).set_index("method")
    assert rows.loc["FRLIE", "ssim_frlie"] == pytest.approx(0.8256)        # the reported SSIM is ssim_frlie
    assert rows[["ssim", "ssim_gray"]].isna().all().all()                   # extra, reproduced-only columns
    assert "ssim_frlie" in an.TABLE1_PROTOCOL and "win_size=51" in an.TABLE1_PROTOCOL
