"""``figure_problems``: each rule finds its defect, and well-made figures (image grids, labelled plots, heatmaps
with word ticks, shared axes, labelled colour bars) pass."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from llie_core.core.methods import display_name
from llie_core.report.figure_check import RAW_METHOD_IDS, figure_problems


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled_line(title: str = "loss", legend: tuple[str, ...] = ()) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5, 3))
    for i, label in enumerate(legend or ("run",)):
        ax.plot([1, 2, 3], [3 - i, 2, 1], label=label)
    ax.set(title=title, xlabel="iteration", ylabel="loss")
    if legend:
        ax.legend()
    return fig


# ------------------------------------------------------------------------------------------ good figures
def test_a_labelled_plot_passes():
    assert figure_problems(labelled_line(legend=("HE", "Zero-DCE", "ICLR"))) == []


def test_an_image_grid_with_axes_off_needs_no_labels():
    fig, axes = plt.subplots(2, 3)
    for ax in axes.flat:
        ax.imshow(np.random.default_rng(0).random((8, 8, 3)))
        ax.axis("off")
    axes[0, 0].set_title("input")                      # the plain word, not a raw method id
    assert figure_problems(fig) == []


def test_a_picture_without_ticks_is_not_a_data_panel():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.imshow(np.eye(4))
        ax.set(xticks=[], yticks=[])
    axes[0].set_ylabel("image 1")                       # a row label, as the cross-method grids write it
    assert figure_problems(fig) == []


def test_word_ticks_need_no_axis_label_and_a_suptitle_names_the_panels():
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    image = left.imshow(np.arange(6.0).reshape(2, 3))
    left.set_xticks(range(3), ["HE", "CLAHE", "LIME"])
    left.set_yticks(range(2), ["lol_v1", "fivek"])
    fig.colorbar(image, ax=left).set_label("PSNR (dB)")
    right.barh(["HE", "ICLR"], [1.0, 2.0])
    right.set_xlabel("PSNR (dB)")
    fig.suptitle("scores")
    assert figure_problems(fig) == []


def test_shared_axes_need_a_label_only_where_ticks_are_drawn():
    fig, axes = plt.subplots(2, 2, sharex=True, sharey=True)
    for ax in axes.flat:
        ax.plot([0, 1], [0, 1])
        ax.set_title("panel")
        ax.label_outer()
    for ax in axes[1]:
        ax.set_xlabel("x")
    axes[0, 0].set_ylabel("y")
    axes[1, 0].set_ylabel("y")
    assert figure_problems(fig) == []


def test_a_twin_axis_shares_the_title_of_its_host():
    fig = labelled_line()
    twin = fig.axes[0].twinx()
    twin.plot([1, 2, 3], [10, 20, 30])
    twin.set_ylabel("spread")
    assert figure_problems(fig) == []
    twin.set_ylabel("")
    assert figure_problems(fig) == ["panel #1 has numeric y tick labels but no y label"]


def test_one_label_per_grid_row_and_column_is_enough():
    fig, axes = plt.subplots(2, 2)
    for ax in axes.flat:
        ax.plot([0, 1], [0, 1])
        ax.set_title("panel")
    axes[1, 0].set_xlabel("x")
    axes[0, 0].set_ylabel("y")
    axes[1, 0].set_ylabel("y")
    assert figure_problems(fig) == ["panel #1 ('panel') has numeric x tick labels but no x label",
                                    "panel #3 ('panel') has numeric x tick labels but no x label"]
    axes[1, 1].set_xlabel("x")
    assert figure_problems(fig) == []


def test_a_log_axis_over_many_decades_passes():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.loglog([1e-4, 1e2], [1, 10])
    ax.set(title="t", xlabel="x", ylabel="y")
    assert figure_problems(fig) == []


# ------------------------------------------------------------------------------------------ each rule fails
def test_a_panel_without_title_or_suptitle_is_found():
    fig = labelled_line(title="")
    assert figure_problems(fig) == ["panel #0 has no title (and the figure no suptitle)"]
    fig.suptitle("loss of the main run")
    assert figure_problems(fig) == []


@pytest.mark.parametrize("missing", ["x", "y"])
def test_a_numeric_axis_without_label_is_found(missing):
    fig = labelled_line()
    fig.axes[0].set(**{f"{missing}label": ""})
    assert figure_problems(fig) == [f"panel #0 ('loss') has numeric {missing} tick labels but no {missing} label"]


def test_an_unlabelled_colour_bar_is_found():
    fig, ax = plt.subplots()
    image = ax.imshow(np.eye(4))
    ax.axis("off")
    bar = fig.colorbar(image, ax=ax)
    assert figure_problems(fig) == ["colour bar #1 has no label"]
    bar.set_label("|error|")
    assert figure_problems(fig) == []


def test_overlapping_tick_labels_are_found():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(range(6), np.ones(6))
    ax.set_xticks(range(6), [f"a long category name {i}" for i in range(6)])
    ax.set(title="t", ylabel="y")
    problems = figure_problems(fig)
    assert len(problems) == 1 and problems[0].startswith("panel #0 ('t') x tick labels overlap")
    ax.tick_params(axis="x", labelrotation=90)
    assert figure_problems(fig) == []


def test_overlapping_minor_log_tick_labels_are_found():
    fig, ax = plt.subplots(figsize=(4, 3))                # one decade and a bit: minor ticks are labelled
    ax.semilogx([1.8e-2, 2.0e-1], [0, 1])
    ax.set(title="t", xlabel="x", ylabel="y")
    problems = figure_problems(fig)
    assert len(problems) == 1 and "x tick labels overlap" in problems[0]


def test_overlapping_point_labels_are_found():
    fig = labelled_line()
    ax = fig.axes[0]
    ax.annotate("146", (2, 2))
    ax.annotate("22", (2, 2.01))
    problems = figure_problems(fig)
    assert problems == ["panel #0 ('loss') annotations overlap: '146'/'22'"]
    ax.texts[1].set_position((2.5, 1.2))
    assert figure_problems(fig) == []


@pytest.mark.parametrize("raw", ["he", "zero_dce", "iclr"])
def test_raw_method_ids_are_found_in_titles_legends_and_word_ticks(raw):
    assert raw in RAW_METHOD_IDS and "input" not in RAW_METHOD_IDS and "lime" not in RAW_METHOD_IDS  # set names
    assert figure_problems(labelled_line(title=raw)) == [f"panel #0 title {raw!r} is a method key: show "
                                                         f"{display_name(raw)!r}"]
    assert figure_problems(labelled_line(legend=(raw, "CLAHE"))) == [
        f"panel #0 ('loss') legend entry {raw!r} is a method key: show {display_name(raw)!r}"]
    fig, ax = plt.subplots()
    ax.barh([raw, "CLAHE"], [1.0, 2.0])
    ax.set(title="scores", xlabel="PSNR (dB)")
    assert figure_problems(fig) == [f"panel #0 ('scores') y tick label {raw!r} is a method key: show "
                                    f"{display_name(raw)!r}"]
    fig, ax = plt.subplots()
    ax.imshow(np.eye(3))
    ax.axis("off")
    fig.suptitle(raw)
    assert figure_problems(fig) == [f"suptitle {raw!r} is a method key: show {display_name(raw)!r}"]
    fig, axes = plt.subplots(1, 2)                      # an image grid's column title
    for ax, title in zip(axes, ("input", raw)):
        ax.imshow(np.eye(3))
        ax.axis("off")
        ax.set_title(title)
    assert figure_problems(fig) == [f"panel #1 title {raw!r} is a method key: show {display_name(raw)!r}"]
