"""Figure builders shared by the notebooks (matplotlib only; each returns the Figure, notebooks save it)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from llie_core.metrics import metric_info


def to_hwc(image: Tensor | np.ndarray) -> np.ndarray:
    """(1,3,H,W)/(3,H,W) tensor or CHW array in [0,1] -> HWC float array for imshow."""
    array = image.detach().cpu().float().numpy() if isinstance(image, Tensor) else np.asarray(image)
    array = array[0] if array.ndim == 4 else array
    return np.clip(array.transpose(1, 2, 0), 0.0, 1.0)


def image_grid(columns: Mapping[str, Sequence[Tensor | np.ndarray]], row_labels: Sequence[str] = (),
               cell_size: float = 2.6) -> plt.Figure:
    """A grid with one column per entry of ``columns`` (title = key) and one row per image."""
    names = list(columns)
    rows = max(len(v) for v in columns.values())
    fig, axes = plt.subplots(rows, len(names), figsize=(cell_size * len(names), cell_size * 0.72 * rows),
                             squeeze=False)
    for j, name in enumerate(names):
        for i in range(rows):
            ax = axes[i, j]
            ax.axis("off")
            if i < len(columns[name]):
                ax.imshow(to_hwc(columns[name][i]))
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 0 and i < len(row_labels):
                ax.text(-0.04, 0.5, row_labels[i], transform=ax.transAxes, rotation=90, va="center", ha="right",
                        fontsize=8)
    fig.tight_layout()
    return fig


def enhance_examples(enhancers: Mapping[str, object], dataset, indices: Sequence[int]) -> dict[str, list[Tensor]]:
    """``{'input': [...], <enhancer>: [...], 'reference': [...]}`` for the items ``indices`` of ``dataset``
    (reference only when the items are paired); images cropped back to their original size."""
    columns: dict[str, list[Tensor]] = {"input": []}
    columns.update({name: [] for name in enhancers})
    references: list[Tensor] = []
    for index in indices:
        item = dataset[index]
        h, w = item["size"]
        low = item["low"][None]
        columns["input"].append(low[..., :h, :w])
        with torch.no_grad():
            for name, enhancer in enhancers.items():
                columns[name].append(enhancer(low)[..., :h, :w])
        if "high" in item:
            references.append(item["high"][None][..., :h, :w])
    if references:
        columns["reference"] = references
    return columns


def metric_bars(table: pd.DataFrame, metric: str, by: str = "method", highlight: Sequence[str] = (),
                title: str = "") -> plt.Figure:
    """Horizontal bars of ``metric`` per ``by`` (sorted best first using the metric's direction)."""
    ascending = metric_info(metric).lower_better
    data = table.dropna(subset=[metric]).sort_values(metric, ascending=not ascending)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(data) + 1))
    colors = ["tab:red" if m in highlight else "tab:gray" for m in data[by]]
    ax.barh(data[by].astype(str), data[metric], color=colors)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} ({'lower' if ascending else 'higher'} is better)")
    ax.set_title(title or metric)
    for y, v in enumerate(data[metric]):
        ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
    fig.tight_layout()
    return fig
