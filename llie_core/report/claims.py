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
   (:func:`llie_core.evaluation.suite.bootstrap_ci` on the per-image differences: ``scipy.stats.bootstrap``, BCa,
   10,000 resamples, seed 0; percentile when BCa is undefined; a zero-width interval when every difference is
   equal). The per-image readers (``score_files``, ``per_image_scores``, ``score_summary``) live in
   :mod:`llie_core.report.compare`, which attaches the same statistic to every reproduced mean.
4. Verdict: ``holds`` (CI entirely above 0), ``reversed`` (CI entirely below 0), ``inconclusive`` (CI contains 0,
   or fewer than 2 common images), ``not run`` (a side's scores are missing; ``note`` names the side).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from llie_core.core.methods import display_name
from llie_core.evaluation.loop import MEAN_ROW
from llie_core.evaluation.suite import (BOOTSTRAP_METHOD, CONFIDENCE, N_RESAMPLES, SEED, bootstrap_ci,  # noqa: F401
                                        mean_ci)
# the per-image readers and the bootstrap are those of every table (re-exported here: one implementation)
from llie_core.report.compare import parse_label, per_image_scores, score_files, score_summary  # noqa: F401
from llie_core.report.ledger import DIRECTIONS, PAPERS

CLAIMS_PATH: Path = Path(__file__).resolve().parents[2] / "results" / "paper" / "claims.csv"
CLAIM_COLUMNS: tuple[str, ...] = ("claim_id", "paper", "source", "claim", "dataset", "metric", "direction",
                                  "better", "worse", "reported_metric", "reported_better", "reported_worse")
VERDICTS: tuple[str, ...] = ("holds", "reversed", "inconclusive", "not run")
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


# ------------------------------------------------------------------------------------------------ statistics
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
    """``jcrnet[wo_fes]`` -> ``JCRNet w/o FES`` (``display_name``); ``iclr[ablation_budget]`` -> ``ICLR (ablation
    budget)``; a variant without a display name keeps its key (``JCRNet new_variant``)."""
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
    baseline), ``dataset``, ``protocol`` (empty for the evaluation suite's files; the folder of a metric scored
    apart, e.g. ``ssim_frlie``), ``images`` (per-image rows, the ``mean`` row left out), ``metrics`` and ``file``
    (relative to ``results_dir``); the newest weights hash of each run only (older ones are stale scores)."""
    root = Path(results_dir)
    files = [(csv, _protocol(csv, root / "scores", 2))
             for csv in sorted(root.glob("scores/*/*.csv")) + sorted(root.glob("scores/*/*/*.csv"))]
    for run_dir in sorted((root / "runs").glob("*/")):
        newest: dict[tuple[str, str, str], Path] = {}
        for csv in [*run_dir.glob("scores/*/*/*.csv"), *run_dir.glob("scores/*/*/*/*.csv")]:
            key = (_protocol(csv, run_dir / "scores", 3), csv.parent.name, csv.stem)
            if key not in newest or csv.stat().st_mtime > newest[key].stat().st_mtime:
                newest[key] = csv
        files += [(newest[k], k[0]) for k in sorted(newest)]
    rows = []
    for csv, protocol in files:
        frame = pd.read_csv(csv)
        if "image" not in frame:
            continue
        images = frame[frame["image"].astype(str) != MEAN_ROW]
        metrics = [c for c in frame.columns if c not in ("image", "height", "width", "seconds", "skipped", "images")]
        rows.append({"label": csv.parent.name, "dataset": csv.stem, "protocol": protocol, "images": len(images),
                     "metrics": ", ".join(metrics), "file": csv.relative_to(root).as_posix()})
    return pd.DataFrame(rows, columns=["label", "dataset", "protocol", "images", "metrics", "file"])


def _protocol(csv: Path, base: Path, plain_depth: int) -> str:
    """The protocol folder of a score file ``base/[<hash>/][<protocol>/]<label>/<dataset>.csv`` (``plain_depth``:
    the depth of a file without one); empty for the suite's own files."""
    parts = csv.relative_to(base).parts
    return parts[-3] if len(parts) > plain_depth else ""


def _link(file: str) -> str:
    """A Markdown link from ``results/<profile>/<folder>/INDEX.md`` to ``file`` (relative to ``results/<profile>``)."""
    return f"[{file}](../{file})"


def scores_index_markdown(index: pd.DataFrame, profile: str) -> str:
    """``scores/INDEX.md``: where the per-image scores of every run and baseline are (linked), with their image
    counts, and where the enhanced images are."""
    head = (f"# Per-image scores ({profile})\n\nOne CSV per (run or baseline, test set): a row per image and a final "
            "`mean` row (NaN kept: a metric undefined on an image makes its mean NaN). `protocol`: the folder of a "
            "metric scored apart under its own protocol (empty: the evaluation suite's files). Paths are relative to "
            f"`results/{profile}/`. Written by `90_tables`. The enhanced main-set images of each trained method, as "
            f"8-bit PNGs: [enhanced/INDEX.md](../{ENHANCED_INDEX}) (written by `95_figures`).\n\n")
    shown = index.assign(file=index["file"].map(_link)) if len(index) else index
    return head + (shown.to_markdown(index=False) if len(index) else "No score files.") + "\n"


# ------------------------------------------------------------------------------------------------ enhanced images
ENHANCED_INDEX = "enhanced/INDEX.md"  # relative to results/<profile>


def enhanced_index_markdown(table: pd.DataFrame, profile: str) -> str:
    """``enhanced/INDEX.md``: the enhanced images of the ``enhanced_images`` table (``method, dataset, image,
    status, file, ...``), linked, one row per file (and per method not run, with its reason)."""
    head = (f"# Enhanced test images ({profile})\n\nEvery trained method's main run on the profile's main paired "
            "set, enhanced as the evaluation suite scores it (same test images and crop, tiled inference), saved as "
            "full-size 8-bit RGB PNGs `enhanced/<method>/<dataset>/<image>.png` (image names as in the per-image "
            f"scores, [scores/INDEX.md](../scores/INDEX.md)). Paths are relative to `results/{profile}/`. Written by "
            "`95_figures` (also `tables/enhanced_images.csv`).\n\n")
    shown = table.assign(file=[_link(f) if f else "-" for f in table["file"].fillna("")]) if len(table) else table
    return head + (shown.to_markdown(index=False) if len(table) else "No enhanced images.") + "\n"
