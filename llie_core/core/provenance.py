"""What every run records next to its outputs: git commit, versions, seed, config and data checksums."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from llie_core.core import paths

TRACKED_PACKAGES = (
    "torch", "torchvision", "numpy", "scipy", "scikit-image", "pillow", "pandas", "matplotlib", "seaborn",
    "lpips", "kornia", "papermill", "nbclient", "ipykernel", "pyyaml", "tqdm",
)


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


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_files(files: Iterable[str | os.PathLike]) -> str:
    """One sha256 over the sorted (name, content-sha256) pairs of ``files``: a fingerprint of a dataset."""
    digest = hashlib.sha256()
    for f in sorted(Path(p) for p in files):
        digest.update(f.name.encode())
        digest.update(sha256_file(f).encode())
    return digest.hexdigest()


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


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place (no half files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())
