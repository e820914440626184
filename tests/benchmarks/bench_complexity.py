"""Table VII figures for every implemented model, measured in one run on this machine: trainable parameters
(M = 2^20), FLOPs (torch FlopCounterMode, 1 multiply-add = 2 FLOPs) and no-grad CPU latency (median of
``--runs`` after ``--warmup``; the FLOP-counting forward runs first and warms the model up too).

Every configured method at its ``paper`` configuration, the released Zero-DCE network, and the JCRNet ``quick``
(small) configuration as a separate row. JCRNet Table VII (paper, GPU): 2.01 M, 219.74 G at 384x384, 5.99 FPS.

Run: ``.venv/bin/python tests/benchmarks/bench_complexity.py [--size 384] [--runs 3] [--warmup 1] [--threads 2]
[--only jcrnet cidnet ...]``. Timings on a shared CPU move by +-15% or more: compare ratios within one run.
"""
from __future__ import annotations

import argparse

import torch

from llie_core.analysis.jcrnet import complexity_table, implemented_models
from llie_core.models import build_model
from llie_core.training.recipes import load_method_config

PAPER_JCRNET = {"params_M": 2.01, "GMACs": 219.74, "fps": 5.99}     # Table VII: M = 10^6, "FLOPs (G)" = G MACs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="model names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    models = implemented_models("paper", extra={
        "jcrnet[quick]": lambda: build_model(dict(load_method_config("jcrnet", "quick")["model"]))})
    if args.only:
        models = {k: v for k, v in models.items() if k in args.only}
    print(f"input 1x3x{args.size}x{args.size}, threads={args.threads}, warmup={args.warmup}, runs={args.runs}")
    table = complexity_table(models, (1, 3, args.size, args.size), warmup=args.warmup, runs=args.runs)
    for _, row in table.iterrows():
        print(f"{row['model']:>14}: {row['params']:>11,} params = {row['params_M_2^20']:7.3f} M (2^20) | "
              f"{row['GFLOPs']:9.2f} GFLOPs ({row['GMACs']:8.2f} GMACs) | median {row['latency_median_s']:7.3f} s "
              f"(min {row['latency_min_s']:.3f}) = {row['latency_fps']:6.2f} FPS")
    if "jcrnet" in set(table["model"]) and args.size == 384:
        ours = table.set_index("model").loc["jcrnet"]
        print(f"JCRNet vs Table VII: params {ours['params_M_1e6']:.3f} M (SI) vs {PAPER_JCRNET['params_M']} M; "
              f"{ours['GMACs']:.1f} GMACs vs {PAPER_JCRNET['GMACs']} G MACs ({ours['GFLOPs']:.1f} GFLOPs); "
              f"{ours['latency_fps']:.2f} FPS (CPU) vs {PAPER_JCRNET['fps']} FPS (GPU)")


if __name__ == "__main__":
    main()
