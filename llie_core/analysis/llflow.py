"""LLFlow analyses behind notebook 12: the latent sweep of the sampling experiment, the metric-protocol grid of
the LOL table, and the VE-LOL cross-/intra-dataset rows.

* Sampling (paper §"Inference", review finding "brightness varies monotonically with the latent"): the flow is
  decoded from ``z = g(x_l) + shift`` (deterministic) and from ``z ~ N(g(x_l), temperature^2 I)`` (stochastic);
  :func:`latent_sweep` records the output brightness (mean BT.601 luma) of every decode.
* Protocol grid: LLFlow's reported 25.19 / 0.93 / 0.11 are measured by its ``test.py`` with a GT-mean rescale
  (variant ``'llflow'``: gray mean of the target over the mean of all output channels) and gray SSIM; the
  workbook's default GT-mean is the HVI variant. :func:`protocol_grid` scores one enhancer under
  GT-mean off / on (hvi) / on (llflow) x SSIM RGB (MATLAB Gaussian) / gray (skimage, LLFlow ``Measure.py``).
* VE-LOL: :func:`intra_dataset_run` trains on VE-LOL only when its train and test splits are on disk, else
  returns the reason, so the notebook lists the row as "not run".
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import torch
from torch import Tensor

from data_prep.datasets import resolve_paired
from data_prep.settings import DataSettings
from data_prep.validate import DatasetError
from llie_core.core.profiles import Profile
from llie_core.evaluation.loop import as_enhancer, evaluate
from llie_core.evaluation.suite import paired_test_set, tile_config
from llie_core.metrics import create_metric
from llie_core.report.figures import to_hwc
from llie_core.report.ledger import load_reported
from llie_core.report.method_tables import reported_rows
from llie_core.training.recipes import train_method, training_data

BT601 = (0.299, 0.587, 0.114)
GT_MEAN_SETTINGS = ("off", "hvi", "llflow")       # no rescale; workbook default (HVI-CIDNet); LLFlow test.py
SSIM_CONVENTIONS = {"rgb": "ssim", "gray": "ssim_gray"}
GRID_METRICS = ("psnr", "ssim", "ssim_gray", "lpips_alex")
RELEASED_PROTOCOL = ("llflow", "gray")             # what LLFlow's README / test.py report
COMPETITOR_PROTOCOL = ("off", "rgb")               # the document's competitor rows (copied from their papers)


# ---------------------------------------------------------------------------------------------- sampling
def brightness(images: Tensor) -> Tensor:
    """Mean BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of each image of an ``(N, 3, H, W)`` batch in [0, 1]."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"brightness expects (N, 3, H, W) RGB batches, got {tuple(images.shape)}")
    weights = torch.tensor(BT601, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(dim=1).flatten(1).mean(dim=1)


def is_monotone(values: Sequence[float], increasing: bool = True, tol: float = 0.0) -> bool:
    """Whether ``values`` never decrease (``increasing``) / never increase, allowing steps of ``tol`` backwards."""
    steps = [b - a for a, b in zip(values, values[1:])]
    return all(s >= -tol for s in steps) if increasing else all(s <= tol for s in steps)


@torch.no_grad()
def latent_sweep(model: Any, images: Mapping[str, Tensor], shifts: Sequence[float] = (-0.6, -0.3, 0.0, 0.3, 0.6),
                 temperatures: Sequence[float] = (0.0, 0.4, 0.8, 1.0), samples: int = 3, seed: int = 0
                 ) -> pd.DataFrame:
    """Output brightness of an :class:`~llie_core.models.llflow.LLFlow` decoded from shifted / sampled latents.

    ``images``: ``{name: (1, 3, H, W) low image}``. The encoder runs once per image; each decode is clamped to
    [0, 1] and cropped back. Rows: ``image, kind ('shift' | 'temperature'), value, sample, brightness, spread``:
    ``kind='shift'``: ``z = g(x_l) + value`` (one deterministic decode); ``kind='temperature'``: ``z = g(x_l) +
    value * eps`` with ``eps`` from ``torch.Generator().manual_seed(seed + sample)`` (``samples`` draws; one
    decode at temperature 0, which is the deterministic :meth:`LLFlow.forward`); ``spread`` = per-pixel standard
    deviation over the draws, averaged over pixels (0 for a single decode).
    """
    was_training = model.training
    model.eval()
    rows = []
    try:
        for name, low in images.items():
            h, w = low.shape[-2:]
            cond = model.condition_padded(low)

            def decode(temperature: float, shift: float, draw: int) -> Tensor:
                gen = torch.Generator().manual_seed(seed + draw)
                return model.decode_prior(cond, temperature, shift, gen)[..., :h, :w].clamp(0, 1)

            for shift in shifts:
                rows.append({"image": name, "kind": "shift", "value": float(shift), "sample": 0,
                             "brightness": float(brightness(decode(0.0, shift, 0))[0]), "spread": 0.0})
            for temperature in temperatures:
                draws = [decode(temperature, 0.0, s) for s in range(samples if temperature else 1)]
                spread = float(torch.stack(draws).std(dim=0, unbiased=False).mean()) if len(draws) > 1 else 0.0
                rows += [{"image": name, "kind": "temperature", "value": float(temperature), "sample": s,
                          "brightness": float(brightness(out)[0]), "spread": spread} for s, out in enumerate(draws)]
    finally:
        model.train(was_training)
    return pd.DataFrame(rows)


def sweep_summary(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per ``kind, value``: mean and std of the brightness over images and draws, mean ``spread``, and for the
    shift rows whether every image's brightness is monotone non-decreasing in the shift (``monotone``)."""
    out = (sweep.groupby(["kind", "value"], sort=True)
           .agg(brightness_mean=("brightness", "mean"), brightness_std=("brightness", "std"),
                spread=("spread", "mean"), decodes=("brightness", "size")).reset_index())
    shifts = sweep[sweep["kind"] == "shift"].sort_values("value")
    monotone = all(is_monotone(g["brightness"].tolist()) for _, g in shifts.groupby("image"))
    out["monotone"] = [monotone if k == "shift" else None for k in out["kind"]]
    return out


@torch.no_grad()
def shift_strip(model: Any, low: Tensor, shifts: Sequence[float]) -> list[Tensor]:
    """The decodes of ``low`` at ``z = g(x_l) + shift`` for every shift (clamped, cropped), for a figure."""
    h, w = low.shape[-2:]
    was_training = model.training
    model.eval()
    try:
        cond = model.condition_padded(low)
        return [model.decode_prior(cond, 0.0, s)[..., :h, :w].clamp(0, 1) for s in shifts]
    finally:
        model.train(was_training)


def sampling_figure(sweep: pd.DataFrame, strip: Sequence[Tensor], strip_shifts: Sequence[float],
                    title: str = "") -> Any:
    """Brightness vs latent shift (one line per image) and vs temperature (mean +- std over draws, with the
    per-pixel spread of the draws), above the decodes of one image at ``strip_shifts``."""
    fig = plt.figure(figsize=(max(9.0, 2.0 * len(strip)), 6.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1.0])
    ax_shift, ax_temp = top.subplots(1, 2)
    shifts = sweep[sweep["kind"] == "shift"].sort_values("value")
    for name, group in shifts.groupby("image", sort=False):
        ax_shift.plot(group["value"], group["brightness"], marker="o", lw=1, label=f"image {name}")
    ax_shift.set(xlabel="latent shift (z = g(x_l) + shift)", ylabel="output brightness (mean BT.601 luma)",
                 title="deterministic decode vs shift")
    ax_shift.legend(fontsize=7)
    temps = sweep[sweep["kind"] == "temperature"].groupby("value")
    stats = temps["brightness"].agg(["mean", "std"]).fillna(0.0)
    ax_temp.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label="brightness")
    ax_temp.set(xlabel="temperature (z ~ N(g(x_l), T^2 I))", ylabel="output brightness", title="sampling")
    twin = ax_temp.twinx()
    twin.plot(stats.index, temps["spread"].mean(), color="tab:red", ls="--", marker="s", label="pixel spread")
    twin.set_ylabel("per-pixel std over draws", color="tab:red")
    for ax, image, shift in zip(bottom.subplots(1, max(1, len(strip)), squeeze=False)[0], strip, strip_shifts):
        ax.imshow(to_hwc(image))
        ax.set_title(f"shift {shift:+.2f}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------- protocols
def released_enhancer(run: Any) -> Any:
    """A trained LLFlow run as an enhancer that leaves the padding to the model: :meth:`LLFlow.sample` equalises
    the histogram of the unpadded image and then reflect-pads to ``pad_multiple`` (released ``test.py``), while
    ``run.enhancer()`` pads first (the equalisation then also sees the reflected border)."""
    return as_enhancer(run.model, run.label, pad_multiple=1)


class CachedEnhancer:
    """An enhancer that remembers its last ``capacity`` outputs by input content, so a second evaluation of the
    same images (another metric protocol) does not run the network again. Outputs are returned as clones."""

    def __init__(self, enhancer: Any, capacity: int = 32) -> None:
        self.inner, self.capacity = enhancer, capacity
        self.name, self.pad_multiple = enhancer.name, enhancer.pad_multiple
        self._cache: OrderedDict[str, Tensor] = OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def _key(low: Tensor) -> str:
        data = low.detach().cpu().contiguous()
        return f"{tuple(data.shape)}:{hashlib.sha1(data.numpy().tobytes()).hexdigest()}"

    def __call__(self, low: Tensor) -> Tensor:
        key = self._key(low)
        if key in self._cache:
            self.hits += 1
            self._cache.move_to_end(key)
            return self._cache[key].clone()
        self.misses += 1
        out = self.inner(low)
        self._cache[key] = out.detach().clone()
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return out


def grid_metric_name(base: str, gt_mean: str) -> str:
    """Column name of ``base`` (``psnr``, ``ssim``, ``ssim_gray``, ``lpips_alex``) under a GT-mean setting."""
    if gt_mean not in GT_MEAN_SETTINGS:
        raise ValueError(f"GT-mean setting must be one of {GT_MEAN_SETTINGS}, got {gt_mean!r}")
    return {"off": base, "hvi": f"{base}_gtmean", "llflow": f"{base}_gtmean_llflow"}[gt_mean]


def protocol_metrics() -> dict[str, Any]:
    """Every grid metric as a ready callable: the registered names, plus ``<name>_gtmean_llflow`` built with
    ``create_metric('<name>_gtmean', variant='llflow')``."""
    metrics = {}
    for gt_mean in GT_MEAN_SETTINGS:
        for base in GRID_METRICS:
            name = grid_metric_name(base, gt_mean)
            metrics[name] = (create_metric(f"{base}_gtmean", variant="llflow") if gt_mean == "llflow"
                             else create_metric(name))
    return metrics


def protocol_grid(enhancer: Any, profile: Profile, out_dir: str | os.PathLike,
                  dataset: str = "lol_v1", released: tuple[str, str] = RELEASED_PROTOCOL) -> pd.DataFrame:
    """Score ``enhancer`` on the ``dataset`` test split under every protocol of the grid.

    Per-image scores go to ``out_dir/<enhancer>/<dataset>.csv`` (resumable). Returns one row per
    ``gt_mean x ssim_convention``: ``method, dataset, images, gt_mean, ssim_convention, psnr, ssim, lpips,
    released_protocol`` (``ssim`` is the convention's SSIM; ``psnr``/``lpips`` repeat across the two
    conventions; ``released_protocol`` flags the ``released = (gt_mean, ssim_convention)`` row: the protocol of
    the document's figure for this method, :data:`RELEASED_PROTOCOL` for LLFlow, :data:`COMPETITOR_PROTOCOL`
    for the competitors' rows).
    """
    metrics = protocol_metrics()
    test = paired_test_set(dataset, profile.data, enhancer.pad_multiple)
    frame = evaluate(enhancer, test, metrics, Path(out_dir) / enhancer.name / f"{dataset}.csv",
                     tile=tile_config(profile.eval), metric_infos={name: {"kind": "FR"} for name in metrics})
    return grid_rows(frame, enhancer.name, dataset, released)


def grid_rows(frame: pd.DataFrame, method: str, dataset: str,
              released: tuple[str, str] = RELEASED_PROTOCOL) -> pd.DataFrame:
    """The long grid table from a per-image :func:`protocol_grid` frame (its ``mean`` row is ignored)."""
    images = frame[frame["image"] != "mean"]
    rows = []
    for gt_mean in GT_MEAN_SETTINGS:
        for convention, ssim in SSIM_CONVENTIONS.items():
            rows.append({"method": method, "dataset": dataset, "images": len(images), "gt_mean": gt_mean,
                         "ssim_convention": convention,
                         "psnr": float(images[grid_metric_name("psnr", gt_mean)].mean()),
                         "ssim": float(images[grid_metric_name(ssim, gt_mean)].mean()),
                         "lpips": float(images[grid_metric_name("lpips_alex", gt_mean)].mean()),
                         "released_protocol": (gt_mean, convention) == tuple(released)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------- VE-LOL
def missing_split(dataset: str, data: DataSettings, split: str) -> str | None:
    """``None`` when ``dataset``/``split`` is on disk, else the reason it is not."""
    try:
        resolve_paired(dataset, data, split)
    except (DatasetError, FileNotFoundError) as error:
        return f"{dataset} {split} split absent ({error})"
    return None


def intra_dataset_run(method: str, profile: Profile, runs_dir: str | os.PathLike,
                      dataset: str = "ve_lol") -> Any:
    """Train ``method`` on ``dataset``'s train split (profile budget, run tag ``<dataset>_intra``) when its train
    and test splits are present; otherwise the string ``'not run: <reason>'``."""
    reason = missing_split(dataset, profile.data, "train") or missing_split(dataset, profile.data, "test")
    if reason:
        return f"not run: {reason}"
    intra = profile.with_overrides({"data": {"train": [dataset]}})
    return train_method(method, intra, runs_dir, data=training_data(intra.data), tag=f"{dataset}_intra")


# ---------------------------------------------------------------------------------------------- tables
TABLE_COLUMNS = ("method", "dataset", "source", "gt_mean", "ssim_convention", "psnr", "ssim", "lpips",
                 "released_protocol")


def lol_table(grid: pd.DataFrame, profile_name: str, names: Mapping[str, str] | None = None,
              dataset: str = "lol_v1") -> pd.DataFrame:
    """The document's LOL table next to the reproduced protocol grid (long format, :data:`TABLE_COLUMNS`).

    Rows: the review's table (protocol unspecified, ``reported (llflow LOL table)``); LLFlow's README figures
    with their stated protocol (GT-mean as in ``test.py``, gray SSIM 0.93 and colour SSIM 0.86;
    ``reported (llflow methods.md §5.6)``); then ``grid`` (:func:`protocol_grid` rows of any enhancers, on
    ``dataset``) as ``reproduced (<profile>)``, methods renamed by ``names``.
    """
    document = reported_rows("llflow", "LOL table", "lol_v1", ["psnr", "ssim", "lpips"])
    document = document.assign(dataset="lol_v1", gt_mean="unspecified", ssim_convention="unspecified",
                               released_protocol=False)
    readme = load_reported("llflow", "methods.md §5.6")
    value = readme[readme["dataset"] == "lol_v1"].set_index("metric")["value"]
    source = "reported (llflow methods.md §5.6)"
    released = pd.DataFrame([
        {"method": "LLFlow", "dataset": "lol_v1", "source": source, "gt_mean": "llflow", "ssim_convention": conv,
         "psnr": value["psnr_gtmean"], "ssim": value[ssim], "lpips": value["lpips_alex_gtmean"],
         "released_protocol": conv == "gray"}
        for conv, ssim in (("gray", "ssim_gray_gtmean"), ("rgb", "ssim_gtmean"))])
    reproduced = grid[grid["dataset"] == dataset].assign(
        method=[(names or {}).get(m, m) for m in grid[grid["dataset"] == dataset]["method"]],
        source=f"reproduced ({profile_name})")
    return pd.concat([document, released, reproduced], ignore_index=True)[list(TABLE_COLUMNS)]


def velol_table(table: str, scores: pd.DataFrame, profile_name: str, method: str = "LLFlow") -> pd.DataFrame:
    """A VE-LOL table of the document (``'VE-LOL cross'`` / ``'VE-LOL intra'``): its reported rows, then one row
    per ``scores`` row (:func:`~llie_core.evaluation.suite.evaluate_suite` rows of ``ve_lol``, or a row whose
    ``status`` is ``'not run: <reason>'``). Columns ``method, dataset, source, status, images, psnr, ssim,
    ssim_gray, lpips`` (reproduced ``ssim`` = MATLAB RGB SSIM, ``lpips`` = LPIPS-alex, no GT-mean)."""
    reported = reported_rows("llflow", table, "ve_lol", ["psnr", "ssim", "lpips"])
    reported = reported.assign(dataset="ve_lol", status="reported (protocol unspecified)", images=float("nan"),
                               ssim_gray=float("nan"))
    rows = []
    for _, row in scores.iterrows():
        ok = row.get("status") == "ok"
        rows.append({"method": method, "dataset": "ve_lol", "source": f"reproduced ({profile_name})",
                     "status": row.get("status"), "images": row.get("images", 0),
                     **{out: (float(row[col]) if ok else float("nan"))
                        for out, col in (("psnr", "psnr"), ("ssim", "ssim"), ("ssim_gray", "ssim_gray"),
                                         ("lpips", "lpips_alex"))}})
    columns = ["method", "dataset", "source", "status", "images", "psnr", "ssim", "ssim_gray", "lpips"]
    return pd.concat([reported, pd.DataFrame(rows, columns=columns)], ignore_index=True)[columns]
