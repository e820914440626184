"""Analyses behind the IRLE figures of ``notebooks/14_irle.ipynb`` (He et al. 2026, arXiv 2605.28605).

* :func:`internal_references`: the internal physical reference (local exposure-simulated pseudo GT) next to what
  the network makes of the input: self-estimated illumination L, gain prior 1/L, low * gain, its low-pass (the
  quantity the pseudo-GT loss compares), the stage-1 and the final output (figure ``irle_internal_references``).
* :func:`gafm_modulation`: how strongly GAFM modulates the blind-spot features at each pixel (mean ``|gamma|`` and
  ``|beta|`` over channels and modulated layers), to put next to the gain map.
* :func:`noise_by_brightness`: residual noise and error of an output per bin of local input brightness
  (figure ``irle_gafm_regions``: with and without GAFM; the paper's claim is that GAFM helps in the darkest
  regions, where the gain, hence the amplified noise, is largest).
* :func:`texture_box` / :func:`high_frequency_ratio`: the zoom window and a blur/noise indicator for the SISC vs
  spatial sub-sampling comparison (figure ``irle_sisc_vs_spatial``).
* :func:`shared_images` (honesty guard: no training image is a test image) and :func:`benchmark_table` (the
  ``irle_main_table`` layout: reported rows, measured rows, one ``not run`` row per absent set).
* :func:`table1_comparison`: IRLE's reproduced LOLv1 / LOLv2 PSNR / SSIM next to the project page's Table 1
  (Normal = ``psnr`` / ``ssim``, GT-Mean = ``psnr_gtmean`` / ``ssim_gtmean`` as the suite computes them), one row
  per (dataset, metric), ``not run`` where the set is absent (``irle_table1_comparison``).
* :func:`model_cost` / :func:`cost_table`: parameters and MACs at 400x600 of stage 1 (the model without its
  denoiser, the page's "IRLE (Stage 1)") and of the whole network, counted with
  ``llie_core.evaluation.complexity`` (torch's FLOP counter, 1 MAC = 2 FLOPs) on the meta device (no memory, no
  arithmetic), against the page's Table 2 (``irle_cost``; M = 10^6 parameters, G = 10^9 MACs).

Definitions (ours; the paper's figures are described but their procedures are not public):

* local brightness = Rec. 601 luma of the *input* blurred by a Gaussian of ``sigma`` px (8: the pseudo-GT
  low-pass), the quantity the gain depends on;
* residual = ``output - align(reference)`` where ``align`` rescales the reference to the output's local
  brightness and colour (``illumination_aligned_perceptual.align_illumination``, mode ``local``): what remains
  is structure lost or added and noise, not the global exposure/colour difference. Residual *noise* is its
  high-pass part (minus a Gaussian blur of ``noise_sigma`` px), reported as a root mean square per bin; the
  *error* is the mean absolute residual. Without a reference the high-pass of the output itself is used (texture
  then counts as noise; only for unpaired images).
* bins are brightness quantiles pooled over all images (equal pixel counts), the same edges for every model.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from llie_core.analysis.common import plain_log_ticks
from llie_core.core.methods import display_name
from llie_core.core.provenance import sha256_file
from llie_core.evaluation.complexity import FLOPS_PER_MAC, count_flops, count_parameters
from llie_core.losses.illumination_aligned_perceptual import align_illumination
from llie_core.models.irle import IRLE
from llie_core.models.irle_blindspot import BlindSpotDenoiser
from llie_core.models.irle_pseudo_gt import gaussian_blur, luminance
from llie_core.report.method_tables import short_status

BRIGHTNESS_SIGMA = 8.0
NOISE_SIGMA = 2.0
REFERENCE_PANELS = ("input", "illumination", "gain", "pseudo_gt", "enhanced_lowpass", "stage1_output", "output")
PANEL_TITLES = {"input": "input (low)", "illumination": "illumination L", "gain": "gain prior 1/L (log2)",
                "pseudo_gt": "pseudo GT (internal reference)", "enhanced_lowpass": "low-pass(low x gain)",
                "stage1_output": "stage-1 output", "output": "output (stage 2)", "reference": "reference (not used)",
                "gafm": "GAFM modulation"}


# ------------------------------------------------------------------------------------------------ references
@torch.no_grad()
def internal_references(model: IRLE, low: Tensor) -> dict[str, Tensor]:
    """Every map of :data:`REFERENCE_PANELS` (plus ``enhanced_noisy`` and ``gafm``) for a (1, 3, H, W) input."""
    was_training = model.training
    model.eval()
    parts = model.analysis(low)
    model.train(was_training)
    parts["input"] = low
    parts["enhanced_lowpass"] = model.pseudo_gt.lowpass(parts["enhanced_noisy"]).clamp(0, 1)
    parts["gafm"] = gafm_modulation(model.denoiser, torch.log(parts["gain"]))
    return parts


@torch.no_grad()
def gafm_modulation(denoiser: BlindSpotDenoiser | None, log_gain: Tensor) -> Tensor:
    """(B, 1, H, W) mean of ``|gamma| + |beta|`` over channels and modulated layers; zeros without GAFM."""
    if denoiser is None or denoiser.gafm is None:
        return log_gain.new_zeros(log_gain.shape[0], 1, *log_gain.shape[2:])
    embedding = denoiser.gafm.embed(log_gain)
    maps = []
    for index in range(len(denoiser.gafm.heads)):
        gamma, beta = denoiser.gafm.modulation(embedding, index)
        maps.append((gamma.abs() + beta.abs()).mean(dim=1, keepdim=True))
    return torch.stack(maps).mean(dim=0)


def panel_image(name: str, value: Tensor) -> tuple[np.ndarray, str | None]:
    """``(array, colormap)`` to show one map: RGB images as they are, illumination as its channel mean, the gain
    as log2 of its channel mean, GAFM modulation as a scalar map."""
    if name == "gain":
        return torch.log2(value.mean(dim=1))[0].cpu().numpy(), "magma"
    if name in ("illumination", "gafm"):
        return value.mean(dim=1)[0].cpu().numpy(), "gray" if name == "illumination" else "viridis"
    return value[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy(), None


def plot_internal_references(rows: Sequence[Mapping[str, Tensor]], names: Sequence[str],
                             panels: Sequence[str] = (*REFERENCE_PANELS, "reference"), cell: float = 2.3
                             ) -> plt.Figure:
    """One row per image, one column per panel (absent panels, e.g. ``reference`` of unpaired images, blank);
    scalar maps get a colour bar."""
    fig, axes = plt.subplots(len(rows), len(panels), figsize=(cell * len(panels), cell * 0.75 * len(rows)),
                             squeeze=False)
    for i, (row, label) in enumerate(zip(rows, names)):
        for j, panel in enumerate(panels):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(PANEL_TITLES.get(panel, panel), fontsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=7)
            if panel not in row:
                ax.axis("off")
                continue
            image, cmap = panel_image(panel, row[panel])
            shown = ax.imshow(image, cmap=cmap)
            if cmap is not None:
                bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
                bar.ax.tick_params(labelsize=6)
                bar.set_label(PANEL_TITLES.get(panel, panel), fontsize=6)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ noise by brightness
def local_brightness(low: Tensor, sigma: float = BRIGHTNESS_SIGMA) -> Tensor:
    """(B, 1, H, W) luma of the input blurred by a Gaussian of ``sigma`` px."""
    return luminance(gaussian_blur(low, sigma))


def residual_maps(output: Tensor, reference: Tensor | None = None, noise_sigma: float = NOISE_SIGMA,
                  align_sigma: float = BRIGHTNESS_SIGMA) -> tuple[Tensor, Tensor]:
    """``(squared high-pass residual, absolute residual)``, each (B, 1, H, W) averaged over channels (see the
    module docstring; without ``reference`` the residual is the output's own high-pass)."""
    if reference is None:
        residual = output - gaussian_blur(output, noise_sigma)
        return residual.pow(2).mean(dim=1, keepdim=True), residual.abs().mean(dim=1, keepdim=True)
    residual = output - align_illumination(output, reference, "local", sigma=align_sigma)
    high = residual - gaussian_blur(residual, noise_sigma)
    return high.pow(2).mean(dim=1, keepdim=True), residual.abs().mean(dim=1, keepdim=True)


def brightness_edges(lows: Sequence[Tensor], bins: int = 8, sigma: float = BRIGHTNESS_SIGMA) -> np.ndarray:
    """``bins + 1`` quantile edges of the local brightness pooled over ``lows`` (equal pixel counts)."""
    pooled = torch.cat([local_brightness(low, sigma).flatten() for low in lows]).double().numpy()
    edges = np.quantile(pooled, np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def noise_by_brightness(lows: Sequence[Tensor], outputs: Sequence[Tensor],
                        references: Sequence[Tensor | None] | None = None, edges: np.ndarray | None = None,
                        bins: int = 8, sigma: float = BRIGHTNESS_SIGMA, noise_sigma: float = NOISE_SIGMA
                        ) -> pd.DataFrame:
    """Per brightness bin: ``bin, brightness`` (median local brightness), ``pixels``, ``noise_rms`` (root mean
    square of the high-pass residual) and ``abs_error`` (mean absolute residual), pooled over the images."""
    if len(lows) != len(outputs) or (references is not None and len(references) != len(lows)):
        raise ValueError(f"need one output (and reference) per input, got {len(lows)} inputs, {len(outputs)} "
                         f"outputs and {None if references is None else len(references)} references")
    edges = brightness_edges(lows, bins, sigma) if edges is None else np.asarray(edges)
    refs = references if references is not None else [None] * len(lows)
    brightness, noise, error = [], [], []
    for low, out, ref in zip(lows, outputs, refs):
        if out.shape != low.shape:
            raise ValueError(f"output shape {tuple(out.shape)} != input shape {tuple(low.shape)}")
        squared, absolute = residual_maps(out, ref, noise_sigma, sigma)
        brightness.append(local_brightness(low, sigma).flatten())
        noise.append(squared.flatten())
        error.append(absolute.flatten())
    b, n, e = (torch.cat(v).double().numpy() for v in (brightness, noise, error))
    index = np.clip(np.searchsorted(edges, b, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for k in range(len(edges) - 1):
        inside = index == k
        if not inside.any():
            continue
        rows.append({"bin": k, "brightness": float(np.median(b[inside])), "pixels": int(inside.sum()),
                     "noise_rms": float(np.sqrt(n[inside].mean())), "abs_error": float(e[inside].mean())})
    return pd.DataFrame(rows)


def noise_curves(enhancers: Mapping[str, Callable[[Tensor], Tensor]], lows: Sequence[Tensor],
                 references: Sequence[Tensor | None] | None = None, bins: int = 8) -> pd.DataFrame:
    """:func:`noise_by_brightness` of every enhancer on the same inputs and bin edges, with a ``model`` column."""
    edges = brightness_edges(lows, bins)
    frames = []
    with torch.no_grad():
        for name, enhance in enhancers.items():
            outputs = [enhance(low) for low in lows]
            frames.append(noise_by_brightness(lows, outputs, references, edges).assign(model=name))
    return pd.concat(frames, ignore_index=True)


CURVE_STYLES = (("o", "-", 8.0), ("s", "--", 5.5), ("^", ":", 4.0), ("D", "-.", 3.0))  # marker, line, size


def plot_noise_by_brightness(curves: pd.DataFrame, title: str = "", compare: tuple[str, str] | None = None,
                             compare_note: str = "{second} vs {first}: the curves differ by at most {diff:.1g}"
                             ) -> plt.Figure:
    """Two panels against local input brightness (log axis, plain tick labels): residual noise RMS and mean
    absolute error. Each model has its own marker, line style and marker size (later models smaller, drawn on
    top), so curves that coincide stay visible. ``compare``: two models whose largest absolute difference over
    the bins of a panel is written under that panel's title with ``compare_note`` (fields ``first``, ``second``,
    ``diff``)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, (model, rows) in enumerate(curves.groupby("model", sort=False)):
        marker, line, size = CURVE_STYLES[k % len(CURVE_STYLES)]
        for ax, column in zip(axes, ("noise_rms", "abs_error")):
            ax.plot(rows["brightness"], rows[column], marker=marker, linestyle=line, markersize=size, label=model)
    axes[0].set(ylabel="residual noise RMS (high-pass)")
    axes[1].set(ylabel="mean |output - aligned reference|")
    for ax, column, panel in zip(axes, ("noise_rms", "abs_error"), ("residual noise", "error")):
        ax.set(xscale="log", xlabel="local input brightness (luma, blurred)")
        plain_log_ticks(ax.xaxis)
        ax.legend(fontsize=7)
        note = ""
        if compare is not None:
            first, second = (curves[curves["model"] == m].set_index("bin")[column] for m in compare)
            diff = float((first - second).abs().max())
            note = "\n" + compare_note.format(first=compare[0], second=compare[1], diff=diff)
        ax.set_title(f"{panel} by local brightness{note}", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ zooms
def texture_box(image: Tensor, size: int = 96, sigma: float = NOISE_SIGMA) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the ``size`` x ``size`` window (clipped to the image) with the most
    high-frequency energy of ``image`` (a reference), searched on a stride of ``size // 4``."""
    h, w = image.shape[-2:]
    size_h, size_w = min(size, h), min(size, w)
    detail = (luminance(image) - luminance(gaussian_blur(image, sigma))).pow(2)
    stride = max(1, min(size_h, size_w) // 4)
    energy = torch.nn.functional.avg_pool2d(detail, (size_h, size_w), stride=stride)[0, 0]
    flat = int(torch.argmax(energy))
    top, left = divmod(flat, energy.shape[1])
    return top * stride, left * stride, size_h, size_w


def crop(image: Tensor, box: tuple[int, int, int, int]) -> Tensor:
    top, left, height, width = box
    return image[..., top:top + height, left:left + width]


def high_frequency_ratio(output: Tensor, reference: Tensor, sigma: float = NOISE_SIGMA) -> float:
    """High-pass energy of ``output`` over that of the reference aligned to it (1 = as much detail as the
    reference; below 1 = blurred, above 1 = noise or ringing added)."""
    aligned = align_illumination(output, reference, "local")
    energy = lambda x: float((x - gaussian_blur(x, sigma)).pow(2).mean())  # noqa: E731
    return energy(output) / max(energy(aligned), 1e-12)


def plot_zoomed(columns: Mapping[str, Sequence[Tensor]], boxes: Sequence[tuple[int, int, int, int]],
                references: Sequence[Tensor] | None = None, row_labels: Sequence[str] = (), cell: float = 2.2
                ) -> plt.Figure:
    """Crops ``boxes[i]`` of every column's image ``i``; with ``references``, each crop's title gives its
    :func:`high_frequency_ratio` to the reference crop (blur < 1 < noise)."""
    names = list(columns)
    fig, axes = plt.subplots(len(boxes), len(names), figsize=(cell * len(names), cell * len(boxes)), squeeze=False)
    for i, box in enumerate(boxes):
        for j, name in enumerate(names):
            ax, patch = axes[i, j], crop(columns[name][i], box)
            ax.imshow(patch[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            title = name if i == 0 else ""
            if references is not None and name not in ("input", "reference"):
                title += f"\nHF ratio {high_frequency_ratio(patch, crop(references[i], box)):.2f}"
            ax.set_title(title, fontsize=7)
            if j == 0 and i < len(row_labels):
                ax.set_ylabel(row_labels[i], fontsize=7)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ tables
def shared_images(train_files: Iterable[str | os.PathLike], test_files: Iterable[str | os.PathLike]
                  ) -> list[tuple[str, str]]:
    """``(training file, test file)`` pairs with byte-identical content (sha256); must be empty for a method
    that trains on the low images of one split and is evaluated on another."""
    test_hashes: dict[str, str] = {}
    for path in test_files:
        test_hashes.setdefault(sha256_file(path), str(path))
    return [(str(path), test_hashes[digest]) for path in train_files
            if (digest := sha256_file(path)) in test_hashes]



def benchmark_table(measured: pd.DataFrame, reported: pd.DataFrame, datasets: Sequence[str],
                    metrics: Sequence[str], profile: str, names: Mapping[str, str] | None = None,
                    method: str = "irle") -> pd.DataFrame:
    """Long table ``method, dataset, source, status, <metrics>``, per dataset: the ledger rows of every table of
    ``reported`` (``source = reported (<paper> <table>)``), the measured rows of every enhancer whose status is
    ok (``reproduced (<profile>)``), and, when ``method`` could not be run there, one row with its status."""
    names = dict(names or {})
    rows: list[dict] = []
    for dataset in datasets:
        ledger = reported[reported["dataset"] == dataset]
        for (paper, table, who), group in ledger.groupby(["paper", "table", "method"], sort=False):
            values = dict(zip(group["metric"], group["value"]))
            rows.append({"method": who, "dataset": dataset, "source": f"reported ({paper} {table})",
                         "status": "reported", **{m: values.get(m, float("nan")) for m in metrics}})
        here = measured[measured["dataset"] == dataset]
        for _, row in here[here["status"] == "ok"].iterrows():
            rows.append({"method": names.get(row["method"], display_name(row["method"])), "dataset": dataset,
                         "source": f"reproduced ({profile})", "status": "ok",
                         **{m: row.get(m, float("nan")) for m in metrics}})
        missing = here[(here["method"] == method) & (here["status"] != "ok")]
        for _, row in missing.iterrows():
            rows.append({"method": names.get(method, display_name(method)), "dataset": dataset, "source": "-",
                         "status": short_status(row["status"]), **{m: float("nan") for m in metrics}})
    return pd.DataFrame(rows, columns=["method", "dataset", "source", "status", *metrics])


TABLE1_METRICS = ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")
TABLE1_DATASETS = ("lol_v1", "lol_v2_real", "lol_v2_synthetic")
COST_INPUT = (1, 3, 400, 600)   # the page's Table 2 input size


def table1_comparison(measured: pd.DataFrame, reported: pd.DataFrame, profile: str, method: str = "irle",
                      reported_method: str = "IRLE", datasets: Sequence[str] = TABLE1_DATASETS,
                      metrics: Sequence[str] = TABLE1_METRICS) -> pd.DataFrame:
    """One row per (dataset, metric): the page's Table 1 value of ``reported_method`` (``reported``: ledger rows of
    ``irle`` / ``Table 1``), the reproduced value of ``method`` (its ``ok`` row in ``measured``), their difference,
    and the status (``reproduced (<profile>)`` or the short ``not run`` reason; ``not run: no score`` when
    ``measured`` has no row for the set at all)."""
    table1 = reported[(reported["table"] == "Table 1") & (reported["method"] == reported_method)]
    if table1.empty:
        raise ValueError(f"no Table 1 rows for {reported_method!r} among the reported rows (load_reported('irle'))")
    rows = []
    for dataset in datasets:
        here = measured[(measured["method"] == method) & (measured["dataset"] == dataset)]
        ok = here[here["status"] == "ok"]
        if not ok.empty:
            status = f"reproduced ({profile})"
        elif not here.empty:
            status = short_status(here["status"].iloc[0])
        else:
            status = "not run: no score"
        for metric in metrics:
            paper = table1[(table1["dataset"] == dataset) & (table1["metric"] == metric)]["value"]
            value = float(ok[metric].iloc[0]) if not ok.empty and metric in ok else float("nan")
            page = float(paper.iloc[0]) if len(paper) else float("nan")
            rows.append({"dataset": dataset, "setting": "GT-Mean" if metric.endswith("_gtmean") else "Normal",
                         "metric": metric, "reported (page Table 1)": page, "reproduced": value,
                         "difference": value - page, "status": status})
    return pd.DataFrame(rows)


def model_cost(model_cfg: Mapping, input_size: Sequence[int] = COST_INPUT) -> dict[str, int]:
    """Parameters and MACs of stage 1 and of the whole IRLE built from ``model_cfg`` (a config ``model:`` section,
    ``type`` optional), at ``input_size``. Stage 1 = the same model without its denoiser (its forward is the
    stage-1 output). Built and run on the meta device: shapes only, so the paper width costs no time."""
    cfg = {k: v for k, v in copy.deepcopy(dict(model_cfg)).items() if k != "type"}
    out: dict[str, int] = {}
    for part, kwargs in (("stage1", {**cfg, "denoiser": None}), ("whole", cfg)):
        with torch.device("meta"):
            model = IRLE(**copy.deepcopy(kwargs))
        out[f"{part}_params"] = count_parameters(model)
        out[f"{part}_macs"] = count_flops(model, input_size) // FLOPS_PER_MAC
    return out


def cost_table(model_cfgs: Mapping[str, Mapping], reported: pd.DataFrame,
               input_size: Sequence[int] = COST_INPUT, tolerance: float = 0.10) -> pd.DataFrame:
    """Counted vs reported cost, one row per (model config label, part): params in M (10^6) and G MACs (10^9) next
    to the page's Table 2 rows ``IRLE (stage 1)`` / ``IRLE`` (``reported``: ledger rows of ``irle`` / ``Table 2``),
    their ratios, and whether both are within ``tolerance``."""
    table2 = reported[reported["table"] == "Table 2"]

    def page(method: str, metric: str) -> float:
        value = table2[(table2["method"] == method) & (table2["metric"] == metric)]["value"]
        if value.empty:
            raise ValueError(f"no Table 2 row {method!r} / {metric!r} among the reported rows")
        return float(value.iloc[0])

    rows = []
    for label, cfg in model_cfgs.items():
        cost = model_cost(cfg, input_size)
        for part, method in (("stage1", "IRLE (stage 1)"), ("whole", "IRLE")):
            params, macs = cost[f"{part}_params"] / 1e6, cost[f"{part}_macs"] / 1e9
            ref_params, ref_macs = page(method, "params_m"), page(method, "macs_g")
            rows.append({"model": label, "part": "stage 1" if part == "stage1" else "whole network",
                         "params_m": params, "params_m (page)": ref_params, "params ratio": params / ref_params,
                         "macs_g": macs, "macs_g (page)": ref_macs, "macs ratio": macs / ref_macs,
                         f"within {tolerance:.0%}": bool(abs(params / ref_params - 1) <= tolerance
                                                         and abs(macs / ref_macs - 1) <= tolerance),
                         "input": "x".join(str(n) for n in input_size[-2:])})
    return pd.DataFrame(rows)
