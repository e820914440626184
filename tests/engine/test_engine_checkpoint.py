"""Atomic checkpoints: a save that fails midway keeps the previous file intact and leaves no temporary file."""
from __future__ import annotations

import errno
import os

import pytest
import torch

from llie_core.core import provenance
from llie_core.engine import checkpoint
from llie_core.engine.checkpoint import load_checkpoint, save_checkpoint


def state(iteration: int) -> dict:
    return {"model": {"w": torch.full((64, 64), float(iteration))}, "optimizer": {}, "scheduler": {}, "rng": {},
            "iteration": iteration, "epoch": 0, "batch_in_epoch": iteration}


class DiskFullHalfway:
    """A file object that writes the first half of the data, then fails as a full disk does."""

    def __init__(self, fh) -> None:
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()

    def write(self, data: bytes) -> int:
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def fail_in_serialisation(monkeypatch) -> None:
    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial pickle")
        raise RuntimeError("serialisation failed")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)


def fail_in_write(monkeypatch) -> None:
    real_fdopen = os.fdopen
    monkeypatch.setattr(provenance.os, "fdopen", lambda fd, mode: DiskFullHalfway(real_fdopen(fd, mode)))


def fail_in_rename(monkeypatch) -> None:
    def broken_replace(src, dst):
        raise KeyboardInterrupt  # interrupted after the temporary file was complete

    monkeypatch.setattr(provenance.os, "replace", broken_replace)


@pytest.mark.parametrize("fail", [fail_in_serialisation, fail_in_write, fail_in_rename])
def test_failed_save_keeps_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch, fail):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, state(1))
    before = path.read_bytes()
    fail(monkeypatch)
    with pytest.raises((RuntimeError, OSError, KeyboardInterrupt)):
        save_checkpoint(path, state(2))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path)["iteration"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]   # no .last.pt.*.tmp left behind


def test_a_successful_save_replaces_the_file_with_usual_permissions(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, state(1))
    save_checkpoint(path, state(2))
    assert load_checkpoint(path)["iteration"] == 2 and sorted(os.listdir(tmp_path)) == ["last.pt"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
