"""FRLIE CPU timings: one stage-2 training step (4x3x128x128, E/D frozen, Adam on FRNet) and 600x400 inference.

Run: ``.venv/bin/python tests/benchmarks/bench_frlie.py [--threads 2] [--repeats 5]``. Prints medians of
``repeats`` runs after one warm-up. Compare with ``shared/specs/official_measurements.md`` (official code, same
machine kind: 0.64 s at 400x600, stage-2 step 0.49 s) only when timed in the same session.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from llie_core.losses.feature_matching import FeatureMatchingLoss
from llie_core.losses.hue_loss import HueLoss
from llie_core.losses.ssim_loss import SSIMLoss
from llie_core.models.frlie import FRLIE


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, min) wall time of ``fn`` over ``repeats`` runs after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def stage2_step(model: FRLIE, optimizer: torch.optim.Optimizer, low: torch.Tensor, high: torch.Tensor) -> None:
    fm, ssim, hue = FeatureMatchingLoss(0.2), SSIMLoss(0.5), HueLoss(0.05)
    optimizer.zero_grad()
    out = model.stage2_outputs(low, high)
    loss = (100 * torch.nn.functional.mse_loss(out["enhanced"], high)
            + fm(out["restored"], out["features_high"]) + ssim(out["enhanced"], high) + hue(out["enhanced"], high))
    loss.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for upsampling in ("bilinear", "pixelshuffle"):
        model = FRLIE(upsampling=upsampling)
        model.encoder.requires_grad_(False).eval()
        model.decoder.requires_grad_(False).eval()
        model.feature_processor.train()
        optimizer = torch.optim.Adam(model.feature_processor.parameters(), lr=2e-4, betas=(0.5, 0.9))
        low, high = torch.rand(4, 3, 128, 128), torch.rand(4, 3, 128, 128)
        step = median_seconds(lambda: stage2_step(model, optimizer, low, high), args.repeats)
        model.eval()
        image = torch.rand(1, 3, 400, 600)
        with torch.no_grad():
            infer = median_seconds(lambda: model(image), args.repeats)
        print(f"FRLIE[{upsampling}] threads={args.threads}: stage-2 train step 4x3x128x128 "
              f"median {step[0]:.3f} s (min {step[1]:.3f}); inference 1x3x400x600 "
              f"median {infer[0]:.3f} s (min {infer[1]:.3f})")


if __name__ == "__main__":
    main()
