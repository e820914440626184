"""IRLE CPU timings: one self-supervised training step of each stage (the profile's model, patch and batch; stage 1
with all four losses, IAP on the offline ImageNet VGG16), 600x400 inference, parameters and MACs.

Run: ``.venv/bin/python tests/benchmarks/bench_irle.py [--profile quick] [--threads 2] [--repeats 3]``. Prints
medians of ``repeats`` runs after one warm-up: wall time and process CPU time (the sum over threads; on a shared
machine the wall time is inflated by the other processes, the CPU time much less), then the training time of the
profile's notebook that these step times imply (main run + the equal-budget full run + the six ablation variants at
``train.ablation_budget_scale``; time caps ignored). IRLE's code is unreleased; the project page's Table 2 gives, at
400x600 on an RTX 3090, stage 1: 0.887 M params / 32.5 GMACs, total: 2.204 M / 79.1 GMACs (the ``paper`` profile
meets both within 3 % with its assumed reduced-resolution layout, COST in ``llie_core/models/irle.py``).
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from bench_frlie import median_seconds  # sibling script (run from tests/benchmarks): median/min timer

from llie_core.core.profiles import load_profile
from llie_core.evaluation.complexity import FLOPS_PER_MAC, count_flops, count_parameters
from llie_core.losses import build_loss_set
from llie_core.models import build_model
from llie_core.training.recipes import load_method_config, method_variants


def cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median process CPU time (all threads) of ``fn`` over ``repeats`` runs after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def stage_step_seconds(model: torch.nn.Module, stage: dict, repeats: int) -> tuple[float, float, float]:
    """(median wall, min wall, median CPU) seconds of one Adam step of a config stage on its trainable modules."""
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
    times = (*median_seconds(train_step, repeats), cpu_seconds(train_step, repeats))
    model.requires_grad_(True).eval()
    return times


def bench(profile: str, variant: str | None, repeats: int) -> dict[str, tuple[float, float]]:
    """Print the figures of one config; returns (median wall, median CPU) seconds per step of each stage."""
    cfg = load_method_config("irle", profile, variant)
    torch.manual_seed(0)
    model = build_model(copy.deepcopy(cfg["model"]))
    figures, steps = [], {}
    for name, stage in cfg["stages"].items():
        if stage:
            median, fastest, cpu = stage_step_seconds(model, stage, repeats)
            steps[name] = (median, cpu)
            size = f"{stage['train']['batch_size']}x3x{stage['train']['patch_size']}x{stage['train']['patch_size']}"
            figures.append(f"{name} step {size} median {median:.3f} s (min {fastest:.3f}, cpu {cpu:.3f})")
    image = torch.rand(1, 3, 400, 600) * 0.15
    with torch.no_grad():
        infer = median_seconds(lambda: model(image), repeats)
        infer_cpu = cpu_seconds(lambda: model(image), repeats)
    macs = count_flops(model, (1, 3, 400, 600)) / FLOPS_PER_MAC / 1e9
    stage1 = count_parameters(model.illumination) + (count_parameters(model.structure) if model.structure else 0)
    label = f"IRLE[{profile}{'/' + variant if variant else ''}]"
    print(f"{label} threads={torch.get_num_threads()}: params {count_parameters(model):,} (stage 1 {stage1:,}); "
          f"{macs:.1f} GMACs at 400x600; {'; '.join(figures)}; inference 1x3x400x600 median {infer[0]:.3f} s "
          f"(min {infer[1]:.3f}, cpu {infer_cpu:.3f})")
    return steps


def training_estimate(profile: str, steps: dict[str | None, dict[str, tuple[float, float]]]) -> None:
    """Training seconds of the notebook implied by the measured step times (main run, equal-budget full run and
    every ablation variant; variants not benchmarked use the full model's step times), from the wall and from
    the CPU medians (the CPU figure approximates an uncontended run when threads do not share a core)."""
    scale = float(load_profile(profile).train.ablation_budget_scale)
    runs = [(None, 1.0)] + ([(None, scale)] if scale != 1.0 else [])
    runs += [(variant, scale) for variant in method_variants("irle", profile)]
    totals = [0.0, 0.0]
    for variant, budget in runs:
        cfg = load_method_config("irle", profile, variant)
        measured = steps.get(variant, steps[None])
        for name, stage in cfg["stages"].items():
            if stage:
                iterations = max(1, round(stage["train"]["iterations"] * budget))
                for k in (0, 1):
                    totals[k] += iterations * measured.get(name, steps[None][name])[k]
    print(f"IRLE[{profile}] notebook training implied by these step times (time caps ignored; {len(runs)} runs, "
          f"ablation budget scale {scale}): {totals[0]:.0f} s from the wall medians, {totals[1]:.0f} s from the "
          f"CPU medians")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="quick", choices=["paper", "quick", "smoke"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as the notebooks do (llie_core.workbook.context.start)
    steps = {variant: bench(args.profile, variant, args.repeats) for variant in (None, "wo_gafm", "no_denoiser")}
    training_estimate(args.profile, steps)


if __name__ == "__main__":
    main()
