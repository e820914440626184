"""``llie_core.workbook.context.start``: a notebook's entry point resolves the roots once (parameters first, then
``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``), hands them down inside the typed profile and writes no environment."""
from __future__ import annotations

import os

import pytest
import torch

from llie_core.core.profiles import Profile
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
