"""Cross-method figures of ``95_figures``: every trained method and baseline on the same images, zoomed insets,
residual maps, colour histograms, per-image metric distributions, heatmaps and every run's learning curves.

Trained models are loaded from the runs the method notebooks left (``runs/<method>/<stage>/checkpoints``, through
:func:`llie_core.training.trained.load_trained`), never trained here: a method whose run is absent is listed as
skipped with the reason. Builders return matplotlib figures; the notebook saves them. Shared helpers of
:mod:`llie_core.report.figures` are reused (``to_hwc``, ``enhance_examples``), the histogram distance and the
per-image CSV reader are :mod:`llie_core.analysis.common`'s.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from torch import Tensor

from data_prep.catalogue import get_spec
from data_prep.datasets import (PairedImageDataset, UnpairedImageDataset, evenly_spaced, resolve_paired,
                                resolve_unpaired, unique_names)
from llie_core.analysis.common import histogram_emd, read_image_scores
from llie_core.core.methods import BASELINES, PAPER_METHODS, display_name
from llie_core.core.profiles import Profile
from llie_core.evaluation.baselines import baseline_enhancers as available_baselines
from llie_core.metrics import metric_info
from llie_core.report.figures import enhance_examples, to_hwc
from llie_core.training.studies import main_paired_set
from llie_core.training.trained import NoTrainedRun, TrainedModel, load_trained

FIGURE_SIDE = 320          # images of the grids are center-cropped to at most this side (speed, legibility)
IMAGES_PER_GRID = 2
METHODS: tuple[str, ...] = PAPER_METHODS  # the trained methods of the figures: the reproduced papers' main runs
INPUT, REFERENCE = "input", "reference"


@dataclass(frozen=True)
class FigureSettings:
    """Images per qualitative grid, their largest side (center crop) and whether every test set gets a grid
    (else only the main paired set and the first unpaired set: the smoke profile's time budget)."""

    images: int = IMAGES_PER_GRID
    side: int = FIGURE_SIDE
    all_sets: bool = True


def figure_settings(profile: Profile) -> FigureSettings:
    """The profile's ``notebooks: 95_figures:`` settings (the defaults where it sets none)."""
    return FigureSettings(**profile.notebook("95_figures"))


def grid_datasets(profile: Profile) -> list[str]:
    """The test sets that get a qualitative grid: all of the profile's, or (smoke) the main paired set
    (:func:`llie_core.training.studies.main_paired_set`) and the first unpaired set."""
    data = profile.data
    every = [*data.eval_paired, *data.eval_unpaired]
    if figure_settings(profile).all_sets:
        return every
    return [main_paired_set(data), *data.eval_unpaired[:1]]


# ------------------------------------------------------------------------------------------------ models
def trained_models(profile: str, runs_dir: str | os.PathLike, methods: Sequence[str] = METHODS
                   ) -> tuple[dict[str, TrainedModel], dict[str, str]]:
    """``({method: trained model}, {method: reason skipped})`` for the methods' main runs
    (:func:`llie_core.training.trained.load_trained`)."""
    found, skipped = {}, {}
    for method in methods:
        try:
            found[method] = load_trained(method, profile, runs_dir)
        except (NoTrainedRun, FileNotFoundError, KeyError, RuntimeError) as exc:
            skipped[method] = f"{type(exc).__name__}: {exc}"
    return found, skipped


def trained_enhancers(profile: str, runs_dir: str | os.PathLike, methods: Sequence[str] = METHODS
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """``({display name: enhancer}, {method: reason skipped})`` of :func:`trained_models`."""
    found, skipped = trained_models(profile, runs_dir, methods)
    return {display_name(m): model.enhancer() for m, model in found.items()}, skipped


def baseline_enhancers(names: Sequence[str] | None = None, weights_root: str | os.PathLike | None = None
                       ) -> dict[str, Any]:
    """The classical baselines that can run here, by display name (input excluded: grids show the input column
    anyway; released weights under ``weights_root``, ``Profile.data.weights_root``; a baseline whose weights are
    absent is named in a warning)."""
    return {display_name(b): e for b, e in available_baselines(names or BASELINES, weights_root=weights_root).items()}


# ------------------------------------------------------------------------------------------------ images
class CroppedItems:
    """A few items of a test set, center-cropped to ``max_side`` (a minimal map-style dataset)."""

    def __init__(self, items: Sequence[Mapping[str, Any]], max_side: int = FIGURE_SIDE) -> None:
        self.items = [self._crop(dict(item), max_side) for item in items]
        self.names = [str(item["name"]) for item in self.items]

    @staticmethod
    def _crop(item: dict[str, Any], side: int) -> dict[str, Any]:
        h, w = (int(v) for v in item.get("size", item["low"].shape[-2:]))
        top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
        hh, ww = min(h, side), min(w, side)
        for key in ("low", "high"):
            if key in item:
                item[key] = torch.as_tensor(item[key])[..., top:top + hh, left:left + ww].contiguous()
        item["size"] = (hh, ww)
        return item

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index]


def figure_items(dataset: str, profile: Profile, n: int | None = None, max_side: int | None = None,
                 names: Sequence[str] = ()) -> CroppedItems:
    """``n`` evenly spaced test images of ``dataset`` (paired or unpaired), or the images called ``names``,
    center-cropped to ``max_side`` (defaults: :func:`figure_settings` of the profile). Raises
    ``DatasetError``/``FileNotFoundError`` when the set is absent, ``KeyError`` for an unknown name."""
    settings = figure_settings(profile)
    n, max_side = n or settings.images, max_side or settings.side
    paired = get_spec(dataset).paired
    files = resolve_paired(dataset, profile.data, "test") if paired else resolve_unpaired(dataset, profile.data)
    if names:
        by_name = dict(zip(unique_names([f[0] if paired else f for f in files]), files))
        missing = [x for x in names if x not in by_name]
        if missing:
            raise KeyError(f"{dataset} has no test images {missing}")
        files = [by_name[x] for x in names]
    else:
        files = evenly_spaced(files, n)
    data = PairedImageDataset(files) if paired else UnpairedImageDataset(files)
    return CroppedItems([data[i] for i in range(len(data))], max_side)


def hardest_images(per_image: pd.DataFrame, dataset: str, methods: Sequence[str], metric: str = "psnr",
                   n: int = IMAGES_PER_GRID) -> list[str]:
    """The ``n`` images of ``dataset`` with the worst mean ``metric`` over ``methods`` (run labels): failure
    cases. Empty when there are no such scores."""
    rows = per_image[(per_image["dataset"] == dataset) & per_image["method"].isin(methods)] if len(per_image) else \
        per_image
    if rows.empty or metric not in rows:
        return []
    means = rows.groupby("image")[metric].mean().dropna()
    return list(means.sort_values(ascending=not metric_info(metric).lower_better).index[:n])


def enhance_all(enhancers: Mapping[str, Any], items: CroppedItems) -> tuple[dict[str, list[Tensor]], dict[str, str]]:
    """``enhance_examples`` for every enhancer; one that raises or changes the image size is dropped and the
    reason returned."""
    columns: dict[str, list[Tensor]] = {}
    failed: dict[str, str] = {}
    indices = range(len(items))
    base = enhance_examples({}, items, indices)
    columns[INPUT] = base[INPUT]
    for name, enhancer in enhancers.items():
        try:
            outputs = enhance_examples({name: enhancer}, items, indices)[name]
        except Exception as exc:  # one broken method must not hide the others; the figure names it
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        sizes = {(tuple(o.shape[-2:]), tuple(i.shape[-2:])) for o, i in zip(outputs, columns[INPUT])}
        if any(o != i for o, i in sizes):
            failed[name] = f"output size differs from the input: {sorted(sizes)}"
            continue
        columns[name] = outputs
    if REFERENCE in base:
        columns[REFERENCE] = base[REFERENCE]
    return columns, failed


# ------------------------------------------------------------------------------------------------ zoom, residuals
def zoom_box(image: Tensor | np.ndarray, frac: float = 0.3, stride_div: int = 4) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the square window (side ``frac`` of the short side) with the most
    gradient energy of the brightness-normalised gray image: the most detailed region, where methods differ."""
    hwc = to_hwc(image)
    gray = hwc.mean(axis=2)
    gray = gray / (gray.mean() + 1e-6)
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    h, w = gray.shape
    side = max(4, int(round(frac * min(h, w))))
    integral = np.pad(energy, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    stride = max(1, side // stride_div)
    best, box = -1.0, (0, 0, side, side)
    for top in range(0, h - side + 1, stride):
        for left in range(0, w - side + 1, stride):
            total = (integral[top + side, left + side] - integral[top, left + side]
                     - integral[top + side, left] + integral[top, left])
            if total > best:
                best, box = total, (top, left, side, side)
    return box


def residual_map(output: Tensor, reference: Tensor) -> np.ndarray:
    """Mean absolute RGB difference per pixel (H, W)."""
    return np.abs(to_hwc(output) - to_hwc(reference)).mean(axis=2)


def _show(ax, image: Tensor, box: tuple[int, int, int, int] | None) -> None:
    hwc = to_hwc(image)
    ax.imshow(hwc)
    ax.set_xticks([])
    ax.set_yticks([])
    if box is None:
        return
    top, left, bh, bw = box
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), bw, bh, fill=False, edgecolor="yellow", linewidth=1.0))
    inset = ax.inset_axes([0.58, 0.0, 0.42, 0.42])
    inset.imshow(hwc[top:top + bh, left:left + bw], interpolation="nearest")
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor("yellow")


def comparison_grid(columns: Mapping[str, Sequence[Tensor]], row_labels: Sequence[str] = (),
                    failed: Mapping[str, str] | None = None, zoom: bool = True, residuals: bool = True,
                    cell: float = 2.2, title: str = "") -> plt.Figure:
    """One column per entry of ``columns`` (input, methods, reference), one row per image, each with a zoomed
    inset of the same box (:func:`zoom_box` of the reference, else the input); with a reference, a row of
    residual maps |output - reference| under every image row on one colour scale per row (99th percentile of
    the methods' residuals), the mean absolute error in each title."""
    names = list(columns)
    n_images = max(len(v) for v in columns.values())
    paired = residuals and REFERENCE in columns
    per_image = 2 if paired else 1
    fig, axes = plt.subplots(n_images * per_image, len(names), squeeze=False,
                             figsize=(cell * len(names), cell * 0.8 * n_images * per_image + 0.6))
    for i in range(n_images):
        anchor = columns[REFERENCE][i] if REFERENCE in columns else columns[INPUT][i]
        box = zoom_box(anchor) if zoom else None
        maps = {n: residual_map(columns[n][i], columns[REFERENCE][i]) for n in names if paired and n != REFERENCE}
        scale = _residual_scale(maps)
        for j, name in enumerate(names):
            ax = axes[i * per_image, j]
            _show(ax, columns[name][i], box)
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 0 and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=8)
            if paired:
                _residual_panel(axes[i * per_image + 1, j], maps.get(name), scale, j == 0)
    if failed:
        fig.text(0.01, 0.0, "failed: " + "; ".join(f"{k}: {v[:80]}" for k, v in failed.items()), fontsize=7,
                 va="bottom", color="tab:red")
    if title:  # the residual note only where there are residuals (an unpaired set has no reference)
        note = "; residual = |output - reference|, one colour scale per row" if paired else ""
        fig.suptitle(title + note, fontsize=10)
    fig.tight_layout()
    return fig


def _residual_scale(maps: Mapping[str, np.ndarray]) -> float:
    methods = [m for n, m in maps.items() if n != INPUT] or list(maps.values())
    if not methods:
        return 1.0
    return float(max(np.quantile(np.concatenate([m.ravel() for m in methods]), 0.99), 1e-3))


def _residual_panel(ax, residual: np.ndarray | None, scale: float, first: bool) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if residual is None:
        ax.axis("off")
        ax.text(0.5, 0.5, f"|output - reference|\ncolour scale 0-{scale:.2f}", ha="center", va="center",
                fontsize=7, transform=ax.transAxes)
        return
    ax.imshow(residual, cmap="inferno", vmin=0.0, vmax=scale)
    ax.set_title(f"MAE {residual.mean():.3f}", fontsize=7)
    if first:
        ax.set_ylabel("residual", fontsize=8)


# ------------------------------------------------------------------------------------------------ histograms
def histogram_w1(a: np.ndarray, b: np.ndarray, bins: int = 256) -> float:
    """1-D Wasserstein distance between two samples of [0, 1] values (clipped): :func:`histogram_emd` of their
    ``bins``-bin histograms, i.e. the integral of |CDF_a - CDF_b|; NaN when a sample is empty."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    pa = np.histogram(np.clip(a, 0, 1), edges)[0].astype(float)
    pb = np.histogram(np.clip(b, 0, 1), edges)[0].astype(float)
    if pa.sum() == 0 or pb.sum() == 0:
        return float("nan")
    return histogram_emd(pa / pa.sum(), pb / pb.sum(), np.diff(edges))


def _channels(images: Sequence[Tensor]) -> np.ndarray:
    """(3, N) pixel values of every image."""
    return np.concatenate([to_hwc(im).reshape(-1, 3).T for im in images], axis=1)


def colour_histograms(columns: Mapping[str, Sequence[Tensor]], bins: int = 64, cell: float = 2.4) -> plt.Figure:
    """RGB histograms (density) of every column's images, the reference's dashed in every panel and the mean
    over channels of the 1-D Wasserstein distance to it in the title."""
    names = list(columns)
    reference = _channels(columns[REFERENCE]) if REFERENCE in columns else None
    n_cols = min(4, len(names))
    n_rows = math.ceil(len(names) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols, cell * 0.75 * n_rows), squeeze=False)
    edges = np.linspace(0, 1, bins + 1)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        values = _channels(columns[name])
        for c, colour in enumerate(("tab:red", "tab:green", "tab:blue")):
            ax.hist(values[c], bins=edges, density=True, histtype="step", color=colour, linewidth=1.0)
            if reference is not None and name != REFERENCE:
                ax.hist(reference[c], bins=edges, density=True, histtype="step", color=colour, linestyle="--",
                        linewidth=0.6, alpha=0.6)
        title = name
        if reference is not None and name != REFERENCE:
            w1 = np.mean([histogram_w1(values[c], reference[c]) for c in range(3)])
            title += f"\nW1 to reference {w1:.3f}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_yticks([])
        ax.set_xlabel("pixel value", fontsize=7)
    for row in axes:
        row[0].set_ylabel("density", fontsize=7)
    handles = [Line2D([], [], color=c, label=n) for c, n in (("tab:red", "R"), ("tab:green", "G"), ("tab:blue", "B"))]
    if reference is not None:
        handles.append(Line2D([], [], color="gray", linestyle="--", label="reference (same channel)"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.suptitle("RGB histograms of the outputs\nW1 = 1-D Wasserstein distance to the reference's histogram "
                 "(mean over R, G, B; lower is closer)", fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


# ------------------------------------------------------------------------------------------------ per-image scores
def per_image_scores(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Per-image scores of every enhancer under ``results_dir`` (``scores/<label>/<set>.csv`` of the baselines
    and ``runs/*/scores/[<weights>/]<label>/<set>.csv`` of the trained runs); the newest file per (label, set).
    Columns: ``method`` (run label), ``dataset``, ``image``, the metrics, ``height``, ``width``, ``seconds``."""
    root = Path(results_dir)
    files = [*root.glob("scores/*/*.csv"), *root.glob("runs/*/scores/*/*.csv"), *root.glob("runs/*/scores/*/*/*.csv")]
    newest: dict[tuple[str, str], Path] = {}
    for f in files:
        key = (f.parent.name, f.stem)
        if key not in newest or f.stat().st_mtime > newest[key].stat().st_mtime:
            newest[key] = f
    frames = []
    for (label, dataset), f in sorted(newest.items()):
        frame = read_image_scores(f).drop(columns=["skipped"], errors="ignore")
        frames.append(frame.assign(method=label, dataset=dataset))
    if not frames:
        return pd.DataFrame(columns=["method", "dataset", "image"])
    out = pd.concat(frames, ignore_index=True)
    first = ["method", "dataset", "image"]
    return out[first + [c for c in out.columns if c not in first]]


def metric_distributions(per_image: pd.DataFrame, paired_set: str, unpaired_sets: Sequence[str],
                         methods: Sequence[str], paired_metrics: Sequence[str] = ("psnr", "ssim", "lpips_alex"),
                         unpaired_metric: str = "niqe") -> plt.Figure:
    """Box plots of per-image scores per method: the paired metrics on ``paired_set``, ``unpaired_metric`` on
    the unpaired sets pooled. ``methods`` are run labels (display names on the axis)."""
    panels = [(m, [paired_set]) for m in paired_metrics] + [(unpaired_metric, list(unpaired_sets))]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 0.32 * len(methods) + 1.6), squeeze=False)
    for ax, (metric, sets) in zip(axes[0], panels):
        data, labels = [], []
        for label in methods:
            rows = per_image[(per_image["method"] == label) & per_image["dataset"].isin(sets)]
            values = pd.to_numeric(rows[metric], errors="coerce").dropna() if metric in rows else pd.Series()
            if len(values):
                data.append(values.to_numpy())
                labels.append(display_name(label))
        ax.set_title(f"{metric} on {', '.join(sets)}\n({'lower' if metric_info(metric).lower_better else 'higher'}"
                     " is better)", fontsize=8)
        if data:
            ax.boxplot(data, orientation="horizontal", tick_labels=labels, widths=0.6)
            ax.tick_params(labelsize=7)
            ax.set_xlabel(f"{metric} per image", fontsize=7)
        else:
            ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def metric_heatmap(cross: pd.DataFrame, metrics: Sequence[str] = ("psnr", "niqe")) -> plt.Figure:
    """Methods x test sets heatmap per metric from :func:`llie_core.report.compare.cross_method_table` rows;
    greener is better whatever the metric's direction; empty cells were not run."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.35 * cross["method"].nunique() + 1.8),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        wide = cross.pivot_table(index="method", columns="dataset", values=metric, sort=False, dropna=False) \
            if metric in cross else pd.DataFrame()
        wide = wide.dropna(axis=1, how="all")
        ax.set_title(f"{metric} ({'lower' if metric_info(metric).lower_better else 'higher'} is better)", fontsize=9)
        if wide.empty:
            ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes)
            ax.axis("off")
            continue
        cmap = "RdYlGn_r" if metric_info(metric).lower_better else "RdYlGn"
        values = wide.to_numpy(dtype=float)
        normed = (values - np.nanmin(values, axis=0)) / (np.nanmax(values, axis=0) - np.nanmin(values, axis=0) + 1e-9)
        ax.imshow(normed, cmap=cmap, aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(wide.shape[1]), wide.columns, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(wide.shape[0]), wide.index, fontsize=7)
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, "" if math.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=6)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ learning curves
def training_logs(runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Every ``runs/<run>/<stage>/log.csv`` stacked: ``method, run, stage, iter, loss, val_*``."""
    frames = []
    for log in sorted(Path(runs_dir).glob("*/*/log.csv")):
        frame = pd.read_csv(log)
        if frame.empty or "iter" not in frame:
            continue
        run = log.parent.parent.name
        frames.append(frame.assign(method=run.split("-", 1)[0], run=run, stage=log.parent.name))
    if not frames:
        return pd.DataFrame(columns=["method", "run", "stage", "iter", "loss"])
    return pd.concat(frames, ignore_index=True)


def learning_curves(logs: pd.DataFrame, cell: float = 3.4) -> plt.Figure:
    """One column per method, its MAIN run only (ablation runs have their own curves in each method notebook):
    the total training loss of each stage on top (linear scale; each method's own recipe, so the axes are never
    shared: LLFlow's NLL and the others' L1-type losses are different quantities), the validation score on the
    held-out training pairs below. One line per stage, so a legend has at most a few entries."""
    main = logs[logs["run"] == logs["method"]] if len(logs) else logs
    methods = list(dict.fromkeys(main["method"])) if len(main) else []
    if not methods:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no training runs in this profile", ha="center", va="center")
        return fig
    fig, axes = plt.subplots(2, len(methods), figsize=(cell * len(methods), cell * 1.5), squeeze=False)
    val_cols = [c for c in main.columns if c.startswith("val_")]
    for j, method in enumerate(methods):
        part = main[main["method"] == method]
        val_col = next((c for c in val_cols if part[c].notna().any()), None)
        stages = list(part.groupby("stage", sort=False))
        for stage, g in stages:
            loss = pd.to_numeric(g["loss"], errors="coerce")
            axes[0, j].plot(g["iter"], loss, linewidth=0.8, label=str(stage), marker="o" if len(g) < 20 else None,
                            markersize=2)
            val = g.dropna(subset=[val_col]) if val_col else g.iloc[:0]
            if len(val):
                axes[1, j].plot(val["iter"], val[val_col], marker="o", markersize=2, linewidth=0.8, label=str(stage))
        name = display_name(method)
        axes[0, j].set_title(f"{name}: training loss (main run)", fontsize=9)
        axes[0, j].set_ylabel("total loss of its recipe", fontsize=8)
        metric = val_col.removeprefix("val_") if val_col else None
        axes[1, j].set_title(f"{name}: validation {metric or '(none: reference-free)'}", fontsize=8)
        axes[1, j].set_ylabel(f"{metric} (dB)" if metric and metric.startswith("psnr") else (metric or ""),
                              fontsize=8)
        for ax in axes[:, j]:
            ax.set_xlabel("iteration", fontsize=8)
            ax.tick_params(labelsize=7)
        if len(stages) > 1:
            axes[0, j].legend(fontsize=7, title="stage", title_fontsize=7)
    fig.tight_layout()
    return fig
