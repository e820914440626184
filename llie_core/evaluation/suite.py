"""Evaluate an enhancer on every test set a profile lists, with one protocol for every method.

Paired sets (``data.eval_paired``) are scored with full-reference metrics (PSNR, SSIM in its conventions, LPIPS,
with and without GT-mean), unpaired sets (``data.eval_unpaired``) with no-reference metrics (NIQE, BRISQUE).
A dataset that is not on disk gives a row with ``status = 'not run: <reason>'``: nothing is skipped silently.

Per-image scores go to ``<out_dir>/<enhancer>/<dataset>.csv`` (resumable, see :func:`llie_core.evaluation.loop.evaluate`);
:func:`evaluate_suite` returns one summary row per dataset.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from data_prep.datasets import PairedImageDataset, UnpairedImageDataset, evenly_spaced, resolve_paired, resolve_unpaired
from data_prep.settings import DataSettings
from data_prep.validate import DatasetError
from llie_core.core.profiles import EvalSettings, Profile
from llie_core.evaluation.baselines import BASELINES, available_baselines
from llie_core.evaluation.loop import Enhancer, evaluate
from llie_core.evaluation.tiling import TileConfig

PAIRED_METRICS = ("psnr", "ssim", "ssim_gray", "lpips_alex", "psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                  "niqe", "brisque")  # NR metrics too: several tables report NIQE/BRISQUE on LOL outputs
UNPAIRED_METRICS = ("niqe", "brisque")


def tile_config(settings: EvalSettings) -> TileConfig:
    """The profile's tiled-inference settings (``Profile.eval``; large images, e.g. SICE, are enhanced tile by
    tile)."""
    return TileConfig(tile_size=int(settings.tile_size), overlap=int(settings.tile_overlap),
                      memory_budget_mb=settings.memory_budget_mb)


def paired_test_set(name: str, data: DataSettings, pad_multiple: int = 1):
    """The test split of a paired dataset as full images (cropped to ``data.eval_max_side`` when set)."""

    pairs = resolve_paired(name, data, "test")
    return PairedImageDataset(pairs, pad_multiple=pad_multiple, max_side=data.eval_max_side)


def unpaired_test_set(name: str, data: DataSettings, pad_multiple: int = 1):
    """An unpaired test set, at most ``data.max_unpaired_images`` images (even spacing), cropped to
    ``data.eval_unpaired_max_side`` (else ``eval_max_side``) when set."""

    files = evenly_spaced(resolve_unpaired(name, data, "test"), data.max_unpaired_images)
    return UnpairedImageDataset(files, pad_multiple=pad_multiple, max_side=data.unpaired_side)


def _not_run(dataset: str, kind: str, error: Exception) -> dict[str, Any]:
    return {"dataset": dataset, "kind": kind, "images": 0, "status": f"not run: {error}"}


def _summary(frame: pd.DataFrame, dataset: str, kind: str, metrics: Sequence[str]) -> dict[str, Any]:
    images = frame[frame["image"] != "mean"]
    row: dict[str, Any] = {"dataset": dataset, "kind": kind, "images": len(images), "status": "ok"}
    for m in metrics:  # NaN (an undefined score, e.g. NIQE of a flat output) stays visible in the mean
        row[m] = float(images[m].mean(skipna=False))
    row["seconds_per_image"] = float(images["seconds"].mean())
    return row


def evaluate_suite(enhancer: Enhancer, profile: Profile, out_dir: str | os.PathLike, *,
                   paired: Sequence[str] | None = None, unpaired: Sequence[str] | None = None,
                   paired_metrics: Sequence[str] = PAIRED_METRICS,
                   unpaired_metrics: Sequence[str] = UNPAIRED_METRICS, save_images: bool = False) -> pd.DataFrame:
    """Score ``enhancer`` on the profile's paired and unpaired test sets; one row per dataset.

    ``paired``/``unpaired`` default to the profile's ``data.eval_paired``/``data.eval_unpaired``.
    """

    out = Path(out_dir) / enhancer.name
    tile = tile_config(profile.eval)
    rows = []
    for name, kind in suite_jobs(profile.data, paired, unpaired):
        metrics = paired_metrics if kind == "paired" else unpaired_metrics
        try:
            make = paired_test_set if kind == "paired" else unpaired_test_set
            dataset = make(name, profile.data, enhancer.pad_multiple)
        except (DatasetError, FileNotFoundError) as error:
            rows.append(_not_run(name, kind, error))
            continue
        frame = evaluate(enhancer, dataset, list(metrics), out / f"{name}.csv", tile=tile,
                         save_dir=out / name if save_images else None)
        rows.append(_summary(frame, name, kind, metrics))
    table = pd.DataFrame(rows)
    table.insert(0, "method", enhancer.name)
    return table


def suite_jobs(data: DataSettings, paired: Sequence[str] | None = None,
               unpaired: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(dataset, kind)`` of every set :func:`evaluate_suite` scores with these arguments."""
    return ([(n, "paired") for n in (paired if paired is not None else data.eval_paired)]
            + [(n, "unpaired") for n in (unpaired if unpaired is not None else data.eval_unpaired)])


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
