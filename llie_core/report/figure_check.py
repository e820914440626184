"""Legibility checks of a matplotlib figure before it is saved (:func:`figure_problems`).

The rules, each precise enough to hold for every figure of the workbook (a figure that breaks one is a defect):

* **Panels that show data are named.** An axes is a *data panel* when it is visible, its axis is on (image panels
  drawn with ``ax.axis("off")`` are skipped), it holds data (``Axes.has_data``: lines, collections, patches,
  images) and it draws tick labels on at least one axis (an image shown with its ticks removed is a picture, like
  an axis-off panel). A data panel has a non-empty title (centre, left or right) unless the figure has a suptitle or the
  panel is the twin (``twinx`` / ``twiny``) of a titled one.
* **Quantitative axes are labelled.** A data panel whose x (y) axis draws tick labels that are numbers has a
  non-empty x (y) label, or a panel of its grid column (row), i.e. with the same horizontal (vertical) extent,
  has one (a grid labels its outer panels only). An axis whose tick labels are words (method or dataset names of a bar chart or a
  heatmap) names its own categories and needs none; an axis without drawn tick labels (shared axes of a grid)
  needs none either.
* **Colour bars are labelled.** A colour bar (found from the mappables of the figure) has a non-empty label on
  its long axis (``Colorbar.set_label``); the title rule does not apply to it.
* **Tick labels of one axis do not overlap.** The window extents (``Text.get_window_extent`` with the canvas
  renderer) of the drawn major and minor tick labels of one axis intersect by at most ``OVERLAP_TOLERANCE_PX``
  in both directions.
* **Annotations of one panel do not overlap.** The same test for the texts placed inside one data panel
  (``ax.text`` / ``ax.annotate``, e.g. point labels of a scatter plot).
* **Methods are shown by their display names.** No title (of any visible panel, image panels included), suptitle, axis label, legend entry or categorical tick
  label is exactly a method key that has another display name (:data:`RAW_METHOD_IDS`: ``he``, ``zero_dce``,
  ``iclr``, ... ; ``input`` is excluded: it is also the plain word for the low-light column of an image grid, and
  so is ``lime``: it also names the LIME test set, shown by its key like every set).

Text that is not drawn (invisible, empty, or a tick outside the view limits) is never checked.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from data_prep.catalogue import DATASETS
from llie_core.core.methods import DISPLAY_NAMES

# method keys (and run labels) a figure must not show as they are: their display name differs. Excluded: "input"
# (also the plain word for the low-light column of an image grid) and keys that also name a test set ("lime": the
# LIME method and the LIME data set, which figures name by its key like every other set)
RAW_METHOD_IDS: frozenset[str] = frozenset(key for key, shown in DISPLAY_NAMES.items()
                                           if shown != key and key != "input" and key not in DATASETS)
OVERLAP_TOLERANCE_PX = 1.0  # two texts overlap when their boxes intersect by more than this in x and in y
_MATHTEXT = re.compile(r"\$[^$]*\$")


def figure_problems(fig: Figure) -> list[str]:
    """Every legibility problem of ``fig`` under the rules of this module, one sentence each (empty: none).

    The figure is drawn once on its own canvas (layout and tick labels as they will be saved)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    colorbars = _colorbars(fig)
    has_suptitle = bool(fig.get_suptitle().strip())
    problems: list[str] = []
    problems += _raw_ids("suptitle", [fig.get_suptitle()])
    for index, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        name = _panel_name(ax, index)
        if ax in colorbars:
            cbar = colorbars[ax]
            label = ax.get_ylabel() if cbar.orientation == "vertical" else ax.get_xlabel()
            if not label.strip():
                problems.append(f"colour bar {name} has no label")
            problems += _overlaps(f"colour bar {name} tick labels", _drawn_tick_labels(cbar.long_axis), renderer)
            continue
        titles = [ax.get_title(loc) for loc in ("center", "left", "right")]
        problems += _raw_ids(f"panel #{index} title", titles)       # image panels (axis off) included
        ticks = {"x": _drawn_tick_labels(ax.xaxis), "y": _drawn_tick_labels(ax.yaxis)}
        if not ax.axison or not ax.has_data() or not (ticks["x"] or ticks["y"]):
            continue                                           # not shown, empty, or a picture without ticks
        if not has_suptitle and not any(t.strip() for t in titles) and not _twin_title(ax):
            problems.append(f"panel {name} has no title (and the figure no suptitle)")
        for letter, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            categorical = any(_is_word(t.get_text()) for t in ticks[letter])
            if ticks[letter] and not categorical and not label.strip() and not _labelled_in_line(fig, ax, letter):
                problems.append(f"panel {name} has numeric {letter} tick labels but no {letter} label")
            problems += _overlaps(f"panel {name} {letter} tick labels", ticks[letter], renderer)
            problems += _raw_ids(f"panel {name} {letter} label", [label])
            if categorical:
                problems += _raw_ids(f"panel {name} {letter} tick label", [t.get_text() for t in ticks[letter]])
        problems += _overlaps(f"panel {name} annotations", [t for t in ax.texts if _drawn(t)], renderer)
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            problems += _raw_ids(f"panel {name} legend entry", [t.get_text() for t in legend.get_texts()])
    for legend in fig.legends:
        problems += _raw_ids("figure legend entry", [t.get_text() for t in legend.get_texts()])
    return problems


def _colorbars(fig: Figure) -> dict[Axes, object]:
    """``{colour bar axes: Colorbar}`` of every mappable (image, collection) of ``fig`` that has a colour bar."""
    found = {}
    for ax in fig.axes:
        for mappable in [*ax.images, *ax.collections]:
            cbar = getattr(mappable, "colorbar", None)
            if cbar is not None:
                found[cbar.ax] = cbar
    return found


def _labelled_in_line(fig: Figure, ax: Axes, letter: str) -> bool:
    """Whether another panel of ``ax``'s grid column (``letter`` x) or row (``letter`` y), i.e. with the same
    horizontal (vertical) extent in the figure, carries a non-empty ``letter`` label (a twin axes, at the same
    place, does not count)."""
    box = ax.get_position()
    span = (box.x0, box.x1) if letter == "x" else (box.y0, box.y1)
    for other in fig.axes:
        ob = other.get_position()
        if other is ax or not other.get_visible() or not other.axison or ob.bounds == box.bounds:
            continue                                                    # a twin labels its own axis
        other_span = (ob.x0, ob.x1) if letter == "x" else (ob.y0, ob.y1)
        label = other.get_xlabel() if letter == "x" else other.get_ylabel()
        if label.strip() and all(abs(a - b) < 1e-3 for a, b in zip(span, other_span)):
            return True
    return False


def _twin_title(ax: Axes) -> bool:
    """Whether ``ax`` is a twin (``twinx`` / ``twiny``: same place, one shared axis) of a titled axes."""
    siblings = {*ax.get_shared_x_axes().get_siblings(ax), *ax.get_shared_y_axes().get_siblings(ax)} - {ax}
    return any(other.get_position().bounds == ax.get_position().bounds and other.get_title().strip()
               for other in siblings)


def _panel_name(ax: Axes, index: int) -> str:
    title = next((t for t in (ax.get_title(loc) for loc in ("center", "left", "right")) if t.strip()), "")
    return f"#{index}" + (f" ({title!r})" if title else "")


def _drawn(text: Text) -> bool:
    return text.get_visible() and bool(text.get_text().strip())


def _drawn_tick_labels(axis: Axis) -> list[Text]:
    """The tick labels ``axis`` draws: visible, non-empty, at a tick inside the view limits (major and minor)."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(high - low), 1e-12)
    labels = []
    for locs, ticks in ((axis.get_majorticklocs(), axis.get_major_ticks), (axis.get_minorticklocs(),
                                                                           axis.get_minor_ticks)):
        for loc, tick in zip(locs, ticks(len(locs))):
            if tick.get_visible() and low - slack <= loc <= high + slack:
                labels += [label for label in (tick.label1, tick.label2) if _drawn(label)]
    return labels


def _is_word(text: str) -> bool:
    """Whether a tick label names a category (has a letter outside mathtext) rather than a number."""
    return bool(re.search(r"[A-Za-z]", _MATHTEXT.sub("", text)))


def _overlaps(what: str, texts: list[Text], renderer) -> list[str]:
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts]  # an annotation's text only
    pairs = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if _intersect(box_a, box_b)]
    if not pairs:
        return []
    shown = ", ".join(f"{a!r}/{b!r}" for a, b in pairs[:4]) + (f" (+{len(pairs) - 4} more)" if len(pairs) > 4 else "")
    return [f"{what} overlap: {shown}"]


def _intersect(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > OVERLAP_TOLERANCE_PX
            and min(a.y1, b.y1) - max(a.y0, b.y0) > OVERLAP_TOLERANCE_PX)


def _raw_ids(what: str, texts: Iterable[str]) -> list[str]:
    return [f"{what} {text.strip()!r} is a method key: show {DISPLAY_NAMES[text.strip()]!r}"
            for text in texts if text.strip() in RAW_METHOD_IDS]
