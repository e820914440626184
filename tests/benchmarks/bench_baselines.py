"""Per-image CPU time of every baseline enhancer at 600x400 (LOL size). Prints figures; asserts nothing.

Run: ``LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_baselines.py [--runs 3]``.
Zero-DCE is skipped (with the reason printed) when its weights are not found.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from data_prep.settings import resolve_roots
from llie_core.core.paths import default_weights_root
from llie_core.evaluation.baselines import build_enhancer, list_enhancers


def time_enhancer(name: str, image: torch.Tensor, runs: int, weights_root=None) -> list[float]:
    enhancer = build_enhancer(name, weights_root=weights_root)
    enhancer(image)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        enhancer(image)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    image = torch.rand(1, 3, 400, 600) * 0.25
    print(f"baseline per-image time at 600x400, torch threads={torch.get_num_threads()}, runs={args.runs}")
    data_root, weights_root = resolve_roots()  # this script is an entry point: it reads the environment
    weights_root = weights_root or default_weights_root(data_root)
    for name in list_enhancers():
        try:
            times = time_enhancer(name, image, args.runs, weights_root)
        except FileNotFoundError as exc:
            print(f"{name:10s} skipped: {exc}")
            continue
        print(f"{name:10s} median {statistics.median(times):8.4f} s   min {min(times):8.4f} s")


if __name__ == "__main__":
    main()
