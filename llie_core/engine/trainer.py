"""The training loop: config-driven, seeded, exactly resumable, NaN-guarded, DDP-aware.

``train(config, train_dataset, val_dataset, run_dir)`` writes into ``run_dir``::

    checkpoints/last.pt   latest state (atomic; exact resume)     checkpoints/best.pt   best validation score
    log.csv               iter, epoch, lr (both as used by that step), loss terms, loss, grad_norm (global, before
                          clipping; empty under AMP without grad_clip), val_<metric>, elapsed_s (across resumes)
    run.json              provenance (config, seed, versions, git commit, data checksums) and the result

``val_dataset`` must be a validation split, never the test set: best-checkpoint selection on test images
would leak the test set into model selection.

CUDA-only paths are guarded by the device, so the same code runs on CPUs (the ``paper`` profile's dry run executes
the GPU recipes on a CPU: ``python -m llie_core.workbook run --profile paper --dry-run``): fp16 autocast with a
``GradScaler`` only when ``train.amp`` is set and the device is CUDA (elsewhere the scaler is disabled, a pass-through,
and ``train.precision`` applies); pinned host memory only for a CUDA device; DDP ``device_ids`` only on CUDA (NCCL
vs gloo: :mod:`llie_core.engine.distributed`). Exact resume holds for ``num_workers=0`` (randomness inside a
dataset then comes from the global RNGs, which checkpoints restore); with worker processes the per-epoch
worker seeds are fixed by (seed, epoch) but a resume in mid-epoch re-seeds the workers.
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from llie_core.core.precision import autocast, resolve_precision
from llie_core.core.provenance import run_record, write_json
from llie_core.engine.checkpoint import CheckpointUnreadable, load_checkpoint, previous_path, save_checkpoint
from llie_core.engine.config import EngineConfig, load_config
from llie_core.engine.distributed import DistContext, all_reduce_mean, barrier, current_context
from llie_core.engine.ema import build_ema
from llie_core.engine.optim import build_optimizer, build_scheduler
from llie_core.engine.sampler import ResumableSampler
from llie_core.engine.seed import deterministic_mode, rng_state, seed_everything, set_rng_state
from llie_core.engine.task import SupervisedTask, build_task
from llie_core.losses import build_loss_set
from llie_core.models import build_model

Metric = Callable[[Tensor, Tensor], Tensor | float]
ModelSpec = nn.Module | Callable[[], nn.Module] | None
NO_PROGRESS_ENV = ("LLIE_NO_PROGRESS",)  # set by the workbook runner for the notebooks' kernel


class NonFiniteLossError(FloatingPointError):
    """A loss term (or the gradient norm) became NaN/Inf; the last good checkpoint is kept untouched."""

    def __init__(self, iteration: int, term: str, value: float, checkpoint: Path | None) -> None:
        self.iteration, self.term, self.value, self.checkpoint = iteration, term, value, checkpoint
        kept = f"last good checkpoint: {checkpoint}" if checkpoint else "no checkpoint was written yet"
        super().__init__(f"non-finite {term} = {value} at iteration {iteration}; stopped ({kept}). "
                         f"Lower the learning rate, enable train.grad_clip, or check the inputs of {term!r}.")


@dataclass
class TrainResult:
    run_dir: Path
    metric_name: str
    best_metric: float | None
    best_iteration: int | None
    iterations_done: int
    stopped_reason: str  # completed | stop_at_iteration | already_finished (budgets are iterations, never a clock)
    amp_active: bool

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "checkpoints" / "best.pt"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "log.csv"


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Per-image PSNR (dB) on [0, 1] images, the default validation score (higher is better).

    A model-selection signal only; report protocol metrics with ``llie_core.metrics``.
    """
    mse = ((pred.clamp(0, 1) - target) ** 2).flatten(1).mean(1)
    return -10.0 * torch.log10(mse.clamp_min(1e-12))


def progress_disabled(rank: int = 0) -> bool:
    """No bar on non-zero ranks, outside a TTY, or when LLIE_NO_PROGRESS is set."""
    return rank != 0 or not sys.stderr.isatty() or any(os.environ.get(k) for k in NO_PROGRESS_ENV)


@dataclass
class LoopState:
    iteration: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_metric: float | None = None
    best_iteration: int | None = None
    elapsed_s: float = 0.0


class CsvLog:
    """``log.csv`` with a header fixed by the first row; on resume, rows after the checkpoint are dropped."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled, self.fields = path, enabled, None

    def reset(self, keep_until: int | None) -> None:
        if not self.enabled:
            return
        if keep_until is None or not self.path.is_file():
            self.path.unlink(missing_ok=True)
            return
        with open(self.path, newline="") as fh:
            reader = csv.DictReader(fh)
            self.fields = reader.fieldnames
            rows = [r for r in reader if int(r["iter"]) <= keep_until]
        self._write(rows, mode="w")

    def append(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self.fields is None:
            self.fields = list(row)
            self._write([], mode="w")
        unknown = sorted(set(row) - set(self.fields))
        if unknown:
            raise KeyError(f"{self.path}: new log columns {unknown} (columns {self.fields}); a task must "
                           f"return the same loss terms at every step")
        self._write([row], mode="a")

    def _write(self, rows: list[dict[str, Any]], mode: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, mode, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields)
            if mode == "w":
                writer.writeheader()
            writer.writerows(rows)


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}


def _finite_or_raise(names: list[str], values: Tensor, iteration: int, checkpoint: Path | None) -> None:
    bad = (~torch.isfinite(values)).nonzero().flatten().tolist()
    if bad:
        raise NonFiniteLossError(iteration, names[bad[0]], float(values[bad[0]]), checkpoint)


class Trainer:
    """One ``train()`` call. Use :func:`train`; the class only keeps the loop's pieces together."""

    def __init__(self, cfg: EngineConfig, train_dataset: Dataset, val_dataset: Dataset | None, run_dir: Path,
                 model: ModelSpec, task: SupervisedTask | None, metric: Metric, metric_name: str,
                 higher_is_better: bool, device: torch.device | None, ctx: DistContext,
                 collate_fn: Callable | None, data_checksums: dict[str, str] | None = None) -> None:
        self.cfg, self.ts, self.ctx = cfg, cfg.train, ctx
        self.data_checksums = dict(data_checksums or {})
        self.run_dir, self.train_dataset, self.val_dataset = run_dir, train_dataset, val_dataset
        self.metric, self.metric_name, self.higher_is_better = metric, metric_name, higher_is_better
        self.collate_fn = collate_fn
        self.device = device or ctx.device()
        # CUDA only: fp16 autocast + GradScaler (train.amp); on a CPU the run uses train.precision instead
        self.amp_active = bool(self.ts.amp and self.device.type == "cuda")
        self.precision = "fp16-amp" if self.amp_active else resolve_precision(self.ts.precision, self.device)
        seed_everything(self.ts.seed)
        self.module = _make_model(model, cfg.model).to(self.device)
        self.task = task if task is not None else build_task(cfg.task)
        self.task.setup(self.module)
        self.losses = build_loss_set(cfg.losses).to(self.device)
        self.optimizer = build_optimizer(self.task.trainable_parameters(self.module), cfg.optim)
        self.sampler = ResumableSampler(len(train_dataset), self.ts.seed, self.ts.shuffle, ctx.world_size,
                                        ctx.rank)
        self.batches_per_epoch = self._batches_per_epoch()
        self.scheduler = build_scheduler(self.optimizer, cfg.scheduler, self._schedule_length())
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_active)  # disabled (a pass-through) off CUDA
        self.ema = build_ema(self.module, self.ts.ema_decay) if self.ts.ema_decay else None
        self.model = self._wrap_ddp() if ctx.is_distributed else self.module
        self.state = LoopState()
        self.log = CsvLog(run_dir / "log.csv", ctx.is_main)
        self.last_saved: Path | None = None
        if ctx.is_distributed and ctx.rank:
            seed_everything(self.ts.seed + ctx.rank)  # distinct augmentation streams per rank

    # ---- setup ----------------------------------------------------------------------------------------
    def _wrap_ddp(self) -> DistributedDataParallel:
        device_ids = [self.device.index] if self.device.type == "cuda" else None  # CPU (gloo) DDP takes no device ids
        return DistributedDataParallel(self.module, device_ids=device_ids,
                                       find_unused_parameters=self.ts.find_unused_parameters)

    def _batches_per_epoch(self) -> int:
        n = self.sampler.per_replica
        batches = n // self.ts.batch_size if self.ts.drop_last else math.ceil(n / self.ts.batch_size)
        if batches == 0:
            raise ValueError(f"the training dataset gives {n} samples per process, fewer than "
                             f"train.batch_size={self.ts.batch_size}; lower the batch size or set drop_last: false")
        return batches

    def _schedule_length(self) -> int:
        if self.cfg.scheduler.step_per == "iter":
            return self.ts.iterations
        return math.ceil(self.ts.iterations / self.batches_per_epoch)

    @property
    def ckpt_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    # ---- checkpoints ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "model": self.module.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None, "rng": rng_state(),
            "iteration": s.iteration, "epoch": s.epoch, "batch_in_epoch": s.batch_in_epoch,
            "best_metric": s.best_metric, "best_iteration": s.best_iteration, "elapsed_s": s.elapsed_s,
            "finished": s.iteration >= self.ts.iterations, "metric_name": self.metric_name,
            "config": self.cfg.to_dict(), "data_checksums": self.data_checksums,
        }

    def save(self, name: str) -> None:
        if self.ctx.is_main:
            path = save_checkpoint(self.ckpt_dir / name, self.state_dict(), keep_previous=name == "last.pt")
            if name == "last.pt":
                self.last_saved = path

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.module.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None:
            if ckpt.get("ema") is None:
                raise KeyError("the checkpoint has no EMA weights but train.ema_decay is set; resume with the "
                               "same config or start a new run directory")
            self.ema.load_state_dict(ckpt["ema"])
        self.state = LoopState(ckpt["iteration"], ckpt["epoch"], ckpt["batch_in_epoch"], ckpt["best_metric"],
                               ckpt["best_iteration"], ckpt.get("elapsed_s", 0.0))
        self.last_saved = self.ckpt_dir / "last.pt"
        if self.ctx.rank == 0:
            set_rng_state(ckpt["rng"])
        else:  # only rank 0's RNG state is saved; other ranks get fresh, distinct streams
            seed_everything(self.ts.seed + self.ctx.rank + 7919 * self.state.iteration)

    # ---- one step -------------------------------------------------------------------------------------
    def step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        batch = _to_device(batch, self.device)
        self.task.train_mode(self.module)
        with self._autocast():
            terms = self.task.compute_losses(self.model, batch, self.losses)
        names = list(terms)
        values = all_reduce_mean(torch.stack([t.detach().float() for t in terms.values()]), self.ctx)
        _finite_or_raise(names, values, self.state.iteration + 1, self.last_saved)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(sum(terms.values())).backward()
        logs = dict(zip(names, values.tolist()))
        logs["loss"] = float(values.sum())
        logs["grad_norm"] = self._clip_gradients()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update_parameters(self.module)
        return logs

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_active:
            return torch.autocast(self.device.type)
        return autocast(self.precision, self.device)

    def _clip_gradients(self) -> float | None:
        """The global gradient norm after backward (and after unscaling), clipped to ``train.grad_clip`` when set;
        returns the pre-clip norm. Without AMP a non-finite norm stops the run (a finite loss can still have
        NaN/Inf gradients); with AMP the scaler skips such steps, and the norm is only computed for clipping."""
        if not self.ts.grad_clip and self.amp_active:
            return None
        self.scaler.unscale_(self.optimizer)
        params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
        if self.ts.grad_clip:
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.ts.grad_clip))
        else:
            norm = float(torch.nn.utils.get_total_norm([p.grad for p in params]))
        if not math.isfinite(norm) and not self.amp_active:
            raise NonFiniteLossError(self.state.iteration + 1, "grad_norm", norm, self.last_saved)
        return norm

    # ---- validation -----------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> float:
        model = self.ema.module if self.ema is not None else self.module
        was_training = model.training
        model.eval()
        scores: list[Tensor] = []
        loader = DataLoader(self.val_dataset, batch_size=1, shuffle=False, collate_fn=self.collate_fn,
                            generator=torch.Generator().manual_seed(0))
        for batch in loader:
            if batch.get("high") is None:
                raise KeyError(f"validation item {batch.get('name')} has no 'high' reference; the validation "
                               f"split must be paired (or pass a no-reference metric and its own dataset)")
            batch = _to_device(batch, self.device)
            out = self.task.validation_output(model, batch).float()
            scores.append(torch.as_tensor(self.metric(out, batch["high"].float())).flatten().cpu())
        model.train(was_training)
        if not scores:
            raise ValueError("the validation dataset is empty")
        return float(torch.cat(scores).double().mean())

    def _improved(self, score: float) -> bool:
        best = self.state.best_metric
        return best is None or (score > best if self.higher_is_better else score < best)

    # ---- loop -----------------------------------------------------------------------------------------
    def _loader(self) -> DataLoader:
        s = self.state
        self.sampler.set_epoch(s.epoch, s.batch_in_epoch * self.ts.batch_size)
        generator = torch.Generator().manual_seed(self.ts.seed * 1_000_003 + s.epoch)  # keeps global RNG untouched
        return DataLoader(self.train_dataset, batch_size=self.ts.batch_size, sampler=self.sampler,
                          drop_last=self.ts.drop_last, num_workers=self.ts.num_workers, generator=generator,
                          collate_fn=self.collate_fn, pin_memory=self.device.type == "cuda")  # pinned memory: CUDA only

    def _advance(self) -> None:
        s = self.state
        s.iteration += 1
        s.batch_in_epoch += 1
        if self.cfg.scheduler.step_per == "iter":
            self.scheduler.step()
        if s.batch_in_epoch >= self.batches_per_epoch:
            s.epoch, s.batch_in_epoch = s.epoch + 1, 0
            if self.cfg.scheduler.step_per == "epoch":
                self.scheduler.step()

    def _due(self, every: int | None) -> bool:
        return bool(every) and self.state.iteration % every == 0

    def _after_step(self, logs: dict[str, float | None], lr: float, epoch: int) -> None:
        s, ts = self.state, self.ts
        final = s.iteration >= ts.iterations
        val_score = None
        if self.val_dataset is not None and (self._due(ts.val_every) or final) and self.ctx.is_main:
            val_score = self.validate()
            if self._improved(val_score):
                s.best_metric, s.best_iteration = val_score, s.iteration
                self.save("best.pt")
        if self._due(ts.log_every) or val_score is not None or final:
            self.log.append({"iter": s.iteration, "epoch": epoch, "lr": lr, **logs,
                             f"val_{self.metric_name}": val_score, "elapsed_s": round(s.elapsed_s, 3)})
        if self._due(ts.checkpoint_interval) or final:
            self.save("last.pt")

    def run(self, stop_at_iteration: int | None) -> str:
        s, ts = self.state, self.ts
        start = time.perf_counter()
        elapsed_before = s.elapsed_s
        bar = tqdm(total=ts.iterations, initial=s.iteration, disable=progress_disabled(self.ctx.rank),
                   desc="train", dynamic_ncols=True)
        try:
            while s.iteration < ts.iterations:
                for batch in self._loader():
                    lr, epoch = self.optimizer.param_groups[0]["lr"], s.epoch
                    logs = self.step(batch)
                    self._advance()
                    s.elapsed_s = elapsed_before + time.perf_counter() - start
                    self._after_step(logs, lr, epoch)
                    bar.update(1)
                    bar.set_postfix(loss=f"{logs['loss']:.4g}", refresh=False)
                    reason = self._stop_reason(stop_at_iteration)
                    if reason:
                        return reason
            return "completed"
        finally:
            bar.close()

    def _stop_reason(self, stop_at_iteration: int | None) -> str | None:
        s = self.state
        if s.iteration >= self.ts.iterations:
            return "completed"
        if stop_at_iteration is not None and s.iteration >= stop_at_iteration:
            self.save("last.pt")
            return "stop_at_iteration"
        return None


def _make_model(model: ModelSpec, config: dict[str, Any]) -> nn.Module:
    """The config's model, a given instance, or a factory called after seeding (reproducible init)."""
    if model is None:
        return build_model(config)
    built = model if isinstance(model, nn.Module) else model()
    if not isinstance(built, nn.Module):
        raise TypeError(f"model must be an nn.Module or a factory returning one, got {type(built).__name__}")
    return built


RESUME_INVARIANT_SECTIONS = ("model", "losses", "task", "optim", "scheduler")


def _latest_readable(last: Path) -> tuple[Path, dict | None]:
    """``last.pt``, or when it cannot be read (truncated, empty) the previous one (``last.prev.pt``, kept by every
    save): the broken file is named in a warning and moved aside to ``last.pt.broken``. ``(last, None)`` when there
    is neither; :class:`CheckpointUnreadable` naming both files and the fix when none can be read."""
    previous = previous_path(last)
    candidates = [p for p in (last, previous) if p.is_file()]
    errors = []
    for path in candidates:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointUnreadable as exc:
            errors.append(str(exc))
            continue
        if errors:
            broken = last.with_name(last.name + ".broken")
            if last.is_file():
                os.replace(last, broken)
            warnings.warn(f"{errors[0]}; resuming from the previous checkpoint {path} (iteration {ckpt['iteration']});"
                          f" the broken file is kept as {broken}", UserWarning, stacklevel=3)
        return path, ckpt
    if errors:
        raise CheckpointUnreadable("; ".join(errors) + f". No readable checkpoint to resume from: delete {last} and "
                                   f"{previous} to train this stage from scratch "
                                   "(train(..., retrain=True) does the same)")
    return last, None


def _resume_checkpoint(run_dir: Path, resume: bool | str | os.PathLike | None, retrain: bool,
                       cfg: EngineConfig, data_checksums: dict[str, str] | None = None) -> dict | None:
    if retrain or resume in (None, False):
        return None
    if resume in ("auto", True):
        path, ckpt = _latest_readable(run_dir / "checkpoints" / "last.pt")
        if ckpt is None:
            return None
    else:
        path = Path(resume)
        ckpt = load_checkpoint(path)
    current = cfg.to_dict()
    changed = [k for k in RESUME_INVARIANT_SECTIONS if ckpt["config"].get(k) != current[k]]
    if changed:
        raise ValueError(f"{path} was trained with different {changed} sections; resuming would mix two "
                         f"recipes. Use a new run_dir, or retrain=True to start over in this one")
    saved = ckpt.get("data_checksums")
    if data_checksums and saved and saved != data_checksums:
        raise ValueError(f"{path} was trained on other data (checksums {saved} != {data_checksums}): the "
                         f"dataset or its train/validation split changed. Use a new run_dir, or retrain=True")
    return ckpt


def train(config: EngineConfig | Mapping[str, Any] | str | os.PathLike, train_dataset: Dataset,
          val_dataset: Dataset | None, run_dir: str | os.PathLike, *, model: ModelSpec = None,
          task: SupervisedTask | None = None, metric: Metric = psnr, metric_name: str = "psnr",
          higher_is_better: bool = True, resume: bool | str | os.PathLike | None = "auto", retrain: bool = False,
          stop_at_iteration: int | None = None, data_checksums: dict[str, str] | None = None,
          profile: str = "custom", device: torch.device | str | None = None,
          collate_fn: Callable | None = None, record: Mapping[str, Any] | None = None) -> TrainResult:
    """Train ``config.model`` on ``train_dataset`` and return a :class:`TrainResult`.

    ``val_dataset`` is the validation split (never the test set) scored by ``metric(pred, high)`` (per-image
    values or a batch mean) for best-checkpoint selection; ``None`` skips validation. ``model`` (an instance,
    or a factory called after seeding so its initialisation is reproducible) and ``task`` override the config's
    ``model``/``task`` sections. ``resume='auto'`` continues from
    ``run_dir/checkpoints/last.pt`` when present and returns at once when that run is finished; a path
    resumes from that checkpoint; ``False`` or ``retrain=True`` start from scratch (overwriting the log).
    ``stop_at_iteration`` stops early with a checkpoint (chunked training). Under ``torchrun`` call it after
    :func:`~llie_core.engine.distributed.init_distributed`; only rank 0 writes files. ``record``: more keys for
    ``run.json`` (e.g. ``{"dry_run": True}``).
    """
    cfg = load_config(config)
    run_dir = Path(run_dir)
    ctx = current_context()
    ckpt = _resume_checkpoint(run_dir, resume, retrain, cfg, data_checksums)
    if ckpt is not None and ckpt["iteration"] >= cfg.train.iterations:
        return TrainResult(run_dir, ckpt.get("metric_name", metric_name), ckpt["best_metric"],
                           ckpt["best_iteration"], ckpt["iteration"], "already_finished", False)
    with deterministic_mode(cfg.train.deterministic, torch.device(device) if device else ctx.device()):
        trainer = Trainer(cfg, train_dataset, val_dataset, run_dir, model, task, metric, metric_name,
                          higher_is_better, torch.device(device) if device else None, ctx, collate_fn,
                          data_checksums)
        record = run_record(profile, cfg.train.seed, cfg.to_dict(), data_checksums, run_dir=str(run_dir),
                            device=str(trainer.device), world_size=ctx.world_size, amp_requested=cfg.train.amp,
                            amp_active=trainer.amp_active, precision=trainer.precision,
                            precision_requested=cfg.train.precision, threads=torch.get_num_threads(),
                            iterations=cfg.train.iterations, metric=metric_name,
                            resumed_from_iteration=ckpt["iteration"] if ckpt else None, **dict(record or {}))
        if ctx.is_main:
            write_json(run_dir / "run.json", record)
        trainer.log.reset(ckpt["iteration"] if ckpt else None)
        if ckpt is not None:
            trainer.restore(ckpt)
        reason = trainer.run(stop_at_iteration)
    s = trainer.state
    result = TrainResult(run_dir, metric_name, s.best_metric, s.best_iteration, s.iteration, reason,
                         trainer.amp_active)
    if ctx.is_main:
        write_json(run_dir / "run.json", {**record, "result": {**asdict(result), "run_dir": str(run_dir)}})
    barrier(ctx)
    return result
