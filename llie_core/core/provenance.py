"""What every run records next to its outputs: git commit, versions, seed, config and data checksums."""
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from data_prep.files import atomic_write_bytes, checksum_files, sha256_file, write_json
from llie_core.core import paths

# one definition each, in the lowest package (data_prep): re-exported here for llie_core's callers
__all__ = ["TRACKED_PACKAGES", "atomic_write_bytes", "checksum_files", "environment_record", "git_commit",
           "package_versions", "portable_paths", "run_record", "sha256_file", "write_json"]

TRACKED_PACKAGES = (
    "torch", "torchvision", "numpy", "scipy", "scikit-image", "pillow", "pandas", "matplotlib", "seaborn",
    "lpips", "kornia", "papermill", "nbclient", "ipykernel", "pyyaml", "tqdm",
)


TEXT_SUFFIXES = (".json", ".csv", ".md", ".tex", ".ipynb", ".txt")


def path_replacements(root: str | os.PathLike, data_root: str | os.PathLike | None = None,
                      weights_root: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
                      ) -> dict[str, str]:
    """``{absolute path: portable form}`` for the project ``root``, the Python environment and the data, weights and
    cache roots, longest first (a path inside another is rewritten as itself). The portable form is the path
    relative to ``root`` when it lies inside it or one folder beside it (``../shared/data``), else a label
    (``<data root>``, ``<python environment>``, ...), so no absolute path of this machine survives in a relative one."""
    root = os.path.abspath(root)
    labels = {root: ".", os.path.abspath(sys.prefix): "<python environment>"}
    for path, label in ((data_root, "<data root>"), (weights_root, "<weights root>"), (cache_dir, "<cache>")):
        if path:
            labels[os.path.abspath(path)] = label
    out = {}
    for path in sorted(labels, key=len, reverse=True):
        if path == os.sep:
            continue
        relative = os.path.relpath(path, root)
        out[path] = relative if not relative.startswith(os.pardir + os.sep + os.pardir) else labels[path]
    return out


def portable_paths(directory: str | os.PathLike, replacements: dict[str, str]) -> list[str]:
    """Rewrite every text file under ``directory`` (``TEXT_SUFFIXES``) so that no absolute machine path is left:
    each key of ``replacements`` (:func:`path_replacements`) becomes its relative value. Only files this run
    wrote are passed here (results, rendered notebooks); each is rewritten atomically, and only when it changes.
    Returns the files rewritten, relative to ``directory``."""
    directory = Path(directory)
    changed = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = text
        for absolute, relative in replacements.items():  # a whole path only: /a/b never rewrites /a/bc
            new = re.sub(re.escape(absolute) + r"(?![\w.-])", lambda _m, r=relative: r, new)
        if new != text:
            atomic_write_bytes(path, new.encode("utf-8", errors="surrogateescape"))
            changed.append(str(path.relative_to(directory)))
    return changed


def git_commit(root: str | os.PathLike | None = None) -> str:
    """The checked-out commit, with ``+dirty`` when the work tree has changes; ``unknown`` outside git."""
    cwd = str(root or paths.project_root())
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (``not installed`` when absent) plus Python's."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def environment_record() -> dict[str, Any]:
    """Host facts that change numbers: platform, CPU threads, CUDA device."""
    record: dict[str, Any] = {"platform": platform.platform(), "executable": sys.executable}
    try:
        import torch

        record["torch_threads"] = torch.get_num_threads()
        record["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return record


def run_record(profile: str, seed: int | None, config: dict[str, Any] | None = None,
               data_checksums: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance dictionary written next to every result and checkpoint."""
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "seed": seed,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "environment": environment_record(),
        "config": config or {},
        "data_checksums": data_checksums or {},
        **extra,
    }
