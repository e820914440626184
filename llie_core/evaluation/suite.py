"""Evaluate an enhancer on every test set a profile lists, with one protocol for every method.

Paired sets (``data.eval_paired``) are scored with full-reference metrics (PSNR, SSIM in its conventions, LPIPS,
with and without GT-mean), unpaired sets (``data.eval_unpaired``) with no-reference metrics (NIQE, BRISQUE).
A dataset that is not on disk gives a row with ``status = 'not run: <reason>'``: nothing is skipped silently.

Per-image scores go to ``<out_dir>/<enhancer>/<dataset>.csv`` (resumable, see :func:`llie_core.evaluation.loop.evaluate`);
:func:`evaluate_suite` returns one summary row per dataset: per metric the mean over the ``images`` test images
(``images`` is n) and its 95% bootstrap confidence interval ``<metric>_ci95_low`` / ``<metric>_ci95_high``
(:func:`bootstrap_ci`: ``scipy.stats.bootstrap`` on the per-image scores, BCa, 10,000 resamples, seed 0; percentile
where BCa is undefined; empty for fewer than 2 images or when an image's score is undefined, as the mean is then
NaN). The same statistic serves every table of the workbook that shows a mean over images
(:mod:`llie_core.report.compare`, :mod:`llie_core.report.claims`).

:func:`save_enhanced` writes the enhanced test images of a set as 8-bit PNGs, enhanced exactly as the suite scores
them (same test set, crop and tiling), for readers to look at.

Evaluation option ``resize`` (JCRNet's test protocol, TMM 2023 §IV-A: "for our experiments, we uniformly resized
them to 384x384"): ``evaluate_suite(..., resize=384)`` scores every test image, low and reference alike, resized
to 384x384 (:class:`ResizedTestSet`: the full image, not the profile's ``eval_max_side`` crop; antialiased
bilinear resize, i.e. area-like averaging when shrinking, then rounded to 8 bits as a resized image file would
be). Its per-image scores go to ``<dataset>@384x384.csv`` and its summary rows carry ``eval_resize = 384``, so
they never mix with the full-size rows (``eval_resize`` is absent/NaN there).
"""
from __future__ import annotations

import math
import os
import shutil
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats
from torch.utils.data import Dataset

from data_prep.datasets import PairedImageDataset, UnpairedImageDataset, evenly_spaced, resolve_paired, resolve_unpaired
from data_prep.settings import DataSettings
from data_prep.validate import DatasetError
from llie_core.core.profiles import EvalSettings, Profile
from llie_core.evaluation.baselines import BASELINES, available_baselines
from data_prep.image_io import write_image
from llie_core.evaluation.loop import Enhancer, evaluate
from llie_core.evaluation.tiling import TileConfig, enhance_tiled

PAIRED_METRICS = ("psnr", "ssim", "ssim_gray", "lpips_alex", "psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                  "niqe", "brisque")  # NR metrics too: several tables report NIQE/BRISQUE on LOL outputs
UNPAIRED_METRICS = ("niqe", "brisque")
# the confidence interval of every mean over test images (module docstring)
CONFIDENCE = 0.95
N_RESAMPLES = 10_000
SEED = 0
BOOTSTRAP_METHOD = "BCa"
CI_LOW, CI_HIGH = "ci95_low", "ci95_high"  # column names (a summary row: ``<metric>_ci95_low``)


def bootstrap_ci(values: Iterable[float], confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> tuple[float, float]:
    """95% (``confidence``) bootstrap CI of the mean of the finite ``values`` (``scipy.stats.bootstrap``, BCa,
    percentile where BCa is undefined); ``(v, v)`` when every value equals ``v``; ``(nan, nan)`` for fewer than
    2 values. Deterministic: the resampling generator is seeded with ``seed``."""
    data = np.asarray(list(values), dtype=float)
    data = data[np.isfinite(data)]
    if data.size < 2:
        return math.nan, math.nan
    if np.ptp(data) == 0:
        return float(data[0]), float(data[0])
    for method in (BOOTSTRAP_METHOD, "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                                  method=method, random_state=np.random.default_rng(seed), vectorized=True)
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return low, high
    return math.nan, math.nan


def mean_ci(values: Iterable[float], **kwargs: Any) -> dict[str, float]:
    """``{'n', 'mean', 'ci_low', 'ci_high'}`` of the finite ``values`` (95% bootstrap CI, :func:`bootstrap_ci`)."""
    data = np.asarray(list(values), dtype=float)
    data = data[np.isfinite(data)]
    low, high = bootstrap_ci(data, **kwargs)
    return {"n": int(data.size), "mean": float(data.mean()) if data.size else math.nan, "ci_low": low,
            "ci_high": high}


def ci_columns(metric: str) -> tuple[str, str]:
    """``('<metric>_ci95_low', '<metric>_ci95_high')``: the CI columns of a summary row."""
    return f"{metric}_{CI_LOW}", f"{metric}_{CI_HIGH}"


def tile_config(settings: EvalSettings) -> TileConfig:
    """The profile's tiled-inference settings (``Profile.eval``; large images, e.g. SICE, are enhanced tile by
    tile)."""
    return TileConfig(tile_size=int(settings.tile_size), overlap=int(settings.tile_overlap),
                      memory_budget_mb=settings.memory_budget_mb)


class ResizedTestSet(Dataset):
    """Every item of ``dataset`` (``low`` and, when present, ``high``) resized to ``size`` x ``size``: the
    evaluation option ``resize`` (module docstring). ``torch.nn.functional.interpolate(mode='bilinear',
    antialias=True, align_corners=False)`` on the unpadded image (the item's ``size`` crop), clamped to [0, 1]
    and rounded to 8 bits; ``size`` of the item becomes ``(size, size)``. ``names`` (and ``pairs`` / ``files``)
    are those of ``dataset``."""

    def __init__(self, dataset: Any, size: int) -> None:
        if int(size) < 1:
            raise ValueError(f"resize must be a positive side length, got {size}")
        self.dataset, self.size = dataset, int(size)
        self.names = dataset.names
        for attr in ("pairs", "files"):
            if hasattr(dataset, attr):
                setattr(self, attr, getattr(dataset, attr))

    def __len__(self) -> int:
        return len(self.dataset)

    def _resize(self, image: torch.Tensor, size: Sequence[int] | None) -> torch.Tensor:
        if size is not None:
            image = image[..., :int(size[0]), :int(size[1])]
        out = F.interpolate(image[None].float(), size=(self.size, self.size), mode="bilinear", align_corners=False,
                            antialias=True)[0]
        return (out.clamp(0, 1) * 255).round() / 255

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.dataset[index])
        for key in ("low", "high"):
            if key in item:
                item[key] = self._resize(item[key], item.get("size"))
        item["size"] = (self.size, self.size)
        return item


def paired_test_set(name: str, data: DataSettings, pad_multiple: int = 1, resize: int | None = None):
    """The test split of a paired dataset as full images (cropped to ``data.eval_max_side`` when set); with
    ``resize`` every full image resized to ``resize`` x ``resize`` instead (:class:`ResizedTestSet`, no crop)."""

    pairs = resolve_paired(name, data, "test")
    if resize:
        return ResizedTestSet(PairedImageDataset(pairs), resize)
    return PairedImageDataset(pairs, pad_multiple=pad_multiple, max_side=data.eval_max_side)


def unpaired_test_set(name: str, data: DataSettings, pad_multiple: int = 1, resize: int | None = None):
    """An unpaired test set, at most ``data.max_unpaired_images`` images (even spacing), cropped to
    ``data.eval_unpaired_max_side`` (else ``eval_max_side``) when set; with ``resize`` every full image resized to
    ``resize`` x ``resize`` instead (:class:`ResizedTestSet`, no crop)."""

    files = evenly_spaced(resolve_unpaired(name, data, "test"), data.max_unpaired_images)
    if resize:
        return ResizedTestSet(UnpairedImageDataset(files), resize)
    return UnpairedImageDataset(files, pad_multiple=pad_multiple, max_side=data.unpaired_side)


def _not_run(dataset: str, kind: str, error: Exception) -> dict[str, Any]:
    return {"dataset": dataset, "kind": kind, "images": 0, "status": f"not run: {error}"}


def _summary(frame: pd.DataFrame, dataset: str, kind: str, metrics: Sequence[str]) -> dict[str, Any]:
    images = frame[frame["image"] != "mean"]
    row: dict[str, Any] = {"dataset": dataset, "kind": kind, "images": len(images), "status": "ok"}
    intervals: dict[str, float] = {}
    for m in metrics:  # NaN (an undefined score, e.g. NIQE of a flat output) stays visible in the mean
        values = pd.to_numeric(images[m], errors="coerce")
        row[m] = float(values.mean(skipna=False))
        low, high = bootstrap_ci(values) if math.isfinite(row[m]) else (math.nan, math.nan)
        intervals.update(zip(ci_columns(m), (low, high)))
    row["seconds_per_image"] = float(images["seconds"].mean())
    return {**row, **intervals}  # the CI columns after the means: the tables read means first


def evaluate_suite(enhancer: Enhancer, profile: Profile, out_dir: str | os.PathLike, *,
                   paired: Sequence[str] | None = None, unpaired: Sequence[str] | None = None,
                   paired_metrics: Sequence[str] = PAIRED_METRICS,
                   unpaired_metrics: Sequence[str] = UNPAIRED_METRICS, save_images: bool | Sequence[str] = False,
                   resize: int | None = None) -> pd.DataFrame:
    """Score ``enhancer`` on the profile's paired and unpaired test sets; one row per dataset.

    ``paired``/``unpaired`` default to the profile's ``data.eval_paired``/``data.eval_unpaired``. ``resize``: the
    evaluation option of the module docstring (e.g. 384, JCRNet's protocol); rows then carry ``eval_resize``.
    ``save_images``: write the scored outputs as 8-bit PNGs next to the per-image scores,
    ``<out_dir>/<enhancer>/<dataset>/<image>.png`` (:func:`saved_images_dir`), for every set (``True``) or the sets
    named; an image whose score was already cached is not enhanced again, so it gets no PNG.
    """

    out = Path(out_dir) / enhancer.name
    tile = tile_config(profile.eval)
    rows = []
    for name, kind in suite_jobs(profile.data, paired, unpaired):
        metrics = paired_metrics if kind == "paired" else unpaired_metrics
        try:
            make = paired_test_set if kind == "paired" else unpaired_test_set
            dataset = make(name, profile.data, enhancer.pad_multiple, resize=resize)
        except (DatasetError, FileNotFoundError) as error:
            rows.append(_not_run(name, kind, error))
            continue
        stem = f"{name}@{int(resize)}x{int(resize)}" if resize else name
        save = save_images is True or (not isinstance(save_images, bool) and name in save_images)
        frame = evaluate(enhancer, dataset, list(metrics), out / f"{stem}.csv", tile=tile,
                         save_dir=saved_images_dir(out_dir, enhancer.name, stem) if save else None)
        rows.append(_summary(frame, name, kind, metrics))
    table = pd.DataFrame(rows)
    table.insert(0, "method", enhancer.name)
    if resize:
        table["eval_resize"] = int(resize)
    return table


def suite_jobs(data: DataSettings, paired: Sequence[str] | None = None,
               unpaired: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(dataset, kind)`` of every set :func:`evaluate_suite` scores with these arguments."""
    return ([(n, "paired") for n in (paired if paired is not None else data.eval_paired)]
            + [(n, "unpaired") for n in (unpaired if unpaired is not None else data.eval_unpaired)])


def saved_images_dir(scores_dir: str | os.PathLike, enhancer_name: str, dataset: str) -> Path:
    """Where ``evaluate_suite(..., save_images=...)`` wrote the scored outputs of ``enhancer_name`` on ``dataset``
    (``scores_dir``: the suite's ``out_dir``)."""
    return Path(scores_dir) / enhancer_name / dataset


def save_enhanced(enhancer: Enhancer, profile: Profile, dataset: str, out_dir: str | os.PathLike,
                  paired: bool = True, scored_dir: str | os.PathLike | None = None) -> list[Path]:
    """Enhance every test image of ``dataset`` as :func:`evaluate_suite` does (the profile's test set and crop,
    tiled inference) and write each output as an 8-bit RGB PNG ``<out_dir>/<image>.png`` (the per-image score
    files' ``image`` names; :func:`data_prep.image_io.write_image`). Returns the paths in test-set order; raises
    ``DatasetError`` / ``FileNotFoundError`` when the set is absent.

    ``scored_dir``: the PNGs the suite wrote while scoring this enhancer (:func:`saved_images_dir`). When it holds
    every test image, those files are copied (the very outputs the scores come from, no second inference);
    otherwise every image is enhanced here."""
    make = paired_test_set if paired else unpaired_test_set
    test = make(dataset, profile.data, enhancer.pad_multiple)
    names = [Path(str(n)).stem for n in test.names]
    scored = [Path(scored_dir) / f"{n}.png" for n in names] if scored_dir is not None else []
    if scored and all(p.is_file() for p in scored):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copyfile(p, Path(out_dir) / p.name)) for p in scored]
    tile = tile_config(profile.eval)
    written = []
    for item in test:
        low = torch.as_tensor(item["low"])[None].float()
        with torch.no_grad():
            output = enhance_tiled(enhancer, low, tile, enhancer.pad_multiple).float().cpu()
        height, width = (int(v) for v in item.get("size") or low.shape[-2:])
        name = Path(str(item["name"])).stem
        written.append(write_image(Path(out_dir) / f"{name}.png", output[0, :, :height, :width]))
    return written


def score_baselines(profile: Profile, out_dir: str | os.PathLike, names: Sequence[str] = BASELINES,
                    **suite_kwargs: Any) -> pd.DataFrame:
    """:func:`evaluate_suite` for each classical baseline; one whose released weights are absent from
    ``profile.data.weights_root`` (Zero-DCE on a machine without ``../shared``) gets a
    ``not run: weights absent (...)`` row per test set instead."""
    built, absent = available_baselines(names, profile.data.weights_root)
    tables = []
    for name in names:
        if name in built:
            tables.append(evaluate_suite(built[name], profile, out_dir, **suite_kwargs))
            continue
        jobs = suite_jobs(profile.data, suite_kwargs.get("paired"), suite_kwargs.get("unpaired"))
        rows = [{"method": name, "dataset": d, "kind": k, "images": 0, "status": f"not run: {absent[name]}"}
                for d, k in jobs]
        tables.append(pd.DataFrame(rows))
    return pd.concat(tables, ignore_index=True)
