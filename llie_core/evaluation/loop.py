"""One evaluation loop for every method: an :class:`Enhancer` run over a dataset, scored per image to a CSV.

Protocol choices (stated here so every table can quote them):

- The enhancer sees the low image in [0,1], padded (reflect) to its ``pad_multiple`` and cropped back; its
  output is clamped to [0,1] (as the official test scripts do when they save images) unless ``clamp=False``.
- When a dataset item carries ``size`` (the original H, W before a loader padded it), output and target are
  cropped to that size before scoring: metrics never see padding.
- Full-reference (FR) metrics need ``high``; on an unpaired dataset they are not computed and the reason is
  recorded in the ``skipped`` column of every row and in ``DataFrame.attrs['skipped']`` (also warned once).
- The CSV is appended and flushed image by image; a re-run skips images already present (resume) and rewrites
  the final ``mean`` row (mean over all image rows).
- No score is dropped from a mean: a metric undefined on an image (NaN, e.g. NIQE/BRISQUE of a flat output)
  makes the metric's mean NaN (pandas would skip it, and a method whose outputs collapse would look better); the
  ``mean`` row's ``skipped`` column says on how many images and names one. (An image row's ``skipped`` column only
  lists metrics that do not apply to it, e.g. FR metrics without ``high``.) The ``images`` column states how many images a row averages (1 for
  an image row, all image rows for ``mean``).
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

import pandas as pd
import torch

from data_prep.image_io import write_image
from llie_core.evaluation.tiling import TileConfig, enhance_tiled, run_padded
from llie_core.metrics import create_metric, metric_info

Tensor = torch.Tensor
MEAN_ROW = "mean"
BASE_COLUMNS = ("image",)
TAIL_COLUMNS = ("height", "width", "seconds", "skipped", "images")
COUNT_COLUMN = "images"  # added after the first release: CSVs without it are upgraded on resume


def progress_enabled() -> bool:
    """Whether to show tqdm bars: only on a TTY and without ``LLIE_NO_PROGRESS`` (the workbook runner sets it in
    the environment of the notebooks' kernel)."""
    if os.environ.get("LLIE_NO_PROGRESS"):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@runtime_checkable
class Enhancer(Protocol):
    """A low-light enhancer: (N,3,H,W) in [0,1] -> (N,3,H,W) in [0,1]. ``tileable`` (read with
    ``getattr(enhancer, 'tileable', True)``) says whether it may run tile by tile on a large image
    (:func:`llie_core.evaluation.tiling.enhance_tiled`): False for methods whose output at a pixel depends on
    whole-image statistics (HE, CLAHE, LIME, networks with global pooling or attention)."""

    name: str
    pad_multiple: int

    def __call__(self, low: Tensor) -> Tensor: ...


class WrappedEnhancer:
    """An ``nn.Module`` (put in eval mode) or a function, run without gradients on ``device`` with padding to
    ``pad_multiple`` and optional clamping to [0,1]. ``tileable`` (see :class:`Enhancer`): ``None`` takes a
    module's ``tileable`` class attribute (False when it has none: a network is assumed to use global statistics
    unless its class declares otherwise) and True for a plain function (pointwise or local).

    ``min_side``: the smallest side the network accepts (``None``: a module's ``min_side`` class attribute, else
    1); a smaller image (a thumbnail, a 1x1 probe) is padded up to it and cropped back, because the reflect
    paddings and instance norms of a network's deepest level need a few pixels there (ICLR declares 32, JCRNet 8,
    IRLE 2). Images of at least that size are run exactly as before."""

    def __init__(self, fn: Callable[[Tensor], Tensor], name: str, pad_multiple: int = 1,
                 device: str | torch.device = "cpu", clamp: bool = True, tileable: bool | None = None,
                 min_side: int | None = None) -> None:
        if pad_multiple < 1:
            raise ValueError(f"enhancer {name!r}: pad_multiple must be >= 1, got {pad_multiple}")
        if isinstance(fn, torch.nn.Module):
            fn = fn.to(device).eval()
            tileable = bool(getattr(fn, "tileable", False)) if tileable is None else tileable
        if min_side is None:  # a network's declared floor; a plain function runs at any size
            min_side = getattr(fn, "min_side", 1)
        self.min_side = int(min_side)
        self.tileable = True if tileable is None else bool(tileable)
        self.fn, self.name, self.pad_multiple = fn, name, pad_multiple
        self.device, self.clamp = torch.device(device), clamp

    @torch.no_grad()
    def __call__(self, low: Tensor) -> Tensor:
        if low.dim() != 4 or low.shape[1] != 3:
            raise ValueError(f"enhancer {self.name!r} expects (N,3,H,W), got shape {tuple(low.shape)}")
        out = run_padded(self.fn, low.to(self.device, torch.float32), self.pad_multiple, self.min_side)
        return out.clamp(0, 1) if self.clamp else out

    def __repr__(self) -> str:
        return (f"WrappedEnhancer(name={self.name!r}, pad_multiple={self.pad_multiple}, device={self.device}, "
                f"tileable={self.tileable})")


def as_enhancer(model_or_fn: Callable[[Tensor], Tensor], name: str, pad_multiple: int = 1,
                device: str | torch.device = "cpu", clamp: bool = True, tileable: bool | None = None,
                min_side: int | None = None) -> Enhancer:
    """Wrap a model or function as an :class:`Enhancer` (eval mode, no_grad, reflect-pad then crop);
    ``tileable`` and ``min_side`` as :class:`WrappedEnhancer` decides them."""
    return WrappedEnhancer(model_or_fn, name, pad_multiple, device, clamp, tileable, min_side)


@dataclass(frozen=True)
class _MetricSpec:
    name: str
    fn: Callable[..., Any]
    kind: str  # 'FR' or 'NR'


def _info_field(info: Any, key: str) -> Any:
    return info[key] if isinstance(info, Mapping) else getattr(info, key)


def _resolve_metrics(metrics: Sequence[str] | Mapping[str, Callable], metric_infos: Mapping[str, Any] | None
                     ) -> list[_MetricSpec]:
    """Names -> ``llie_core.metrics.create_metric``; kinds from ``metric_infos`` or ``metrics.metric_info``."""
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a list of names or a name->callable mapping, got the string {metrics!r}")
    if not isinstance(metrics, Mapping):
        metrics = {name: create_metric(name) for name in metrics}
    specs = []
    for name, fn in metrics.items():
        if metric_infos is not None and name in metric_infos:
            kind = _info_field(metric_infos[name], "kind")
        else:
            kind = metric_info(name).kind
        if kind not in ("FR", "NR"):
            raise ValueError(f"metric {name!r}: kind must be 'FR' or 'NR', got {kind!r}")
        specs.append(_MetricSpec(name, fn, kind))
    return specs


def _as_batch(image: Any, field: str, name: str) -> Tensor:
    tensor = torch.as_tensor(image, dtype=torch.float32)
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 4 or tensor.shape[1] != 3:
        raise ValueError(f"dataset item {name!r}: {field!r} must be (3,H,W) or (1,3,H,W), "
                         f"got shape {tuple(tensor.shape)}")
    return tensor


def _crop_to_size(image: Tensor, size: Any) -> Tensor:
    if size is None:
        return image
    h, w = (int(v) for v in size)
    return image[..., :h, :w]


def _score(metric: _MetricSpec, output: Tensor, target: Tensor | None) -> float:
    value = metric.fn(output, target) if metric.kind == "FR" else metric.fn(output)
    return float(torch.as_tensor(value, dtype=torch.float64).mean())


class _CsvLog:
    """Per-image rows appended (and flushed) to ``path``; earlier rows kept for resume."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns = path, columns
        self.rows = self._load_existing()
        self._rewrite(self.rows)

    def _load_existing(self) -> list[dict[str, Any]]:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return []
        frame = pd.read_csv(self.path, dtype={"image": str}, keep_default_na=True)
        if COUNT_COLUMN not in frame.columns and list(frame.columns) == [c for c in self.columns if c != COUNT_COLUMN]:
            frame[COUNT_COLUMN] = 1  # an earlier version's CSV: every image row scores one image
        if list(frame.columns) != self.columns:
            raise ValueError(f"{self.path}: existing columns {list(frame.columns)} differ from this run's "
                             f"{self.columns}; delete the file or choose another csv_path to start afresh")
        frame = frame[frame["image"] != MEAN_ROW]
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    def _rewrite(self, rows: Iterable[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def done(self) -> set[str]:
        return {str(row["image"]) for row in self.rows}

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=self.columns).writerow(row)
            fh.flush()


def _mean_row(frame: pd.DataFrame, metric_names: list[str]) -> dict[str, Any]:
    numeric = [*metric_names, "height", "width", "seconds"]
    row: dict[str, Any] = {"image": MEAN_ROW}
    for col in numeric:  # metrics: NaN stays NaN (never dropped); height/width/seconds: NaN-free anyway
        values = pd.to_numeric(frame[col], errors="coerce")
        skipna = col not in metric_names
        row[col] = float(values.mean(skipna=skipna)) if values.notna().any() else math.nan
    skipped = sorted({s for s in frame["skipped"].dropna().astype(str) if s})
    reasons = frame["skipped"].fillna("").astype(str)
    for name in metric_names:  # NaN scores that are not an inapplicable metric: undefined on those images
        undefined = pd.to_numeric(frame[name], errors="coerce").isna() & ~reasons.str.contains(f"{name}: ",
                                                                                             regex=False)
        if undefined.any():
            skipped.append(f"{name}: undefined (NaN) on {int(undefined.sum())} of {len(frame)} image(s), e.g. "
                           f"{frame.loc[undefined, 'image'].iloc[0]}; kept, so the mean is NaN")
    row["skipped"] = "; ".join(skipped)
    row[COUNT_COLUMN] = len(frame)
    return row


def _save_output(save_dir: Path, name: str, output: Tensor) -> None:
    write_image(save_dir / f"{Path(name).stem}.png", output[0].cpu().numpy())


def _items(dataset: Any) -> Iterable[Mapping[str, Any]]:
    """Map-style datasets (``__len__`` + ``__getitem__``) by index, anything else by iteration."""
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        return (dataset[i] for i in range(len(dataset)))
    return iter(dataset)


def _progress_bar(dataset: Any, enabled: bool, desc: str) -> Any:
    items = _items(dataset)
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=len(dataset) if hasattr(dataset, "__len__") else None)


def evaluate(enhancer: Enhancer, dataset: Iterable[Mapping[str, Any]],
             metrics: Sequence[str] | Mapping[str, Callable], csv_path: str | os.PathLike, *,
             save_dir: str | os.PathLike | None = None, tile: TileConfig | None = None,
             progress: bool | None = None, metric_infos: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Score ``enhancer`` on every item of ``dataset`` (dicts with ``low``, ``name``, optional ``high``/``size``).

    Returns all per-image rows (previous runs' included) plus a final ``mean`` row; the same table is in
    ``csv_path``. ``tile`` runs the enhancer through :func:`llie_core.evaluation.tiling.enhance_tiled`.
    """
    specs = _resolve_metrics(metrics, metric_infos)
    names = [m.name for m in specs]
    log = _CsvLog(Path(csv_path), [*BASE_COLUMNS, *names, *TAIL_COLUMNS])
    done, skipped_reasons = log.done(), {}
    out_dir = Path(save_dir) if save_dir is not None else None
    show = progress_enabled() if progress is None else progress
    for item in _progress_bar(dataset, show, getattr(enhancer, "name", "enhance")):
        name = str(item["name"])
        if name in done:
            continue
        row = _evaluate_item(enhancer, item, name, specs, tile, skipped_reasons)
        if out_dir is not None:
            _save_output(out_dir, name, row.pop("_output"))
        row.pop("_output", None)
        log.append(row)
        done.add(name)
    frame = pd.DataFrame(log.rows, columns=log.columns)
    mean = _mean_row(frame, names)
    log.append(mean)
    result = pd.DataFrame(log.rows, columns=log.columns)
    result.attrs["skipped"] = skipped_reasons
    return result


def _evaluate_item(enhancer: Enhancer, item: Mapping[str, Any], name: str, specs: list[_MetricSpec],
                   tile: TileConfig | None, skipped_reasons: dict[str, str]) -> dict[str, Any]:
    low = _as_batch(item["low"], "low", name)
    start = time.perf_counter()
    with torch.no_grad():
        output = enhancer(low) if tile is None else enhance_tiled(enhancer, low, tile, enhancer.pad_multiple)
    seconds = time.perf_counter() - start
    if output.shape[-2:] != low.shape[-2:]:
        raise ValueError(f"enhancer {enhancer.name!r} changed the size of {name!r}: "
                         f"{tuple(low.shape[-2:])} -> {tuple(output.shape[-2:])}")
    size = item.get("size")
    output = _crop_to_size(output.float().cpu(), size)
    high = item.get("high")
    target = _crop_to_size(_as_batch(high, "high", name), size) if high is not None else None
    row: dict[str, Any] = {"image": name}
    skipped = []
    for metric in specs:
        if metric.kind == "FR" and target is None:
            reason = "not applicable: full-reference metric on an item without 'high' (unpaired)"
            if metric.name not in skipped_reasons:
                warnings.warn(f"metric {metric.name!r} {reason}; recorded in the 'skipped' column", stacklevel=3)
            skipped_reasons[metric.name] = reason
            skipped.append(f"{metric.name}: {reason}")
            row[metric.name] = math.nan
        else:
            row[metric.name] = _score(metric, output, target)
    row.update(height=output.shape[-2], width=output.shape[-1], seconds=seconds, skipped="; ".join(skipped),
               images=1, _output=output)
    return row
