"""IRLE CPU timings: one self-supervised training step of each stage (the profile's model, patch and batch; stage 1
with all four losses, IAP on the offline ImageNet VGG16), 600x400 inference, parameters and MACs.

Run: ``.venv/bin/python tests/benchmarks/bench_irle.py [--profile quick] [--threads 2] [--repeats 3]``. Prints
medians of ``repeats`` runs after one warm-up. IRLE's code is unreleased; the project page's Table 2 gives, at
400x600 on an RTX 3090, stage 1: 0.887 M params / 32.5 GMACs, total: 2.204 M / 79.1 GMACs (the ``paper`` profile
is sized after the parameter counts; its MACs differ because our layouts are assumptions).
"""
from __future__ import annotations

import argparse
import copy

import torch
from bench_frlie import median_seconds  # sibling script (run from tests/benchmarks): median/min timer

from llie_core.complexity import FLOPS_PER_MAC, count_flops, count_parameters
from llie_core.losses import build_loss_set
from llie_core.models import build_model
from llie_core.recipes import load_method_config


def stage_step_seconds(model: torch.nn.Module, stage: dict, repeats: int) -> tuple[float, float]:
    """(median, min) seconds of one Adam step of a config stage on its trainable modules."""
    losses = build_loss_set(stage["losses"])
    modules = [getattr(model, m) for m in stage["trainable"] if getattr(model, m) is not None]
    model.requires_grad_(False)
    for module in modules:
        module.requires_grad_(True)
    optimizer = torch.optim.Adam([p for m in modules for p in m.parameters()], lr=float(stage["optim"]["lr"]))
    batch, patch = stage["train"]["batch_size"], stage["train"]["patch_size"]
    low = torch.rand(batch, 3, patch, patch) * 0.15
    outputs = getattr(model, stage["forward"])

    def train_step() -> None:
        terms = losses({"low": low, **outputs(low)})
        optimizer.zero_grad()
        sum(terms.values()).backward()
        optimizer.step()

    model.train()
    times = median_seconds(train_step, repeats)
    model.requires_grad_(True).eval()
    return times


def bench(profile: str, variant: str | None, repeats: int) -> None:
    cfg = load_method_config("irle", profile, variant)
    torch.manual_seed(0)
    model = build_model(copy.deepcopy(cfg["model"]))
    figures = []
    for name, stage in cfg["stages"].items():
        if stage:
            median, fastest = stage_step_seconds(model, stage, repeats)
            size = f"{stage['train']['batch_size']}x3x{stage['train']['patch_size']}x{stage['train']['patch_size']}"
            figures.append(f"{name} step {size} median {median:.3f} s (min {fastest:.3f})")
    image = torch.rand(1, 3, 400, 600) * 0.15
    with torch.no_grad():
        infer = median_seconds(lambda: model(image), repeats)
    macs = count_flops(model, (1, 3, 400, 600)) / FLOPS_PER_MAC / 1e9
    stage1 = count_parameters(model.illumination) + (count_parameters(model.structure) if model.structure else 0)
    label = f"IRLE[{profile}{'/' + variant if variant else ''}]"
    print(f"{label} threads={torch.get_num_threads()}: params {count_parameters(model):,} (stage 1 {stage1:,}); "
          f"{macs:.1f} GMACs at 400x600; {'; '.join(figures)}; inference 1x3x400x600 median {infer[0]:.3f} s "
          f"(min {infer[1]:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="quick", choices=["paper", "quick", "smoke"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for variant in (None, "wo_gafm", "no_denoiser"):
        bench(args.profile, variant, args.repeats)


if __name__ == "__main__":
    main()
