"""Put reproduced numbers next to reported ones, always labelled, and check the workbook's claims.

Reproduced rows come from :func:`llie_core.evaluation.suite.evaluate_suite` tables (one row per method x dataset);
reported rows come from the ledger (:mod:`llie_core.report.ledger`). Every output row carries ``source``:
``reproduced (<profile>)`` or ``reported (<paper> <table>)``. Method names and display names are those of
:mod:`llie_core.core.methods` (``BASELINES`` and ``display_name`` are importable from here too).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from llie_core.core.methods import BASELINES, display_name
from llie_core.metrics import metric_info
from llie_core.report.ledger import load_reported

REASON_CUTS = (" (tried ", ". Fix:", "; put it under")  # a dataset error's layouts tried and how-to-fix advice
STATUS_HINT = " (see `python -m data_prep status`)"


def short_status(status: Any, limit: int | None = None) -> Any:
    """A ``not run`` reason as tables show it: a dataset error without the layouts tried and the fix (``python -m
    data_prep status`` prints them; CSVs keep the whole text), cut to ``limit`` characters when given.
    Non-strings are returned as they are."""
    if not isinstance(status, str):
        return status
    text = status
    for cut in REASON_CUTS:
        if cut in text:
            text = text.split(cut, 1)[0] + STATUS_HINT
            break
    return text if limit is None or len(text) <= limit else text[: limit - 3].rstrip() + "..."


def reproduced_rows(measured: pd.DataFrame, dataset: str, metrics: Sequence[str], profile: str,
                    names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``measured`` rows of ``dataset`` (status ok) as ``method, source, <metrics>``."""
    rows = measured[(measured["dataset"] == dataset) & (measured["status"] == "ok")]
    out = pd.DataFrame({"method": [(names or {}).get(m, display_name(m)) for m in rows["method"]],
                        "source": f"reproduced ({profile})"})
    for m in metrics:
        out[m] = rows[m].to_numpy() if m in rows else float("nan")
    return out


def reported_rows(paper: str, table: str, dataset: str, metrics: Sequence[str]) -> pd.DataFrame:
    """The ledger's rows of one paper table and dataset, pivoted to ``method, source, <metrics>``."""
    frame = load_reported(paper, table)
    frame = frame[(frame["dataset"] == dataset) & frame["metric"].isin(metrics)]
    wide = frame.pivot_table(index="method", columns="metric", values="value", sort=False).reset_index()
    wide.insert(1, "source", f"reported ({paper} {table})")
    for m in metrics:
        if m not in wide:
            wide[m] = float("nan")
    return wide[["method", "source", *metrics]]


def side_by_side(measured: pd.DataFrame, paper: str, table: str, dataset: str, metrics: Sequence[str],
                 profile: str, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Reported rows of ``paper``'s ``table`` followed by this workbook's reproduced rows, same columns."""
    reported = reported_rows(paper, table, dataset, metrics)
    reproduced = reproduced_rows(measured, dataset, metrics, profile, names)
    out = pd.concat([reported, reproduced], ignore_index=True)
    out.insert(1, "dataset", dataset)
    return out


def beats_baselines(measured: pd.DataFrame, method: str, dataset: str = "lol_v1", metric: str = "psnr",
                    baselines: Sequence[str] = BASELINES) -> pd.DataFrame:
    """One row per baseline: the method's score, the baseline's, and whether the method is better
    (by the metric's direction). Missing baselines are listed with ``better = None``."""
    lower = metric_info(metric).lower_better
    rows = measured[(measured["dataset"] == dataset) & (measured["status"] == "ok")].set_index("method")
    if method not in rows.index:
        raise KeyError(f"{method!r} has no {dataset} scores; measured methods: {sorted(rows.index)}")
    ours = float(rows.loc[method, metric])
    out = []
    for base in baselines:
        theirs = float(rows.loc[base, metric]) if base in rows.index else float("nan")
        better = None if base not in rows.index else (ours < theirs if lower else ours > theirs)
        out.append({"method": method, "baseline": base, "dataset": dataset, "metric": metric,
                    "method_score": ours, "baseline_score": theirs, "better": better})
    return pd.DataFrame(out)
