"""Every path of the workbook resolved from one root.

The data root and the weights root are explicit: the entry points (the workbook runner, a notebook's ``start``,
the CLIs) resolve them once (``data_prep.settings.resolve_roots``: the argument, else ``$LLIE_DATA_ROOT`` /
``$LLIE_WEIGHTS_ROOT``) and pass them down inside the profile (``Profile.data.root`` / ``.weights_root``); nothing
here reads them from the environment. Absent weights are reported, never required.

Environment variables read here (all optional):

- ``LLIE_ROOT``: the project root (default: the folder that holds ``llie_core/``).
- ``LLIE_CACHE_DIR``: where generated assets go (embedded dataset, converted weights); default ``<root>/.cache``.
- ``LLIE_ASSETS_DIR``: the offline metric assets (default ``<checkout>/.cache/assets``).
"""
from __future__ import annotations

import os
from pathlib import Path

from data_prep.settings import as_path


def project_root() -> Path:
    """The workbook root: ``$LLIE_ROOT`` or the parent folder of the ``llie_core`` package."""
    env = os.environ.get("LLIE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def data_root(explicit: str | os.PathLike | None = None) -> Path | None:
    """The real-data root ``explicit`` as an absolute path (relative to the current directory); ``None`` when it
    is ``None`` or empty. The environment is not read (see the module docstring)."""
    return as_path(explicit)


def default_weights_root(data: str | os.PathLike | None) -> Path | None:
    """``<data root>/../weights`` (the ``../shared`` layout), or ``None`` without a data root."""
    root = data_root(data)
    return root.parent / "weights" if root is not None else None


def weights_file(relative: str | os.PathLike, weights_root: str | os.PathLike | None) -> Path | None:
    """``<weights_root>/<relative>`` when that file exists, else ``None`` (also when ``weights_root`` is ``None``)."""
    base = as_path(weights_root)
    if base is None or not (base / relative).is_file():
        return None
    return base / relative


def cache_dir(explicit: str | os.PathLike | None = None, root: str | os.PathLike | None = None) -> Path:
    """Folder for generated, re-creatable assets: ``explicit``, else ``$LLIE_CACHE_DIR``, else
    ``<root>/.cache`` (``root`` default: :func:`project_root`); created on demand."""
    value = explicit if explicit not in (None, "") else os.environ.get("LLIE_CACHE_DIR")
    base = Path(root).resolve() if root not in (None, "") else project_root()
    path = Path(value).expanduser().resolve() if value else base / ".cache"
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
