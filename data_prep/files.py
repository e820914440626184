"""File helpers shared by ``data_prep`` and ``llie_core`` (which re-exports them from
:mod:`llie_core.core.provenance`): atomic writes, content checksums, and the default cache folder for entry points.

Defined here, the lowest package, so that ``data_prep`` imports nothing from ``llie_core`` and each helper has one
definition.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

CHECKOUT = Path(__file__).resolve().parents[1]  # the folder holding data_prep/ and llie_core/


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
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


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """For entry points (``python -m data_prep``) only: ``$LLIE_CACHE_DIR``, else ``<checkout>/.cache``. Library
    functions take the cache folder as an argument (``DataSettings.cache_dir``) and never read the environment."""
    value = (os.environ if environ is None else environ).get("LLIE_CACHE_DIR")
    return Path(value).expanduser().resolve() if value else CHECKOUT / ".cache"
