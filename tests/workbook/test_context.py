"""``llie_core.workbook.context.start``: a notebook's entry point resolves the roots once (parameters first, then
``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``), hands them down inside the typed profile and writes no environment."""
from __future__ import annotations

import io
import os

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from PIL import Image as PILImage

from llie_core.core.profiles import Profile
from llie_core.workbook import context
from llie_core.workbook.context import start


@pytest.fixture()
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_parameters_win_over_the_environment_and_nothing_is_written(tmp_path, monkeypatch, restore_threads):
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "env_data"))
    monkeypatch.setenv("LLIE_WEIGHTS_ROOT", str(tmp_path / "env_weights"))
    before = dict(os.environ)
    ctx = start("00_test", "smoke", str(tmp_path / "project"), str(tmp_path / "data"), "")
    assert dict(os.environ) == before
    assert isinstance(ctx.profile, Profile) and ctx.profile_name == "smoke"
    assert ctx.data_root == tmp_path / "data" == ctx.profile.data.root      # the parameter
    assert ctx.weights_root == tmp_path / "env_weights"                    # empty parameter: the environment
    assert ctx.results == tmp_path / "project" / "results" / "smoke" and ctx.root == tmp_path / "project"
    both = start("00_test", "smoke", str(tmp_path / "project"), "", str(tmp_path / "w"))
    assert (both.data_root, both.weights_root) == (tmp_path / "env_data", tmp_path / "w")
    assert dict(os.environ) == before


def test_without_parameters_or_environment_there_is_no_data_and_the_cache_follows_the_root(tmp_path, monkeypatch,
                                                                                        restore_threads):
    for var in ("LLIE_DATA_ROOT", "LLIE_WEIGHTS_ROOT", "LLIE_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    ctx = start("00_test", "smoke", str(tmp_path))
    assert ctx.data_root is None and ctx.weights_root is None
    assert ctx.profile.data.cache_dir == tmp_path / ".cache"  # <root>/.cache, as for the runner
    monkeypatch.setenv("LLIE_DATA_ROOT", str(tmp_path / "d"))
    ctx = start("00_test", "smoke", str(tmp_path))
    assert ctx.weights_root == tmp_path / "weights"            # <data root>/../weights
    assert torch.get_num_threads() == ctx.profile.num_threads == 2


def test_promise_catalogue_promises_what_the_catalogue_lists(tmp_path):
    ctx = start("05_baselines", "smoke", root=str(tmp_path))
    promised = {p.relative_to(ctx.results).as_posix() for p in ctx.promise_catalogue()}
    assert promised == {"tables/baselines.csv", "figures/baselines_lol_psnr.png", "figures/baselines_qualitative.png"}
    with pytest.raises(AssertionError, match="promised outputs are missing"):
        ctx.check_outputs()


def test_promise_catalogue_leaves_out_grids_of_absent_test_sets(tmp_path, monkeypatch):
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    ctx = start("95_figures", "smoke", root=str(tmp_path))          # no data root: DICM and LOL are absent
    promised = {p.name for p in ctx.promise_catalogue()}
    assert "qualitative_dicm.png" not in promised and "qualitative_lol_v1.png" not in promised
    assert {"cross_metric_heatmap.png", "failure_cases.png", "figure_index.csv"} <= promised


def test_save_figure_saves_the_png_shows_a_bounded_inline_copy_and_closes(tmp_path, monkeypatch, restore_threads):
    shown = []
    monkeypatch.setattr(context, "display", shown.append)
    ctx = start("00_test", "smoke", root=str(tmp_path))
    fig, ax = plt.subplots(figsize=(20, 3))             # ~1,800 px wide at the saved dpi (tight box)
    ax.plot([0, 1], [1, 0])
    ax.set(title="a line", xlabel="x", ylabel="y")
    assert ctx.save_figure(fig, "wide") is None        # nothing echoed into the notebook
    saved = PILImage.open(ctx.figures / "wide.png")
    inline = PILImage.open(io.BytesIO(shown[0].data))
    assert saved.width > 1500 and inline.width <= context.INLINE_MAX_WIDTH_PX
    assert not plt.fignum_exists(fig.number) and ctx.written == [ctx.figures / "wide.png"]


def _untitled_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig


def test_save_figure_raises_on_a_failed_figure_check_in_smoke_and_warns_elsewhere(tmp_path, monkeypatch,
                                                                                    restore_threads):
    monkeypatch.setattr(context, "display", lambda _: None)
    monkeypatch.delenv(context.STRICT_FIGURES_VARIABLE, raising=False)
    smoke = start("00_test", "smoke", root=str(tmp_path))
    fig = _untitled_figure()
    with pytest.raises(ValueError, match="'untitled'.*no title.*no x label"):
        smoke.save_figure(fig, "untitled")
    assert not (smoke.figures / "untitled.png").exists() and not plt.fignum_exists(fig.number)
    quick = start("00_test", "quick", root=str(tmp_path))
    with pytest.warns(UserWarning, match="'untitled'.*no title"):
        quick.save_figure(_untitled_figure(), "untitled")
    assert (quick.figures / "untitled.png").is_file()               # saved all the same
    monkeypatch.setenv(context.STRICT_FIGURES_VARIABLE, "1")
    with pytest.raises(ValueError, match="'untitled'"):
        quick.save_figure(_untitled_figure(), "untitled")
    monkeypatch.setenv(context.STRICT_FIGURES_VARIABLE, "0")
    with pytest.warns(UserWarning, match="'untitled'"):
        smoke.save_figure(_untitled_figure(), "untitled")


def test_llie_precision_replaces_the_profile_precision(tmp_path, monkeypatch, restore_threads):
    assert start("00_test", "quick", root=str(tmp_path)).profile.train.precision == "auto"
    monkeypatch.setenv("LLIE_PRECISION", "fp32")
    assert start("00_test", "quick", root=str(tmp_path)).profile.train.precision == "fp32"
    monkeypatch.setenv("LLIE_PRECISION", "fp8")
    with pytest.raises(Exception, match="fp8"):
        start("00_test", "quick", root=str(tmp_path))


def test_save_table_prints_a_dash_for_missing_values(tmp_path, restore_threads):
    ctx = start("00_test", "smoke", root=str(tmp_path))
    frame = pd.DataFrame({"method": ["a", "b"], "psnr": [20.5, float("nan")], "note": [None, "x"]})
    csv_path, md_path = ctx.save_table(frame, "t", protocol="p")
    text = md_path.read_text()
    assert "nan" not in text.lower() and "|    -   | x      |" in text
    assert pd.read_csv(csv_path)["psnr"].isna().tolist() == [False, True]
