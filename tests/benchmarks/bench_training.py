"""Training-step time of every method's recipe stages under a profile, fp32 and bf16 autocast, and what the
profile's iteration budgets cost in training time on this machine.

    .venv/bin/python tests/benchmarks/bench_training.py [--profile quick] [--methods iclr frlie]
                                                         [--precisions fp32 bf16] [--steps 5] [--warmup 1]

For each stage: the median seconds of one full step (forward, losses, backward, Adam) at the stage's batch and
patch size on random data, per precision, the bf16 speed-up, the stage's iterations (main run; ablation runs
are ``ablation_budget_scale`` of it) and the training seconds they cost (steps only: no validation, no data
loading). bf16 is emulated, hence slow, on CPUs without AVX512-BF16/AMX (``native bf16`` in the header).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from llie_core.core.precision import autocast, native_bf16
from llie_core.core.profiles import load_profile
from llie_core.engine.optim import build_optimizer
from llie_core.engine.config import OptimConfig
from llie_core.engine.registry import TASKS
from llie_core.losses import build_loss_set
from llie_core.models import build_model
from llie_core.training.recipes import _engine_config, available_methods, load_method_config


def step_seconds(method: str, profile_name: str, stage_name: str, precision: str, steps: int,
                 warmup: int) -> tuple[float, int, int, int]:
    """Median seconds per step, and the stage's (iterations, batch, patch) under the profile."""
    profile = load_profile(profile_name)
    cfg = load_method_config(method, profile_name)
    stage = cfg["stages"][stage_name]
    engine = _engine_config(cfg, stage, profile, 1.0)
    batch_size = int(engine["train"]["batch_size"])
    patch = int((stage.get("train") or {}).get("patch_size") or profile.data.patch_size)
    torch.manual_seed(0)
    model = build_model(copy.deepcopy(cfg["model"]))
    task = TASKS.build(dict(engine["task"]))
    task.setup(model)
    losses = build_loss_set(engine["losses"])
    optimizer = build_optimizer(task.trainable_parameters(model), OptimConfig.from_dict(engine["optim"]))
    low = torch.rand(batch_size, 3, patch, patch) * 0.3
    batch = {"low": low, "high": (low * 3).clamp(0, 1), "name": [str(i) for i in range(batch_size)]}
    times = []
    for i in range(warmup + steps):
        task.train_mode(model)
        start = time.perf_counter()
        with autocast(precision, "cpu"):
            terms = task.compute_losses(model, batch, losses)
        optimizer.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), int(engine["train"]["iterations"]), batch_size, patch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--precisions", nargs="*", default=["fp32", "bf16"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    profile = load_profile(args.profile)
    scale = profile.train.ablation_budget_scale
    print(f"profile {args.profile} | threads {args.threads} | native bf16: {native_bf16('cpu')} | "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()} | ablation budget scale {scale}")
    print(f"{'method/stage':24s} {'batch x patch':>13s} {'iters':>6s} " +
          " ".join(f"{p + ' s/it':>11s}" for p in args.precisions) + "  speed-up  main-run s (first precision)")
    for method in args.methods or available_methods():
        cfg = load_method_config(method, args.profile)
        for stage_name, stage in cfg["stages"].items():
            if not stage:
                continue
            results = {p: step_seconds(method, args.profile, stage_name, p, args.steps, args.warmup)
                       for p in args.precisions}
            first = results[args.precisions[0]]
            seconds = [results[p][0] for p in args.precisions]
            speedup = seconds[0] / seconds[-1] if len(seconds) > 1 else 1.0
            print(f"{method + '/' + stage_name:24s} {first[2]:>5d} x {first[3]:<5d} {first[1]:>6d} " +
                  " ".join(f"{s:11.3f}" for s in seconds) + f"  {speedup:7.2f}x  {first[0] * first[1]:8.0f}")


if __name__ == "__main__":
    main()
