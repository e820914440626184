"""Every path of the workbook resolved from one root.

Environment variables (all optional):

- ``LLIE_ROOT``: the project root (default: the folder that holds ``llie_core/``).
- ``LLIE_DATA_ROOT``: where real benchmark datasets live (e.g. ``../shared/data``). Relative paths are
  resolved against the current directory. When unset or missing, the embedded synthetic dataset is used.
- ``LLIE_WEIGHTS_ROOT``: where released weights live (``<root>/zero_dce/Epoch99.pth``, ``<root>/frlie/...``);
  default ``<LLIE_DATA_ROOT>/../weights`` (the ``../shared`` layout). Absent weights are reported, never required.
- ``LLIE_CACHE_DIR``: where generated assets go (embedded dataset, converted weights); default ``<root>/.cache``.
"""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The workbook root: ``$LLIE_ROOT`` or the parent folder of the ``llie_core`` package."""
    env = os.environ.get("LLIE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The real-data root: ``explicit``, else ``$LLIE_DATA_ROOT``; ``None`` when neither is set."""
    value = explicit if explicit not in (None, "") else os.environ.get("LLIE_DATA_ROOT")
    if value in (None, ""):
        return None
    return Path(value).expanduser().resolve()


def weights_file(relative: str | os.PathLike) -> Path | None:
    """A released weight file given relative to a weights root: looked up in ``$LLIE_WEIGHTS_ROOT``, then in
    ``<data root>/../weights`` (the ``../shared`` layout); ``None`` when absent."""
    candidates = []
    if os.environ.get("LLIE_WEIGHTS_ROOT"):
        candidates.append(Path(os.environ["LLIE_WEIGHTS_ROOT"]).expanduser().resolve())
    root = data_root()
    if root is not None:
        candidates.append(root.parent / "weights")
    for base in candidates:
        if (base / relative).is_file():
            return base / relative
    return None


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder for generated, re-creatable assets (``$LLIE_CACHE_DIR`` or ``<root>/.cache``)."""
    value = explicit if explicit not in (None, "") else os.environ.get("LLIE_CACHE_DIR")
    path = Path(value).expanduser().resolve() if value else project_root() / ".cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(profile: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/results/<profile>``, created on demand."""
    base = Path(root).resolve() if root else project_root()
    path = base / "results" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def notebooks_dir(root: str | os.PathLike | None = None) -> Path:
    """``<root>/notebooks``."""
    return (Path(root).resolve() if root else project_root()) / "notebooks"


def assets_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Offline assets installed by the setup step (backbone weights, NIQE/BRISQUE parameters).

    ``$LLIE_ASSETS_DIR`` or ``<checkout>/.cache/assets`` (the checkout holding ``llie_core``, even when
    ``LLIE_ROOT`` relocates the outputs). Kept apart from :func:`cache_dir` so tests that isolate the cache still
    find the assets that ``make setup`` installed; tests never download them.
    """
    value = explicit if explicit not in (None, "") else os.environ.get("LLIE_ASSETS_DIR")
    checkout = Path(__file__).resolve().parents[2]
    path = Path(value).expanduser().resolve() if value else checkout / ".cache" / "assets"
    path.mkdir(parents=True, exist_ok=True)
    return path
