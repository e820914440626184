"""llie_core.analysis.common: the one earth mover's distance between histograms (cross-method figure titles and
JCRNet's Fig. 11 table agree through it, and it is scipy's Wasserstein-1), the per-image score CSV reader, plain
log-axis tick labels and non-overlapping point labels."""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import wasserstein_distance

from llie_core.analysis import cross_method, jcrnet
from llie_core.analysis.common import histogram_emd, label_points, plain_log_ticks, read_image_scores
from llie_core.report.figure_check import figure_problems

matplotlib.use("Agg")


def test_histogram_emd_golden_and_equal_to_scipy_wasserstein():
    bins = 64
    edges = np.linspace(0.0, 1.0, bins + 1)
    delta = np.eye(bins)
    assert histogram_emd(delta[12], delta[44], np.diff(edges)) == pytest.approx(32 / 64)  # mass moved 32 bins
    assert histogram_emd(delta[12], delta[12], np.diff(edges)) == 0.0
    rng = np.random.default_rng(0)
    centres = (edges[1:] + edges[:-1]) / 2
    for _ in range(20):
        a, b = rng.random(bins) ** 4, rng.random(bins) ** 4
        a, b = a / a.sum(), b / b.sum()
        assert histogram_emd(a, b, np.diff(edges)) == pytest.approx(
            wasserstein_distance(centres, centres, a, b), rel=1e-12, abs=1e-15)


def test_cross_method_and_jcrnet_distances_are_the_same_quantity():
    """On 8-bit values (which JCRNet's histograms quantise to anyway) the sample-based W1 of the cross-method
    figure equals JCRNet's table entry exactly, channel by channel."""
    torch.manual_seed(0)
    ours = torch.round(torch.rand(1, 3, 16, 16) ** 2 * 255) / 255
    reference = torch.round(torch.rand(1, 3, 16, 16) * 255) / 255
    table = jcrnet.histogram_distances(jcrnet.channel_histograms({"ours": ours, "reference": reference}, bins=64))
    for c, channel in enumerate(jcrnet.CHANNELS):
        w1 = cross_method.histogram_w1(ours[0, c].numpy().ravel(), reference[0, c].numpy().ravel(), bins=64)
        assert w1 == table[channel].iloc[0] and w1 > 0.05


def test_read_image_scores_drops_the_mean_row_and_keeps_image_names(tmp_path):
    path = tmp_path / "lol_v1.csv"
    pd.DataFrame({"image": ["001", "mean", "10"], "psnr": [10.0, 11.0, 12.0]}).to_csv(path, index=False)
    frame = read_image_scores(path)
    assert frame["image"].tolist() == ["001", "10"] and frame["psnr"].tolist() == [10.0, 12.0]
    assert frame.index.tolist() == [0, 1]


def test_plain_log_ticks_label_one_decade_without_overlap():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.semilogx([1.8e-2, 2.0e-1], [0, 1])
    ax.set(title="t", xlabel="x", ylabel="y")
    assert any("overlap" in p for p in figure_problems(fig))         # matplotlib's default minor labels collide
    plain_log_ticks(ax.xaxis)
    assert figure_problems(fig) == []
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"0.02", "0.05", "0.1", "0.2"} <= set(shown)
    plt.close(fig)


def test_label_points_keeps_clustered_labels_apart_and_inside_the_axes():
    rng = np.random.default_rng(0)
    x, y = 0.02 + 0.001 * rng.random(6), -0.1 + 0.01 * rng.random(6)          # six points in one spot
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y)
    ax.set(xlim=(0.0, 0.05), ylim=(-0.3, 0.1), title="t", xlabel="x", ylabel="y")
    fig.tight_layout()
    notes = label_points(ax, x, y, [f"img{i}" for i in range(6)])
    assert [n.get_text() for n in notes] == [f"img{i}" for i in range(6)]
    assert figure_problems(fig) == []                                         # no two labels overlap
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    assert all(frame.contains(*n.get_window_extent().corners()[0]) for n in notes)
    plt.close(fig)
