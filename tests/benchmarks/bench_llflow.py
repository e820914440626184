"""LLFlow CPU timings for both released configurations (LOL and LOL_smallNet): one NLL training step
(fwd + bwd + Adam, batch 4, at each ``--patches`` size: 128 as in official_measurements.md, 64 as in the quick
profile) and deterministic 600x400 inference, plus parameter counts and FLOPs.

Run: ``.venv/bin/python tests/benchmarks/bench_llflow.py [--threads 2] [--repeats 3] [--only small]
[--patches 64 128]``. Prints medians of ``repeats`` runs after one warm-up. Compare with
``shared/specs/official_measurements.md`` (official code on the same machine kind: LOL 17.5 s / NLL step 10.7 s;
small 2.55 s / 1.18 s) only when timed in the same session (timings move by about +-25% between runs). On a CPU
shared with other jobs use ``--threads 1``: OpenMP spin-waiting makes 2-thread timings there meaningless.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from llie_core.evaluation.complexity import count_flops, measure_latency
from llie_core.losses.llflow_nll import LLFlowNLLLoss
from llie_core.models.llflow import LLFlow

CONFIGS = {"lol": {}, "small": {"nf": 32, "nb": 4, "K": 4, "stack_blocks": [1]}}


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def step_seconds(step: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, min) seconds of ``step`` over ``repeats`` calls after one warm-up (ActNorm initialisation)."""
    step()
    times = [_timed(step) for _ in range(repeats)]
    return statistics.median(times), min(times)


def gflops_400x600(kwargs: dict) -> float:
    """FLOPs of one 400x600 enhancement (1 MAC = 2 FLOPs), counted on the meta device (no compute)."""
    with torch.device("meta"):
        return count_flops(LLFlow(**kwargs), (1, 3, 400, 600)) / 1e9


def nll_step(model: LLFlow, optimizer: torch.optim.Optimizer, low: torch.Tensor, high: torch.Tensor) -> None:
    loss_fn = LLFlowNLLLoss()
    optimizer.zero_grad()
    out = model.nll_outputs(low, high)
    loss_fn(out["z"], out["logdet"], out["prior_mean"], high).backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=sorted(CONFIGS), default=None)
    parser.add_argument("--patches", type=int, nargs="+", default=[64, 128])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)   # as llie_core.workbook.context.start does
    for name, kwargs in CONFIGS.items():
        if args.only and name != args.only:
            continue
        torch.manual_seed(0)
        model = LLFlow(**kwargs).train()
        params = sum(p.numel() for p in model.parameters())
        print(f"LLFlow[{name}] {params:,} params, {gflops_400x600(kwargs):.1f} GFLOPs @400x600, "
              f"threads={args.threads}", flush=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.99))
        for patch in args.patches:
            low, high = torch.rand(4, 3, patch, patch) * 0.2, torch.rand(4, 3, patch, patch)
            step = step_seconds(lambda: nll_step(model, optimizer, low, high), args.repeats)
            print(f"  NLL train step 4x3x{patch}x{patch}: median {step[0]:.3f} s (min {step[1]:.3f})", flush=True)
        infer = measure_latency(model, (1, 3, 400, 600), warmup=1, runs=args.repeats)
        print(f"  inference 1x3x400x600: median {infer['median_s']:.3f} s (min {infer['min_s']:.3f})", flush=True)


if __name__ == "__main__":
    main()
