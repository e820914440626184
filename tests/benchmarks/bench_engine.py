"""Training-step time of the engine for a tiny UNet-like model at batch 4 x 3 x 128 x 128 (CPU by default).

    .venv/bin/python tests/benchmarks/bench_engine.py [--steps 10] [--warmup 2] [--threads 2]

Prints the median and mean wall time of one full step (forward, L1 loss, backward, clip, Adam, EMA).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset, default_collate

from llie_core.engine.config import load_config
from llie_core.engine.distributed import DistContext
from llie_core.engine.trainer import Trainer


class TinyUNet(nn.Module):
    """Two-level encoder/decoder with a skip connection (~21k parameters)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc1(x)
        return torch.sigmoid(self.dec(torch.cat([self.up(self.enc2(skip)), skip], 1)))


class RandomPairs(Dataset):
    def __init__(self, n: int, size: int) -> None:
        self.low = torch.rand(n, 3, size, size) * 0.3
        self.high = self.low.mul(3).clamp(0, 1)

    def __len__(self) -> int:
        return len(self.low)

    def __getitem__(self, i: int) -> dict:
        return {"low": self.low[i], "high": self.high[i], "name": str(i)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config({"model": {"type": "given"}, "losses": [{"type": "L1Loss"}],
                       "optim": {"type": "Adam", "lr": 1e-4},
                       "train": {"iterations": 100, "batch_size": args.batch, "grad_clip": 1.0,
                                 "ema_decay": 0.999, "deterministic": True}})
    dataset = RandomPairs(args.batch, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, dataset, None, Path(tmp), TinyUNet(), None, lambda p, t: 0.0, "psnr", True,
                          torch.device("cpu"), DistContext(), None)
        batch = default_collate([dataset[i] for i in range(args.batch)])
        times = []
        for i in range(args.warmup + args.steps):
            start = time.perf_counter()
            trainer.step(batch)
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
    n_params = sum(p.numel() for p in trainer.module.parameters())
    print(f"TinyUNet ({n_params} params), batch {args.batch}x3x{args.size}x{args.size}, {args.threads} threads, "
          f"deterministic, grad clip + EMA")
    print(f"train step: median {1000 * statistics.median(times):.1f} ms, mean {1000 * statistics.mean(times):.1f} ms "
          f"over {len(times)} steps")


if __name__ == "__main__":
    main()
