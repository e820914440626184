"""Train-and-score studies shared by the method notebooks: the main run, ablations at equal budget, one table.

An ablation table compares variants trained with the *same* budget. In the CPU profiles the variants get
``train.ablation_budget_scale`` of the main budget, so the full model is retrained at that budget too (run tag
``ablation_budget``) and the table's reference row is that run, never the longer main run.

Ablations are scored on one paired test set (:func:`main_paired_set`: LOL v1 when present, else the embedded
set); the main runs on every set of the profile (:func:`llie_core.eval_suite.evaluate_suite`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .eval_suite import PAIRED_METRICS, evaluate_suite
from .recipes import MethodRun, TrainingData, train_method

ABLATION_TAG = "ablation_budget"
FULL_MODEL = None  # the variant key of the full model in an ablation study


def main_paired_set(profile: Mapping[str, Any], preferred: str = "lol_v1") -> str:
    """``preferred`` when its test split is on disk and listed in ``data.eval_paired``, else ``synthetic``."""
    from data_prep.datasets import resolve_paired
    from data_prep.validate import DatasetError

    if preferred in profile["data"].get("eval_paired", []):
        try:
            resolve_paired(preferred, dict(profile), "test")
            return preferred
        except (DatasetError, FileNotFoundError):
            pass
    return "synthetic"


def ablation_scale(profile: Mapping[str, Any]) -> float:
    """The fraction of the main budget that ablation variants train with (``train.ablation_budget_scale``)."""
    return float(profile.get("train", {}).get("ablation_budget_scale", 1.0))


@dataclass
class AblationStudy:
    """Runs of one method's ablation variants (all at ``budget_scale``) and their scores on ``dataset``."""

    method: str
    dataset: str
    budget_scale: float
    runs: dict[str | None, MethodRun]
    scores: pd.DataFrame  # evaluate_suite rows, one per run (method column = run label)

    def table(self, labels: Mapping[str | None, str], metrics: Sequence[str]) -> pd.DataFrame:
        """``row, variant, run, iterations, <metrics>`` in the order of ``labels`` ({variant: row name})."""
        rows = []
        for variant, row_name in labels.items():
            run = self.runs[variant]
            score = self.scores[self.scores["method"] == run.label].iloc[0]
            rows.append({"row": row_name, "variant": variant or "full", "run": run.label,
                         "iterations": iterations_done(run), **{m: score.get(m) for m in metrics}})
        return pd.DataFrame(rows)


def iterations_done(run: MethodRun) -> int:
    """Training iterations summed over the run's trained stages (official-weight stages count 0)."""
    return int(sum(getattr(res, "iterations_done", 0) for res in run.stages.values()))


def ablation_study(method: str, profile: Mapping[str, Any], runs_dir: str | os.PathLike,
                   variants: Sequence[str | None], data: TrainingData, *,
                   dataset: str | None = None, metrics: Sequence[str] = PAIRED_METRICS,
                   budget_scale: float | None = None) -> AblationStudy:
    """Train ``variants`` of ``method`` (``None`` = the full model, labelled ``<method>[ablation_budget]``; at
    scale 1 it is the main run itself, not retrained) at ``budget_scale`` (default: the profile's ablation scale) and score each on ``dataset``.

    Runs resume from their checkpoints and scores from their CSVs, so re-running a notebook is cheap.
    """
    scale = ablation_scale(profile) if budget_scale is None else float(budget_scale)
    dataset = dataset or main_paired_set(profile)
    runs: dict[str | None, MethodRun] = {}
    for variant in variants:
        retrain = variant is FULL_MODEL and scale != 1.0  # at scale 1 the main run *is* the reference
        run = train_method(method, profile, runs_dir, variant=variant, data=data, budget_scale=scale,
                           tag=ABLATION_TAG if retrain else None)
        runs[variant] = replace(run, tag=ABLATION_TAG) if variant is FULL_MODEL else run
    scores = evaluate_runs(list(runs.values()), profile, paired=[dataset], unpaired=[], paired_metrics=metrics)
    return AblationStudy(method, dataset, scale, runs, scores)


def evaluate_runs(runs: Sequence[MethodRun], profile: Mapping[str, Any], **kwargs: Any) -> pd.DataFrame:
    """:func:`evaluate_suite` of every run, concatenated. Per-image scores are cached under
    ``run_dir/scores/<weights fingerprint>/``, so retrained weights are re-scored and unchanged ones are not."""
    frames = [evaluate_suite(run.enhancer(), profile, run.scores_dir, **kwargs) for run in runs]
    return pd.concat(frames, ignore_index=True)


def scores_path(results: str | os.PathLike, method: str) -> Path:
    """``tables/<method>_scores.csv``: every evaluate_suite row a method notebook produced (read by 90_tables)."""
    return Path(results) / "tables" / f"{method}_scores.csv"
