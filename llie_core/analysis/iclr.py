"""ICLR / HVI-CIDNet analyses behind notebook 13: test-time options served from one network pass, the covariance
analysis of the Covariance Correction Loss, and the rows of the notebook's tables.

* Test-time options. The official evaluation of both HVI networks switches a saturation gate (x 1.3, LOLv1) or an
  RGB scale (x 0.84, LOLv2-real) on inside the inverse HVI transform. :class:`SharedHVIPass` runs the network once
  per test image (:meth:`~llie_core.models.cidnet.HVIDualBranchNet.predict_hvi`) and serves the RGB result with and
  without the options, so the "on" and "off" rows cost one inference.
* Covariance analysis (ICLR paper note, methods.md §2.4: most of CCL's gain comes from images with a small HV
  covariance). For every test image, :func:`image_hv_statistics` measures the chrominance statistics in HVI space
  (the transform of the full model, i.e. the space the loss acted in) of the **reference (GT) image**: the paper's
  Observation 2 is about the colour distribution of natural scenes (large homogeneous-colour regions give
  concentrated, weakly correlated H and V), which the normal-light reference shows and which L_HV matches; the low
  image's chroma is collapsed towards 0 by C_k at low intensity and dominated by noise, so its covariance mostly
  measures darkness (it is reported too, ``*_low`` columns). The gain from CCL is the per-image score of the full
  model minus that of the CCL -> L2 (or L1) variant trained at equal budget (:func:`ccl_gain_table`);
  :func:`low_covariance_summary` gives the share of images with ``|cov(H, V)| <= threshold`` and their share of
  the summed gain.

  Assumptions (the note gives neither): "covariance" is the mean-centred covariance of H and V over the pixels
  (the loss's L_HV matches the uncentred E[HV], reported as ``moment_*``), compared in absolute value with the
  threshold 0.01.
* Readings (issue 19 §4). The reported ICLR numbers come from the released code (CCL's released channel split, CDEM's
  ``gamma * t1 + delta * ffn(t1)`` residual, MAFM's weight on the HV input): the configs' defaults. The paper-text
  reading (CCL order (H, V, I), CDEM ``mu * Z``, MAFM weight on F_I) is the variant ``paper_text``;
  :func:`reading` names the reading of a run's config, :func:`row_method` the method name of its table row.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from llie_core.analysis.common import label_points, plain_log_ticks
from llie_core.analysis.common import read_image_scores  # in __all__: notebook 13 reads per-image CSVs through it
from llie_core.core.profiles import Profile
from llie_core.evaluation.complexity import count_flops, count_parameters
from llie_core.evaluation.loop import Enhancer, as_enhancer
from llie_core.evaluation.suite import PAIRED_METRICS, evaluate_suite
from llie_core.losses.covariance_correction import hv_covariance, hv_second_moment
from llie_core.models import build_model
from llie_core.models.cidnet import official_keys
from llie_core.report.ledger import load_reported

LOW_COVARIANCE = 0.01
HV_STATISTICS = ("cov", "corr", "moment")


# ------------------------------------------------------------------------------------------------ test-time options
def option_label(label: str, tag: str) -> str:
    """A run label with one more tag: ``iclr`` -> ``iclr[gate1.3]``, ``iclr[wo_mafm]`` -> ``iclr[wo_mafm,gate1.3]``
    (extra tags keep these rows out of the main-run and ablation picks of ``llie_core.report.compare``)."""
    if label.endswith("]"):
        return f"{label[:-1]},{tag}]"
    return f"{label}[{tag}]"


class SharedHVIPass:
    """One network pass per test image, several RGB read-outs (official test-time options on / off).

    ``enhancer(name, **options)`` gives an :class:`~llie_core.evaluation.loop.Enhancer` whose output equals
    ``model(low, **options)``; the enhanced HVI of the last ``max_items`` distinct inputs is cached (keyed by the
    input's bytes), so scoring the same test set with several option settings runs the network once per image.
    """

    def __init__(self, model: nn.Module, max_items: int = 128) -> None:
        if not hasattr(model, "predict_hvi"):
            raise TypeError(f"{type(model).__name__} has no predict_hvi(); SharedHVIPass needs an HVI network")
        self.model = model.eval()
        self.max_items = max_items
        self.cache: OrderedDict[str, Tensor] = OrderedDict()
        self.passes = 0

    @staticmethod
    def key(low: Tensor) -> str:
        array = low.detach().cpu().contiguous().numpy()
        return hashlib.sha1(array.tobytes() + str(array.shape).encode()).hexdigest()

    @torch.no_grad()
    def hvi(self, low: Tensor) -> Tensor:
        key = self.key(low)
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        self.passes += 1
        out = self.model.predict_hvi(low)
        self.cache[key] = out
        while len(self.cache) > self.max_items:
            self.cache.popitem(last=False)
        return out

    def rgb(self, low: Tensor, saturation_gate: float | None = None, rgb_scale: float | None = None) -> Tensor:
        with torch.no_grad():
            return self.model.to_rgb(self.hvi(low), low.shape[-2:], saturation_gate, rgb_scale)

    def enhancer(self, name: str, pad_multiple: int = 8, **options: float | None) -> Enhancer:
        unknown = set(options) - {"saturation_gate", "rgb_scale"}
        if unknown:
            raise TypeError(f"unknown test-time options {sorted(unknown)}; use saturation_gate and/or rgb_scale")
        return as_enhancer(lambda low: self.rgb(low, **options), name, pad_multiple)

    def clear(self) -> None:
        self.cache.clear()


OPTION_TAGS = {"saturation_gate": "gate", "rgb_scale": "rgb"}


def options_tag(options: Mapping[str, float]) -> str:
    """``{'saturation_gate': 1.3}`` -> ``'gate1.3'``, ``{'rgb_scale': 0.84}`` -> ``'rgb0.84'`` (run-label tags)."""
    return "+".join(f"{OPTION_TAGS[k]}{v:g}" for k, v in sorted(options.items()))


def evaluate_with_test_options(run: Any, profile: Profile, paired: Sequence[str], unpaired: Sequence[str],
                               test_options: Mapping[str, Mapping[str, float]], metrics: Sequence[str] | None = None,
                               save_images: Sequence[str] = ()) -> pd.DataFrame:
    """``evaluate_suite`` rows of a trained HVI network (``run``: a :class:`~llie_core.training.recipes.MethodRun`) on every
    set, plus, for each ``{dataset: options}`` of ``test_options`` with options, rows named
    ``option_label(run.label, options_tag(options))`` scored right after the plain rows of that set, from the same
    network pass. Scores go to ``run.scores_dir`` (keyed by the weights); the plain outputs on the sets of
    ``save_images`` are written there as PNGs too (``evaluate_suite``'s ``save_images``)."""
    shared = SharedHVIPass(run.model)
    pad = int(run.config["model"].get("pad_multiple", 8) or 8)
    kwargs = {"paired_metrics": metrics} if metrics is not None else {"paired_metrics": PAIRED_METRICS}
    direct = as_enhancer(run.model, run.label, pad)          # sets without options: nothing to cache
    frames = []
    for dataset in paired:
        options = dict(test_options.get(dataset) or {})
        plain = shared.enhancer(run.label, pad) if options else direct
        frames.append(evaluate_suite(plain, profile, run.scores_dir, paired=[dataset], unpaired=[],
                                     save_images=list(save_images), **kwargs))
        if options:
            name = option_label(run.label, options_tag(options))
            frames.append(evaluate_suite(shared.enhancer(name, pad, **options), profile, run.scores_dir,
                                         paired=[dataset], unpaired=[], **kwargs))
            shared.clear()
    if unpaired:
        frames.append(evaluate_suite(direct, profile, run.scores_dir, paired=[], unpaired=list(unpaired)))
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------------------------ HV statistics
def hv_correlation(hvi: Tensor, eps: float = 1e-12) -> Tensor:
    """Per-image Pearson correlation of H and V over the pixels, shape (B,)."""
    h, v = hvi[:, 0], hvi[:, 1]
    h = h - h.mean(dim=(1, 2), keepdim=True)
    v = v - v.mean(dim=(1, 2), keepdim=True)
    return (h * v).mean(dim=(1, 2)) / (h.pow(2).mean(dim=(1, 2)).sqrt() * v.pow(2).mean(dim=(1, 2)).sqrt() + eps)


@torch.no_grad()
def hv_statistics(rgb: Tensor, transform: nn.Module) -> dict[str, Tensor]:
    """``cov`` (centred covariance of H and V), ``corr`` (Pearson) and ``moment`` (E[HV], CCL's L_HV statistic)
    of each image of an RGB batch after ``transform`` (an :class:`~llie_core.models.hvi.HVITransform`)."""
    hvi = transform(rgb)
    return {"cov": hv_covariance(hvi), "corr": hv_correlation(hvi), "moment": hv_second_moment(hvi)}


def image_hv_statistics(dataset: Any, transform: nn.Module, images: Sequence[str] = ("high", "low")) -> pd.DataFrame:
    """One row per item of a paired dataset: ``image`` and ``<statistic>_<which>`` for ``which`` in ``images``
    (``high`` = the GT reference, ``low`` = the input), cropped to the item's original ``size``."""
    rows = []
    for index in range(len(dataset)):
        item = dataset[index]
        h, w = (int(v) for v in item.get("size", item["low"].shape[-2:]))
        row: dict[str, Any] = {"image": str(item["name"])}
        for which in images:
            stats = hv_statistics(item[which][None, :, :h, :w].float(), transform)
            row.update({f"{name}_{which}": float(value[0]) for name, value in stats.items()})
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ gains
def run_scores_csv(run: Any, dataset: str, name: str | None = None) -> Path:
    """Where ``evaluate_suite`` put the per-image scores of ``run`` (enhancer ``name``, default its label)."""
    return Path(run.scores_dir) / (name or run.label) / f"{dataset}.csv"


def ccl_gain_table(statistics: pd.DataFrame, full: pd.DataFrame, variants: Mapping[str, pd.DataFrame],
                   metrics: Sequence[str] = ("psnr",)) -> pd.DataFrame:
    """Per image: the HV statistics, ``<metric>_full``, ``<metric>_<variant>`` and ``gain_<metric>_<variant>`` =
    full minus variant (positive: CCL helped), for every ``variants`` entry (e.g. ``{'l2': ..., 'l1': ...}``)."""
    table = statistics.copy()
    keep = ["image", *metrics]
    table = table.merge(full[keep].rename(columns={m: f"{m}_full" for m in metrics}), on="image", how="inner")
    for label, scores in variants.items():
        table = table.merge(scores[keep].rename(columns={m: f"{m}_{label}" for m in metrics}), on="image",
                            how="inner")
        for m in metrics:
            table[f"gain_{m}_{label}"] = table[f"{m}_full"] - table[f"{m}_{label}"]
    if len(table) != len(statistics):
        missing = sorted(set(statistics["image"]) - set(table["image"]))
        raise ValueError(f"per-image scores lack images {missing}; score every run on the same test set")
    return table


def low_covariance_summary(table: pd.DataFrame, gain_columns: Iterable[str], statistic: str = "cov_high",
                           threshold: float = LOW_COVARIANCE) -> pd.DataFrame:
    """One row per gain column: how many images have ``|statistic| <= threshold``, their fraction, the summed gain
    over all images and over those, the low-covariance share of the summed gain (NaN when the total gain is not
    positive: a share of a loss is meaningless), and the mean gain in each group."""
    low = table[statistic].abs() <= threshold
    rows = []
    for column in gain_columns:
        gains = table[column]
        total, in_low = float(gains.sum()), float(gains[low].sum())
        rows.append({"gain": column, "statistic": statistic, "threshold": threshold, "images": int(len(table)),
                     "low_cov_images": int(low.sum()), "low_cov_fraction": float(low.mean()) if len(table) else np.nan,
                     "total_gain": total, "low_cov_gain": in_low,
                     "low_cov_gain_share": in_low / total if total > 0 else np.nan,
                     "mean_gain_low_cov": float(gains[low].mean()) if low.any() else np.nan,
                     "mean_gain_high_cov": float(gains[~low].mean()) if (~low).any() else np.nan})
    return pd.DataFrame(rows)


def covariance_gain_figure(table: pd.DataFrame, gain_columns: Mapping[str, str], statistic: str = "cov_high",
                           threshold: float = LOW_COVARIANCE, title: str = "") -> plt.Figure:
    """One panel per ``{column: panel title}``: per-image gain against ``|statistic|`` (log x axis), with the
    threshold and the zero-gain line (plain log tick labels); points labelled by image name without overlaps
    (:func:`llie_core.analysis.common.label_points`)."""
    x = table[statistic].abs().clip(lower=1e-6)
    fig, axes = plt.subplots(1, len(gain_columns), figsize=(5.6 * len(gain_columns), 4.2), squeeze=False)
    for ax, (column, panel) in zip(axes[0], gain_columns.items()):
        low = table[statistic].abs() <= threshold
        ax.scatter(x[low], table.loc[low, column], color="tab:blue", label=f"|cov| <= {threshold:g}")
        ax.scatter(x[~low], table.loc[~low, column], color="tab:orange", label=f"|cov| > {threshold:g}")
        ax.axvline(threshold, color="gray", linestyle="--", linewidth=0.8)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set(xscale="log", xlabel=f"|{statistic}| (HV covariance in HVI space)", ylabel="gain (dB)", title=panel)
        plain_log_ticks(ax.xaxis)
        ax.margins(x=0.12, y=0.15)                     # room for the point labels inside the frame
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    for ax, column in zip(axes[0], gain_columns):      # labels last: placed on the final layout
        label_points(ax, x, table[column], table["image"])
    return fig


# ------------------------------------------------------------------------------------------------ readings
RELEASED_READING = "released code"
PAPER_TEXT_READING = "paper text"
READING_DETAILS = {
    RELEASED_READING: "released code: CCL channel split (I, H, V), CDEM residual gamma*t1, MAFM weight on the HV input",
    PAPER_TEXT_READING: "paper text: CCL order (H, V, I), CDEM residual mu*Z, MAFM weight on F_I",
}
_SWITCHES = {"released": RELEASED_READING, "paper": PAPER_TEXT_READING}


def reading(config: Mapping[str, Any]) -> str:
    """Which reading a (merged) ICLR config trains: ``'released code'`` or ``'paper text'`` when the CDEM residual,
    the MAFM weighting and every CCL term's channel order agree (a config without CCL, e.g. CCL -> L1, is read from
    the model switches alone), else ``'mixed (...)'`` listing the switches. Unset switches take the class defaults
    (``'paper'``)."""
    model = config.get("model", {})
    switches = {"cdem_residual": model.get("cdem_residual", "paper"),
                "fusion_weighting": model.get("fusion_weighting", "paper")}
    for stage in (config.get("stages") or {}).values():
        for entry in stage.get("losses", []):
            if entry.get("type") == "CovarianceCorrectionLoss":
                switches[f"ccl:{entry.get('name', 'ccl')}"] = entry.get("channel_order", "paper")
    values = set(switches.values())
    if len(values) == 1 and next(iter(values)) in _SWITCHES:
        return _SWITCHES[next(iter(values))]
    return "mixed (" + ", ".join(f"{k}={v}" for k, v in switches.items()) + ")"


def row_method(config: Mapping[str, Any], base: str = "ICLR") -> str:
    """The ``method`` of a reproduced row: the config's ``ledger_method`` (the reported row it stands for), else
    ``base``, labelled with the reading when it is not the released code (``'ICLR (paper-text reading)'``)."""
    if config.get("ledger_method"):
        return str(config["ledger_method"])
    which = reading(config)
    return base if which == RELEASED_READING else f"{base} ({which.replace(' ', '-')} reading)"


# ------------------------------------------------------------------------------------------------ table rows
def option_row_labels(runs_and_names: Iterable[tuple[Any, str]], datasets: Sequence[str],
                      test_options: Mapping[str, Mapping[str, float]], option_names: Mapping[str, str],
                      extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """``{scored label: row columns}`` for :func:`result_rows`: per run, first the rows with the official test-time
    option of each dataset that has one (the papers' protocol: a comparison with reported rows takes the first row
    of a method), then the run without options (``test_options = 'none'``). ``extra[run.label]`` adds columns."""
    labels: dict[str, dict[str, Any]] = {}
    for run, name in runs_and_names:
        columns = dict((extra or {}).get(run.label, {}))
        for dataset in datasets:
            options = test_options.get(dataset)
            if options:
                labels[option_label(run.label, options_tag(options))] = {
                    "method": name, "test_options": option_names.get(dataset, options_tag(options)), **columns}
        labels[run.label] = {"method": name, "test_options": "none", **columns}
    return labels


def result_rows(measured: pd.DataFrame, labels: Mapping[str, Mapping[str, Any]], datasets: Sequence[str],
                metrics: Sequence[str], source: str) -> pd.DataFrame:
    """Reproduced rows ``method, dataset, source, status, <extra label columns>, <metrics>`` of the enhancers named
    in ``labels`` (``{enhancer name: {'method': display name, ...extra columns}}``) on ``datasets``, in that order;
    datasets that were not run keep their ``not run: ...`` status with empty metrics."""
    rows = []
    for name, extra in labels.items():
        for dataset in datasets:
            hit = measured[(measured["method"] == name) & (measured["dataset"] == dataset)]
            if hit.empty:
                continue
            first = hit.iloc[0]
            row = {"method": extra["method"], "dataset": dataset, "source": source, "status": first["status"],
                   **{k: v for k, v in extra.items() if k != "method"}}
            row.update({m: (first[m] if m in first.index else np.nan) for m in metrics})
            rows.append(row)
    return pd.DataFrame(rows)


def reported_long(paper: str, table: str, datasets: Sequence[str], metrics: Sequence[str],
                  methods: Sequence[str] | None = None) -> pd.DataFrame:
    """The ledger rows of one table as ``method, dataset, source, status, <metrics>`` (status 'reported')."""
    frame = load_reported(paper, table)
    frame = frame[frame["dataset"].isin(datasets) & frame["metric"].isin(metrics)]
    if methods is not None:
        frame = frame[frame["method"].isin(methods)]
    if frame.empty:
        return pd.DataFrame(columns=["method", "dataset", "source", "status", *metrics])
    wide = frame.pivot_table(index=["method", "dataset"], columns="metric", values="value", sort=False).reset_index()
    wide.insert(2, "source", f"reported ({paper} {table})")
    wide.insert(3, "status", "reported")
    for m in metrics:
        if m not in wide:
            wide[m] = np.nan
    return wide[["method", "dataset", "source", "status", *metrics]]


def complexity_rows(configs: Mapping[str, Mapping[str, Any]],
                    sizes: Sequence[tuple[int, int]] = ((400, 600), (256, 256)),
                    listings: Mapping[str, str | os.PathLike | None] | None = None) -> pd.DataFrame:
    """Per model config (``{name: {type: ..., ...}}``): exact parameter count, ``params_m`` (M = 2^20, the papers'
    unit), the count of an official state-dict listing when given, and FLOPs / MACs at ``sizes``. Built on the
    meta device: nothing is allocated or computed (1 MAC = 2 FLOPs, torch's FlopCounterMode)."""
    rows = []
    for name, config in configs.items():
        with torch.device("meta"):
            model = build_model(dict(config))
        n = count_parameters(model)
        row: dict[str, Any] = {"method": name, "channels": str(list(config.get("channels", []))), "params": n,
                               "params_m": n / 2**20}
        listing = (listings or {}).get(name)
        if listing is not None and Path(listing).is_file():
            row["official_params"] = int(sum(int(np.prod(s)) for s in official_keys(listing).values()))
        for h, w in sizes:
            flops = count_flops(model, (1, 3, h, w))
            row[f"gflops_{h}x{w}"] = flops / 1e9
            row[f"gmacs_{h}x{w}"] = flops / 2e9
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["SharedHVIPass", "option_label", "options_tag", "evaluate_with_test_options", "option_row_labels",
           "hv_statistics", "hv_correlation", "image_hv_statistics",
           "read_image_scores", "run_scores_csv", "ccl_gain_table", "low_covariance_summary",
           "covariance_gain_figure", "result_rows", "reported_long", "complexity_rows", "LOW_COVARIANCE",
           "reading", "row_method", "READING_DETAILS", "RELEASED_READING", "PAPER_TEXT_READING"]
