"""Cross-method figure builders: zoom box choice, residual maps, histogram distance, per-image score discovery,
learning curves, the trained methods' enhancers (loading itself: tests/training/test_trained.py), and the grids'
layout."""
from __future__ import annotations

import json
import os
import time

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from llie_core.analysis import cross_method as wf
from llie_core.core.profiles import load_profile
from llie_core.models import build_model
from llie_core.training.recipes import load_method_config
from tests.helpers import REPO_ROOT

matplotlib.use("Agg")


def test_zoom_box_finds_the_textured_region():
    image = torch.full((3, 60, 80), 0.3)
    checker = (torch.arange(20)[:, None] + torch.arange(24)[None, :]) % 2
    image[:, 35:55, 50:74] = checker * 0.5 + 0.1  # texture in the lower right
    top, left, h, w = wf.zoom_box(image, frac=0.25)
    assert h == w == 15
    assert 35 - 4 <= top <= 55 - h + 4 and 50 - 4 <= left <= 74 - w + 4
    assert wf.zoom_box(torch.zeros(3, 10, 10))[2:] == (4, 4)  # flat image: a valid box anyway


def test_residual_map_and_histogram_distance():
    a, b = torch.zeros(3, 4, 5), torch.full((3, 4, 5), 0.25)
    assert np.allclose(wf.residual_map(a, b), 0.25) and wf.residual_map(a, b).shape == (4, 5)
    w1 = wf.histogram_w1(np.full(1000, 0.2), np.full(1000, 0.5))
    assert w1 == pytest.approx(0.3, abs=1 / 256)
    assert wf.histogram_w1(np.linspace(0, 1, 500), np.linspace(0, 1, 500)) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(wf.histogram_w1(np.array([]), np.array([0.5])))


def _columns(n_images=2, paired=True):
    torch.manual_seed(0)
    cols = {"input": [torch.rand(1, 3, 32, 48) * 0.2 for _ in range(n_images)]}
    cols["A"] = [x * 4 for x in cols["input"]]
    cols["B"] = [x * 2 for x in cols["input"]]
    if paired:
        cols["reference"] = [x * 4.5 for x in cols["input"]]
    return cols


def test_comparison_grid_layout_paired_and_unpaired():
    fig = wf.comparison_grid(_columns(2, True), ["x", "y"], failed={"C": "RuntimeError: boom"})
    main_axes = [ax for ax in fig.axes if ax.get_subplotspec() is not None]
    assert len(main_axes) == 2 * 2 * 4  # (image + residual row) x images x columns
    assert sum(len(ax.child_axes) for ax in main_axes) == 2 * 4  # one zoomed inset per image panel
    assert any("boom" in t.get_text() for t in fig.texts)
    titles = [ax.get_title() for ax in main_axes if ax.get_title().startswith("MAE")]
    assert len(titles) == 2 * 3  # input, A, B residuals per image
    fig = wf.comparison_grid(_columns(1, False), zoom=False)
    assert len(fig.axes) == 3 and not any(ax.child_axes for ax in fig.axes)
    # the title promises residuals only where there is a reference to compute them from
    assert "residual" in wf.comparison_grid(_columns(1, True), title="lol_v1")._suptitle.get_text()
    assert wf.comparison_grid(_columns(1, False), title="dicm")._suptitle.get_text() == "dicm"


def test_colour_histograms_titles_carry_the_distance():
    fig = wf.colour_histograms(_columns(1, True))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[-1] == "reference" and all("W1 to reference" in t for t in titles[:-1])
    assert "Wasserstein" in fig._suptitle.get_text()             # W1 is defined on the figure
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["R", "G", "B", "reference (same channel)"]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert all(ax.get_xlabel() == "pixel value" for ax in panels) and panels[0].get_ylabel() == "density"


def test_per_image_scores_takes_the_newest_file_per_label_and_set(tmp_path):
    def write(rel, psnr, age):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"image": ["1", "2", "mean"], "psnr": [psnr, psnr + 1, psnr + 0.5], "skipped": ""}).to_csv(
            path, index=False)
        os.utime(path, (time.time() - age, time.time() - age))

    write("scores/he/lol_v1.csv", 15.0, 0)
    write("runs/frlie/scores/frlie/lol_v1.csv", 10.0, 100)        # 10_frlie layout, older
    write("runs/frlie/scores/abc123/frlie/lol_v1.csv", 20.0, 0)  # evaluate_runs layout, newer weights
    frame = wf.per_image_scores(tmp_path)
    assert list(frame.columns[:3]) == ["method", "dataset", "image"] and "mean" not in set(frame["image"])
    assert frame.groupby("method")["psnr"].first().to_dict() == {"frlie": 20.0, "he": 15.0}
    assert wf.per_image_scores(tmp_path / "none").empty


def test_learning_curves_from_every_log(tmp_path):
    for run, stage, val in (("frlie", "stage1", True), ("frlie-wo_fr", "stage2", False), ("irle", "stage1", True)):
        path = tmp_path / run / stage / "log.csv"
        path.parent.mkdir(parents=True)
        pd.DataFrame({"iter": [1, 2, 3], "loss": [3.0, 2.0, 1.0],
                      "val_psnr": [np.nan, np.nan, 12.0] if val else [np.nan] * 3}).to_csv(path, index=False)
    logs = wf.training_logs(tmp_path)
    assert sorted(set(zip(logs["method"], logs["run"], logs["stage"]))) == [
        ("frlie", "frlie", "stage1"), ("frlie", "frlie-wo_fr", "stage2"), ("irle", "irle", "stage1")]
    fig = wf.learning_curves(logs)
    # two columns (frlie, irle), the main runs only: one line per stage, so no 15-entry legend
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 1
    top, bottom = fig.axes[0], fig.axes[2]   # row-major: frlie loss, irle loss, frlie validation, irle validation
    assert top.get_title() == "FRLIE: training loss (main run)" and top.get_ylabel() and top.get_xlabel()
    assert bottom.get_ylabel() == "psnr (dB)" and len(bottom.lines) == 1
    empty = wf.learning_curves(wf.training_logs(tmp_path / "nothing"))
    assert "no training runs" in empty.axes[0].texts[0].get_text()


def _fake_run(root, finished=True):
    torch.manual_seed(1)
    model = build_model(dict(load_method_config("frlie", "smoke")["model"])).eval()
    ckpt = root / "frlie" / "stage2" / "checkpoints" / "best.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"model": model.state_dict()}, ckpt)
    if finished:
        (root / "frlie" / "recipe.json").write_text(json.dumps({"method": "frlie"}))
    return model


def test_trained_enhancers_by_display_name_and_skipped_runs_with_the_reason(tmp_path):
    model = _fake_run(tmp_path)
    x = torch.rand(1, 3, 20, 28)
    found, skipped = wf.trained_enhancers("smoke", tmp_path, ("frlie", "irle"))
    assert list(found) == ["FRLIE"] and found["FRLIE"](x).shape == x.shape
    with torch.no_grad():
        assert torch.allclose(found["FRLIE"](x), model(x))  # 20 x 28: a multiple of pad_multiple 4, no padding
    assert skipped["irle"].startswith("NoTrainedRun: irle: no finished run") and "recipe.json missing" in skipped["irle"]


def test_unfinished_runs_are_skipped(tmp_path):
    _fake_run(tmp_path, finished=False)
    found, skipped = wf.trained_enhancers("smoke", tmp_path, ("frlie",))
    assert not found and "run its notebook first" in skipped["frlie"]


def test_heatmap_and_distributions_from_tables():
    cross = pd.DataFrame({"method": ["HE", "HE", "FRLIE", "FRLIE"], "dataset": ["lol_v1", "dicm"] * 2,
                          "psnr": [15.0, np.nan, 20.0, np.nan], "niqe": [5.0, 4.0, 6.0, 3.0]})
    fig = wf.metric_heatmap(cross)
    assert len(fig.axes) == 2 and len(fig.axes[0].texts) == 2 and len(fig.axes[1].texts) == 4
    per_image = pd.DataFrame({"method": ["he"] * 3 + ["frlie"] * 3, "dataset": ["lol_v1", "lol_v1", "dicm"] * 2,
                              "image": list("abcabc"), "psnr": [1, 2, np.nan, 3, 4, np.nan],
                              "ssim": 0.5, "lpips_alex": 0.2, "niqe": [np.nan, np.nan, 4, np.nan, np.nan, 5]})
    fig = wf.metric_distributions(per_image, "lol_v1", ["dicm"], ["he", "frlie", "irle"])
    assert len(fig.axes) == 4
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["HE", "FRLIE"]


def test_figure_items_on_the_shared_data(real_data_root):
    profile = load_profile("quick", data_root=str(real_data_root))
    paired = wf.figure_items("lol_v1", profile)
    assert len(paired) == 2 and all(max(it["low"].shape[-2:]) <= 320 and "high" in it for it in paired.items)
    named = wf.figure_items("lol_v1", profile, names=["22", "1"])
    assert named.names == ["22", "1"]
    with pytest.raises(KeyError, match="no test images"):
        wf.figure_items("lol_v1", profile, names=["nope"])
    unpaired = wf.figure_items("dicm", profile, n=1, max_side=64)
    assert len(unpaired) == 1 and "high" not in unpaired[0] and max(unpaired[0]["low"].shape[-2:]) <= 64
    columns, failed = wf.enhance_all({"bad": lambda x: x[..., :2, :2], "he": wf.baseline_enhancers(["he"])["HE"]},
                                     unpaired)
    assert list(columns) == ["input", "he"] and "bad" in failed


def test_grid_datasets_per_profile(monkeypatch):
    monkeypatch.setenv("LLIE_DATA_ROOT", str(REPO_ROOT.parent / "shared" / "data"))  # not read by the library
    smoke = load_profile("smoke")
    assert wf.grid_datasets(smoke) == ["synthetic", "dicm"]  # no LOL on disk: the embedded set is the main set
    quick = load_profile("quick")
    assert wf.grid_datasets(quick) == [*quick.data.eval_paired, *quick.data.eval_unpaired]
    assert wf.figure_settings(load_profile("smoke")).side < wf.figure_settings(load_profile("quick")).side


def test_hardest_images_are_the_worst_on_average():
    per_image = pd.DataFrame({"method": ["a", "a", "a", "b", "b", "b", "c"], "dataset": ["s"] * 6 + ["s"],
                              "image": ["1", "2", "3"] * 2 + ["2"], "psnr": [10, 20, 30, 12, 8, 30, 99],
                              "lpips_alex": [0.1, 0.5, 0.2, 0.1, 0.5, 0.4, 0.0]})
    assert wf.hardest_images(per_image, "s", ["a", "b"], n=2) == ["1", "2"]  # means 11, 14, 30 ("c" ignored)
    assert wf.hardest_images(per_image, "s", ["a", "b"], "lpips_alex", n=1) == ["2"]  # lower is better
    assert wf.hardest_images(per_image, "other", ["a"]) == []
