"""Benchmark: time to score the 15 LOLv1 eval15 pairs with every full-reference metric, and NIQE per image.

Run: ``LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_metrics.py`` (needs the assets)."""
from __future__ import annotations

import sys
import time

import numpy as np
import torch
from PIL import Image

from data_prep.settings import resolve_roots
from llie_core.metrics import create_metric, list_metrics


def load_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    root, _ = resolve_roots()  # this script is an entry point: it reads $LLIE_DATA_ROOT
    folder = root / "LOLv1" / "eval15" if root else None
    if folder is None or not (folder / "low").is_dir():
        sys.exit(f"LOLv1 eval15 not found under LLIE_DATA_ROOT={root}; set LLIE_DATA_ROOT=../shared/data")
    names = sorted(p.name for p in (folder / "low").glob("*.png"))
    def read(path):
        return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), np.float32) / 255).permute(2, 0, 1)

    return (torch.stack([read(folder / "low" / n) for n in names]),
            torch.stack([read(folder / "high" / n) for n in names]))


def main() -> None:
    low, high = load_pairs()
    print(f"LOLv1 eval15: {low.shape[0]} pairs of {tuple(low.shape[1:])}, torch threads {torch.get_num_threads()}")
    total = 0.0
    for name in list_metrics("FR"):
        metric = create_metric(name)
        start = time.perf_counter()
        scores = torch.cat([metric(low[i:i + 1], high[i:i + 1]) for i in range(low.shape[0])])
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{name:>24}: {elapsed:6.2f} s for 15 pairs ({elapsed / 15 * 1e3:6.1f} ms/pair), "
              f"mean {scores.mean():.4f}")
    print(f"{'all FR metrics':>24}: {total:6.2f} s")
    for name in list_metrics("NR"):
        metric = create_metric(name)
        start = time.perf_counter()
        scores = [metric(high[i]) for i in range(3)]
        per_image = (time.perf_counter() - start) / 3
        print(f"{name:>24}: {per_image:6.2f} s per 400x600 image (mean of 3: {np.mean(scores):.3f})")


if __name__ == "__main__":
    main()
