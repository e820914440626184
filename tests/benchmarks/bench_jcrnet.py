"""JCRNet CPU figures: parameters and FLOPs (``llie_core/evaluation/complexity.py``) beside Table VII, one training step
(the config's loss list: Charbonnier + 0.05 edge on the output and the intermediate images x_A and x_J, Adam) and
no-grad inference at 600x400 and 384x384, for the paper widths and the quick (small) configuration.
``bench_complexity.py`` measures every implemented model in one run.

Run: ``.venv/bin/python tests/benchmarks/bench_jcrnet.py [--threads 2] [--repeats 3] [--skip-paper-step]``.
Table VII (paper, GPU): 2.01 M parameters (M = 10^6), 219.74 G "FLOPs" at 384x384 = G multiply-adds (the reading
argued in ``llie_core/models/jcrnet.py``), 5.99 FPS.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from bench_frlie import median_seconds  # same folder: sys.path[0] when run as a script

from llie_core.evaluation.complexity import count_flops, count_parameters
from llie_core.losses.registry import LossSet, build_loss_set
from llie_core.models.jcrnet import JCRNet

CONFIG_DIR = Path(__file__).resolve().parents[2] / "llie_core" / "configs" / "jcrnet"


def load_config(profile: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / f"{profile}.yaml").read_text(encoding="utf-8"))


def train_step(model: JCRNet, losses: LossSet, optimizer: torch.optim.Optimizer, low: torch.Tensor,
               high: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss = sum(losses({"low": low, "high": high, **model.stage_outputs(low)}).values())
    loss.backward()
    optimizer.step()


def report(profile: str, batch: int, patch: int, repeats: int, step: bool) -> None:
    torch.manual_seed(0)
    cfg = load_config(profile)
    model = JCRNet(**{k: v for k, v in cfg["model"].items() if k != "type"})
    losses = build_loss_set(cfg["stages"]["main"]["losses"])
    n = count_parameters(model)
    parts = {name: count_parameters(getattr(model, name)) for name in ("fes", "jrs", "ias")}
    flops = {size: count_flops(model, (1, 3, *size)) / 1e9 for size in ((384, 384), (400, 600))}
    print(f"JCRNet[{profile}] params {n:,} = {n / 2**20:.3f} M (2^20) / {n / 1e6:.3f} M (SI) "
          f"[paper Table VII: 2.01 M]; per stage {parts}")
    print(f"  FLOPs (1 MAC = 2): 384x384 {flops[(384, 384)]:.1f} G ({flops[(384, 384)] / 2:.1f} G MACs) "
          f"[paper: 219.74 G MACs]; 400x600 {flops[(400, 600)]:.1f} G")
    if step:
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
        low, high = torch.rand(batch, 3, patch, patch), torch.rand(batch, 3, patch, patch)
        med, low_t = median_seconds(lambda: train_step(model, losses, optimizer, low, high), repeats)
        print(f"  train step {batch}x3x{patch}x{patch}: median {med:.3f} s (min {low_t:.3f})")
    model.eval()
    for h, w in ((400, 600), (384, 384)):
        image = torch.rand(1, 3, h, w)
        with torch.no_grad():
            med, low_t = median_seconds(lambda: model(image), repeats)
        print(f"  inference 1x3x{h}x{w}: median {med:.3f} s (min {low_t:.3f}), {1 / med:.2f} FPS"
              + (" [paper: 5.99 FPS on its GPU]" if (h, w) == (384, 384) else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-paper-step", action="store_true", help="no training step at the paper widths")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}, repeats={args.repeats}")
    report("quick", batch=4, patch=96, repeats=args.repeats, step=True)              # quick.yaml budget
    report("paper", batch=2, patch=128, repeats=args.repeats, step=not args.skip_paper_step)  # paper: 10 x 256


if __name__ == "__main__":
    main()
