"""Quantities shared by the analysis modules, each defined once.

* :func:`histogram_emd`: the 1-D earth mover's (Wasserstein-1) distance between two histograms on the same bins,
  used by the cross-method colour histograms (:mod:`llie_core.analysis.cross_method`) and JCRNet's Fig. 11 table
  (:mod:`llie_core.analysis.jcrnet`).
* :func:`read_image_scores`: the image rows of one per-image score CSV of
  :func:`llie_core.evaluation.loop.evaluate` (its ``mean`` row dropped).
* :func:`plain_log_ticks`: log-axis tick labels as plain numbers at 1, 2, 5 x 10^k (a log axis over one or two
  decades otherwise labels its minor ticks in scientific notation, and those labels overlap).
* :func:`label_points`: point labels of a scatter plot placed where they overlap neither each other nor the axes'
  edges (with a leader line when moved away from the point).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.text import Text
from matplotlib.transforms import Bbox

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


def plain_log_ticks(axis: Axis, subs: tuple[float, ...] = (1.0, 2.0, 5.0)) -> None:
    """Label a log ``axis`` (``ax.xaxis`` / ``ax.yaxis``) at ``subs`` x 10^k with plain numbers (``0.02``, ``0.1``)
    and leave its minor ticks unlabelled."""
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


LABEL_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
LABEL_RADII_PT = (4.5, 12.0, 20.0, 30.0, 42.0)  # distances (points) tried for a point label, nearest first


def label_points(ax: Axes, xs, ys, labels, fontsize: float = 6, marker_pt: float = 6.0) -> list:
    """Annotate each point ``(x, y)`` of ``ax`` with its label at the first offset (``LABEL_RADII_PT`` x
    ``LABEL_DIRECTIONS``, nearest first) where the label's box stays inside the axes and overlaps no marker
    (``marker_pt`` wide: scatter's default size), no label placed before and not the legend; a label moved beyond the nearest radius gets a thin leader line; one with no free place keeps the
    nearest offset. Call it after the axes' limits and the figure's layout are final (the boxes are measured with
    the figure's renderer). Returns the annotations."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    xs, ys, labels = list(xs), list(ys), list(labels)
    half = marker_pt / 2 * fig.dpi / 72.0
    centres = ax.transData.transform(np.column_stack([xs, ys]).astype(float))
    boxes = [Bbox.from_extents(cx - half, cy - half, cx + half, cy + half) for cx, cy in centres]  # the markers
    legend = ax.get_legend()
    if legend is not None:
        boxes.append(legend.get_window_extent(renderer))
    placed = []
    for x, y, label in zip(xs, ys, labels):
        for radius in LABEL_RADII_PT:
            note = None
            for dx, dy in LABEL_DIRECTIONS:
                note = ax.annotate(str(label), (x, y), xytext=(dx * radius, dy * radius), textcoords="offset points",
                                   fontsize=fontsize, ha={1: "left", -1: "right", 0: "center"}[dx],
                                   va={1: "bottom", -1: "top", 0: "center"}[dy],
                                   arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.4"}
                                   if radius > LABEL_RADII_PT[0] else None)
                note.update_positions(renderer)
                box = Text.get_window_extent(note, renderer)  # the text, not its leader line
                inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1)
                if inside and not any(box.overlaps(other) for other in boxes):
                    break
                note.remove()
                note = None
            if note is not None:
                break
        if note is None:
            note = ax.annotate(str(label), (x, y), xytext=(LABEL_RADII_PT[0],) * 2, textcoords="offset points",
                               fontsize=fontsize)
        placed.append(note)
        boxes.append(Text.get_window_extent(note, renderer))
    return placed
