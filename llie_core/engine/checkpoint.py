"""Atomic checkpoints (temp file + ``os.replace``) holding everything an exact resume needs.

Keys: ``model``, ``optimizer``, ``scheduler``, ``scaler``, ``ema`` (or ``None``), ``rng`` (see
:func:`~llie_core.engine.seed.rng_state`), ``iteration``, ``epoch``, ``batch_in_epoch`` (sampler position),
``best_metric``, ``best_iteration``, ``elapsed_s``, ``finished``, ``config``. Files load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from llie_core.core.provenance import atomic_write_bytes

REQUIRED_KEYS = ("model", "optimizer", "scheduler", "rng", "iteration", "epoch", "batch_in_epoch")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Serialise ``state`` in memory, then write it atomically (a crash never leaves a half file)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint on CPU (``weights_only=True``) and check it is a training checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise KeyError(f"{path} is not a training checkpoint (missing {missing}); weights-only files load "
                       f"with model.load_state_dict(torch.load(...))")
    return state
