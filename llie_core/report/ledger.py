"""The ledger of REPORTED numbers: every value of the five documents' tables, transcribed by hand.

One CSV per source table under ``results/paper/reported/`` (see ``results/paper/README.md`` for the metric and
dataset vocabulary, expected table shapes and transcription notes). Every row carries ``kind='reported'`` once
loaded, so it can never be mistaken for a number this workbook measured.

>>> reported_value("frlie", "Table 1", "FRLIE", "lol_v1", "psnr")
22.319
"""
from __future__ import annotations

import difflib
import math
import os
from pathlib import Path

import pandas as pd

from llie_core.core.methods import TRAINED_METHODS

# Part of the source checkout (not of a relocated LLIE_ROOT, which only moves outputs).
LEDGER_DIR: Path = Path(__file__).resolve().parents[2] / "results" / "paper" / "reported"
COLUMNS: tuple[str, ...] = ("paper", "table", "method", "dataset", "metric", "value", "direction",
                            "protocol_notes", "source")
KEY: tuple[str, ...] = ("paper", "table", "method", "dataset", "metric")
PAPERS: tuple[str, ...] = TRAINED_METHODS  # every trained method's document is transcribed (CIDNet: methods.md §1)
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
# Metric-name prefixes whose scores are better when lower (lpips*, niqe, brisque, params_m, flops_g, macs_g, ...).
LOWER_BETTER_PREFIXES: tuple[str, ...] = ("lpips", "niqe", "brisque", "params", "flops", "macs", "runtime",
                                          "sod_mae")
KIND = "reported"


class LedgerError(ValueError):
    """A ledger CSV is malformed; the message names the file, the row and the fix."""


def expected_direction(metric: str) -> str:
    """``'lower'`` for lower-is-better metric names (see ``LOWER_BETTER_PREFIXES``), else ``'higher'``."""
    return "lower" if metric.startswith(LOWER_BETTER_PREFIXES) else "higher"


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if tuple(frame.columns) != COLUMNS:
        raise LedgerError(f"{path}: columns {list(frame.columns)} != expected {list(COLUMNS)}; "
                          "fix the header line of this file")
    frame.insert(0, "_file", path.name)
    frame.insert(1, "_line", range(2, len(frame) + 2))
    return frame


def _where(frame: pd.DataFrame, mask: pd.Series) -> str:
    first = frame[mask].iloc[0]
    return f"{first['_file']} line {first['_line']}"


def _check_cells(frame: pd.DataFrame) -> None:
    for column in COLUMNS:
        empty = frame[column].str.strip() == ""
        if empty.any():
            raise LedgerError(f"{_where(frame, empty)}: empty '{column}'; every cell must be filled "
                              "(a missing value in the paper is an absent row, not an empty cell)")
    bad_paper = ~frame["paper"].isin(PAPERS)
    if bad_paper.any():
        raise LedgerError(f"{_where(frame, bad_paper)}: paper {frame.loc[bad_paper, 'paper'].iloc[0]!r} "
                          f"not in {list(PAPERS)}")
    values = pd.to_numeric(frame["value"], errors="coerce")
    not_finite = ~values.map(lambda v: isinstance(v, float) and math.isfinite(v))
    if not_finite.any():
        raise LedgerError(f"{_where(frame, not_finite)}: value {frame.loc[not_finite, 'value'].iloc[0]!r} "
                          "is not a finite number; write the number only (no units, markup or '-')")


def _check_directions(frame: pd.DataFrame) -> None:
    bad = ~frame["direction"].isin(DIRECTIONS)
    if bad.any():
        raise LedgerError(f"{_where(frame, bad)}: direction {frame.loc[bad, 'direction'].iloc[0]!r} must be "
                          f"one of {list(DIRECTIONS)}")
    for metric, group in frame.groupby("metric"):
        found = sorted(set(group["direction"]))
        if len(found) > 1:
            raise LedgerError(f"metric {metric!r} has inconsistent directions {found} "
                              f"(files {sorted(set(group['_file']))}); use one direction per metric")
        if found[0] != expected_direction(metric):
            raise LedgerError(f"{_where(frame, frame['metric'] == metric)}: metric {metric!r} is marked "
                              f"{found[0]!r} but is {expected_direction(metric)}-is-better; fix the direction")


def _check_duplicates(frame: pd.DataFrame) -> None:
    dup = frame.duplicated(list(KEY), keep=False)
    if dup.any():
        rows = frame[dup].sort_values(list(KEY)).head(4)
        where = "; ".join(f"{name} line {line}" for name, line in rows[["_file", "_line"]].to_numpy())
        key = dict(zip(KEY, rows.iloc[0][list(KEY)]))
        raise LedgerError(f"duplicate ledger key {key} at {where}; each (paper, table, method, dataset, metric) "
                          "must appear once (put protocol variants in the metric name, e.g. psnr_gtmean)")


def _read_ledger(ledger_dir: Path) -> pd.DataFrame:
    files = sorted(ledger_dir.glob("*.csv"))
    if not files:
        raise LedgerError(f"no ledger CSV files in {ledger_dir}; the transcribed tables live in "
                          "results/paper/reported/ of the repository")
    frame = pd.concat([_read_csv(f) for f in files], ignore_index=True)
    _check_cells(frame)
    _check_directions(frame)
    _check_duplicates(frame)
    return frame


def _select(frame: pd.DataFrame, column: str, wanted: str | None) -> pd.DataFrame:
    if wanted is None:
        return frame
    if wanted not in set(frame[column]):
        choices = sorted(set(frame[column]))
        raise KeyError(f"{column} {wanted!r} is not in the ledger; available: {choices}")
    return frame[frame[column] == wanted]


def load_reported(paper: str | None = None, table: str | None = None,
                  ledger_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """All reported rows (validated), optionally of one ``paper`` and/or ``table``.

    Columns: the ledger columns (``value`` as float) plus ``kind`` = ``'reported'``. Raises
    :class:`LedgerError` on a malformed ledger and ``KeyError`` for an unknown paper/table.
    """
    frame = _read_ledger(Path(ledger_dir) if ledger_dir else LEDGER_DIR)
    frame = _select(_select(frame, "paper", paper), "table", table)
    out = frame.drop(columns=["_file", "_line"]).reset_index(drop=True)
    out["value"] = out["value"].astype(float)
    out["kind"] = KIND
    return out


def reported_tables(ledger_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per (paper, table): ``n_methods``, ``n_datasets``, ``n_metrics``, ``n_rows``."""
    frame = load_reported(ledger_dir=ledger_dir)
    summary = frame.groupby(["paper", "table"], sort=True).agg(
        n_methods=("method", "nunique"), n_datasets=("dataset", "nunique"),
        n_metrics=("metric", "nunique"), n_rows=("value", "size"))
    return summary.reset_index()


def reported_value(paper: str, table: str, method: str, dataset: str, metric: str,
                   ledger_dir: str | os.PathLike | None = None) -> float:
    """The single reported value at this key; ``KeyError`` naming the closest available entries."""
    frame = load_reported(ledger_dir=ledger_dir)
    for column, wanted in zip(KEY, (paper, table, method, dataset, metric)):
        narrowed = frame[frame[column] == wanted]
        if narrowed.empty:
            choices = sorted(set(frame[column]))
            close = difflib.get_close_matches(wanted, choices, n=3, cutoff=0.5)
            hint = f" Did you mean {close}?" if close else ""
            raise KeyError(f"no reported value for {column}={wanted!r} (after matching "
                           f"{dict(zip(KEY[:KEY.index(column)], (paper, table, method, dataset)))}); "
                           f"available {column}s: {choices}.{hint}")
        frame = narrowed
    return float(frame["value"].iloc[0])
