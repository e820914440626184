"""Image-quality metrics as named protocols (pyiqa style): ``create_metric('psnr')(output, target)``.

Full-reference: ``psnr``, ``ssim``, ``ssim_matlab_gray``, ``ssim_gray``, ``lpips_alex``, ``lpips_vgg`` and their
``*_gtmean`` variants. No-reference: ``niqe``, ``brisque``. ``metric_info(name)`` gives the direction and the exact
protocol. Each module registers its metrics in :data:`~llie_core.metrics.registry.METRICS`, which imports them all
on its first lookup. LPIPS / NIQE / BRISQUE need the offline assets (``python -m llie_core.core.assets setup``).
"""
from __future__ import annotations

from llie_core.metrics.base import FR, NR, Metric, MetricInfo
from llie_core.metrics.gt_mean import GTMean, apply_gt_mean, gt_mean
from llie_core.metrics.registry import compute_metrics, create_metric, list_metrics, metric_info

__all__ = ["FR", "NR", "Metric", "MetricInfo", "GTMean", "apply_gt_mean", "gt_mean", "compute_metrics",
           "create_metric", "list_metrics", "metric_info"]
