"""Computations behind the JCRNet notebook's figures and side tables (``notebooks/11_jcrnet.ipynb``).

* Fig. 11 (colour histograms of enhanced images): :func:`channel_histograms`, :func:`histogram_distances`
  (1-D earth mover's distance per channel to the reference, :func:`llie_core.analysis.common.histogram_emd`),
  :func:`histogram_figure`.
* Fig. 12 (distributions of BRISQUE / NIQE over datasets): :func:`per_dataset_means`, :func:`distribution_figure`.
* Figs. 13, 14, 16 (ablation visuals with gray error maps on a labelled colour scale): :func:`error_map`,
  :func:`residual_figure`, :func:`add_captions`, :func:`stack_figures`; the qualitative grid of one no-reference
  image: :func:`wrapped_grid`.
* Fig. 15 (LPIPS "spatial distance" heatmaps with and without the JRS): :func:`spatial_lpips`,
  :func:`lpips_heatmaps`, :func:`heatmap_figure`; the network is the offline LPIPS of
  :func:`llie_core.metrics.lpips_metric.build_lpips` with ``spatial=True``.
* Table VII (parameters, MACs, FPS): :func:`implemented_models`, :func:`complexity_table` (one
  :func:`llie_core.evaluation.complexity.complexity_row` per model, built one at a time), :func:`table7` (G MACs
  against Table VII's number, GFLOPs in their own column) and :func:`model_cost` (parameters and MACs of a config's
  model counted on the meta device: no memory, no compute).
* Tables VIII-IX (phone video frames, saliency detection): the data and the saliency model are not available; the
  saliency pipeline's first step, enhancing the given images and saving them, is :func:`enhance_images`.
* Paper tables next to reproduced rows, with "not run" rows for absent data: :func:`paper_table`.
"""
from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from data_prep.datasets import center_crop, unique_names
from data_prep.image_io import read_image, write_image
from llie_core.analysis.common import histogram_emd
from llie_core.evaluation.baselines.zero_dce import ZeroDCE
from llie_core.evaluation.complexity import (FLOPS_PER_MAC, complexity_row, count_flops, count_flops_on_meta,
                                             count_parameters, dummy_input)
from llie_core.metrics.lpips_metric import build_lpips
from llie_core.models import build_model
from llie_core.report.figures import to_hwc
from llie_core.report.method_tables import reported_rows, short_status
from llie_core.training.recipes import available_methods, load_method_config

CHANNELS = ("R", "G", "B")
CHANNEL_COLOURS = ("tab:red", "tab:green", "tab:blue")
REFERENCE = "reference"


# ------------------------------------------------------------------------------------------ Fig. 11
def channel_histograms(images: Mapping[str, Tensor], bins: int = 64) -> pd.DataFrame:
    """Per-channel histograms (densities summing to 1) of 8-bit-quantised images in [0, 1].

    ``images``: ``{label: (1,3,H,W) or (3,H,W) tensor}``. Returns ``label, channel, bin, left, right, density``.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for label, image in images.items():
        array = _chw(image)
        quantised = np.round(np.clip(array, 0.0, 1.0) * 255.0) / 255.0
        for c, channel in enumerate(CHANNELS):
            counts, _ = np.histogram(quantised[c], bins=edges)
            density = counts / max(counts.sum(), 1)
            rows += [{"label": label, "channel": channel, "bin": i, "left": edges[i], "right": edges[i + 1],
                      "density": float(d)} for i, d in enumerate(density)]
    return pd.DataFrame(rows)


def histogram_distances(hists: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Earth mover's distance (in intensity units, [0, 1]) between each label's channel histogram and the
    reference's (:func:`llie_core.analysis.common.histogram_emd`: ``sum |CDF - CDF_ref| * bin width``) from
    :func:`channel_histograms`. Returns ``label, R, G, B, mean`` (reference excluded)."""
    if reference not in set(hists["label"]):
        raise KeyError(f"no {reference!r} histogram; labels: {sorted(set(hists['label']))}")

    def density(label: str, channel: str) -> tuple[np.ndarray, np.ndarray]:
        part = hists[(hists["label"] == label) & (hists["channel"] == channel)].sort_values("bin")
        return part["density"].to_numpy(), (part["right"] - part["left"]).to_numpy()

    rows = []
    for label in dict.fromkeys(hists["label"]):
        if label == reference:
            continue
        row: dict[str, Any] = {"label": label}
        for channel in CHANNELS:
            ours, width = density(label, channel)
            ref, _ = density(reference, channel)
            row[channel] = histogram_emd(ours, ref, width)
        row["mean"] = float(np.mean([row[c] for c in CHANNELS]))
        rows.append(row)
    return pd.DataFrame(rows)


def histogram_figure(hists: pd.DataFrame, distances: pd.DataFrame | None = None, title: str = "") -> plt.Figure:
    """One panel per label with its R, G, B histograms (Fig. 11); the EMD to the reference in the panel title."""
    labels = list(dict.fromkeys(hists["label"]))
    emd = {} if distances is None else dict(zip(distances["label"], distances["mean"]))
    cols = min(4, len(labels))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False, sharex=True)
    for ax in axes.flat[len(labels):]:
        ax.axis("off")
    for ax, label in zip(axes.flat, labels):
        for channel, colour in zip(CHANNELS, CHANNEL_COLOURS):
            part = hists[(hists["label"] == label) & (hists["channel"] == channel)].sort_values("bin")
            centres = (part["left"] + part["right"]) / 2
            ax.plot(centres, part["density"], color=colour, lw=1)
            ax.fill_between(centres, part["density"], color=colour, alpha=0.12)
        ax.set_title(label + (f" (EMD {emd[label]:.3f})" if label in emd else ""), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("density", fontsize=8)
    for j in range(cols):                              # the lowest drawn panel of each column
        column = [ax for ax in axes[:, j] if ax.axison]
        column[-1].set_xlabel("channel value (8-bit / 255)", fontsize=8)
        column[-1].xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(title or "colour histograms (EMD: mean over R, G, B of the distance to the reference)", fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ Fig. 12
def per_dataset_means(measured: pd.DataFrame, metrics: Sequence[str] = ("brisque", "niqe"),
                      methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-dataset means of ``metrics`` per method (rows with status ok), long format:
    ``method, dataset, metric, value`` - the quantities whose spread Fig. 12 shows."""
    ok = measured[measured["status"] == "ok"]
    if methods is not None:
        ok = ok[ok["method"].isin(methods)]
    present = [m for m in metrics if m in ok.columns]
    long = ok.melt(id_vars=["method", "dataset"], value_vars=present, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)


def distribution_figure(long: pd.DataFrame, names: Mapping[str, str] | None = None) -> plt.Figure:
    """One panel per metric: a box per method over its per-dataset means, the datasets as labelled points."""
    metrics = list(dict.fromkeys(long["metric"]))
    methods = list(dict.fromkeys(long["method"]))
    datasets = list(dict.fromkeys(long["dataset"]))
    markers = dict(zip(datasets, "osD^v<>pP*Xh"))
    fig, axes = plt.subplots(1, len(metrics), figsize=(0.9 * len(methods) * len(metrics) + 2, 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = long[long["metric"] == metric]
        values = [part[part["method"] == m]["value"].to_numpy() for m in methods]
        ax.boxplot(values, showfliers=False)
        for i, method in enumerate(methods, start=1):
            for _, row in part[part["method"] == method].iterrows():
                ax.scatter(i, row["value"], marker=markers[row["dataset"]], s=14, color="k", zorder=3,
                           label=row["dataset"] if i == 1 else None)
        ax.set_xticks(range(1, len(methods) + 1), [(names or {}).get(m, m) for m in methods], rotation=40,
                      ha="right", fontsize=8)
        ax.set_title(f"{metric} (lower is better): per-dataset means", fontsize=9)
        ax.set_ylabel(f"{metric} (mean over a test set)", fontsize=8)
    handles = [plt.Line2D([], [], ls="", marker=markers[d], color="k", label=d) for d in datasets]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ Figs. 13, 14, 16
def error_map(output: Tensor, reference: Tensor) -> Tensor:
    """``mean over R, G, B of |output - reference|`` (both clamped to [0, 1]) as an ``(H, W)`` map: the gray error
    images of Figs. 14 and 16 (FRLIE's Fig. 5 draws the same map), in intensity units [0, 1]."""
    if output.shape != reference.shape:
        raise ValueError(f"error map needs one shape, got {tuple(output.shape)} and {tuple(reference.shape)}")
    diff = (output.detach().float().clamp(0, 1) - reference.detach().float().clamp(0, 1)).abs()
    return diff.reshape(-1, *diff.shape[-3:])[0].mean(0)


ERROR_LABEL = "mean |output - reference| over R, G, B"
ERROR_SCALE_QUANTILE = 0.99  # the colour scale of the error maps ends at this quantile of all their pixels


def residual_figure(columns: Mapping[str, Sequence[Tensor]], labels: Sequence[str], row_labels: Sequence[str] = (),
                    cell_size: float = 2.6) -> plt.Figure:
    """Figs. 14 (a) and 16: the images of ``columns`` (from :func:`llie_core.report.figures.enhance_examples`, with
    a ``reference`` column), then one gray :func:`error_map` column ``|error| <label>`` per label, on one colour
    scale from 0 to the ``ERROR_SCALE_QUANTILE`` quantile of all the maps' pixels (brighter = larger error), with
    one labelled colour bar."""
    if REFERENCE not in columns:
        raise KeyError("error maps need a 'reference' column (a paired dataset)")
    names = list(columns)
    rows = len(columns[REFERENCE])
    maps = {label: [error_map(o, r).cpu().numpy() for o, r in zip(columns[label], columns[REFERENCE])]
            for label in labels}
    pooled = np.concatenate([m.ravel() for row in maps.values() for m in row])
    vmax = float(np.quantile(pooled, ERROR_SCALE_QUANTILE)) or 1.0
    width = len(names) + len(labels)
    fig, axes = plt.subplots(rows, width, figsize=(cell_size * width + 0.8, cell_size * 0.72 * rows + 0.3),
                             squeeze=False, layout="constrained")
    shown = None
    for i in range(rows):
        for j, name in enumerate(names):
            axes[i, j].imshow(to_hwc(columns[name][i]))
        for j, label in enumerate(labels, start=len(names)):
            shown = axes[i, j].imshow(maps[label][i], cmap="gray", vmin=0.0, vmax=vmax)
        for j, title in enumerate([*names, *(f"|error| {label}" for label in labels)]):
            axes[i, j].axis("off")
            if i == 0:
                axes[i, j].set_title(title, fontsize=9)
        if i < len(row_labels):
            axes[i, 0].text(-0.04, 0.5, row_labels[i], transform=axes[i, 0].transAxes, rotation=90, va="center",
                            ha="right", fontsize=8)
    bar = fig.colorbar(shown, ax=axes[:, len(names):].ravel().tolist(), fraction=0.03, extend="max")
    bar.set_label(ERROR_LABEL, fontsize=8)
    return fig


def add_captions(fig: plt.Figure, captions: Sequence[Sequence[str]]) -> plt.Figure:
    """Write ``captions[row][col]`` under the panels of a grid made by :func:`llie_core.report.figures.image_grid`
    (its axes are in row-major order). Empty strings are skipped."""
    cols = max((len(r) for r in captions), default=0)
    axes = fig.axes
    for i, row in enumerate(captions):
        for j, text in enumerate(row):
            index = i * cols + j
            if text and index < len(axes):
                axes[index].text(0.5, -0.02, text, transform=axes[index].transAxes, ha="center", va="top",
                                 fontsize=7)
    return fig


def stack_figures(figures: Sequence[plt.Figure], titles: Sequence[str] = (), dpi: int = 110) -> plt.Figure:
    """One figure made of ``figures`` rendered at ``dpi`` and stacked top to bottom (each closed), with an
    optional title per part: Fig. 14's two panels come from two grids (a paired and a no-reference set)."""
    if not figures:
        raise ValueError("stack_figures needs at least one figure")
    images = []
    for part in figures:
        part.set_dpi(dpi)
        part.canvas.draw()
        images.append(np.asarray(part.canvas.buffer_rgba())[..., :3].copy())
        plt.close(part)
    heights = [image.shape[0] for image in images]
    width = max(image.shape[1] for image in images)
    fig, axes = plt.subplots(len(images), 1, figsize=(width / dpi, 1.1 * sum(heights) / dpi), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    labels = list(titles) + [""] * (len(images) - len(titles))
    for ax, image, label in zip(axes[:, 0], images, labels):
        ax.imshow(image)
        ax.set_title(label, fontsize=9, loc="left")
        ax.axis("off")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------ Fig. 15
def spatial_lpips(net: str = "alex") -> nn.Module:
    """The offline LPIPS network (``build_lpips``) returning per-pixel distances (``spatial=True``)."""
    model = build_lpips(net)
    model.spatial = True  # lpips.LPIPS reads the flag at call time: upsampled per-layer maps, summed
    return model


@torch.no_grad()
def lpips_heatmaps(model: nn.Module, outputs: Sequence[Tensor], references: Sequence[Tensor]) -> list[Tensor]:
    """Per-pixel LPIPS maps ``(1, 1, H, W)`` between each output and its reference (inputs in [0, 1], mapped to
    [-1, 1] as the LPIPS metric does); the spatial mean is about the image's LPIPS score."""
    maps = []
    for out, ref in zip(outputs, references):
        if out.shape != ref.shape:
            raise ValueError(f"LPIPS map needs one shape, got {tuple(out.shape)} and {tuple(ref.shape)}")
        maps.append(model(out.clamp(0, 1) * 2 - 1, ref.clamp(0, 1) * 2 - 1).float())
    return maps


LPIPS_MAP_LABEL = "LPIPS distance to the reference (per pixel)"


def heatmap_figure(inputs: Sequence[Tensor], maps: Mapping[str, Sequence[Tensor]], row_labels: Sequence[str] = (),
                   references: Sequence[Tensor] = (), cmap: str = "inferno") -> plt.Figure:
    """Fig. 15 layout: the low image, the reference (when given), then one heatmap per entry of ``maps`` (one
    colour scale per row, its colour bar labelled ``LPIPS_MAP_LABEL``; the mean LPIPS in each title). Brighter =
    larger perceptual difference from the reference."""
    names = list(maps)
    lead = 2 if references else 1
    fig, axes = plt.subplots(len(inputs), lead + len(names), figsize=(2.8 * (lead + len(names)) + 0.8,
                                                                      2.2 * len(inputs)),
                             squeeze=False, layout="constrained")
    for i, low in enumerate(inputs):
        label = row_labels[i] if i < len(row_labels) else ""
        axes[i, 0].imshow(to_hwc(low))
        axes[i, 0].set_title(f"input {label}".strip(), fontsize=8)
        if references:
            axes[i, 1].imshow(to_hwc(references[i]))
            axes[i, 1].set_title(REFERENCE, fontsize=8)
        vmax = max(float(maps[n][i].max()) for n in names) or 1.0
        for j, name in enumerate(names, start=lead):
            heat = maps[name][i][0, 0].cpu().numpy()
            image = axes[i, j].imshow(heat, cmap=cmap, vmin=0.0, vmax=vmax)
            axes[i, j].set_title(f"{name}: mean {heat.mean():.3f}", fontsize=8)
        bar = fig.colorbar(image, ax=list(axes[i, lead:]), fraction=0.025)
        bar.set_label(LPIPS_MAP_LABEL, fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    return fig


def wrapped_grid(images: Mapping[str, Tensor | np.ndarray], columns: int = 4, cell_size: float = 3.0,
                 title: str = "") -> plt.Figure:
    """One image per entry of ``images`` (panel title = key) in rows of ``columns`` panels: a readable grid of
    several methods on one image (one row of seven panels is a thin strip); unused panels are left blank."""
    if not images:
        raise ValueError("wrapped_grid needs at least one image")
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    first = to_hwc(next(iter(images.values())))
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(rows, columns, figsize=(cell_size * columns, cell_size * aspect * rows + 0.5),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (name, image) in zip(axes.flat, images.items()):
        ax.imshow(to_hwc(image))
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


# ------------------------------------------------------------------------------------------ Table VII
def implemented_models(profile: str = "paper", extra: Mapping[str, Callable[[], nn.Module]] | None = None
                       ) -> dict[str, Callable[[], nn.Module]]:
    """``{method: factory}`` building each configured method's model for ``profile`` (``llie_core/configs``),
    plus the released Zero-DCE network (the learned classical baseline) and ``extra``. Factories, so that one
    model at a time is in memory."""
    def factory(method: str) -> Callable[[], nn.Module]:
        return lambda: build_model(dict(load_method_config(method, profile)["model"]))

    models = {method: factory(method) for method in available_methods()}
    models["zero_dce"] = ZeroDCE
    models.update(extra or {})
    return models


def complexity_table(models: Mapping[str, Callable[[], nn.Module] | nn.Module], input_size: Sequence[int],
                     warmup: int = 1, runs: int = 3, latency: bool = True) -> pd.DataFrame:
    """One :func:`llie_core.evaluation.complexity.complexity_row` per model (built, measured, freed in turn), plus the
    seconds the row took and where the FLOPs were counted (``flops_counted_on``). A factory's FLOPs are counted on
    the meta device (:func:`~llie_core.evaluation.complexity.count_flops_on_meta`: the same count, no arithmetic),
    so only the ``warmup`` + ``runs`` latency forwards compute; a model given built, or one that reads tensor
    values, is counted with one real forward (which then also warms it up)."""
    rows = []
    for name, model_or_factory in models.items():
        start = time.perf_counter()
        built = isinstance(model_or_factory, nn.Module)
        flops = None if built else count_flops_on_meta(model_or_factory, tuple(input_size))
        torch.manual_seed(0)
        model = model_or_factory if built else model_or_factory()
        row = complexity_row(name, model, tuple(input_size), latency=latency, warmup=warmup, runs=runs, flops=flops)
        row["flops_counted_on"] = "cpu" if flops is None else "meta"
        row["measure_seconds"] = time.perf_counter() - start
        rows.append(row)
        del model
        gc.collect()
    return pd.DataFrame(rows)


def stage_breakdown(model: nn.Module, input_size: Sequence[int], stages: Sequence[str] = ("fes", "jrs", "ias")
                    ) -> pd.DataFrame:
    """Parameters and FLOPs (1 MAC = 2 FLOPs) of each named sub-module (JCRNet's three stages) and of the whole
    model, from one no-grad forward at ``input_size``: ``part, params, params_M, GMACs, GFLOPs, share_of_flops``
    (``params_M`` = parameters / 10^6)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False, depth=2) as counter:
            model(dummy_input(model, input_size))   # a model built on the meta device is counted without arithmetic
    finally:
        model.train(was_training)
    counts = counter.get_flop_counts()
    root = type(model).__name__
    total = int(counter.get_total_flops())
    rows = []
    for name in [*stages, None]:
        module = model if name is None else getattr(model, name)
        if module is None:
            continue
        flops = total if name is None else int(sum(counts.get(f"{root}.{name}", {}).values()))
        n = count_parameters(module)
        rows.append({"part": name or "total", "params": n, "params_M": n / 1e6, "GMACs": flops / FLOPS_PER_MAC / 1e9,
                     "GFLOPs": flops / 1e9, "share_of_flops": flops / total if total else float("nan")})
    return pd.DataFrame(rows)


def model_cost(model_config: Mapping[str, Any], side: int = 384) -> dict[str, float]:
    """``{'params', 'params_M', 'GMACs', 'GFLOPs'}`` of ``build_model(model_config)`` at 1x3x``side``x``side``:
    the model is built on torch's meta device and counted with
    :func:`llie_core.evaluation.complexity.count_flops` (FlopCounterMode needs shapes only), so the paper-width
    JCRNet at 384x384 costs about a second and no memory. ``params`` counts every tensor (as the configs'
    ``params:``); ``params_M`` is SI."""
    with torch.device("meta"):
        model = build_model(dict(model_config))
    n = sum(p.numel() for p in model.parameters())
    flops = count_flops(model, (1, 3, side, side))
    return {"params": n, "params_M": n / 1e6, "GMACs": flops / FLOPS_PER_MAC / 1e9, "GFLOPs": flops / 1e9}


TABLE7_COLUMNS = ("method", "source", "params", "params_M", "params_M_2^20", "GMACs", "GFLOPs", "params_vs_reported",
                  "GMACs_vs_reported", "fps", "latency_median_s", "input_size", "threads", "runs", "notes")
TABLE7_UNITS = ("params_M: parameters / 10^6 (SI; Table VII's 'M', see llie_core/models/jcrnet.py); params_M_2^20: "
                "parameters / 2^20; GMACs: 10^9 multiply-adds (Table VII's 'FLOPs (G)' read as G MACs, thop's "
                "convention); GFLOPs: 10^9 FLOPs = 2 x GMACs (measured rows only); *_vs_reported: measured / "
                "reported - 1 for a measured row named like a reported one, MACs against MACs")


def table7(measured: pd.DataFrame, reported: pd.DataFrame, names: Mapping[str, str] | None = None,
           profile: str = "") -> pd.DataFrame:
    """Table VII in one unit per column (:data:`TABLE7_UNITS`): the ledger's rows (``params_m``, ``flops_g``,
    ``fps`` as printed; ``flops_g`` goes to ``GMACs``: the paper's "FLOPs" are multiply-adds, the reading that
    makes JCRNet's own row match its network, ``llie_core/models/jcrnet.py``) then the measured ones (parameters in
    SI and 2^20 M, G MACs and, separately, GFLOPs = 2 x MACs, FPS = 1 / median latency). A measured row whose
    method name is a reported row's gets ``params_vs_reported`` and ``GMACs_vs_reported`` (relative differences:
    like is compared with like)."""
    rows = []
    paper: dict[str, dict[str, float]] = {}
    for method, part in reported.groupby("method", sort=False):
        values = dict(zip(part["metric"], part["value"]))
        paper[str(method)] = values
        rows.append({"method": method, "source": "reported (jcrnet Table VII)",
                     "params_M": values.get("params_m"), "GMACs": values.get("flops_g"), "fps": values.get("fps"),
                     "input_size": "1x3x384x384",
                     "notes": "GPU; printed as 'Params(M)' / 'FLOPs (G)', read as 10^6 parameters / G MACs"})
    for _, row in measured.iterrows():
        method = (names or {}).get(row["model"], row["model"])
        ref = paper.get(str(method), {})
        params_m = row["params"] / 1e6
        rows.append({"method": method, "source": f"measured ({profile})", "params": row["params"],
                     "params_M": params_m, "params_M_2^20": row["params_M_2^20"], "GMACs": row["GMACs"],
                     "GFLOPs": row["GFLOPs"],
                     "params_vs_reported": params_m / ref["params_m"] - 1 if ref.get("params_m") else np.nan,
                     "GMACs_vs_reported": row["GMACs"] / ref["flops_g"] - 1 if ref.get("flops_g") else np.nan,
                     "fps": row.get("latency_fps"), "latency_median_s": row.get("latency_median_s"),
                     "input_size": row["input_size"], "threads": row.get("latency_threads"),
                     "runs": row.get("latency_runs"),
                     "notes": "CPU; M = 10^6 parameters; torch FlopCounterMode, 1 MAC = 2 FLOPs"})
    table = pd.DataFrame(rows, columns=list(TABLE7_COLUMNS))
    for column in ("params", "threads", "runs"):
        table[column] = table[column].astype("Int64")
    return table


# ------------------------------------------------------------------------------------------ Tables VIII-IX
def enhance_images(enhancer: Callable[[Tensor], Tensor], files: Sequence[str | os.PathLike],
                   out_dir: str | os.PathLike, max_side: int | None = None) -> pd.DataFrame:
    """The saliency pipeline's enhancement step (§V): enhance each image and save ``out_dir/<stem>.png``, the
    files a saliency model [67] would then read. Images already written are kept (resume). ``max_side``
    centre-crops large images first. Returns ``image, output, height, width, seconds, mean_in, mean_out``."""
    out_dir = Path(out_dir)
    paths = [Path(f) for f in files]
    rows = []
    for path, name in zip(paths, unique_names(paths)):
        low = torch.from_numpy(center_crop(read_image(path), max_side))[None]
        target = out_dir / f"{Path(name).stem}.png"
        start = time.perf_counter()
        if target.is_file():
            out = torch.from_numpy(read_image(target))[None]
            seconds = float("nan")
        else:
            with torch.no_grad():
                out = enhancer(low).clamp(0, 1)
            seconds = time.perf_counter() - start
            write_image(target, out[0])
        rows.append({"image": str(path), "output": str(target), "height": low.shape[-2], "width": low.shape[-1],
                     "seconds": seconds, "mean_in": float(low.mean()), "mean_out": float(out.mean())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ paper tables
def paper_table(measured: pd.DataFrame, table: str, datasets: Mapping[str, str], metrics: Sequence[str],
                profile: str, names: Mapping[str, str], paper: str = "jcrnet",
                missing: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Reported rows of ``paper``'s ``table`` and this workbook's rows, dataset by dataset, in long format
    ``method, dataset, source, status, <metrics>``.

    ``datasets``: ``{ledger dataset: measured dataset}`` (e.g. ``{'lol_v1': 'synthetic'}`` when LOL is absent).
    ``names``: ``{measured method: row name}``; only these methods are reproduced rows. A dataset without an ok
    score gets one ``not run: <reason>`` row per method: the reason from ``measured``, else ``missing[dataset]``,
    else "no scores".
    """
    frames = []
    for ledger_set, measured_set in datasets.items():
        reported = reported_rows(paper, table, ledger_set, metrics).assign(dataset=ledger_set, status="reported")
        rows = []
        for method, label in names.items():
            part = measured[(measured["method"] == method) & (measured["dataset"] == measured_set)]
            ok = part[part["status"] == "ok"]
            row: dict[str, Any] = {"method": label, "dataset": measured_set, "source": f"reproduced ({profile})"}
            if len(ok):
                row.update(status="ok", **{m: ok.iloc[0].get(m, np.nan) for m in metrics})
            else:
                default = (missing or {}).get(measured_set, f"no {measured_set} scores")
                reason = short_status(part["status"].iloc[0]) if len(part) else f"not run: {default}"
                row.update(status=reason, **{m: np.nan for m in metrics})
            rows.append(row)
        frames += [reported, pd.DataFrame(rows)]
    out = pd.concat(frames, ignore_index=True)
    return out[["method", "dataset", "source", "status", *metrics]]



def not_run_rows(datasets: Sequence[str], reason: str, method: str = "JCRNet", profile: str = "") -> pd.DataFrame:
    """``method, dataset, source, status`` rows saying that ``method`` was not reproduced on ``datasets``."""
    return pd.DataFrame([{"method": method, "dataset": d, "source": f"reproduced ({profile})",
                          "status": f"not run: {reason}"} for d in datasets])


def _chw(image: Tensor | np.ndarray) -> np.ndarray:
    array = image.detach().cpu().float().numpy() if isinstance(image, Tensor) else np.asarray(image, np.float32)
    array = array[0] if array.ndim == 4 else array
    if array.ndim != 3 or array.shape[0] != 3:
        raise ValueError(f"expected a (3,H,W) or (1,3,H,W) RGB image, got shape {array.shape}")
    return array
