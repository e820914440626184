"""The papers' claims and a verdict on each for one run of the workbook.

``results/paper/claims.csv`` (next to, not inside, the ledger directory ``results/paper/reported/``: the ledger
reads every CSV there as a table of reported numbers) holds one row per comparison the five documents assert:
``claim_id, paper, source, claim, dataset, metric, direction, better, worse, reported_metric, reported_better,
reported_worse``. ``better`` / ``worse`` are run labels of this workbook: ``<method>`` (a method's main run),
``<method>[<variant>]`` (an ablation variant), ``<method>[ablation_budget]`` (the full model retrained at the
ablation budget; at ablation scale 1 the main run scored under that label) or a baseline (``zero_dce``, ``lime``,
``he``, ``clahe``, ``input``). An ablation claim always compares the variant with ``<method>[ablation_budget]``
(equal training budgets), never with the longer main run; a method-vs-method claim compares main runs.
``reported_*`` are the document's numbers (transcribed in the ledger under ``reported_metric``; empty where the
document states the claim in words only).

Protocol of a verdict (:func:`evaluate_claims`):

1. Per-image scores of each side are read from
   ``results/<profile>/runs/*/scores/<weights hash>/<label>/<dataset>.csv`` (trained runs; the newest weights hash
   when a run was retrained) or ``results/<profile>/scores/<label>/<dataset>.csv`` (baselines); the ``mean``
   summary row and skipped images are dropped. Seed replicas (the label plus a ``seed<N>`` tag) are averaged per
   image with the run first, so the statistic is over images of the seed-averaged model (``seeds_*`` count the
   runs averaged).
2. Paired difference per common test image, signed so that positive favours the claim: ``better - worse`` for a
   higher-is-better metric, ``worse - better`` for a lower-is-better one.
3. ``mean_diff`` and its 95% confidence interval from a paired bootstrap over images
   (``scipy.stats.bootstrap`` on the per-image differences, BCa, 10,000 resamples, seed 0; percentile when BCa
   is undefined; a zero-width interval when every difference is equal).
4. Verdict: ``holds`` (CI entirely above 0), ``reversed`` (CI entirely below 0), ``inconclusive`` (CI contains 0,
   or fewer than 2 common images), ``not run`` (a side's scores are missing; ``note`` names the side).
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from llie_core.core.methods import display_name
from llie_core.evaluation.loop import MEAN_ROW
from llie_core.report.compare import SEED_TAG, parse_label
from llie_core.report.ledger import DIRECTIONS, PAPERS

CLAIMS_PATH: Path = Path(__file__).resolve().parents[2] / "results" / "paper" / "claims.csv"
CLAIM_COLUMNS: tuple[str, ...] = ("claim_id", "paper", "source", "claim", "dataset", "metric", "direction",
                                  "better", "worse", "reported_metric", "reported_better", "reported_worse")
VERDICTS: tuple[str, ...] = ("holds", "reversed", "inconclusive", "not run")
N_RESAMPLES = 10_000
CONFIDENCE = 0.95
SEED = 0
BOOTSTRAP_METHOD = "BCa"
RESULT_COLUMNS: tuple[str, ...] = ("n", "seeds_better", "seeds_worse", "mean_better", "mean_worse", "mean_diff",
                                   "ci_low", "ci_high", "verdict", "note")
METHOD_TEXT = (
    "Each claim compares two runs of this profile on the claim's test set and metric. Per-image scores of both "
    "sides are paired over their common test images (seed replicas averaged per image first). The difference is "
    "signed so that a positive value favours the paper's claim (better - worse for higher-is-better metrics, "
    "worse - better for lower-is-better ones). `mean diff` is its mean over the n images; the 95% CI is a paired "
    f"bootstrap over images (scipy.stats.bootstrap, {BOOTSTRAP_METHOD}, {N_RESAMPLES:,} resamples, seed {SEED}). "
    "Verdict: **holds** = CI entirely above 0; **reversed** = CI entirely below 0; **inconclusive** = CI contains "
    "0; **not run** = a side has no scores in this profile. Ablation claims compare each variant with the full "
    "model retrained at the same (ablation) budget (`<method>[ablation_budget]`), not with the main run. The CI "
    "covers test-image sampling (and seed averaging where there are replicas), not training noise of a single "
    "seed: with one seed a 'holds' says the two trained models differ on these images, not that the component "
    "helps in general.")


def load_claims(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The claims table (validated: columns, unique ids, known papers and directions, numeric reported values)."""
    path = Path(path) if path else CLAIMS_PATH
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if tuple(frame.columns) != CLAIM_COLUMNS:
        raise ValueError(f"{path}: columns {list(frame.columns)} != {list(CLAIM_COLUMNS)}")
    if not frame["claim_id"].is_unique:
        raise ValueError(f"{path}: duplicate claim_id {sorted(frame.loc[frame['claim_id'].duplicated(), 'claim_id'])}")
    bad = frame[~frame["paper"].isin(PAPERS) | ~frame["direction"].isin(DIRECTIONS)]
    if len(bad):
        raise ValueError(f"{path}: claim {bad['claim_id'].iloc[0]!r} has an unknown paper or direction")
    for column in ("reported_better", "reported_worse"):
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan), errors="raise")
    return frame


# ------------------------------------------------------------------------------------------------ scores
def _newest(paths: Iterable[Path]) -> Path | None:
    paths = list(paths)
    return max(paths, key=lambda p: p.stat().st_mtime) if paths else None


def score_files(results_dir: str | os.PathLike, label: str, dataset: str) -> list[Path]:
    """The per-image score files of ``label`` (and of its seed replicas) on ``dataset`` under ``results_dir``
    (``results/<profile>``): one file per run (the newest weights hash of each run directory)."""
    root = Path(results_dir)
    baseline = root / "scores" / label / f"{dataset}.csv"
    if baseline.is_file():
        return [baseline]
    wanted = parse_label(label)
    found: list[Path] = []
    for run_dir in sorted((root / "runs").glob("*/")):
        by_label: dict[str, list[Path]] = {}
        for csv in run_dir.glob(f"scores/*/*/{dataset}.csv"):
            by_label.setdefault(csv.parent.name, []).append(csv)
        for name, paths in sorted(by_label.items()):
            try:
                parsed = parse_label(name)
            except ValueError:
                continue
            extra = [t for t in parsed.tags if not SEED_TAG.match(t)]
            if (parsed.method, parsed.variant, tuple(extra)) == (wanted.method, wanted.variant, wanted.tags):
                found.append(_newest(paths))
    return found


def _read_scores(path: Path, metric: str) -> pd.Series | None:
    """Finite per-image values of ``metric`` in one score file (the ``mean`` row and skipped images dropped)."""
    frame = pd.read_csv(path, dtype={"image": str}, keep_default_na=False, na_values=[""])
    frame = frame[frame["image"] != MEAN_ROW]  # the summary row evaluate() appends
    if metric not in frame.columns:
        return None
    if "skipped" in frame.columns:
        frame = frame[frame["skipped"].isna() | (frame["skipped"].astype(str).str.strip() == "")]
    values = pd.to_numeric(frame[metric], errors="coerce")
    return pd.Series(values.to_numpy(), index=frame["image"].astype(str)).dropna()


def per_image_scores(results_dir: str | os.PathLike, label: str, dataset: str, metric: str
                     ) -> tuple[pd.Series, int]:
    """``(scores indexed by image, number of runs averaged)`` of ``label``; per image mean over seed replicas.
    Rows marked ``skipped`` or without a finite value are dropped; an empty Series when nothing was scored."""
    series = [s for s in (_read_scores(p, metric) for p in score_files(results_dir, label, dataset))
              if s is not None]
    if not series:
        return pd.Series(dtype=float), 0
    joined = pd.concat(series, axis=1, join="inner")
    return joined.mean(axis=1), len(series)


# ------------------------------------------------------------------------------------------------ statistics
def bootstrap_ci(values: Iterable[float], confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> tuple[float, float]:
    """95% (``confidence``) bootstrap CI of the mean of ``values`` (BCa, percentile where BCa is undefined);
    ``(v, v)`` when every value equals ``v``; ``(nan, nan)`` for fewer than 2 values."""
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


def mean_ci(values: Iterable[float], **kwargs) -> dict[str, float]:
    """``{'n', 'mean', 'ci_low', 'ci_high'}`` of the finite ``values`` (95% bootstrap CI, see :func:`bootstrap_ci`)."""
    data = np.asarray(list(values), dtype=float)
    data = data[np.isfinite(data)]
    low, high = bootstrap_ci(data, **kwargs)
    return {"n": int(data.size), "mean": float(data.mean()) if data.size else math.nan, "ci_low": low,
            "ci_high": high}


def score_summary(results_dir: str | os.PathLike, label: str, dataset: str, metrics: Iterable[str]
                  ) -> pd.DataFrame:
    """Mean with n and 95% bootstrap CI of ``label`` on ``dataset`` per metric (issue item 3): one row per metric,
    ``label, dataset, metric, n, mean, ci_low, ci_high, seeds, std_over_seeds``. The mean and CI are over images of
    the per-image seed average (as in :func:`evaluate_claims`); ``std_over_seeds`` is the standard deviation of the
    per-seed means over the common images (NaN with one seed)."""
    rows = []
    for metric in metrics:
        per_seed = []
        for path in score_files(results_dir, label, dataset):
            single = _read_scores(path, metric)
            if single is not None:
                per_seed.append(single)
        joined = pd.concat(per_seed, axis=1, join="inner") if per_seed else pd.DataFrame()
        stats_ = mean_ci(joined.mean(axis=1).to_numpy() if len(per_seed) else [])
        std = float(joined.mean(axis=0).std(ddof=1)) if len(per_seed) > 1 else math.nan
        rows.append({"label": label, "dataset": dataset, "metric": metric, **stats_, "seeds": len(per_seed),
                     "std_over_seeds": std})
    return pd.DataFrame(rows, columns=["label", "dataset", "metric", "n", "mean", "ci_low", "ci_high", "seeds",
                                       "std_over_seeds"])


def verdict(ci_low: float, ci_high: float) -> str:
    """``holds`` / ``reversed`` / ``inconclusive`` from the CI of a claim-signed difference."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive"
    if ci_low > 0:
        return "holds"
    if ci_high < 0:
        return "reversed"
    return "inconclusive"


def compare_paired(better: pd.Series, worse: pd.Series, direction: str) -> dict[str, float | int | str]:
    """Paired statistics of two per-image score Series (indexed by image) for a claim that ``better`` beats
    ``worse`` in ``direction``: ``n, mean_better, mean_worse, mean_diff, ci_low, ci_high, verdict``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} not in {DIRECTIONS}")
    common = better.index.intersection(worse.index)
    b, w = better.loc[common].astype(float), worse.loc[common].astype(float)
    diff = (b - w) if direction == "higher" else (w - b)
    stats_ = mean_ci(diff.to_numpy())
    return {"n": stats_["n"], "mean_better": float(b.mean()) if len(b) else math.nan,
            "mean_worse": float(w.mean()) if len(w) else math.nan, "mean_diff": stats_["mean"],
            "ci_low": stats_["ci_low"], "ci_high": stats_["ci_high"],
            "verdict": verdict(stats_["ci_low"], stats_["ci_high"])}


def evaluate_claims(results_dir: str | os.PathLike, profile: str | None = None,
                    claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim: the claim's columns plus ``profile`` and :data:`RESULT_COLUMNS` (see the module
    docstring for the protocol). ``results_dir`` is ``results/<profile>`` (or ``results`` with ``profile``)."""
    root = Path(results_dir)
    if profile and root.name != profile and (root / profile).is_dir():
        root = root / profile
    claims = load_claims() if claims is None else claims
    rows = []
    for claim in claims.to_dict("records"):
        sides = {}
        for side in ("better", "worse"):
            sides[side] = per_image_scores(root, claim[side], claim["dataset"], claim["metric"])
        missing = [f"{side} side `{claim[side]}`" for side, (s, _) in sides.items() if s.empty]
        row = {**claim, "profile": profile or root.name, "seeds_better": sides["better"][1],
               "seeds_worse": sides["worse"][1]}
        if missing:
            row.update(n=0, mean_better=math.nan, mean_worse=math.nan, mean_diff=math.nan, ci_low=math.nan,
                       ci_high=math.nan, verdict="not run",
                       note="no per-image scores for the " + " and ".join(missing) + f" on {claim['dataset']}")
        else:
            result = compare_paired(sides["better"][0], sides["worse"][0], claim["direction"])
            note = "" if result["n"] >= 2 else "fewer than 2 common test images"
            row.update(result, note=note)
        rows.append(row)
    columns = [*CLAIM_COLUMNS, "profile", *RESULT_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------------------------ markdown
def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(float(value)) else f"{float(value):.{digits}f}"


def _label(label: str) -> str:
    """``jcrnet[wo_fes]`` -> ``JCRNet wo_fes``; ``iclr[ablation_budget]`` -> ``ICLR (ablation budget)``."""
    try:
        run = parse_label(label)
    except ValueError:
        return label
    base = f"{run.method}[{run.variant}]" if run.variant else run.method
    name = display_name(base)
    if name == base and run.variant:
        name = f"{display_name(run.method)} {run.variant}"
    tags = [t.replace("_", " ") for t in run.tags]
    return f"{name} ({', '.join(tags)})" if tags else name


def _reported(row: pd.Series) -> str:
    if not math.isfinite(row["reported_better"]) or not math.isfinite(row["reported_worse"]):
        return "stated in words (no numbers)"
    return f"{_fmt(row['reported_better'])} vs {_fmt(row['reported_worse'])} ({row['reported_metric']})"


def _measured(row: pd.Series) -> str:
    if row["verdict"] == "not run":
        return row["note"]
    seeds = max(int(row["seeds_better"]), int(row["seeds_worse"]))
    seed_text = f", {seeds} seeds" if seeds > 1 else ""
    return (f"{_fmt(row['mean_better'])} vs {_fmt(row['mean_worse'])}; diff {_fmt(row['mean_diff'])} "
            f"[{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}], n={int(row['n'])}{seed_text}")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_table_markdown(frame: pd.DataFrame) -> str:
    """The Markdown table of :func:`evaluate_claims` rows (claim, source, reported, measured, verdict)."""
    lines = ["| claim | source | metric (dataset) | better vs worse | reported | this run: mean vs mean; "
             "diff [95% CI], n | verdict |", "|---|---|---|---|---|---|---|"]
    for _, row in frame.iterrows():
        sides = f"{_label(row['better'])} vs {_label(row['worse'])}"
        lines.append("| " + " | ".join(_cell(c) for c in (
            row["claim"], row["source"], f"{row['metric']} ({row['dataset']}, {row['direction']} is better)",
            sides, _reported(row), _measured(row), f"**{row['verdict']}**")) + " |")
    return "\n".join(lines) + "\n"


def verdict_counts(frame: pd.DataFrame) -> str:
    counts = frame["verdict"].value_counts()
    return ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS)


def claims_markdown(frame: pd.DataFrame) -> str:
    """``CLAIMS.md``: a header explaining the method, then one table row per claim, grouped by paper."""
    profile = frame["profile"].iloc[0] if len(frame) else ""
    parts = [f"# Do the papers' claims hold? (profile `{profile}`)\n",
             f"{len(frame)} claims transcribed from the five documents (`results/paper/claims.csv`): "
             f"{verdict_counts(frame)}.\n", METHOD_TEXT + "\n"]
    for paper, group in frame.groupby("paper", sort=False):
        parts.append(f"## {_label(paper)}\n")
        parts.append(claims_table_markdown(group))
    return "\n".join(parts)


def run_summary_markdown(frame: pd.DataFrame, paper: str) -> str:
    """The "What this run shows" section of one paper's notebook, generated from :func:`evaluate_claims`."""
    rows = frame[frame["paper"] == paper]
    head = "## What this run shows\n\n"
    if rows.empty:
        return head + f"No claims of {_label(paper)} are transcribed.\n"
    lines = [head + f"{len(rows)} claims of {_label(paper)}: {verdict_counts(rows)} "
             "(paired bootstrap over test images; see `CLAIMS.md` for the method).\n"]
    for _, row in rows.iterrows():
        if row["verdict"] == "not run":
            lines.append(f"- *not run*: {row['claim']} ({row['note']}).")
            continue
        lines.append(f"- **{row['verdict']}**: {row['claim']} ({row['metric']} on {row['dataset']}: "
                     f"{_label(row['better'])} {_fmt(row['mean_better'])} vs {_label(row['worse'])} "
                     f"{_fmt(row['mean_worse'])}; difference in the claimed direction {_fmt(row['mean_diff'])}, "
                     f"95% CI [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}], n={int(row['n'])}; "
                     f"reported: {_reported(row)}.)")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ scores index
def scores_index(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Every per-image score file under ``results_dir`` (``results/<profile>``), one row each: ``label`` (run or
    baseline), ``dataset``, ``images`` (per-image rows, the ``mean`` row left out), ``metrics`` and ``file``
    (relative to ``results_dir``); the newest weights hash of each run only (older ones are stale scores)."""
    root = Path(results_dir)
    files = sorted(root.glob("scores/*/*.csv"))
    for run_dir in sorted((root / "runs").glob("*/")):
        newest: dict[tuple[str, str], Path] = {}
        for csv in run_dir.glob("scores/*/*/*.csv"):
            key = (csv.parent.name, csv.stem)
            if key not in newest or csv.stat().st_mtime > newest[key].stat().st_mtime:
                newest[key] = csv
        files += [newest[k] for k in sorted(newest)]
    rows = []
    for csv in files:
        frame = pd.read_csv(csv)
        if "image" not in frame:
            continue
        images = frame[frame["image"].astype(str) != MEAN_ROW]
        metrics = [c for c in frame.columns if c not in ("image", "height", "width", "seconds", "skipped", "images")]
        rows.append({"label": csv.parent.name, "dataset": csv.stem, "images": len(images),
                     "metrics": ", ".join(metrics), "file": csv.relative_to(root).as_posix()})
    return pd.DataFrame(rows, columns=["label", "dataset", "images", "metrics", "file"])


def scores_index_markdown(index: pd.DataFrame, profile: str) -> str:
    """``scores/INDEX.md``: where the per-image scores of every run and baseline are, with their image counts."""
    head = (f"# Per-image scores ({profile})\n\nOne CSV per (run or baseline, test set): a row per image and a final "
            "`mean` row (NaN kept: a metric undefined on an image makes its mean NaN). Paths are relative to "
            f"`results/{profile}/`. Written by `90_tables`.\n\n")
    return head + (index.to_markdown(index=False) if len(index) else "No score files.") + "\n"
