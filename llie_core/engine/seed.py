"""Seeding and the deterministic switch; RNG states as checkpoint-safe tensors (``weights_only`` loads)."""
from __future__ import annotations

import contextlib
import os
import random
from typing import Any, Iterator

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds all CUDA devices


CUBLAS_WORKSPACE = ":4096:8"  # a setting deterministic cuBLAS accepts (":16:8" too; see the CUDA docs)


class DeterminismError(RuntimeError):
    """Deterministic CUDA training was asked for without ``CUBLAS_WORKSPACE_CONFIG`` in the environment."""


def check_cublas_workspace(device: torch.device | str | None) -> None:
    """Raise :class:`DeterminismError` when ``device`` is a CUDA device and ``CUBLAS_WORKSPACE_CONFIG`` is unset.

    Deterministic cuBLAS needs the variable before the process's first cuBLAS call, so it belongs to the entry
    point that starts the process (the Makefile exports it; ``CUBLAS_WORKSPACE_CONFIG=:4096:8 torchrun ...``),
    never to library code.
    """
    if device is None or torch.device(device).type != "cuda" or os.environ.get("CUBLAS_WORKSPACE_CONFIG"):
        return
    raise DeterminismError(
        "deterministic training on CUDA needs CUBLAS_WORKSPACE_CONFIG set before the process starts. Fix: "
        f"`export CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE}` (the Makefile does), e.g. "
        f"`CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE} torchrun ...`, or train with train.deterministic: false")


@contextlib.contextmanager
def deterministic_mode(enabled: bool, device: torch.device | str | None = None) -> Iterator[None]:
    """``torch.use_deterministic_algorithms`` + cuDNN flags for the block, restored afterwards.

    On a CUDA ``device``, ``CUBLAS_WORKSPACE_CONFIG`` must already be in the environment
    (:func:`check_cublas_workspace` raises otherwise; nothing here writes the environment).
    """
    if enabled:
        check_cublas_workspace(device)
    previous = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
                torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[1], previous[2]


def rng_state() -> dict[str, Any]:
    """All global RNG states (torch CPU, CUDA if any, NumPy, Python) as tensors and plain types."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": kind, "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
