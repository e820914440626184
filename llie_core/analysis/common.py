"""Quantities shared by the analysis modules, each defined once.

* :func:`histogram_emd`: the 1-D earth mover's (Wasserstein-1) distance between two histograms on the same bins,
  used by the cross-method colour histograms (:mod:`llie_core.analysis.cross_method`) and JCRNet's Fig. 11 table
  (:mod:`llie_core.analysis.jcrnet`).
* :func:`read_image_scores`: the image rows of one per-image score CSV of
  :func:`llie_core.evaluation.loop.evaluate` (its ``mean`` row dropped).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from llie_core.evaluation.loop import MEAN_ROW


def histogram_emd(density: np.ndarray, reference: np.ndarray, widths: np.ndarray | float) -> float:
    """Earth mover's distance between two histograms over the same bins (``density`` and ``reference``, each
    summing to 1; ``widths`` the bin widths): ``sum |CDF - CDF_ref| x width``, in the units of the binned values.

    This is ``scipy.stats.wasserstein_distance`` of the bin centres weighted by the densities (same quantity, the
    tests check it); computed here as the CDF sum because scipy's sort-based evaluation differs in the last bits
    (up to 7e-16), which would change the saved EMD tables' digits."""
    cdf, ref = np.cumsum(density), np.cumsum(reference)
    return float(np.sum(np.abs(cdf - ref) * widths))


def read_image_scores(csv_path: str | os.PathLike) -> pd.DataFrame:
    """The image rows of a per-image score CSV written by :func:`llie_core.evaluation.loop.evaluate` (no mean
    row; image names read as strings), index reset."""
    frame = pd.read_csv(csv_path, dtype={"image": str})
    return frame[frame["image"] != MEAN_ROW].reset_index(drop=True)
