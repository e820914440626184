"""Shared fixtures and markers.

Real data and reference files are read from ``../shared`` through ``LLIE_DATA_ROOT``, only via the ``shared_root``
and ``real_data_root`` fixtures (or fixtures built on them). Locally, tests that need them skip with the reason
when that folder is absent; when ``$CI`` is set they fail instead (CI always has ../shared, so its absence is a
broken CI setup). The same holds for the offline metric assets (``tests.helpers.require_assets``).

Markers (declared in pyproject.toml):

- ``real_data`` is added automatically to every test whose fixture closure holds one of :data:`SHARED_FIXTURES`;
  ``pytest -m "not real_data"`` runs what works without ../shared.
- ``slow`` (set by hand on heavy tests: torchrun/DDP, papermill on real notebooks, studies); ``make test-fast``
  runs ``-m "not slow"``.
- ``notebook``: executes a notebook through papermill.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from llie_core.core import assets
from tests.helpers import in_ci, skip_or_fail

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = frozenset({"shared_root", "real_data_root"})
MISSING_SHARED = ("../shared is not present: set LLIE_DATA_ROOT=../shared/data (relative to the repository root) "
                  "or mount the shared folder beside the checkout")
# The test session is an entry point that may train on CUDA with deterministic algorithms, which needs this set
# before the first cuBLAS call (llie_core.engine.seed refuses otherwise; library code never writes the environment).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _shared_root() -> Path | None:
    data = os.environ.get("LLIE_DATA_ROOT")
    candidates = [Path(data).resolve().parent] if data else []
    candidates.append(REPO_ROOT.parent / "shared")
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``real_data`` on every test that (transitively) requests ``shared_root`` or ``real_data_root``."""
    for item in items:
        if SHARED_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI, a skip raised while handling :class:`llie_core.core.assets.AssetsMissingError` (``except
    AssetsMissingError: pytest.skip(...)`` in a test module that does not use ``require_assets``) is a failure."""
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and in_ci() and call.excinfo is not None):
        return
    if isinstance(call.excinfo.value.__context__, assets.AssetsMissingError):
        report.outcome = "failed"
        report.longrepr = (f"{call.excinfo.value.msg} [CI is set: missing offline assets fail instead of "
                           "skipping; run `python -m llie_core.core.assets setup`]")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """``../shared`` (the folder holding data/, specs/, reference/, weights/); skips when absent, fails under CI."""
    root = _shared_root()
    if root is None:
        skip_or_fail(MISSING_SHARED)
    return root


@pytest.fixture(scope="session")
def real_data_root(shared_root: Path) -> Path:
    """The real benchmark data folder (``LLIE_DATA_ROOT``)."""
    return shared_root / "data"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated assets go to a per-session cache unless a test overrides it (keeps the repo clean)."""
    if "LLIE_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("LLIE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "llie_cache"))
    yield


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread avoids OpenMP spin-waiting on a busy CPU (restored afterwards).
    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
