"""Every registered table: reproduced values of a profile next to the reported ones, with deltas and reasons.

Reported values come from the ledger (:func:`llie_core.report.ledger.load_reported`). Reproduced values come from

1. the method notebook's own table (``<method>_table<N>.csv``, long format ``method, dataset, source, <metrics>``
   with ``source = 'reproduced (<profile>)'`` rows; the wide ``method, source, <datasets>`` layout of a
   one-metric table and protocol grids with ``gt_mean`` / ``ssim_convention`` / ``released_protocol`` columns
   are read too): the notebook chose which run stands for which row of the paper;
2. otherwise the evaluation rows of every notebook (``<method>_scores.csv``, ``baselines.csv``), matched to the
   ledger's method names through :func:`llie_core.core.methods.display_name` and the configs' ``ledger_method``.

A ledger cell without a reproduction gets the reason: the table or dataset is not run in this profile (the
``status`` of the scores rows says why), the method is not implemented, the method table's own ``not run`` row
for it (e.g. a variant outside the profile's budget), a config variant no run of the profile trained, the metric
is not measured, or the notebook did not produce the row. ``delta = reproduced - reported`` wherever both exist;
reproduced values are means over seeds (``seeds`` counts them, ``reproduced_std`` is their standard deviation).

Every reproduced value that is a mean over test images carries ``n`` (images) and its 95% bootstrap confidence
interval ``ci95_low`` / ``ci95_high`` (:func:`llie_core.evaluation.suite.bootstrap_ci`, the one implementation:
``scipy.stats.bootstrap``, BCa, 10,000 resamples, seed 0), computed from the per-image score files
(:func:`score_files`; seed replicas averaged per image first, as in :func:`score_summary`). A CI is attached only
where the per-image scores of the run standing for the cell reproduce the cell's value (:func:`per_image_ci`);
other cells (parameters, MACs, FPS, values of another protocol without per-image files) have no ``n`` and no CI
(empty in the CSV, ``-`` in the Markdown and LaTeX files): never an interval of numbers the cell does not average.
The Markdown and LaTeX files show long reasons shortened (:func:`short_reason`); the CSV keeps them whole.

:func:`cross_method_table` is the workbook's own table: every method's main run and every baseline under one
protocol on every test set of the profile, mean and standard deviation over seeds (diagnostic runs such as the
IRLE pseudo ground truth, :data:`DIAGNOSTIC_RUNS`, are not methods and are left out).
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from data_prep.catalogue import DATASETS
from data_prep.settings import DataSettings
from llie_core.core.methods import BASELINES, METHOD_ORDER, display_name
from llie_core.core.profiles import Profile
from llie_core.core.provenance import atomic_write_bytes
from llie_core.evaluation.loop import MEAN_ROW
from llie_core.evaluation.suite import CI_HIGH, CI_LOW, mean_ci
from llie_core.metrics import list_metrics
from llie_core.report.artifacts import Artifact, state
from llie_core.report.ledger import expected_direction, load_reported
from llie_core.report.method_tables import short_status
from llie_core.training.recipes import available_methods, config_path
from llie_core.training.studies import ABLATION_TAG

REPORTED, REPRODUCED = "reported", "reproduced"
REPRODUCED_SOURCES = (REPRODUCED, "measured")  # ``source`` prefixes of rows this workbook computed
# method-table column names that mean a ledger metric (JCRNet Table VII style: its "FLOPs (G)" are G multiply-adds,
# so the measured G MACs column is compared with them, never GFLOPs = 2 x MACs)
COLUMN_ALIASES: dict[str, str] = {"params_M": "params_m", "GMACs": "flops_g"}
SEED_TAG = re.compile(r"^seed(\d+)$")
# ledger metrics whose protocol the document leaves open -> the variant this workbook measures for them
METRIC_ALIASES: dict[str, str] = {"lpips": "lpips_alex"}
NOT_METRICS = frozenset({"method", "dataset", "source", "kind", "images", "status", "seconds_per_image", "row",
                         "variant", "run", "iterations", "seed", "better", "baseline", "metric", "image",
                         "height", "width", "seconds", "skipped", "stage", "stopped", "best_iteration"})
METRIC_HINTS: dict[str, str] = {"sod_": "needs a salient-object detector and the SOD sets",
                                "fps": "frames per second are measured by the method notebook only",
                                "psnr_gtmean_delta": "a difference of two rows; the method notebook derives it"}
CROSS_METRICS: tuple[str, ...] = ("psnr", "ssim", "lpips_alex", "psnr_gtmean", "ssim_gtmean", "lpips_alex_gtmean",
                                  "niqe")
# scores rows of diagnostic runs: not methods, so never rows of the cross-method table (the method notebooks show them)
DIAGNOSTIC_RUNS: dict[str, str] = {"irle_pseudo_gt": "IRLE's local exposure-simulated pseudo ground truth scored as "
                                                     "an output (a training target of IRLE, not a method)"}
EVAL_PROTOCOL = ("evaluate_suite protocol: 8-bit outputs; psnr (RGB), ssim (MATLAB 11x11 Gaussian per RGB channel), "
                 "lpips_alex (AlexNet, inputs in [-1, 1]); *_gtmean = after the GT-mean rescaling; niqe (LIVE "
                 "MATLAB release; no-reference: on every test set, paired ones included); test images cropped as the "
                 "profile says")
COMPARISON_COLUMNS = ("method", "run", "dataset", "metric", "direction", "reported", "reproduced", CI_LOW, CI_HIGH,
                      "n", "reproduced_std", "seeds", "delta", "status", "origin")
CI_DISPLAY = "ci95"  # the Markdown / LaTeX column "[ci95_low, ci95_high]" (format_comparison)
# a CI belongs to a cell when the per-image mean equals the cell's value to these tolerances (tables keep >= 4 places)
MATCH_REL, MATCH_ABS = 1e-6, 5e-5
MEASURED_OTHER_PROTOCOL = "measured, protocol differs"  # a cell measured on other test data or another protocol
# the test data of a paper that this workbook's test sets only approximate (dataset -> what the paper used)
PAPER_TEST_DATA: dict[tuple[str, str], str] = {
    ("jcrnet", "lol_v1"): "JCRNet tests the 100 LOL pairs left out of its training set, resized to 384x384; here LOL "
                          "eval15 (15 pairs) at full size",
    ("*", "fivek"): "the papers test on MIT-Adobe FiveK's 500-image test split (expert C); here the pairs under the "
                    "data root (the CI sample has 8)",
}


# ------------------------------------------------------------------------------------------------ run labels
@dataclass(frozen=True)
class RunLabel:
    """A run label of the recipes (``method``, ``method[variant]``, ``method[variant,tag]``, ``method[tag]``)."""

    method: str
    variant: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def seed(self) -> int | None:
        found = [int(m.group(1)) for t in self.tags if (m := SEED_TAG.match(t))]
        return found[0] if found else None

    @property
    def base(self) -> str:
        """The label without its seed tag (runs that differ only by seed share it)."""
        parts = [p for p in (self.variant, *self.tags) if p and not SEED_TAG.match(p)]
        return f"{self.method}[{','.join(parts)}]" if parts else self.method

    @property
    def is_main(self) -> bool:
        """The method's main run: no variant and no tag other than a seed."""
        return self.variant is None and all(SEED_TAG.match(t) for t in self.tags)


def parse_label(label: str) -> RunLabel:
    """``'jcrnet[wo_fes,ablation_budget]'`` -> ``RunLabel('jcrnet', 'wo_fes', ('ablation_budget',))``."""
    match = re.fullmatch(r"([^\[\]]+)(?:\[([^\[\]]*)\])?", label.strip())
    if not match:
        raise ValueError(f"run label {label!r} is not 'method' or 'method[variant,tag]'")
    parts = [p.strip() for p in (match.group(2) or "").split(",") if p.strip()]
    variant = parts[0] if parts and parts[0] != ABLATION_TAG and not SEED_TAG.match(parts[0]) else None
    tags = tuple(parts[1:] if variant else parts)
    return RunLabel(match.group(1), variant, tags)


@lru_cache(maxsize=64)  # the config files do not change while a notebook runs
def _raw_config(method: str, profile: str) -> dict[str, Any]:
    try:
        with open(config_path(method, profile), encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except FileNotFoundError:
        return {}


def ledger_names(label: str, profile: str) -> tuple[str, ...]:
    """The ledger method names a run label may stand for (config ``ledger_method`` first, then display names)."""
    run = parse_label(label)
    cfg = _raw_config(run.method, profile)
    names: list[str] = []
    if run.variant:
        variant_cfg = (cfg.get("variants") or {}).get(run.variant) or {}
        if variant_cfg.get("ledger_method"):
            names.append(variant_cfg["ledger_method"])
        names.append(display_name(f"{run.method}[{run.variant}]"))
    else:
        if cfg.get("ledger_method"):
            names.append(cfg["ledger_method"])
        names.append(display_name(run.method))
    return tuple(dict.fromkeys(names))


def name_labels(profile: str) -> dict[str, tuple[str, ...]]:
    """Every ledger method name some run of this workbook can stand for (methods, variants, baselines) -> the
    run labels (``method`` or ``method[variant]``) that stand for it."""
    labels = list(BASELINES)
    for method in available_methods():
        labels.append(method)
        labels += [f"{method}[{v}]" for v in (_raw_config(method, profile).get("variants") or {})]
    names: dict[str, tuple[str, ...]] = {}
    for label in labels:
        for name in ledger_names(label, profile):
            names[name] = (*names.get(name, ()), label)
    return names


def implemented_names(profile: str) -> frozenset[str]:
    """Every ledger method name some run of this workbook can stand for (methods, variants, baselines)."""
    return frozenset(name_labels(profile))


# ------------------------------------------------------------------------------------------------ loading
def load_scores(tables_dir: str | Path) -> pd.DataFrame:
    """``baselines.csv`` and every ``<method>_scores.csv`` of ``tables_dir``, one row per (run label, dataset)
    (the first file wins on duplicates: baselines, then method files by name). Adds ``file``; empty when none."""
    tables_dir = Path(tables_dir)
    files = [tables_dir / "baselines.csv"] + sorted(tables_dir.glob("*_scores.csv"))
    frames = [pd.read_csv(f).assign(file=f.name) for f in files if f.is_file() and f.stat().st_size > 0]
    if not frames:
        return pd.DataFrame(columns=["method", "dataset", "kind", "images", "status", "file"])
    scores = pd.concat(frames, ignore_index=True)
    return scores.drop_duplicates(["method", "dataset"], keep="first").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ per-image scores
def _newest(paths: Iterable[Path]) -> Path | None:
    paths = list(paths)
    return max(paths, key=lambda p: p.stat().st_mtime) if paths else None


def score_files(results_dir: str | os.PathLike, label: str, dataset: str, protocol: str | None = None) -> list[Path]:
    """The per-image score files of ``label`` (and of its seed replicas) on ``dataset`` under ``results_dir``
    (``results/<profile>``): ``scores/<label>/<dataset>.csv`` (baselines) or one file per run directory
    ``runs/*/scores/<weights hash>/<label>/<dataset>.csv`` (the newest weights hash of each). ``protocol``: the
    folder of a metric scored apart under its own protocol (``ssim_frlie``: ``scores/ssim_frlie/<label>/...``,
    ``runs/*/scores/<hash>/ssim_frlie/<label>/...``)."""
    root = Path(results_dir)
    sub = (protocol,) if protocol else ()
    baseline = root.joinpath("scores", *sub, label, f"{dataset}.csv")
    if baseline.is_file():
        return [baseline]
    wanted = parse_label(label)
    pattern = f"scores/*/{protocol}/*/{dataset}.csv" if protocol else f"scores/*/*/{dataset}.csv"
    found: list[Path] = []
    for run_dir in sorted((root / "runs").glob("*/")):
        by_label: dict[str, list[Path]] = {}
        for csv in run_dir.glob(pattern):
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


def read_scores(path: Path, metric: str) -> pd.Series | None:
    """Finite per-image values of ``metric`` in one score file (the ``mean`` row and skipped images dropped);
    ``None`` when the file has no such column."""
    frame = pd.read_csv(path, dtype={"image": str}, keep_default_na=False, na_values=[""])
    frame = frame[frame["image"] != MEAN_ROW]  # the summary row evaluate() appends
    if metric not in frame.columns:
        return None
    if "skipped" in frame.columns:
        frame = frame[frame["skipped"].isna() | (frame["skipped"].astype(str).str.strip() == "")]
    values = pd.to_numeric(frame[metric], errors="coerce")
    return pd.Series(values.to_numpy(), index=frame["image"].astype(str)).dropna()


def per_seed_scores(results_dir: str | os.PathLike, label: str, dataset: str, metric: str) -> list[pd.Series]:
    """One Series (indexed by image) per run of ``label`` (its seed replicas) with ``metric`` on ``dataset``: from
    the suite's score files, else from the protocol folder named after the metric (:func:`score_files`)."""
    for protocol in (None, metric):
        series = [s for s in (read_scores(p, metric) for p in score_files(results_dir, label, dataset, protocol))
                  if s is not None]
        if series:
            return series
    return []


def per_image_scores(results_dir: str | os.PathLike, label: str, dataset: str, metric: str
                     ) -> tuple[pd.Series, int]:
    """``(scores indexed by image, number of runs averaged)`` of ``label``; per image mean over seed replicas.
    Rows marked ``skipped`` or without a finite value are dropped; an empty Series when nothing was scored."""
    series = per_seed_scores(results_dir, label, dataset, metric)
    if not series:
        return pd.Series(dtype=float), 0
    joined = pd.concat(series, axis=1, join="inner")
    return joined.mean(axis=1), len(series)


def score_summary(results_dir: str | os.PathLike, label: str, dataset: str, metrics: Iterable[str]
                  ) -> pd.DataFrame:
    """Mean with n and 95% bootstrap CI of ``label`` on ``dataset`` per metric: one row per metric, ``label,
    dataset, metric, n, mean, ci_low, ci_high, seeds, std_over_seeds``. The mean and CI are over images of the
    per-image seed average (:func:`per_image_scores`); ``std_over_seeds`` is the standard deviation of the
    per-seed means over the common images (NaN with one seed)."""
    rows = []
    for metric in metrics:
        per_seed = per_seed_scores(results_dir, label, dataset, metric)
        joined = pd.concat(per_seed, axis=1, join="inner") if per_seed else pd.DataFrame()
        stats_ = mean_ci(joined.mean(axis=1).to_numpy() if per_seed else [])
        std = float(joined.mean(axis=0).std(ddof=1)) if len(per_seed) > 1 else math.nan
        rows.append({"label": label, "dataset": dataset, "metric": metric, **stats_, "seeds": len(per_seed),
                     "std_over_seeds": std})
    return pd.DataFrame(rows, columns=["label", "dataset", "metric", "n", "mean", "ci_low", "ci_high", "seeds",
                                       "std_over_seeds"])


def per_image_ci(results_dir: str | os.PathLike, labels: Iterable[str], dataset: str, metrics: Iterable[str | None],
                 value: float, memo: dict[tuple[str, str, str], pd.Series] | None = None) -> dict[str, float] | None:
    """``{'n', 'mean', 'ci_low', 'ci_high'}`` (:func:`llie_core.evaluation.suite.mean_ci`) of the per-image scores
    whose mean is the reproduced ``value``: the first run label of ``labels`` and metric column of ``metrics`` (a
    ledger metric, then its alias) whose per-image seed average (:func:`per_image_scores`) has that mean (relative
    :data:`MATCH_REL` or absolute :data:`MATCH_ABS`: tables keep at least 4 decimals). ``None`` when no per-image
    scores give the value (a value of another protocol, a count, a cost): no CI is made up for it. ``memo`` caches
    the per-image Series by ``(label, dataset, metric)``."""
    if value is None or not math.isfinite(float(value)):
        return None
    memo = {} if memo is None else memo
    for label in dict.fromkeys(labels):
        for metric in dict.fromkeys(m for m in metrics if m):
            key = (label, dataset, metric)
            if key not in memo:
                try:
                    memo[key] = per_image_scores(results_dir, label, dataset, metric)[0]
                except ValueError:  # not a run label
                    memo[key] = pd.Series(dtype=float)
            scores = memo[key]
            if len(scores) and math.isclose(float(scores.mean()), float(value), rel_tol=MATCH_REL, abs_tol=MATCH_ABS):
                return mean_ci(scores.to_numpy())
    return None


def candidate_labels(method: str, origin: str, ctx: "ComparisonContext", ablation: bool) -> list[str]:
    """Run labels whose per-image scores may stand behind a reproduced cell of the ledger ``method``, most likely
    first: the run named by an ``origin`` of the form ``scores: <label>``; every run label of the name
    (:func:`name_labels`) with, for a method's own label, its ``ablation_budget`` retraining (first in an ablation
    table); then every other scored run of the same method (a method table may show e.g. a ``gate1.3`` row), the
    method found by display name when the ledger name is a table's own (``FRLIE (ablation budget)``).
    :func:`per_image_ci` keeps the first whose per-image mean is the cell's value."""
    if origin.startswith("scores: ") and origin.removeprefix("scores: ").strip():
        return [origin.removeprefix("scores: ").strip()]
    out: list[str] = []
    for label in ctx.labels.get(method, ()):
        run = parse_label(label)
        budget = [] if run.variant else [f"{label}[{ABLATION_TAG}]"]
        out += [*budget, label] if ablation else [label, *budget]
    families = {parse_label(label).method for label in out}
    if not families:
        families = {m for m in ctx.scored_methods if method == display_name(m)
                    or method.startswith(f"{display_name(m)} ")}
    out += [label for label in ctx.scored_labels if parse_label(label).method in families]
    return list(dict.fromkeys(out))


def table_protocol(path: Path) -> str:
    """The ``protocol`` recorded in a table's provenance sidecar (``<name>.json``), or ``''``."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return ""
    try:
        return str(json.loads(sidecar.read_text(encoding="utf-8")).get("protocol", ""))
    except (ValueError, OSError):
        return ""


def metric_columns(frame: pd.DataFrame, known: Iterable[str]) -> list[str]:
    """Columns of ``frame`` that are metric names (``known``: ledger and registry metric names)."""
    known = set(known)
    return [c for c in frame.columns if c not in NOT_METRICS and c in known]


def known_metrics() -> frozenset[str]:
    ledger = set(load_reported()["metric"])
    return frozenset(ledger | set(list_metrics()) | set(METRIC_ALIASES.values()))


NO_GT_MEAN = frozenset({"off", "none", "no", "false", "unspecified", ""})


def protocol_metric(column: str, gt_mean: Any = None, ssim_convention: Any = None) -> str:
    """The ledger name of a table column measured under a row's protocol (``gt_mean``, ``ssim_convention``
    columns of a protocol-grid table): ``ssim`` + gray -> ``ssim_gray``, GT-mean -> ``*_gtmean`` (LPIPS as
    ``lpips_alex_gtmean``, the backbone the workbook measures)."""
    name = "ssim_gray" if column == "ssim" and str(ssim_convention).lower() == "gray" else column
    if gt_mean is None or str(gt_mean).lower() in NO_GT_MEAN:
        return name
    return ("lpips_alex" if name == "lpips" else name) + "_gtmean"


def reproduced_from_table(frame: pd.DataFrame, reported: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """Reproduced rows of a method table as ``method, dataset, metric, value`` (one value per cell).

    Long layout: ``method, dataset, source, <metrics>`` (rows whose ``source`` starts with ``reproduced`` or
    ``measured``; ``dataset`` may be absent for dataset-free tables such as complexity; ``params_M`` /
    ``GMACs`` columns are read as ``params_m`` / ``flops_g``; a ``GFLOPs`` column is not compared). Wide layout
    of a one-metric table: ``method, source, <datasets>`` (the metric is the ledger table's only metric). A
    protocol-grid table (several rows per method with ``gt_mean`` / ``ssim_convention`` columns) gives each
    row's values under their protocol names too (:func:`protocol_metric`); the plain column names take the row
    flagged ``released_protocol`` (the protocol the paper's own numbers use), else the first row.
    """
    empty = pd.DataFrame(columns=["method", "dataset", "metric", "value"])
    if "source" not in frame or "method" not in frame:
        return empty
    rows = frame[frame["source"].astype(str).str.startswith(REPRODUCED_SOURCES)]
    rows = rows.rename(columns={k: v for k, v in COLUMN_ALIASES.items() if v not in rows})
    if rows.empty:
        return empty
    if "dataset" not in rows and set(reported["dataset"]) == {"none"}:  # dataset-free table (complexity)
        rows = rows.assign(dataset="none")
    if "released_protocol" in rows:  # the released row first, then rows of its GT-mean setting, then the rest
        released = rows["released_protocol"].astype(str).str.lower().isin(["true", "1"])
        same_gt = rows["gt_mean"].isin(set(rows.loc[released, "gt_mean"])) if "gt_mean" in rows else released
        rank = (~released).astype(int) + (~same_gt).astype(int)
        rows = rows.assign(_rank=rank.to_numpy()).sort_values("_rank", kind="stable").drop(columns="_rank")
    if "dataset" in rows:
        cols = metric_columns(rows, metrics)
        long = rows.melt(id_vars=["method", "dataset"], value_vars=cols, var_name="metric", value_name="value")
        if "gt_mean" in rows or "ssim_convention" in rows:
            grid = [{"method": r["method"], "dataset": r["dataset"], "value": r[c],
                     "metric": protocol_metric(c, r.get("gt_mean"), r.get("ssim_convention"))}
                    for _, r in rows.iterrows() for c in cols]
            long = pd.concat([long, pd.DataFrame(grid)], ignore_index=True)
    else:
        ledger_metrics = sorted(set(reported["metric"]))
        datasets = [c for c in rows.columns if c in set(reported["dataset"])]
        if len(ledger_metrics) != 1 or not datasets:
            return empty
        long = rows.melt(id_vars=["method"], value_vars=datasets, var_name="dataset", value_name="value")
        long["metric"] = ledger_metrics[0]
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"]).drop_duplicates(["method", "dataset", "metric"], keep="first")
    return long[["method", "dataset", "metric", "value"]].reset_index(drop=True)


def reproduced_from_scores(scores: pd.DataFrame, profile: str, wanted: set[str], metrics: Iterable[str],
                           ablation: bool) -> pd.DataFrame:
    """Scores rows (status ok) of runs standing for a ledger method in ``wanted``, melted to ``method, dataset,
    metric, value, run, seed``. The full model of an ablation table is its ``ablation_budget`` run when it exists
    (equal budgets), else the main run; elsewhere the main run."""
    ok = scores[scores["status"].astype(str) == "ok"] if len(scores) else scores
    picks: dict[tuple[str, str], tuple[int, list[int]]] = {}
    for index, row in ok.iterrows():
        run = parse_label(str(row["method"]))
        rank = _run_rank(run, ablation)
        if rank is None:
            continue
        for name in ledger_names(str(row["method"]), profile):
            if name not in wanted:
                continue
            key = (name, str(row["dataset"]))
            best = picks.get(key)
            if best is None or rank < best[0]:
                picks[key] = (rank, [index])
            elif rank == best[0]:
                best[1].append(index)  # seeds of the same run
            break
    rows = []
    for (name, dataset), (_, indices) in picks.items():
        for index in indices:
            row = ok.loc[index]
            run = parse_label(str(row["method"]))
            seed = row["seed"] if "seed" in row and pd.notna(row.get("seed")) else run.seed
            for metric in metrics:
                value = first_value(row, (metric, METRIC_ALIASES.get(metric)))
                if value is not None:
                    rows.append({"method": name, "dataset": dataset, "metric": metric, "value": value,
                                 "run": run.base, "seed": seed})
    return pd.DataFrame(rows, columns=["method", "dataset", "metric", "value", "run", "seed"])


def first_value(row: pd.Series, columns: Iterable[str | None]) -> float | None:
    """The first number of ``row`` among ``columns`` (a metric, then its alias): score files concatenated from
    several notebooks have both columns, the preferred one NaN for the rows of notebooks that only wrote the
    alias."""
    for column in columns:
        if column in row.index and pd.notna(row[column]):
            return float(row[column])
    return None


def _run_rank(run: RunLabel, ablation: bool) -> int | None:
    """Preference of a run for a ledger row (lower is better); ``None`` = never used."""
    other_tags = [t for t in run.tags if not SEED_TAG.match(t)]
    if other_tags and other_tags != [ABLATION_TAG]:
        return None
    if run.variant:
        return 0
    if other_tags == [ABLATION_TAG]:
        return 0 if ablation else 1
    return 1 if ablation else 0


# ------------------------------------------------------------------------------------------------ comparison
@dataclass
class ComparisonContext:
    """What a comparison needs to explain missing cells."""

    profile: Profile
    scores: pd.DataFrame
    implemented: frozenset[str]
    measured_metrics: frozenset[str]
    metric_names: frozenset[str]  # every metric name a table column may carry (ledger + registry)
    reasons: dict[str, str | None] = field(default_factory=dict)  # memo of dataset_reason
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # ledger name -> run labels (name_labels)
    results_dir: Path | None = None  # results/<profile>: the per-image score files (None: no CI anywhere)
    per_image: dict[tuple[str, str, str], pd.Series] = field(default_factory=dict)  # memo of per_image_ci

    @property
    def name(self) -> str:
        return self.profile.name

    def dataset_reason(self, dataset: str) -> str | None:
        """Why ``dataset`` has no reproduction in this profile, or ``None`` when it was run."""
        if dataset not in self.reasons:
            self.reasons[dataset] = self._dataset_reason(dataset)
        return self.reasons[dataset]

    def _dataset_reason(self, dataset: str) -> str | None:
        if dataset == "none":
            return None
        rows = self.scores[self.scores["dataset"] == dataset] if len(self.scores) else self.scores
        if len(rows) and (rows["status"].astype(str) == "ok").any():
            return None
        if len(rows):
            return str(rows["status"].iloc[0])
        if dataset not in DATASETS:
            return f"not run: dataset {dataset!r} is not available (no public source registered in data_prep)"
        data = self.profile.data
        if dataset not in (*data.eval_paired, *data.eval_unpaired):
            return f"not run: {dataset} is not a test set of the {self.name} profile"
        return None

    def variant_reason(self, method: str, notebook: str | None) -> str | None:
        """Why the ledger ``method`` has no value when only config variants stand for it and none of them has a
        scores row in this profile (its notebook did not train it), else ``None``."""
        runs = [parse_label(label) for label in self.labels.get(method, ())]
        if not runs or any(r.variant is None for r in runs):
            return None
        if any((r.method, r.variant) in self.scored_variants for r in runs):
            return None
        which = ", ".join(f"{r.method}[{r.variant}]" for r in runs)
        return (f"not run: {method} (config variant {which}) is not trained in the {self.name} profile: "
                f"{notebook or 'its notebook'} wrote no scores for it")

    @cached_property
    def scored_labels(self) -> tuple[str, ...]:
        """Every run label with a scores row, seed tags removed (:attr:`RunLabel.base`)."""
        labels = [parse_label(str(m)).base for m in self.scores["method"]] if len(self.scores) else []
        return tuple(dict.fromkeys(labels))

    @cached_property
    def scored_methods(self) -> tuple[str, ...]:
        """The methods and baselines of :attr:`scored_labels`."""
        return tuple(dict.fromkeys(parse_label(label).method for label in self.scored_labels))

    @cached_property
    def scored_variants(self) -> frozenset[tuple[str, str | None]]:
        """``(method, variant)`` of every run with a scores row."""
        runs = [parse_label(str(m)) for m in self.scores["method"]] if len(self.scores) else []
        return frozenset((r.method, r.variant) for r in runs)


def build_context(profile: Profile, tables_dir: str | Path, results_dir: str | Path | None = None
                  ) -> ComparisonContext:
    """What :func:`compare_table` needs: the scores rows of ``tables_dir`` and the per-image score files under
    ``results_dir`` (default: the parent of ``tables_dir``, i.e. ``results/<profile>``)."""
    scores = load_scores(tables_dir)
    names = known_metrics()
    measured = set(metric_columns(scores, names))
    measured |= {alias for alias, target in METRIC_ALIASES.items() if target in measured}
    labels = name_labels(profile.name)
    results = Path(results_dir) if results_dir is not None else Path(tables_dir).parent
    return ComparisonContext(profile, scores, frozenset(labels), frozenset(measured), names, labels=labels,
                             results_dir=results)


def table_reasons(frame: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``(method, dataset) -> status`` of a method table's reproduced rows that say why they were not run
    (``status`` starting with ``not run`` / ``not reproducible``, e.g. a variant outside the profile's budget);
    ``dataset`` is ``'none'`` for dataset-free tables."""
    if not {"method", "source", "status"} <= set(frame.columns):
        return {}
    rows = frame[frame["source"].astype(str).str.startswith(REPRODUCED_SOURCES)
                 & frame["status"].astype(str).str.startswith(("not run", "not reproducible"))]
    datasets = rows["dataset"] if "dataset" in rows else pd.Series("none", index=rows.index)
    reasons: dict[tuple[str, str], str] = {}
    for method, dataset, status in zip(rows["method"], datasets, rows["status"]):
        reasons.setdefault((str(method), str(dataset)), str(status))
    return reasons


def missing_reason(artifact: Artifact, method: str, dataset: str, metric: str, ctx: ComparisonContext,
                   table_present: bool, noted: Mapping[tuple[str, str], str] | None = None) -> str:
    """Why a reported cell has no reproduced value (first applicable reason). ``noted``: the method table's own
    reasons per ``(method, dataset)`` (:func:`table_reasons`), used before the generic ones."""
    status = artifact.status.of(ctx.name)
    if status.startswith("not run") or status.startswith("not reproducible"):
        return status
    if method not in ctx.implemented:  # before any dataset reason: no data would make this row run
        return f"reported only: {method} is not implemented in this workbook"
    reason = ctx.dataset_reason(dataset)
    if reason:
        return reason
    reason = (noted or {}).get((method, dataset)) or ctx.variant_reason(method, artifact.notebook)
    if reason:
        return reason
    if metric not in ctx.measured_metrics and not table_present:
        hint = next((h for prefix, h in METRIC_HINTS.items() if metric.startswith(prefix)), "")
        return f"not run: {metric} is not measured by the evaluation suite" + (f" ({hint})" if hint else "")
    where = ", ".join(artifact.outputs) or "its outputs"
    if not table_present:
        return f"not run: {where} not written in this profile (notebook {artifact.notebook})"
    return f"not run: no reproduced row for {method} / {dataset} / {metric} in {where}"


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over seeds per (method, dataset, metric)."""
    if rows.empty:
        return pd.DataFrame(columns=["method", "dataset", "metric", "reproduced", "reproduced_std", "seeds"])
    grouped = rows.groupby(["method", "dataset", "metric"], sort=False)["value"]
    out = grouped.agg(reproduced="mean", reproduced_std="std", seeds="count").reset_index()
    return out


def compare_table(artifact: Artifact, tables_dir: str | Path, ctx: ComparisonContext) -> pd.DataFrame:
    """One row per reported cell of ``artifact``'s ledger tables (and per extra reproduced cell of its own
    table): ``method, run, dataset, metric, direction, reported, reproduced, ci95_low, ci95_high, n,
    reproduced_std, seeds, delta, status, origin`` (``n`` and the CI: :func:`add_image_ci`). ``run`` says which run of this workbook stands for the row (:func:`run_kind`); ``status`` is
    ``reproduced`` only where the test data and protocol are the paper's, else ``measured, protocol differs
    (...)`` (:func:`protocol_difference`) or why the cell has no value."""
    reported = pd.concat([load_reported(p, t) for p, t in artifact.ledger], ignore_index=True)
    reported = reported.rename(columns={"value": "reported"})[["method", "dataset", "metric", "direction",
                                                               "reported"]]
    metrics = sorted(set(reported["metric"]))
    table_files = [Path(tables_dir) / Path(o).name for o in artifact.outputs if o.startswith("tables/")]
    present = [f for f in table_files if f.is_file() and f.stat().st_size > 0]
    frames = [pd.read_csv(f) for f in present]
    noted = {k: v for frame in reversed(frames) for k, v in table_reasons(frame).items()}  # first table wins
    from_table = pd.concat([reproduced_from_table(f, reported, ctx.metric_names) for f in frames]
                           + [pd.DataFrame(columns=["method", "dataset", "metric", "value"])], ignore_index=True)
    from_table = _aggregate(from_table).assign(origin="; ".join(f.name for f in present))
    from_scores = reproduced_from_scores(ctx.scores, ctx.name, set(reported["method"]), metrics, artifact.ablation)
    runs = from_scores.groupby(["method", "dataset"])["run"].first() if len(from_scores) else pd.Series(dtype=str)
    from_scores = _aggregate(from_scores)
    if len(from_scores):
        from_scores["origin"] = [f"scores: {runs.get((m, d), '')}" for m, d in
                                 zip(from_scores["method"], from_scores["dataset"])]
    key = ["method", "dataset", "metric"]
    cells = set(reported[key].itertuples(index=False, name=None))
    if len(from_scores):  # evaluation rows fill reported cells only; extra rows come from the method's own table
        from_scores = from_scores[[k in cells for k in from_scores[key].itertuples(index=False, name=None)]]
    reproduced = pd.concat([from_table, from_scores], ignore_index=True).drop_duplicates(key, keep="first")
    merged = reported.merge(reproduced, on=key, how="outer", sort=False)
    merged = _order_like(merged, reported, key)
    merged["direction"] = merged["direction"].fillna(merged["metric"].map(_direction))
    merged["delta"] = merged["reproduced"] - merged["reported"]
    merged["status"] = [_cell_status(artifact, r, ctx, bool(present), noted)
                        for r in merged.itertuples(index=False)]
    merged["seeds"] = merged["seeds"].fillna(0).astype(int)
    merged["origin"] = merged["origin"].fillna("")
    merged["run"] = [run_kind(m, ctx, artifact.ablation) for m in merged["method"]]
    merged = add_image_ci(merged, ctx, artifact.ablation)
    return merged[list(COMPARISON_COLUMNS)].reset_index(drop=True)


def add_image_ci(merged: pd.DataFrame, ctx: ComparisonContext, ablation: bool) -> pd.DataFrame:
    """``n``, ``ci95_low``, ``ci95_high`` of every reproduced cell that is a mean over test images
    (:func:`per_image_ci` over :func:`candidate_labels`); empty (NA) elsewhere."""
    found: list[dict[str, float] | None] = []
    for row in merged.itertuples(index=False):
        if ctx.results_dir is None or _isnan(row.reproduced):
            found.append(None)
            continue
        labels = candidate_labels(str(row.method), str(row.origin), ctx, ablation)
        found.append(per_image_ci(ctx.results_dir, labels, str(row.dataset),
                                  (str(row.metric), METRIC_ALIASES.get(str(row.metric))), row.reproduced,
                                  ctx.per_image))
    out = merged.copy()
    out["n"] = pd.array([f["n"] if f else pd.NA for f in found], dtype="Int64")
    out[CI_LOW] = [f["ci_low"] if f else math.nan for f in found]
    out[CI_HIGH] = [f["ci_high"] if f else math.nan for f in found]
    return out


def _direction(metric: str) -> str:
    return expected_direction(metric)


def _order_like(merged: pd.DataFrame, reported: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Reported cells in ledger order, then the extra reproduced cells."""
    order = {tuple(k): i for i, k in enumerate(reported[key].itertuples(index=False, name=None))}
    rank = [order.get(tuple(k), len(order) + i) for i, k in enumerate(merged[key].itertuples(index=False, name=None))]
    return merged.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def protocol_difference(paper: str, dataset: str, data: DataSettings) -> str | None:
    """How this profile's test data for ``dataset`` differs from what ``paper`` measured on, or ``None``: another
    split of the set (:data:`PAPER_TEST_DATA`), a subset of an unpaired set or centre crops."""
    notes = [PAPER_TEST_DATA[k] for k in ((paper, dataset), ("*", dataset)) if k in PAPER_TEST_DATA]
    unpaired = dataset in data.eval_unpaired
    limit = data.max_unpaired_images if unpaired else data.max_eval_images
    side = data.unpaired_side if unpaired else data.eval_max_side
    if limit or side:
        subset = f"at most {limit} images, evenly spaced" if limit else "every image"
        crop = f", centre-cropped to {side} px" if side else ""
        notes.append(f"{subset}{crop} (the paper: every image at full size)")
    return "; ".join(notes) or None


def run_kind(method: str, ctx: "ComparisonContext", ablation: bool) -> str:
    """Which run of this workbook a ledger row stands for: ``main run``, ``full model at the ablation budget``,
    ``variant <v>`` (ablation budget), ``baseline``, or ``-`` when none does."""
    labels = ctx.labels.get(method, ())
    if not labels:
        return "-"
    run = parse_label(labels[0])
    if run.method in BASELINES:
        return "baseline"
    if run.variant:
        return f"variant {run.variant}" + (" (ablation budget)" if ablation else "")
    return "full model at the ablation budget" if ablation else "main run"


def _cell_status(artifact: Artifact, row: Any, ctx: ComparisonContext, table_present: bool,
                 noted: Mapping[tuple[str, str], str]) -> str:
    has_rep, has_rec = not _isnan(row.reported), not _isnan(row.reproduced)
    if has_rep and has_rec:
        differs = protocol_difference(artifact.paper, str(row.dataset), ctx.profile.data)
        return f"{MEASURED_OTHER_PROTOCOL} ({differs})" if differs else REPRODUCED
    if has_rec:
        return "reproduced only (no reported value)"
    return missing_reason(artifact, row.method, row.dataset, row.metric, ctx, table_present, noted)


def _isnan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def comparison_summary(comparisons: Mapping[str, pd.DataFrame], artifacts: Mapping[str, Artifact],
                       profile: str) -> pd.DataFrame:
    """One row per compared table: its state in ``profile`` (the reasons are in ``table_index``), cell counts by
    outcome and the median absolute delta of its PSNR cells in dB (one unit: the other metrics' deltas are in the
    table itself, never pooled across units)."""
    rows = []
    for artifact_id, frame in comparisons.items():
        a = artifacts[artifact_id]
        status = frame["status"].astype(str)
        measured = status.eq(REPRODUCED) | status.str.startswith(MEASURED_OTHER_PROTOCOL)
        psnr = frame["metric"].astype(str).str.startswith("psnr") & ~frame["metric"].astype(str).str.endswith("_delta")
        deltas = frame.loc[measured & psnr, "delta"].dropna().abs()
        rows.append({"id": a.id, "paper": a.paper, "label": a.label, "state": state(a.status.of(profile)),
                     "reported_cells": int(frame["reported"].notna().sum()),
                     "reproduced_cells": int((status == REPRODUCED).sum()),
                     "measured_other_protocol": int(status.str.startswith(MEASURED_OTHER_PROTOCOL).sum()),
                     "reproduced_only": int(status.str.startswith("reproduced only").sum()),
                     "not_run_cells": int(status.str.startswith("not run").sum()),
                     "reported_only_cells": int(status.str.startswith("reported only").sum()),
                     "psnr_cells": int(len(deltas)),
                     "median_abs_delta_psnr_db": float(deltas.median()) if len(deltas) else float("nan")})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ cross-method
def cross_method_table(scores: pd.DataFrame, data: DataSettings, metrics: Sequence[str] = CROSS_METRICS,
                       expected_methods: Sequence[str] = METHOD_ORDER) -> pd.DataFrame:
    """Main runs of every method and every baseline on every test set of ``data`` (``Profile.data``), one protocol.

    One row per (method, dataset): ``method, label, dataset, kind, status, seeds, images, <metric>,
    <metric>_std``; means and standard deviations over all ``seeds`` (std is NaN for one seed; a seed's NaN makes
    the mean NaN, never dropped), each seed's score a mean over ``images`` images. A method or dataset
    without scores appears with the reason in ``status``. Diagnostic runs (:data:`DIAGNOSTIC_RUNS`) are left out;
    :func:`save_cross_method` says so in the notes.
    """
    datasets = [(d, "paired") for d in data.eval_paired] + [(d, "unpaired") for d in data.eval_unpaired]
    main = scores[[_is_cross_run(parse_label(str(m))) for m in scores["method"]]] if len(scores) else scores
    labels = list(dict.fromkeys([*expected_methods, *(parse_label(str(m)).base for m in main["method"])]))
    rows = []
    for label in labels:
        runs = main[[parse_label(str(m)).base == label for m in main["method"]]] if len(main) else main
        for dataset, kind in datasets:
            rows.append(_cross_row(label, dataset, kind, runs[runs["dataset"] == dataset] if len(runs) else runs,
                                   metrics, has_scores=len(runs) > 0))
    return pd.DataFrame(rows)


def _is_cross_run(run: RunLabel) -> bool:
    """A main run of a method or baseline (not an ablation variant, not a diagnostic run)."""
    return run.is_main and run.method not in DIAGNOSTIC_RUNS


def _cross_row(label: str, dataset: str, kind: str, runs: pd.DataFrame, metrics: Sequence[str],
               has_scores: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"method": display_name(label), "label": label, "dataset": dataset, "kind": kind}
    ok = runs[runs["status"].astype(str) == "ok"] if len(runs) else runs
    if not len(ok):
        if len(runs):
            row["status"] = str(runs["status"].iloc[0])
        elif has_scores:
            row["status"] = f"not run: {dataset} was not scored for {label}"
        else:
            row["status"] = f"not run: no scores of {label} in this profile (its notebook did not run)"
        row.update(seeds=0, images=0)
        return row
    row.update(status="ok", seeds=len(ok), images=int(ok["images"].iloc[0]))
    for m in metrics:  # a seed's NaN (an undefined score, e.g. NIQE of flat outputs) is kept: never dropped
        values = pd.to_numeric(ok[m], errors="coerce") if m in ok else pd.Series(dtype=float)
        row[m] = float(values.mean(skipna=False)) if len(values) else float("nan")
        row[f"{m}_std"] = float(values.std(skipna=False)) if len(values) > 1 else float("nan")
        low, high = (f"{m}_{CI_LOW}", f"{m}_{CI_HIGH}")  # one seed: the summary row's CI over its images
        row[low], row[high] = ((float(pd.to_numeric(ok[low].iloc[0], errors="coerce")),
                                float(pd.to_numeric(ok[high].iloc[0], errors="coerce")))
                               if len(ok) == 1 and low in ok and high in ok else (float("nan"), float("nan")))
    return row


def format_mean_std(table: pd.DataFrame, metrics: Sequence[str] = CROSS_METRICS, digits: int = 3) -> pd.DataFrame:
    """``mean ± std`` strings over seeds, ``mean [ci95_low, ci95_high]`` for one seed with a CI over its images
    (``mean`` alone without either, ``-`` when missing) for Markdown and LaTeX."""
    drop = [c for c in table.columns if c.endswith(("_std", f"_{CI_LOW}", f"_{CI_HIGH}"))] + ["label"]
    out = table.drop(columns=drop, errors="ignore").copy()
    nan = pd.Series(float("nan"), index=table.index)
    for m in metrics:
        if m not in table:
            continue
        std = table.get(f"{m}_std", nan)
        low, high = table.get(f"{m}_{CI_LOW}", nan), table.get(f"{m}_{CI_HIGH}", nan)
        out[m] = [("-" if _isnan(v) else f"{v:.{digits}f}" + (f" ± {s:.{digits}f}" if not _isnan(s) else
                                                               f" [{lo:.{digits}f}, {hi:.{digits}f}]"
                                                               if not (_isnan(lo) or _isnan(hi)) else ""))
                  for v, s, lo, hi in zip(table[m], std, low, high)]
    return out


def _number(value: Any, digits: int) -> str:
    """``value`` rounded to ``digits`` places without trailing zeros (``'-'`` when missing)."""
    if value is None or _isnan(value) or value is pd.NA:
        return "-"
    return np.format_float_positional(round(float(value), digits), trim="-")


def format_comparison(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The Markdown / LaTeX view of a :func:`compare_table` frame: numbers rounded to ``digits`` places, the CI
    as one column ``ci95`` = ``[low, high]`` after ``reproduced`` and ``n``; ``-`` where a cell has no per-image
    scores (the CSV keeps ``ci95_low``, ``ci95_high`` and ``n`` as numbers)."""
    shown = table.copy()
    numeric = [c for c in shown.columns if c not in (CI_LOW, CI_HIGH, "n") and pd.api.types.is_float_dtype(shown[c])]
    shown[numeric] = shown[numeric].round(digits)
    shown[CI_DISPLAY] = ["-" if _isnan(lo) or _isnan(hi) else f"[{_number(lo, digits)}, {_number(hi, digits)}]"
                         for lo, hi in zip(table[CI_LOW], table[CI_HIGH])]
    shown["n"] = ["-" if pd.isna(v) else str(int(v)) for v in table["n"]]
    columns = [c for c in table.columns if c not in (CI_LOW, CI_HIGH)]
    at = columns.index("reproduced") + 1
    return shown[[*columns[:at], CI_DISPLAY, *columns[at:]]]


# ------------------------------------------------------------------------------------------------ writing
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$",
                  "→": r"$\rightarrow$", "ℓ": r"$\ell$"}


MAX_REASON = 200


ELL_SUBSCRIPT = re.compile(r"ℓ_(?:\{([^{}]*)\}|(\w+))")  # "ℓ_{rgb}", "ℓ_m" (JCRNet's loss ablation names)


def latex_escape(text: Any) -> str:
    """``text`` for LaTeX: specials escaped, ``ℓ_{x}`` typeset as the math ``$\\ell_{x}$``."""
    text, out, last = str(text), [], 0
    for match in ELL_SUBSCRIPT.finditer(text):
        out.append("".join(LATEX_SPECIALS.get(ch, ch) for ch in text[last:match.start()]))
        sub = match.group(1) if match.group(1) is not None else match.group(2)
        out.append(r"$\ell_{\mathrm{" + "".join(LATEX_SPECIALS.get(ch, ch) for ch in sub) + "}}$")
        last = match.end()
    out.append("".join(LATEX_SPECIALS.get(ch, ch) for ch in text[last:]))
    return "".join(out)


def short_reason(status: Any, limit: int = MAX_REASON) -> Any:
    """A reason as the Markdown and LaTeX files show it (:func:`llie_core.report.method_tables.short_status`, at most
    ``limit`` characters); the CSV keeps the full text."""
    return short_status(status, limit)


def to_latex(table: pd.DataFrame, caption: str = "", label: str = "", digits: int = 4) -> str:
    """A ``longtable`` (needs ``\\usepackage{longtable,booktabs}``) of ``table``; numbers to ``digits`` places,
    NaN as ``--``."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "--" if math.isnan(v) else f"{v:.{digits}f}".rstrip("0").rstrip(".")
        return latex_escape(v)

    align = "".join("r" if pd.api.types.is_numeric_dtype(table[c]) else "l" for c in table.columns)
    lines = [f"\\begin{{longtable}}{{{align}}}"]
    if caption:
        lines.append(f"\\caption{{{latex_escape(caption)}}}" + (f"\\label{{{label}}}" if label else "") + r"\\")
    header = " & ".join(latex_escape(c) for c in table.columns) + r" \\"
    lines += [r"\toprule", header, r"\midrule", r"\endhead"]
    lines += [" & ".join(cell(v) for v in row) + r" \\" for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(lines) + "\n"


def save_table_with_latex(ctx: Any, table: pd.DataFrame, name: str, protocol: str, notes: str = "",
                          caption: str = "", digits: int = 4, display: pd.DataFrame | None = None) -> list[Path]:
    """``ctx.save_table`` (CSV + Markdown + provenance JSON; numbers rounded to ``digits``) and
    ``tables/<name>.tex`` with the same header facts as comments. ``display`` (default: the rounded table) is
    what the Markdown and LaTeX files show; missing values appear as ``-`` there, and long ``status`` reasons
    shortened (:func:`short_reason`; the CSV keeps them whole)."""
    rounded = table.round(digits)
    shown = rounded if display is None else display
    if "status" in shown:
        shown = shown.assign(status=shown["status"].map(short_reason))
    csv_path, md_path = ctx.save_table(rounded, name, protocol=protocol, notes=notes)
    text = md_path.read_text(encoding="utf-8")
    header = text[: text.index("\n\n", text.index("Profile:")) + 2]
    body = shown.astype(object).where(shown.notna(), None).to_markdown(index=False, missingval="-")
    atomic_write_bytes(md_path, (header + body + (f"\n\n{notes}\n" if notes else "\n")).encode())
    comments = (f"% {name} | profile: {ctx.profile_name} | notebook: {ctx.name}\n"
                f"% protocol: {protocol}\n" + "".join(f"% {line}\n" for line in notes.splitlines() if line))
    tex_path = ctx.tables / f"{name}.tex"
    atomic_write_bytes(tex_path, (comments + to_latex(shown, caption or name, f"tab:{name}", digits)).encode())
    ctx.promise(tex_path)
    return [csv_path, md_path, tex_path]


def save_cross_method(ctx: Any, cross: pd.DataFrame, notes: str = "", digits: int = 3) -> list[Path]:
    """``tables/cross_method``: numbers (mean and ``*_std`` columns) in the CSV, ``mean ± std`` in the Markdown
    and LaTeX files."""
    protocol = EVAL_PROTOCOL + "; mean ± std over seeds (std only with more than one seed)"
    left_out = "; ".join(f"{k} ({v})" for k, v in DIAGNOSTIC_RUNS.items())
    notes = "\n".join(filter(None, (notes, f"diagnostic runs left out (not methods): {left_out}")))
    return save_table_with_latex(ctx, cross, "cross_method", protocol, notes, "all methods under one protocol",
                                 display=format_mean_std(cross, digits=digits))


def comparison_protocol(artifact: Artifact, tables_dir: str | Path) -> tuple[str, str]:
    """(protocol, notes) for a comparison: the reproduced protocol (the method table's sidecar, else the
    evaluation suite's) and the reported protocol notes of the ledger."""
    own = [table_protocol(Path(tables_dir) / Path(o).name) for o in artifact.outputs if o.startswith("tables/")]
    reproduced = "; ".join(p for p in own if p) or EVAL_PROTOCOL
    ledger = pd.concat([load_reported(p, t) for p, t in artifact.ledger], ignore_index=True)
    notes = sorted(set(ledger["protocol_notes"]))
    reported = " | ".join(notes)
    protocol = f"reproduced: {reproduced} || reported ({artifact.paper} {artifact.label}): {reported}"
    return protocol, "delta = reproduced - reported; status says why a cell has no reproduction"
