"""Train-and-score studies shared by the method notebooks: the main run, ablations at equal budget, one table,
seed replicas.

An ablation table compares variants trained with the *same* budget. In the CPU profiles the variants get
``train.ablation_budget_scale`` of the main budget, so the full model is retrained at that budget too (run tag
``ablation_budget``) and the table's reference row is that run, never the longer main run.

Ablations are scored on one paired test set (:func:`main_paired_set`: LOL v1 when present, else the embedded
set); the main runs on every set of the profile (:func:`llie_core.evaluation.suite.evaluate_suite`).

Seed replicas (:func:`seed_replicas`) retrain the main config with every seed of ``train.seeds`` other than the
profile's ``seed`` (runs ``<method>[seed<N>]``) and score them like the main run; ``paper_tables`` reports the
mean and standard deviation over the main run and its replicas.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from data_prep.datasets import resolve_paired
from data_prep.settings import DataSettings
from data_prep.validate import DatasetError
from llie_core.core.profiles import Profile
from llie_core.evaluation.loop import Enhancer
from llie_core.evaluation.suite import PAIRED_METRICS, evaluate_suite
from llie_core.training.recipes import MethodRun, TrainingData, train_method

ABLATION_TAG = "ablation_budget"
FULL_MODEL = None  # the variant key of the full model in an ablation study


def main_paired_set(data: DataSettings, preferred: str = "lol_v1") -> str:
    """``preferred`` when its test split is on disk and listed in ``data.eval_paired`` (``data``: a profile's
    :class:`~data_prep.settings.DataSettings`), else ``synthetic``."""

    if preferred in data.eval_paired:
        try:
            resolve_paired(preferred, data, "test")
            return preferred
        except (DatasetError, FileNotFoundError):
            pass
    return "synthetic"


def ablation_scale(profile: Profile) -> float:
    """The fraction of the main budget that ablation variants train with (``train.ablation_budget_scale``)."""
    return float(profile.train.ablation_budget_scale)


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


def ablation_study(method: str, profile: Profile, runs_dir: str | os.PathLike,
                   variants: Sequence[str | None], data: TrainingData, *,
                   dataset: str | None = None, metrics: Sequence[str] = PAIRED_METRICS,
                   budget_scale: float | None = None) -> AblationStudy:
    """Train ``variants`` of ``method`` (``None`` = the full model, labelled ``<method>[ablation_budget]``; at
    scale 1 it is the main run itself, not retrained) at ``budget_scale`` (default: the profile's ablation scale)
    and score each on ``dataset``.

    Runs resume from their checkpoints and scores from their CSVs, so re-running a notebook is cheap.
    """
    scale = ablation_scale(profile) if budget_scale is None else float(budget_scale)
    dataset = dataset or main_paired_set(profile.data)
    runs: dict[str | None, MethodRun] = {}
    for variant in variants:
        retrain = variant is FULL_MODEL and scale != 1.0  # at scale 1 the main run *is* the reference
        run = train_method(method, profile, runs_dir, variant=variant, data=data, budget_scale=scale,
                           tag=ABLATION_TAG if retrain else None)
        runs[variant] = replace(run, tag=ABLATION_TAG) if variant is FULL_MODEL else run
    scores = evaluate_runs(list(runs.values()), profile, paired=[dataset], unpaired=[], paired_metrics=metrics)
    return AblationStudy(method, dataset, scale, runs, scores)


def evaluate_runs(runs: Sequence[MethodRun], profile: Profile, *,
                  enhancer: Callable[[MethodRun], Enhancer] = MethodRun.enhancer, **kwargs: Any) -> pd.DataFrame:
    """:func:`evaluate_suite` of ``enhancer(run)`` for every run (default ``run.enhancer()``; its name must be the
    run label), concatenated. Per-image scores are cached under ``run_dir/scores/<weights fingerprint>/``, so
    retrained weights are re-scored and unchanged ones are not."""
    frames = [evaluate_suite(enhancer(run), profile, run.scores_dir, **kwargs) for run in runs]
    return pd.concat(frames, ignore_index=True)


def replica_seeds(profile: Profile) -> list[int]:
    """The seeds of ``train.seeds`` except the profile's ``seed`` (that one is the main run), in order."""
    main = int(profile.seed)
    seeds = dict.fromkeys(int(s) for s in profile.train.seeds)
    return [s for s in seeds if s != main]


@dataclass
class SeedReplicas:
    """Replicas of a method's main run, one per extra seed, and their scores."""

    method: str
    runs: dict[int, MethodRun]  # seed -> run labelled ``<method>[seed<N>]``
    scores: pd.DataFrame  # evaluate_suite rows (method column = run label)


def seed_replicas(method: str, profile: Profile, runs_dir: str | os.PathLike, data: TrainingData, *,
                  seeds: Sequence[int] | None = None, budget_scale: float = 1.0,
                  enhancer: Callable[[MethodRun], Enhancer] = MethodRun.enhancer, **eval_kwargs: Any
                  ) -> SeedReplicas:
    """Train the main config of ``method`` once per seed of ``seeds`` (default :func:`replica_seeds`: none in a
    profile with one seed) and score each run as the main run is scored: :func:`evaluate_runs` with ``enhancer``
    and ``eval_kwargs`` (``paired``, ``unpaired``, ``paired_metrics``; default every test set of the profile).

    Runs resume and scores are cached, so re-running is cheap. Add ``.scores`` to ``<method>_scores.csv`` next to
    the main run's rows: ``paper_tables`` then reports mean and standard deviation over the seeds.
    """
    seeds = replica_seeds(profile) if seeds is None else [int(s) for s in seeds]
    runs = {s: train_method(method, profile, runs_dir, data=data, budget_scale=budget_scale, seed=s) for s in seeds}
    if not runs:
        return SeedReplicas(method, {}, pd.DataFrame(columns=["method", "dataset", "kind", "images", "status"]))
    return SeedReplicas(method, runs, evaluate_runs(list(runs.values()), profile, enhancer=enhancer, **eval_kwargs))


def scores_path(results: str | os.PathLike, method: str) -> Path:
    """``tables/<method>_scores.csv``: every evaluate_suite row a method notebook produced (read by 90_tables)."""
    return Path(results) / "tables" / f"{method}_scores.csv"
