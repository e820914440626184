"""Shared fixtures. Real data and reference files are read from ``../shared`` through ``LLIE_DATA_ROOT``;
tests that need them skip with the reason when that folder is absent (CI always sets it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_root() -> Path | None:
    data = os.environ.get("LLIE_DATA_ROOT")
    candidates = [Path(data).resolve().parent] if data else []
    candidates.append(REPO_ROOT.parent / "shared")
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """``../shared`` (the folder holding data/, specs/, reference/, weights/)."""
    root = _shared_root()
    if root is None:
        pytest.skip("../shared is not present: set LLIE_DATA_ROOT=../shared/data (CI does)")
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
