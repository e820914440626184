"""Training configuration: typed dataclasses read from a dict or a YAML file.

Layout (every section optional except ``model`` and ``losses``)::

    model: {type: FRLIE, ...}                      # llie_core.models.MODELS
    losses: [{type: L1Loss, loss_weight: 1.0}]     # llie_core.losses.LOSSES (see its protocol)
    task: {type: SupervisedTask}                   # llie_core.engine.registry.TASKS
    optim: {type: Adam, lr: 1.0e-4, betas: [0.9, 0.999], weight_decay: 0}
    scheduler: {type: cosine, warmup_iters: 0, eta_min: 0, milestones: [], gamma: 0.5, step_per: iter}
    train: {iterations: 1000, batch_size: 8, grad_clip: null, ema_decay: null, amp: false, precision: fp32,
            deterministic: true, seed: 0, val_every: 500, checkpoint_every: null,
            log_every: 10, num_workers: 0, shuffle: true, find_unused_parameters: false}
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from llie_core.core.precision import PRECISIONS

SCHEDULER_TYPES = ("constant", "cosine", "multistep")
STEP_PER = ("iter", "epoch")


@dataclass
class OptimConfig:
    """``type`` is a ``torch.optim`` class name; every other key goes to its constructor."""

    type: str = "Adam"
    lr: float = 1e-4
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "OptimConfig":
        d = dict(d)
        return cls(type=d.pop("type", "Adam"), lr=float(d.pop("lr", 1e-4)), kwargs=d)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "lr": self.lr, **self.kwargs}


@dataclass
class SchedulerConfig:
    """Learning-rate schedule (see :mod:`llie_core.engine.optim`). ``total`` defaults to the run length
    (iterations, or epochs when ``step_per='epoch'``)."""

    type: str = "constant"
    warmup_iters: int = 0
    warmup_start_factor: float = 0.0
    eta_min: float = 0.0
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.5
    step_per: str = "iter"
    total: int | None = None

    def __post_init__(self) -> None:
        if self.type not in SCHEDULER_TYPES:
            raise ValueError(f"scheduler.type {self.type!r} unknown; choose one of {SCHEDULER_TYPES}")
        if self.step_per not in STEP_PER:
            raise ValueError(f"scheduler.step_per {self.step_per!r} unknown; choose one of {STEP_PER}")


@dataclass
class TrainSettings:
    """Loop settings. ``val_every``/``checkpoint_every``/``log_every`` count iterations;
    ``checkpoint_every`` defaults to ``val_every``. ``amp`` is CUDA fp16 autocast with a gradient scaler;
    ``precision`` (``fp32`` | ``bf16`` | ``auto``, :mod:`llie_core.core.precision`) is bf16 autocast without one,
    on CPUs and GPUs (``amp`` wins where both are set). Budgets are iterations: no setting stops a run on a clock, so
    the same config, seed and software give the same number of steps on any machine (``time_budget_s``, which
    once did, is refused with an error naming it).
    ``find_unused_parameters`` goes to DistributedDataParallel (multi-process runs only): set it for models
    whose steps leave some parameters without a gradient (e.g. LLFlow), else the second step fails; it costs
    one extra graph traversal per step, so it is off by default."""

    iterations: int = 1000
    batch_size: int = 8
    grad_clip: float | None = None
    ema_decay: float | None = None
    amp: bool = False
    precision: str = "fp32"
    deterministic: bool = True
    seed: int = 0
    val_every: int | None = None
    checkpoint_every: int | None = None
    log_every: int = 10
    num_workers: int = 0
    shuffle: bool = True
    drop_last: bool = True
    find_unused_parameters: bool = False

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError(f"train.iterations and train.batch_size must be >= 1, got {self.iterations}, "
                             f"{self.batch_size}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"train.precision {self.precision!r} unknown; choose one of {PRECISIONS} "
                             f"(llie_core.core.precision)")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"train.ema_decay must be in (0, 1) or null, got {self.ema_decay}")

    @property
    def checkpoint_interval(self) -> int | None:
        return self.checkpoint_every or self.val_every


@dataclass
class EngineConfig:
    model: dict[str, Any]
    losses: list[dict[str, Any]]
    task: dict[str, Any] = field(default_factory=lambda: {"type": "SupervisedTask"})
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    train: TrainSettings = field(default_factory=TrainSettings)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"model": self.model, "losses": self.losses, "task": self.task, "optim": self.optim.to_dict(),
               "scheduler": dataclasses.asdict(self.scheduler), "train": dataclasses.asdict(self.train)}
        return {**self.extra, **out}


def _section(cls: type, data: Mapping[str, Any] | None, name: str) -> Any:
    data = dict(data or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise KeyError(f"config section {name!r}: unknown keys {unknown}; known: {sorted(known)}")
    return cls(**data)


def load_config(source: EngineConfig | Mapping[str, Any] | str | os.PathLike) -> EngineConfig:
    """An :class:`EngineConfig` from a dict, a YAML path or an existing config.

    Top-level keys other than the engine's sections (e.g. ``name``, ``data``) are kept in ``extra`` and
    recorded in ``run.json``.
    """
    if isinstance(source, EngineConfig):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"training config {path} does not exist")
        with open(path, encoding="utf-8") as fh:
            source = yaml.safe_load(fh) or {}
    data = dict(source)
    for key in ("model", "losses"):
        if key not in data:
            raise KeyError(f"training config needs a {key!r} section, got keys {sorted(data)}")
    sections = {"model", "losses", "task", "optim", "scheduler", "train"}
    return EngineConfig(
        model=dict(data["model"]),
        losses=[dict(c) for c in data["losses"]],
        task=dict(data.get("task") or {"type": "SupervisedTask"}),
        optim=OptimConfig.from_dict(data.get("optim") or {}),
        scheduler=_section(SchedulerConfig, data.get("scheduler"), "scheduler"),
        train=_section(TrainSettings, data.get("train"), "train"),
        extra={k: v for k, v in data.items() if k not in sections},
    )
