"""Atomic checkpoints (temp file + ``os.replace``) holding everything an exact resume needs.

Keys: ``model``, ``optimizer``, ``scheduler``, ``scaler``, ``ema`` (or ``None``), ``rng`` (see
:func:`~llie_core.engine.seed.rng_state`), ``iteration``, ``epoch``, ``batch_in_epoch`` (sampler position),
``best_metric``, ``best_iteration``, ``elapsed_s``, ``finished``, ``config``. Files load with
``torch.load(weights_only=True)``; a file that cannot be read (empty, truncated, damaged) raises
:class:`CheckpointUnreadable` naming it. ``save_checkpoint(..., keep_previous=True)`` (the trainer's ``last.pt``)
first moves the file it replaces to :func:`previous_path` (``last.prev.pt``), so a damaged ``last.pt`` always has
a good predecessor to resume from.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from llie_core.core.provenance import atomic_write_bytes

REQUIRED_KEYS = ("model", "optimizer", "scheduler", "rng", "iteration", "epoch", "batch_in_epoch")


class CheckpointUnreadable(RuntimeError):
    """A checkpoint file torch cannot read (empty, truncated or damaged); the message names the file."""


def previous_path(path: str | os.PathLike) -> Path:
    """Where ``save_checkpoint(path, keep_previous=True)`` keeps the file it replaces:
    ``last.pt`` -> ``last.prev.pt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any], keep_previous: bool = False) -> Path:
    """Serialise ``state`` in memory, then write it atomically (a crash never leaves a half file); with
    ``keep_previous`` the file it replaces is kept as :func:`previous_path`."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    if keep_previous and Path(path).is_file():
        os.replace(path, previous_path(path))  # a kill right here leaves the previous file: resume uses it
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint on CPU (``weights_only=True``) and check it is a training checkpoint;
    :class:`CheckpointUnreadable` naming the file when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        if path.stat().st_size == 0:
            raise EOFError("the file is empty")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle and EOF errors of many kinds; torch's advice to load unsafely is dropped
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        if "weights_only" in str(exc) or "Weights only" in str(exc):
            detail = "it holds Python objects other than tensors, which a safe load refuses"
        raise CheckpointUnreadable(f"checkpoint {path} cannot be read: empty, truncated or damaged "
                                   f"({type(exc).__name__}: {detail})") from exc
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise KeyError(f"{path} is not a training checkpoint (missing {missing}); weights-only files load "
                       f"with model.load_state_dict(torch.load(...))")
    return state
