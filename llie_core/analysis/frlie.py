"""FRLIE analyses behind notebook 10: the SSIM protocol of its Table 1 (issue 19 §3).

FRLIE's released evaluation script scores SSIM as skimage ``structural_similarity(rgb2gray(gt), rgb2gray(pred),
data_range=1, win_size=51)``: the registered metric ``ssim_frlie`` (:mod:`llie_core.metrics.full_reference`), the
ledger metric of the reported SSIM column of Table 1. :func:`protocol_scores` scores it on the main test set for the
FRLIE runs and the classical baselines (LIME is a Table 1 row) in score files of its own, so the suite's main
per-image CSVs keep their columns (a CSV's columns are fixed once written), and :func:`with_metrics` adds the column
to the suite rows. Table 1 compares the reported SSIM with ``ssim_frlie``; the other SSIM conventions (``ssim``:
MATLAB window per RGB channel, ``ssim_gray``: LLFlow's skimage 7x7 on OpenCV gray) are extra columns.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from llie_core.core.profiles import Profile
from llie_core.evaluation.suite import evaluate_suite, score_baselines

FRLIE_SSIM = "ssim_frlie"
TABLE1_METRICS = ("psnr", FRLIE_SSIM, "niqe", "ssim", "ssim_gray")   # compared columns first, then the extras
TABLE1_PROTOCOL = ("psnr (RGB, 8-bit); ssim_frlie = FRLIE's released evaluation script, skimage "
                   "structural_similarity(rgb2gray(gt), rgb2gray(pred), data_range=1, win_size=51) on the 8-bit "
                   "images as floats (the protocol of the reported SSIM column, compared with it); niqe (LIVE MATLAB "
                   "release); extra columns, not compared: ssim (MATLAB 11x11 Gaussian per RGB channel), ssim_gray "
                   "(LLFlow: skimage 7x7 uniform window on OpenCV gray); no GT-mean")
KEY = ["method", "dataset"]


def protocol_scores(runs: Iterable[Any], profile: Profile, baselines_dir: str | os.PathLike, dataset: str,
                    metrics: Sequence[str] = (FRLIE_SSIM,), baselines: bool = True) -> pd.DataFrame:
    """``method, dataset, status, <metrics>`` rows on ``dataset``: each run (a
    :class:`~llie_core.training.recipes.MethodRun`; duplicates by label scored once) in
    ``<run.scores_dir>/<first metric>/`` and, with ``baselines``, every classical baseline in
    ``<baselines_dir>/<first metric>/`` (:func:`~llie_core.evaluation.suite.score_baselines`; one whose weights are
    absent gets its ``not run`` row)."""
    tag = metrics[0]
    kwargs: dict[str, Any] = {"paired": [dataset], "unpaired": [], "paired_metrics": tuple(metrics)}
    unique = {run.label: run for run in runs}
    frames = [evaluate_suite(run.enhancer(), profile, Path(run.scores_dir) / tag, **kwargs) for run in unique.values()]
    if baselines:
        frames.append(score_baselines(profile, Path(baselines_dir) / tag, **kwargs))
    if not frames:
        return pd.DataFrame(columns=[*KEY, "status", *metrics])
    frame = pd.concat(frames, ignore_index=True)
    for m in metrics:
        if m not in frame:
            frame[m] = float("nan")
    return frame[[*KEY, "status", *metrics]]


def with_metrics(measured: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """``measured`` (suite rows) with the metric columns of ``extra`` joined on ``method, dataset`` (rows without a
    match get NaN; an existing column of the same name is replaced). The row order and count of ``measured`` are
    kept."""
    columns = [c for c in extra.columns if c not in (*KEY, "status")]
    if extra.duplicated(KEY).any():
        raise ValueError(f"extra scores repeat (method, dataset) pairs: {extra[extra.duplicated(KEY)][KEY].values.tolist()}")
    out = measured.drop(columns=[c for c in columns if c in measured]).merge(extra[[*KEY, *columns]], on=KEY,
                                                                              how="left", sort=False)
    if len(out) != len(measured):
        raise AssertionError("a left join on unique keys cannot change the row count")
    return out


__all__ = ["FRLIE_SSIM", "TABLE1_METRICS", "TABLE1_PROTOCOL", "protocol_scores", "with_metrics"]
