"""Optimizers (any ``torch.optim`` class by name) and learning-rate schedules on ``LambdaLR``.

Schedules are multiplicative factors of each group's base lr, as a function of ``t`` = number of scheduler
steps taken (iterations or epochs, ``step_per``):

* warm-up (``t < warmup_iters``): linear from ``warmup_start_factor`` to 1;
* ``constant``: 1;
* ``cosine``: ``eta_min + (lr - eta_min) * (1 + cos(pi * (t - W) / (T - W))) / 2`` for ``W <= t <= T``,
  ``eta_min`` afterwards (``torch.optim.lr_scheduler.CosineAnnealingLR`` without restarts);
* ``multistep``: ``gamma ** #(milestones <= t)`` (``MultiStepLR``).
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from llie_core.engine.config import OptimConfig, SchedulerConfig


def build_optimizer(param_groups: Iterable[dict[str, Any]], config: OptimConfig) -> torch.optim.Optimizer:
    """``torch.optim.<type>(param_groups, lr=..., **kwargs)``; groups may carry their own ``lr``."""
    cls = getattr(torch.optim, config.type, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"optim.type {config.type!r} is not a torch.optim optimizer (e.g. Adam, AdamW, SGD)")
    groups = [dict(g) for g in param_groups]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.kwargs.items()}
    if not groups or not any(list(g["params"]) for g in groups):
        raise ValueError("the task returned no trainable parameters; check its trainable modules")
    return cls(groups, lr=config.lr, **kwargs)


def lr_factor(config: SchedulerConfig, base_lr: float, total: int) -> Callable[[int], float]:
    """The factor ``f(t)`` applied to ``base_lr`` after ``t`` scheduler steps (see module docstring)."""
    warmup, start = config.warmup_iters, config.warmup_start_factor
    milestones = sorted(config.milestones)
    floor = config.eta_min / base_lr if base_lr > 0 else 0.0
    if config.type == "cosine" and total <= warmup:
        raise ValueError(f"cosine schedule needs total ({total}) > warmup_iters ({warmup})")

    def factor(t: int) -> float:
        if t < warmup:
            return start + (1.0 - start) * t / warmup
        if config.type == "cosine":
            progress = min(1.0, (t - warmup) / (total - warmup))
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if config.type == "multistep":
            return config.gamma ** bisect.bisect_right(milestones, t)
        return 1.0

    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, config: SchedulerConfig, total: int) -> LambdaLR:
    """A ``LambdaLR`` over all param groups; its ``state_dict`` (``last_epoch``, base lrs) is checkpointable."""
    total = config.total or total
    factors = [lr_factor(config, g["lr"], total) for g in optimizer.param_groups]
    return LambdaLR(optimizer, factors)
