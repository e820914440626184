"""Resumable, checksum-verified downloads (used only on explicit request; tests serve files locally).

Bytes go to ``<dest>.part``; an interrupted transfer keeps it and the next call resumes with an HTTP
``Range`` request (a server that ignores the range answers 200 and the transfer restarts from zero). Only a
file whose sha256 matches is renamed to ``dest``, so ``dest`` never holds a half or wrong file.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import requests

from .files import sha256_file


class DownloadError(RuntimeError):
    """A transfer failed or was interrupted; the message says how to resume."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the expected sha256 (the partial file has been removed)."""


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _verify(part: Path, dest: Path, url: str, sha256: str) -> Path:
    actual = sha256_file(part)
    if actual != sha256.lower():
        part.unlink()
        raise ChecksumError(f"{url}: sha256 {actual} != expected {sha256}; the download was deleted. Fix: check "
                            "the URL and the expected checksum (the remote file may have changed)")
    os.replace(part, dest)
    return dest


def _open(url: str, offset: int, timeout: float) -> requests.Response:
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot reach {url}: {exc}. Fix: check the network, then call download() again "
                            "(it resumes)") from exc
    if response.status_code >= 400 and response.status_code != 416:
        response.close()
        raise DownloadError(f"{url}: HTTP {response.status_code}. Fix: check the URL")
    return response


def _transfer(response: requests.Response, part: Path, offset: int, url: str, chunk: int) -> None:
    """Append the body (206) or rewrite from zero (200); an early end raises DownloadError, .part kept."""
    resume = response.status_code == 206 and offset > 0
    expected = response.headers.get("Content-Length")
    received = 0
    try:
        with response, open(part, "ab" if resume else "wb") as fh:
            for block in response.iter_content(chunk_size=chunk):
                fh.write(block)
                received += len(block)
    except (requests.RequestException, OSError) as exc:
        raise DownloadError(f"download of {url} interrupted after {part.stat().st_size} bytes ({exc}); the "
                            f"partial data is kept in {part}. Fix: call download() again to resume") from exc
    if expected is not None and received < int(expected):
        raise DownloadError(f"download of {url} ended early ({received} of {expected} bytes); the partial data "
                            f"is kept in {part}. Fix: call download() again to resume")


def download(url: str, dest: str | os.PathLike, sha256: str, timeout: float = 30,
             chunk: int = 1 << 16) -> Path:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``) and verify ``sha256``; returns ``dest``.

    An existing ``dest`` with the right checksum is returned without network access; one with a wrong checksum
    raises :class:`ChecksumError` (it is never overwritten silently).
    """
    dest = Path(dest)
    if len(sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha256):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if dest.is_file():
        if sha256_file(dest) == sha256.lower():
            return dest
        raise ChecksumError(f"{dest} exists but its sha256 differs from {sha256}. Fix: delete it and download again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    offset = part.stat().st_size if part.is_file() else 0
    response = _open(url, offset, timeout)
    if response.status_code == 416:  # the range starts at the end: .part already holds the whole file
        response.close()
    else:
        _transfer(response, part, offset, url, chunk)
    return _verify(part, dest, url, sha256)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
