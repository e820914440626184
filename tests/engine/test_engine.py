"""Training engine: schedules, clipping, EMA, seeding, exact resume, NaN guard, iteration budgets, precision,
best checkpoint."""
from __future__ import annotations

import csv
import json
import math
import os
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from llie_core.core import precision
from llie_core.engine import (NonFiniteLossError, ResumableSampler, SchedulerConfig, SelfSupervisedTask, SupervisedTask,
                              build_ema, load_checkpoint, load_config, lr_factor, train)
from llie_core.engine.config import OptimConfig
from llie_core.engine.distributed import DistContext
from llie_core.engine.optim import build_optimizer, build_scheduler
from llie_core.engine.seed import DeterminismError, check_cublas_workspace, deterministic_mode
from llie_core.engine.trainer import Trainer, progress_disabled
from llie_core.losses import build_loss_set
from llie_core.models import available_models, build_model


class NoisyPairs(Dataset):
    """Tiny paired set whose items draw from torch, NumPy and Python RNGs (so resume must restore all three)."""

    def __init__(self, n: int = 5, size: int = 16, seed: int = 1) -> None:
        g = torch.Generator().manual_seed(seed)
        self.low = torch.rand(n, 3, size, size, generator=g) * 0.3
        self.high = (self.low * 3).clamp(0, 1)

    def __len__(self) -> int:
        return len(self.low)

    def __getitem__(self, i: int) -> dict:
        jitter = 0.01 * torch.rand(1) + 0.001 * float(np.random.rand()) + 0.001 * random.random()
        return {"low": self.low[i] + jitter, "high": self.high[i], "name": f"img{i}"}


class TinyNet(nn.Module):
    """Conv -> BN -> ReLU -> Dropout -> conv, with named parts (for freezing) and an extra output."""

    def __init__(self, width: int = 8, extra_output: bool = False) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Conv2d(width, 3, 3, padding=1))
        self.extra_output = extra_output

    def forward(self, x):
        features = self.encoder(x)
        out = torch.sigmoid(self.head(features))
        return {"output": out, "features": features} if self.extra_output else out


def make_config(**train_overrides) -> dict:
    train_cfg = {"iterations": 6, "batch_size": 2, "val_every": 3, "log_every": 1, "grad_clip": 0.5,
                 "ema_decay": 0.9, "seed": 3, "deterministic": True}
    train_cfg.update(train_overrides)
    return {"model": {"type": "unused-when-model-given"}, "losses": [{"type": "L1Loss"}, {"type": "MSELoss",
            "loss_weight": 0.5}], "optim": {"type": "Adam", "lr": 1e-2, "betas": [0.9, 0.99]},
            "scheduler": {"type": "cosine", "warmup_iters": 2, "eta_min": 1e-4}, "train": train_cfg}


def run(tmp_path, name="run", config=None, **kwargs):
    kwargs.setdefault("model", TinyNet)  # a factory: built after seeding
    return train(config or make_config(), NoisyPairs(), NoisyPairs(n=2, seed=9), tmp_path / name, **kwargs)


def params(path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def log_rows(run_dir) -> list[dict]:
    with open(run_dir / "log.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(fh)]


# ---- schedules ------------------------------------------------------------------------------------------
def test_cosine_with_warmup_values_at_known_steps():
    cfg = SchedulerConfig(type="cosine", warmup_iters=10, warmup_start_factor=0.0, eta_min=0.1)
    f = lr_factor(cfg, base_lr=1.0, total=110)
    assert [f(0), f(5)] == [0.0, 0.5]
    assert f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.1 + 0.9 * 0.5)            # half-way through the cosine
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)
    # matches torch's CosineAnnealingLR after the warm-up
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=0.1)
    for t in range(100):
        assert f(10 + t) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        opt.step(), ref.step()


def test_multistep_and_constant_schedules():
    multistep = lr_factor(SchedulerConfig(type="multistep", milestones=[3, 5], gamma=0.1), 1.0, 10)
    assert [multistep(t) for t in (0, 2, 3, 4, 5, 9)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    constant = lr_factor(SchedulerConfig(type="constant", warmup_iters=4, warmup_start_factor=0.2), 1.0, 10)
    assert [constant(t) for t in (0, 2, 4, 9)] == pytest.approx([0.2, 0.6, 1.0, 1.0])


def test_scheduler_uses_each_group_base_lr():
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    opt = build_optimizer([{"params": [a]}, {"params": [b], "lr": 0.1}], OptimConfig(type="SGD", lr=1.0))
    sched = build_scheduler(opt, SchedulerConfig(type="cosine", eta_min=0.01), total=4)
    for _ in range(4):
        opt.step(), sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.01])


def test_epoch_stepping_changes_lr_only_at_epoch_boundaries(tmp_path):
    cfg = make_config(iterations=6, val_every=None, grad_clip=None, ema_decay=None)
    cfg["scheduler"] = {"type": "multistep", "milestones": [1, 2], "gamma": 0.5, "step_per": "epoch"}
    result = run(tmp_path, config=cfg)                       # 5 items, batch 2, drop_last -> 2 batches/epoch
    rows = log_rows(result.run_dir)
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-2, 1e-2, 5e-3, 5e-3, 2.5e-3, 2.5e-3])
    assert [int(r["epoch"]) for r in rows] == [0, 0, 1, 1, 2, 2]


# ---- step mechanics --------------------------------------------------------------------------------------
def make_trainer(tmp_path, **train_overrides) -> Trainer:
    cfg = load_config(make_config(**train_overrides))
    return Trainer(cfg, NoisyPairs(), None, tmp_path, TinyNet(), None, lambda p, t: 0.0, "psnr", True,
                   torch.device("cpu"), DistContext(), None)


def test_grad_clipping_happens_after_backward_and_bounds_the_norm(tmp_path):
    trainer = make_trainer(tmp_path, grad_clip=1e-3, ema_decay=None)
    batch = torch.utils.data.default_collate([NoisyPairs()[i] for i in range(2)])
    logs = trainer.step(batch)
    norm_after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainer.module.parameters()]))
    assert logs["grad_norm"] > 1e-3                          # the raw norm was larger ...
    assert float(norm_after) <= 1e-3 * (1 + 1e-5)           # ... and the applied one is clipped


def test_ema_update_formula():
    model = nn.Linear(2, 1)
    ema = build_ema(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update_parameters(model)                             # first update copies
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.weight, torch.full_like(model.weight, 0.9 * 1.0 + 0.1 * 3.0))


def test_ema_weights_are_checkpointed_and_differ_from_raw(tmp_path):
    result = run(tmp_path)
    ckpt = load_checkpoint(result.last_checkpoint)
    ema_weight = ckpt["ema"]["module.encoder.0.weight"]
    assert not torch.equal(ema_weight, ckpt["model"]["encoder.0.weight"])


# ---- determinism and exact resume ------------------------------------------------------------------------
def test_same_seed_gives_identical_runs_and_another_seed_does_not(tmp_path):
    a, b = run(tmp_path, "a"), run(tmp_path, "b")
    c = run(tmp_path, "c", config=make_config(seed=4))
    pa, pb, pc = params(a.last_checkpoint), params(b.last_checkpoint), params(c.last_checkpoint)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert not torch.equal(pa["encoder.0.weight"], pc["encoder.0.weight"])


def test_resume_mid_epoch_is_bit_exact(tmp_path):
    straight = run(tmp_path, "straight")
    first = run(tmp_path, "split", stop_at_iteration=3)      # stops mid-epoch (2 batches per epoch)
    assert (first.stopped_reason, first.iterations_done) == ("stop_at_iteration", 3)
    assert load_checkpoint(first.last_checkpoint)["batch_in_epoch"] == 1
    second = run(tmp_path, "split")                          # resume='auto'
    assert (second.stopped_reason, second.iterations_done) == ("completed", 6)
    ref, got = load_checkpoint(straight.last_checkpoint), load_checkpoint(second.last_checkpoint)
    for key in ("model", "ema"):
        assert all(torch.equal(ref[key][k], got[key][k]) for k in ref[key]), key
    assert ref["optimizer"]["state"][0]["exp_avg"].equal(got["optimizer"]["state"][0]["exp_avg"])
    assert log_rows(straight.run_dir) == log_rows(second.run_dir)
    assert straight.best_metric == second.best_metric


def test_finished_run_is_not_retrained_unless_asked(tmp_path):
    done = run(tmp_path)
    before = done.last_checkpoint.stat().st_mtime_ns
    again = run(tmp_path)
    assert again.stopped_reason == "already_finished" and again.iterations_done == 6
    assert done.last_checkpoint.stat().st_mtime_ns == before
    changed = make_config()
    changed["optim"]["lr"] = 1e-3
    with pytest.raises(ValueError, match="different \\['optim'\\].*retrain=True"):
        run(tmp_path, config=changed)
    redo = run(tmp_path, retrain=True)
    assert redo.stopped_reason == "completed" and len(log_rows(redo.run_dir)) == 6


# ---- failure modes and budgets --------------------------------------------------------------------------
class CorruptAtStep(SupervisedTask):
    """Rewrites the loss term ``term`` with ``corrupt(loss)`` at one step (1-based)."""

    def __init__(self, step: int, term: str, corrupt) -> None:
        super().__init__()
        self.step, self.term, self.corrupt, self.calls = step, term, corrupt, 0

    def compute_losses(self, model, batch, losses):
        self.calls += 1
        terms = super().compute_losses(model, batch, losses)
        if self.calls == self.step:
            terms[self.term] = self.corrupt(terms[self.term])
        return terms


def NaNAtStep(step: int) -> CorruptAtStep:  # noqa: N802 (a task factory)
    return CorruptAtStep(step, "MSELoss", lambda loss: loss * float("nan"))


def test_nan_loss_stops_with_named_error_and_keeps_last_good_checkpoint(tmp_path):
    cfg = make_config(checkpoint_every=2, val_every=None, iterations=10)
    with pytest.raises(NonFiniteLossError, match=r"MSELoss.*iteration 5") as err:
        run(tmp_path, config=cfg, task=NaNAtStep(5))
    assert (err.value.iteration, err.value.term) == (5, "MSELoss")
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    resumed = run(tmp_path, config=cfg)                      # the kept checkpoint resumes cleanly
    assert resumed.iterations_done == 10


def InfGradAtStep(step: int) -> CorruptAtStep:  # noqa: N802 (a task factory)
    """Adds sqrt(0) at one step: the loss stays finite, its gradient (1 / (2 sqrt 0)) is infinite."""
    return CorruptAtStep(step, "L1Loss", lambda loss: loss + (loss - loss.detach()).sqrt())


def test_non_finite_gradient_of_a_finite_loss_stops_without_grad_clip(tmp_path):
    cfg = make_config(checkpoint_every=2, val_every=None, iterations=10, grad_clip=None, ema_decay=None)
    with pytest.raises(NonFiniteLossError, match=r"grad_norm.*iteration 5") as err:
        run(tmp_path, config=cfg, task=InfGradAtStep(5))
    assert (err.value.iteration, err.value.term) == (5, "grad_norm") and not math.isfinite(err.value.value)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    rows = log_rows(tmp_path / "run")
    assert [r["iter"] for r in rows] == ["1", "2", "3", "4"] and all(float(r["grad_norm"]) > 0 for r in rows)


def test_a_clock_budget_is_refused_by_name(tmp_path):
    """Budgets are iterations: a config that still asks for a wall-clock stop fails, naming the key."""
    with pytest.raises(KeyError, match="unknown keys \\['time_budget_s'\\]"):
        run(tmp_path, config=make_config(time_budget_s=60))


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="train.precision 'fp8' unknown"):
        load_config(make_config(precision="fp8"))


def test_bf16_autocast_trains_with_fp32_losses_and_records_its_precision(tmp_path):
    """bf16 runs the forward under autocast (emulated on CPUs without bf16 instructions); every loss is fp32 and
    finite, the weights stay fp32, and the run record says which precision ran, with threads and iterations."""
    seen = []

    class Recording(TinyNet):
        def forward(self, x):
            out = super().forward(x)
            seen.append(out.dtype)
            return out

    result = run(tmp_path, config=make_config(precision="bf16", ema_decay=None), model=Recording)
    assert result.stopped_reason == "completed" and torch.bfloat16 in seen
    assert all(v.dtype == torch.float32 for v in params(result.last_checkpoint).values() if v.is_floating_point())
    rows = log_rows(tmp_path / "run")
    assert all(math.isfinite(float(r["loss"])) for r in rows)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (record["precision"], record["precision_requested"]) == ("bf16", "bf16")
    assert record["threads"] == torch.get_num_threads() and record["iterations"] == 6


def test_auto_precision_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.resolve_precision("auto", "cpu") == "bf16"
    assert precision.resolve_precision("fp32", "cpu") == "fp32"  # the switch that forces fp32


def test_best_checkpoint_follows_the_metric_and_its_direction(tmp_path):
    def scripted(scores):
        it = iter(scores)
        return lambda pred, target: torch.full((pred.shape[0],), next(it) if pred.shape[0] else 0.0)

    scores = [1.0, 1.0, 5.0, 5.0]                            # two val images per round, rounds at 3 and 6
    cfg = make_config()
    up = run(tmp_path, "up", config=cfg, metric=scripted(scores), metric_name="score")
    assert (up.best_metric, up.best_iteration) == (5.0, 6)
    assert load_checkpoint(up.best_checkpoint)["iteration"] == 6
    down = run(tmp_path, "down", config=cfg, metric=scripted(scores), metric_name="score",
               higher_is_better=False)
    assert (down.best_metric, down.best_iteration) == (1.0, 3)
    assert load_checkpoint(down.best_checkpoint)["iteration"] == 3
    assert "val_score" in log_rows(down.run_dir)[0]


def test_run_json_records_provenance_and_cpu_amp_is_disabled(tmp_path):
    result = run(tmp_path, config=make_config(amp=True), data_checksums={"toy": "abc"})
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["seed"] == 3 and record["data_checksums"] == {"toy": "abc"}
    assert record["amp_requested"] is True and record["amp_active"] is False and not result.amp_active
    assert record["config"]["train"]["iterations"] == 6 and "git_commit" in record
    assert record["result"]["stopped_reason"] == "completed"


def test_validation_needs_references(tmp_path):
    class Unpaired(NoisyPairs):
        def __getitem__(self, i):
            return {"low": self.low[i], "name": f"u{i}"}

    with pytest.raises(KeyError, match="no 'high' reference"):
        train(make_config(), NoisyPairs(), Unpaired(2), tmp_path / "r", model=TinyNet())


# ---- tasks and the loss protocol -----------------------------------------------------------------------
def test_trainable_modules_freeze_the_rest_including_batchnorm_statistics(tmp_path):
    torch.manual_seed(0)
    model = TinyNet()
    frozen = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head_init = model.head[1].weight.detach().clone()
    cfg = make_config(ema_decay=None)
    result = run(tmp_path, config=cfg, model=model, task=SupervisedTask(trainable_modules=["head"]))
    final = load_checkpoint(result.last_checkpoint)["model"]
    assert all(torch.equal(final[f"encoder.{k}"], v) for k, v in frozen.items())   # incl. running_mean
    assert not torch.equal(final["head.1.weight"], head_init)
    with pytest.raises(KeyError, match="not sub-modules"):
        SupervisedTask(trainable_modules=["decoder"]).setup(TinyNet())


def test_losses_read_extra_model_outputs_by_keyword(tmp_path):
    cfg = make_config(iterations=3, val_every=None)
    cfg["losses"] = [{"type": "L1Loss"}, {"type": "MSELoss", "name": "feat_l2", "loss_weight": 0.1,
                                          "inputs": {"pred": "features", "target": "features"}}]
    result = run(tmp_path, config=cfg, model=lambda: TinyNet(extra_output=True))
    rows = log_rows(result.run_dir)
    assert float(rows[0]["feat_l2"]) == 0.0 and float(rows[0]["L1Loss"]) > 0


def test_missing_loss_input_names_the_loss_and_the_fix():
    losses = build_loss_set([{"type": "L1Loss", "inputs": ["output", "reference"]}])
    with pytest.raises(KeyError, match="L1Loss.*reference.*inputs"):
        losses({"output": torch.zeros(1), "high": torch.zeros(1)})


def test_self_supervised_task_hides_the_reference():
    task = SelfSupervisedTask()
    namespace = task.loss_inputs({"low": 1, "high": 2, "name": "x"}, {"output": 3})
    assert "high" not in namespace and namespace["output"] == 3


def test_config_errors_are_explicit():
    with pytest.raises(KeyError, match="unknown keys \\['iters'\\]"):
        load_config({"model": {}, "losses": [], "train": {"iters": 3}})
    with pytest.raises(KeyError, match="'losses'"):
        load_config({"model": {"type": "FRLIE"}})
    with pytest.raises(ValueError, match="scheduler.type"):
        SchedulerConfig(type="poly")
    with pytest.raises(ValueError, match="not a torch.optim optimizer"):
        build_optimizer([{"params": [nn.Parameter(torch.zeros(1))]}], OptimConfig(type="Adamm"))
    with pytest.raises(ValueError, match="fewer than train.batch_size"):
        train(make_config(batch_size=8), NoisyPairs(n=5), None, "/nonexistent-unused", model=TinyNet())


def test_model_registry_builds_registered_models():
    assert "FRLIE" in available_models()
    assert isinstance(build_model({"type": "FRLIE"}), nn.Module)
    with pytest.raises(KeyError, match="unknown model 'Nope'"):
        build_model({"type": "Nope"})


# ---- data order and progress ---------------------------------------------------------------------------
def test_sampler_order_depends_only_on_seed_and_epoch_and_resumes_mid_epoch():
    s = ResumableSampler(10, seed=5)
    s.set_epoch(2)
    full = list(s)
    assert full == ResumableSampler(10, seed=5).epoch_indices(2) and sorted(full) == list(range(10))
    assert full != s.epoch_indices(3)
    s.set_epoch(2, start=4)
    assert list(s) == full[4:] and len(s) == 6
    shards = [ResumableSampler(7, seed=5, num_replicas=2, rank=r).epoch_indices(0) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 4 and set(shards[0]) | set(shards[1]) == set(range(7))


def test_progress_bar_is_off_with_llie_no_progress(monkeypatch):
    """The workbook runner starts the notebooks' kernel with LLIE_NO_PROGRESS=1 (nothing else switches bars off)."""
    monkeypatch.setenv("LLIE_NO_PROGRESS", "1")
    assert progress_disabled(rank=0)
    monkeypatch.delenv("LLIE_NO_PROGRESS")
    assert progress_disabled(rank=1)


def test_deterministic_cuda_training_needs_the_cublas_setting_from_the_entry_point(monkeypatch):
    """No library code writes the environment: without CUBLAS_WORKSPACE_CONFIG a deterministic run on a CUDA device
    is refused with the fix (checked before any CUDA call, so this needs no GPU); CPU runs never need it."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    with pytest.raises(DeterminismError, match="CUBLAS_WORKSPACE_CONFIG=:4096:8"):
        with deterministic_mode(True, "cuda:0"):
            pass
    assert not torch.are_deterministic_algorithms_enabled()  # refused before anything was switched
    with deterministic_mode(True, "cpu"), deterministic_mode(False, "cuda"):
        pass
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    check_cublas_workspace("cuda")


def test_a_run_is_not_resumed_on_other_data(tmp_path):
    run(tmp_path, stop_at_iteration=3, data_checksums={"train": "aaa"})
    with pytest.raises(ValueError, match="other data"):
        run(tmp_path, data_checksums={"train": "bbb"})
    assert run(tmp_path, data_checksums={"train": "aaa"}).stopped_reason == "completed"
