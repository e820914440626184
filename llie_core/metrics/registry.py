"""The metric registry (pyiqa ``create_metric`` / ``list_models`` style): every protocol variant is a name.

Each metric module registers its :class:`MetricInfo` entries with :func:`register_metric`; the first lookup
imports every module of ``llie_core.metrics`` (see :class:`llie_core.core.registry.Registry`).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch

from llie_core.core.registry import Registry
from llie_core.metrics.base import FR, NR, Metric, MetricInfo

METRICS = Registry("metric", "llie_core.metrics")


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add ``info`` (with its ``factory``) under ``info.name``."""
    if info.factory is None:
        raise ValueError(f"metric {info.name!r} needs a factory")
    METRICS.register(info.name)(info)
    return info


def metric_class(cls: type[Metric]) -> Callable[..., Metric]:
    """A factory ``(info, device, **options) -> cls(info, device, **options)`` for :class:`MetricInfo`."""
    return lambda info, device="cpu", **options: cls(info, device=device, **options)


def list_metrics(kind: str | None = None) -> list[str]:
    """Registered metric names, optionally only ``'FR'`` or ``'NR'`` ones."""
    if kind not in (None, FR, NR):
        raise ValueError(f"kind must be None, 'FR' or 'NR', got {kind!r}")
    return [n for n in METRICS.names() if kind is None or METRICS.get(n).kind == kind]


def metric_info(name: str) -> MetricInfo:
    """The metadata of ``name`` (KeyError listing the known names otherwise)."""
    return METRICS.get(name)


def create_metric(name: str, device: str | torch.device = "cpu", **overrides: Any) -> Metric:
    """Build the metric ``name``; ``overrides`` replace its default options (e.g. ``quantize=False``)."""
    info = metric_info(name)
    return info.factory(info, device=device, **{**info.defaults, **overrides})


def compute_metrics(names: Iterable[str | Metric], output: Any, target: Any = None,
                    device: str | torch.device = "cpu") -> dict[str, float]:
    """Score ``output`` (and ``target`` for FR metrics) with every metric; batch scores are averaged.

    ``names`` may hold ready :class:`Metric` objects: create LPIPS once and reuse it inside loops.
    """
    metrics: Sequence[Metric] = [m if isinstance(m, Metric) else create_metric(m, device=device) for m in names]
    results = {}
    for metric in metrics:
        value = metric(output, target) if metric.info.kind == FR else metric(output)
        results[metric.name] = float(value.mean()) if isinstance(value, torch.Tensor) else value
    return results
