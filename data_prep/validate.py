"""Find datasets on disk, pair low/normal files by name, and say what is found, partial, missing or invalid.

Pairing follows HVI-CIDNet (match by file name), never BasicSR/Retinexformer's zip of two sorted lists: a file
without a partner is an error that lists the unmatched names. Ordering is natural (``2.png`` before ``10.png``,
natsort). Names match on the stem without extension; when the stems differ only by the LOL-v2 prefixes
(``low00690`` <-> ``normal00690``) the prefixes are ignored.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
from natsort import natsorted

from data_prep.catalogue import (DATASETS, HIGH_PREFIXES, IMAGE_EXTENSIONS, LOW_PREFIXES, DatasetSpec, FolderLayout,
                                 get_spec)

from .image_io import ImageReadError, image_size, read_image
from .settings import DataSettings
from .synthetic import latest_build

IGNORED_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
MAX_LISTED = 12
SHORT_REASON_MAX = 119  # characters of a :func:`short_reason` line
STATUS_HINT = "see python -m data_prep status"


class DatasetError(RuntimeError):
    """A dataset is missing, incomplete or mispaired; the message names the folder and the fix."""


@dataclass
class DatasetStatus:
    """The state of one dataset split: ``found`` | ``partial`` | ``missing`` | ``invalid``."""

    name: str
    split: str
    state: str
    root: Path | None
    n_items: int
    reason: str
    fix: str
    problems: list[str] = field(default_factory=list)
    expected: int | None = None
    layout: str = ""

    def as_row(self) -> dict:
        row = asdict(self)
        row["root"] = str(self.root) if self.root else ""
        row["problems"] = "; ".join(self.problems)
        return row


@dataclass(frozen=True)
class _Located:
    """A layout variant present on disk, with its (group, low folder, high folder) triples."""

    layout: FolderLayout
    folders: tuple[tuple[str, Path, Path | None], ...]


# ----------------------------------------------------------------------------------------------- listing
def _resolve_case_insensitive(base: Path, relative: str) -> Path | None:
    """``base/relative`` where every component may differ in case; ``None`` when absent."""
    exact = base / relative
    if exact.exists():
        return exact
    current = base
    for part in Path(relative).parts:
        if not current.is_dir():
            return None
        match = next((c for c in sorted(current.iterdir()) if c.name.lower() == part.lower()), None)
        if match is None:
            return None
        current = match
    return current


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def list_folder(folder: Path, pattern: str = "*") -> tuple[list[Path], list[Path]]:
    """(image files matching ``pattern``, other files ignored), naturally sorted; hidden/OS files skipped."""
    images, others = [], []
    for path in folder.iterdir():
        if not fnmatch.fnmatch(path.name.lower(), pattern.lower()) or path.name.lower() in IGNORED_FILES:
            continue
        if _is_image(path):
            images.append(path)
        elif path.is_file() and not path.name.startswith("."):
            others.append(path)
    key = lambda p: p.name.lower()  # noqa: E731
    return natsorted(images, key=key), natsorted(others, key=key)


def _strip_prefix(stem: str, prefixes: Sequence[str]) -> str:
    for prefix in prefixes:
        match = re.fullmatch(rf"{prefix}[_\-]?(.+)", stem, flags=re.IGNORECASE)
        if match:
            return match.group(1)
    return stem


def _keyed(files: Iterable[Path], prefixes: Sequence[str], side: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        key = _strip_prefix(f.stem, prefixes).lower() if prefixes else f.stem.lower()
        if key in out:
            raise DatasetError(f"two {side} files share the name {key!r}: {out[key]} and {f}. "
                               "Fix: keep one of them (pairing is by file name, extension ignored)")
        out[key] = f
    return out


def _short_list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")


def pair_by_name(low_files: Iterable[Path], high_files: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Match low and high files by stem (natural order of the low names); unmatched files -> DatasetError."""
    low_files, high_files = [Path(p) for p in low_files], [Path(p) for p in high_files]
    low, high = _keyed(low_files, (), "low"), _keyed(high_files, (), "high")
    if set(low) != set(high):
        low, high = _keyed(low_files, LOW_PREFIXES, "low"), _keyed(high_files, HIGH_PREFIXES, "high")
    only_low = [low[k].name for k in natsorted(set(low) - set(high))]
    only_high = [high[k].name for k in natsorted(set(high) - set(low))]
    if only_low or only_high:
        where = low_files[0].parent if low_files else (high_files[0].parent if high_files else "?")
        raise DatasetError(
            f"unmatched files under {where}: low without high [{_short_list(only_low)}]; high without low "
            f"[{_short_list(only_high)}]. Fix: restore the missing partners or remove the extra files "
            "(pairs are matched by file name)")
    keys = natsorted(low, key=lambda k: low[k].name.lower())
    return [(low[k], high[k]) for k in keys]


# --------------------------------------------------------------------------------------------- locating
def _dataset_base(spec: DatasetSpec, root: str | Path | None, cache_dir: str | Path | None = None) -> Path | None:
    """The folder layouts are relative to: the data root, or for cache datasets the built set (``root`` itself
    when it is a build, else the newest build in ``cache_dir``; ``None`` when there is none)."""
    if spec.location == "cache":
        if root is not None and (Path(root) / "params.json").is_file():
            return Path(root)
        return latest_build(cache_dir) if cache_dir not in (None, "") else None
    return Path(root) if root not in (None, "") else None


def _missing_fix(spec: DatasetSpec, split: str, base: Path | None) -> str:
    if spec.location == "cache":
        return "run `python -m data_prep build-synthetic` (or any notebook that uses it: it is built on first use)"
    where = base if base else "$LLIE_DATA_ROOT (or pass --root)"
    layouts = spec.splits[split].variants
    source = f"get it from: {spec.url}" if spec.public else spec.url  # the url says whom to ask
    return (f"{source}; put it under {where} as {layouts[0].describe()} "
            f"(`python -m data_prep download {spec.name}` lists all {len(layouts)} accepted layouts)")


def _present(base: Path, layout: FolderLayout) -> _Located | None:
    folders = []
    for group in layout.groups or ("",):
        low = _resolve_case_insensitive(base, layout.low.format(group=group))
        high = _resolve_case_insensitive(base, layout.high.format(group=group)) if layout.high else None
        if low is not None and low.is_dir():
            folders.append((group, low, high))
    return _Located(layout, tuple(folders)) if folders else None


def _locate(spec: DatasetSpec, base: Path, split: str) -> _Located | None:
    """The first layout variant present on disk, preferring one whose low and high folders both exist (a
    low folder alone is returned only when no variant is complete, so the report can name the gap)."""
    present = [found for layout in spec.splits[split].variants if (found := _present(base, layout))]
    complete = [p for p in present if all(high is not None and high.is_dir() for _, _, high in p.folders)
                or p.layout.high is None]
    return (complete or present or [None])[0]


def _split_of(spec: DatasetSpec, split: str | None) -> str:
    if split is None:
        return "test" if "test" in spec.splits else next(iter(spec.splits))
    if split not in spec.splits:
        raise KeyError(f"dataset {spec.name!r} has no split {split!r}; splits: {', '.join(spec.splits)}")
    return split


def _require(spec: DatasetSpec, root: str | Path | None, split: str,
             cache_dir: str | Path | None = None) -> tuple[Path, _Located]:
    base = _dataset_base(spec, root, cache_dir)
    if base is None and spec.location == "cache":
        raise DatasetError(f"{spec.name}/{split}: not built yet (no build in the cache {cache_dir}). "
                           f"Fix: {_missing_fix(spec, split, None)}")
    if base is None:
        raise DatasetError(f"{spec.name}/{split}: no data root is configured. Fix: set $LLIE_DATA_ROOT or pass "
                           f"a root; {_missing_fix(spec, split, None)}")
    located = _locate(spec, base, split)
    if located is None:
        raise DatasetError(f"{spec.name}/{split}: none of the accepted layouts exists under {base} "
                           f"(tried {spec.splits[split].describe()}). Fix: {_missing_fix(spec, split, base)}")
    return base, located


def _pairs_of(located: _Located) -> tuple[list[tuple[Path, Path]], list[Path]]:
    pairs, ignored = [], []
    for _, low_dir, high_dir in located.folders:
        if high_dir is None or not high_dir.is_dir():
            raise DatasetError(f"{low_dir} has no partner folder {located.layout.high}. Fix: restore the "
                               "normal-light folder next to it")
        low, low_other = list_folder(low_dir, located.layout.low_glob)
        high, high_other = list_folder(high_dir, located.layout.high_glob)
        pairs += pair_by_name(low, high)
        ignored += low_other + high_other
    return pairs, ignored


def _images_of(located: _Located) -> tuple[list[Path], list[Path]]:
    images, ignored = [], []
    for _, low_dir, _ in located.folders:
        found, other = list_folder(low_dir, located.layout.low_glob)
        images += found
        ignored += other
    return images, ignored


def list_pairs(name: str, root: str | Path | None, split: str,
               cache_dir: str | Path | None = None) -> list[tuple[Path, Path]]:
    """(low, high) pairs of a paired dataset split, matched by name, naturally ordered (the embedded set: ``root``
    is its build folder, else the newest build in ``cache_dir``)."""
    spec = get_spec(name)
    if not spec.paired:
        raise DatasetError(f"{name} is unpaired (no references). Fix: use list_images({name!r}, root)")
    _, located = _require(spec, root, _split_of(spec, split), cache_dir)
    return _pairs_of(located)[0]


def list_images(name: str, root: str | Path | None, split: str | None = None,
                cache_dir: str | Path | None = None) -> list[Path]:
    """Image files of an unpaired split (for paired sets: the low-light side), naturally ordered."""
    spec = get_spec(name)
    _, located = _require(spec, root, _split_of(spec, split), cache_dir)
    return _images_of(located)[0]


# --------------------------------------------------------------------------------------------- checking
def _size_problems(pairs: Sequence[tuple[Path, Path]]) -> list[str]:
    problems = []
    for low, high in pairs:
        try:
            low_size, high_size = image_size(low), image_size(high)
        except ImageReadError as exc:
            problems.append(f"error: {exc}")
            continue
        if low_size != high_size:
            problems.append(f"error: size mismatch {low} {low_size} vs {high} {high_size} (H, W)")
    return problems


def _read_problems(files: Iterable[Path], deep: bool) -> list[str]:
    problems = []
    for f in files:
        try:
            read_image(f) if deep else image_size(f)
        except ImageReadError as exc:
            problems.append(f"error: {exc}")
    return problems


def _grade(spec: DatasetSpec, split: str, n: int, located: _Located, problems: list[str],
           base: Path) -> tuple[str, str, str]:
    """(state, reason, fix) from the count and the problems found."""
    expected = spec.expected_count[split]
    layout = located.layout.describe()
    errors = [p for p in problems if p.startswith("error")]
    if errors:
        return ("invalid", f"{len(errors)} problem(s) in {layout}: {errors[0][7:]}",
                "fix the files listed in 'problems' (re-download the affected ones)")
    if n == 0:
        return "invalid", f"{layout} exists but holds no images", _missing_fix(spec, split, base)
    if expected is not None and n < expected:
        kind = "a subset copy: " if located.layout.subset else ""
        return ("partial", f"{kind}{n} of {expected} items in {layout}",
                "usable as is (numbers are not comparable to the papers'); for the full set "
                + _missing_fix(spec, split, base))
    if located.layout.subset:
        return "partial", f"a subset copy: {n} items in {layout}", f"for the full set {_missing_fix(spec, split, base)}"
    return "found", f"{n} items in {layout}", ""


def _check_split(spec: DatasetSpec, root: str | Path | None, split: str, deep: bool,
                 cache_dir: str | Path | None = None) -> DatasetStatus:
    expected = spec.expected_count[split]
    status = DatasetStatus(spec.name, split, "missing", None, 0, "", "", expected=expected)
    base = _dataset_base(spec, root, cache_dir)
    unreleased = "" if spec.public else " (no public release)"
    if base is None:
        status.reason = "not built yet" if spec.location == "cache" else f"no data root configured{unreleased}"
        status.fix = _missing_fix(spec, split, None)
        return status
    located = _locate(spec, base, split)
    status.root, status.layout = base, spec.splits[split].describe()
    if located is None:
        status.reason = f"none of the accepted layouts exists under {base}{unreleased}"
        status.fix = _missing_fix(spec, split, base)
        return status
    status.layout = located.layout.describe()
    try:
        if spec.paired:
            pairs, ignored = _pairs_of(located)
            status.problems += _size_problems(pairs)
            status.problems += _read_problems([f for p in pairs for f in p], deep) if deep else []
            status.n_items = len(pairs)
        else:
            images, ignored = _images_of(located)
            status.problems += _read_problems(images, deep)
            status.n_items = len(images)
    except DatasetError as exc:
        status.state, status.reason = "invalid", str(exc).split(". Fix: ")[0]
        status.fix = str(exc).split(". Fix: ")[-1]
        status.problems.append(f"error: {exc}")
        return status
    status.problems += [f"warning: ignored non-image file {f}" for f in ignored]
    if expected is not None and status.n_items > expected:
        status.problems.append(f"warning: {status.n_items} items, more than the {expected} of the release")
    status.state, status.reason, status.fix = _grade(spec, split, status.n_items, located, status.problems, base)
    return status


def check_dataset(name: str, root: str | Path | None, split: str | None = None,
                  deep: bool = False, cache_dir: str | Path | None = None) -> list[DatasetStatus]:
    """Status of every split of ``name`` (or just ``split``): counts, pairing, low/high size agreement (headers
    only) and header readability; ``deep=True`` also decodes every image. Never raises for bad data. The embedded
    set is looked up in ``root`` when that is its build folder, else as the newest build in ``cache_dir``."""
    spec = get_spec(name)
    splits = [_split_of(spec, split)] if split is not None else list(spec.splits)
    return [_check_split(spec, root, s, deep, cache_dir) for s in splits]


def status_table(root: str | Path | None, deep: bool = False, names: Iterable[str] | None = None,
                 cache_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per dataset x split (all registered datasets unless ``names``), as :class:`DatasetStatus` fields
    (the embedded set: the newest build in ``cache_dir``)."""
    unknown = [n for n in (names or ()) if n not in DATASETS]
    if unknown:
        raise KeyError(f"unknown dataset(s) {unknown}; registered: {', '.join(DATASETS)}")
    rows = [status.as_row() for name in (names or DATASETS)
            for status in check_dataset(name, root, deep=deep, cache_dir=cache_dir)]
    columns = ["name", "split", "state", "n_items", "expected", "reason", "fix", "layout", "root", "problems"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["expected"] = frame["expected"].astype("Int64")
    return frame


def format_status(table: pd.DataFrame, root: str | Path | None) -> str:
    """The text ``python -m data_prep status`` prints for a :func:`status_table`: the data root, one line per
    dataset x split, then how to fix each split that is not found."""
    lines = [f"data root: {root or '(none: set $LLIE_DATA_ROOT or pass --data-root)'}"]
    with pd.option_context("display.max_colwidth", 120, "display.width", 250, "display.max_rows", None):
        lines.append(table[["name", "split", "state", "n_items", "expected", "reason"]].to_string(index=False))
    todo = table[table["state"] != "found"]
    if len(todo):
        lines.append("\nhow to fix:")
        for row in todo.itertuples():
            lines.append(f"  {row.name}/{row.split} [{row.state}]: {row.fix}")
            lines += [f"      {problem}" for problem in filter(None, row.problems.split("; "))]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ short reasons
def _shorten(path: Path, width: int) -> str:
    """``path`` as text, its start cut to ``...`` when longer than ``width`` characters."""
    text = str(path)
    return text if len(text) <= width else "..." + text[-max(width - 3, 8):]


def _root_of(data_or_root: DataSettings | str | os.PathLike | None) -> Path | None:
    if isinstance(data_or_root, DataSettings):
        return data_or_root.root
    return Path(data_or_root) if data_or_root not in (None, "") else None


def _short_problem(spec: DatasetSpec, root: Path | None, split: str) -> str:
    """``'not found under {root}'``-like fragment (``{root}`` left to fill), or ``''`` when the split is usable."""
    if root is None:
        return "needs a data root ($LLIE_DATA_ROOT)"
    located = _locate(spec, root, split)
    if located is None:
        return "not found under {root}"
    try:
        n = len(_pairs_of(located)[0] if spec.paired else _images_of(located)[0])
    except DatasetError:
        return "is invalid under {root}"
    return "" if n else "has no images under {root}"


def short_reason(name: str, data_or_root: DataSettings | str | os.PathLike | None,
                 split: str | None = None) -> str:
    """One line of at most :data:`SHORT_REASON_MAX` characters for a table cell, e.g. ``not run: lol_v2_real not
    found under /data; see python -m data_prep status``; ``''`` when the split can be used.

    ``data_or_root`` is a :class:`~data_prep.settings.DataSettings` (its ``root``) or a data root. Presence and
    pairing by name only (no image is opened; :func:`check_dataset` validates the contents). The embedded set is
    always usable (built on first use). ``split`` defaults to ``test`` when the dataset has one.
    """
    if name not in DATASETS:
        return f"not run: {name} is not registered in data_prep (no known source)"[:SHORT_REASON_MAX]
    spec = get_spec(name)
    if spec.location == "cache":
        return ""
    root = _root_of(data_or_root)
    problem = _short_problem(spec, root, _split_of(spec, split))
    if not problem:
        return ""
    line = f"not run: {name} {problem}{'' if spec.public else ' (not public)'}; {STATUS_HINT}"
    width = SHORT_REASON_MAX - len(line.replace("{root}", ""))
    return line.replace("{root}", _shorten(root, width) if root else "")
