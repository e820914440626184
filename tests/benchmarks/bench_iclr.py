"""CIDNet and ICLR CPU figures: parameters (vs the papers' 1.88 M / 4.27 M), FLOPs, one training step and no-grad
600x400 inference, for the paper widths and the quick (small) configuration of each method's config files.

Run: ``.venv/bin/python tests/benchmarks/bench_iclr.py [--threads 2] [--repeats 3] [--only iclr] [--skip-paper]``.

Two training steps are timed (fwd + bwd + Adam):

* ``net step``: the network with a plain L1 loss at 4x3x128x128, the setting of
  ``shared/specs/official_measurements.md`` (official code, same machine kind: CIDNet 0.96 s, ICLR 3.85 s;
  inference 400x600 CIDNet 2.42 s, ICLR 5.29 s);
* ``recipe step``: the network plus the config's whole objective (sRGB + HVI terms, perceptual terms included
  when the config has them and a VGG backbone is installed) at the config's batch and patch size.

Prints medians of ``repeats`` runs after one warm-up. On a shared CPU every timing is inflated by other work:
compare ratios measured in one session.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from bench_frlie import median_seconds  # same folder: sys.path[0] when run as a script

from llie_core.core.assets import AssetsMissingError
from llie_core.evaluation.complexity import count_flops, count_parameters
from llie_core.losses import build_loss_set
from llie_core.models import build_model

CONFIG_DIR = Path(__file__).resolve().parents[2] / "llie_core" / "configs"
REPORTED_M = {"cidnet": 1.88, "iclr": 4.27}          # papers' "M" = 2^20 parameters
OFFICIAL_COUNT = {"cidnet": 1_975_569, "iclr": 4_474_672}
OFFICIAL_SECONDS = {"cidnet": (0.96, 2.42), "iclr": (3.85, 5.29)}  # (net step 4x128^2, inference 400x600)


def load_config(method: str, profile: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / method / f"{profile}.yaml").read_text(encoding="utf-8"))


def recipe_losses(stage: dict) -> tuple[torch.nn.Module, str]:
    """The stage's loss set; without a VGG backbone on disk, the perceptual terms are dropped (and said so)."""
    try:
        return build_loss_set(stage["losses"]), "all terms"
    except AssetsMissingError:
        kept = [e for e in stage["losses"] if e["type"] != "VGGPerceptualLoss"]
        return build_loss_set(kept), "perceptual terms dropped (no VGG weights installed)"


def net_step(model, optimizer, low, high) -> None:
    optimizer.zero_grad()
    torch.nn.functional.l1_loss(model(low), high).backward()
    optimizer.step()


def recipe_step(model, losses, optimizer, low, high) -> None:
    optimizer.zero_grad()
    outputs = model.train_outputs(low, high)
    sum(losses({"low": low, "high": high, **outputs}).values()).backward()
    optimizer.step()


def report(method: str, profile: str, repeats: int) -> None:
    cfg = load_config(method, profile)
    stage = cfg["stages"]["main"]
    torch.manual_seed(0)
    model = build_model(dict(cfg["model"]))
    n = count_parameters(model)
    target = f"official {OFFICIAL_COUNT[method]:,}, paper {REPORTED_M[method]} M" if profile == "paper" else "small"
    with torch.device("meta"):
        flops = count_flops(build_model(dict(cfg["model"])), (1, 3, 400, 600)) / 1e9
    print(f"{method}[{profile}] channels {cfg['model']['channels']}: params {n:,} = {n / 2**20:.3f} M (2^20) "
          f"[{target}]; {flops:.1f} GFLOPs at 400x600 (1 MAC = 2)")
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    low, high = torch.rand(4, 3, 128, 128), torch.rand(4, 3, 128, 128)
    med, fastest = median_seconds(lambda: net_step(model, optimizer, low, high), repeats)
    official = OFFICIAL_SECONDS[method]
    print(f"  net step 4x3x128x128 (L1): median {med:.3f} s (min {fastest:.3f})"
          + (f" [official code: {official[0]} s]" if profile == "paper" else ""))
    losses, note = recipe_losses(stage)
    batch, patch = stage["train"]["batch_size"], stage["train"]["patch_size"]
    if profile == "paper":
        batch, patch = 2, 128  # a paper-size step (8 x 256^2) takes tens of seconds on 2 cores
    low, high = torch.rand(batch, 3, patch, patch), torch.rand(batch, 3, patch, patch)
    med, fastest = median_seconds(lambda: recipe_step(model, losses, optimizer, low, high), repeats)
    print(f"  recipe step {batch}x3x{patch}x{patch} ({len(losses.names)} terms, {note}): median {med:.3f} s "
          f"(min {fastest:.3f})")
    model.eval()
    image = torch.rand(1, 3, 400, 600)
    with torch.no_grad():
        med, fastest = median_seconds(lambda: model(image), repeats)
    print(f"  inference 1x3x400x600: median {med:.3f} s (min {fastest:.3f})"
          + (f" [official code: {official[1]} s]" if profile == "paper" else ""))
    if profile == "paper":
        with torch.no_grad():
            med, _ = median_seconds(lambda: model(image, saturation_gate=1.3), repeats)
        print(f"  inference with the LOLv1 saturation gate: median {med:.3f} s (same network, one extra multiply)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=sorted(REPORTED_M), default=None)
    parser.add_argument("--skip-paper", action="store_true", help="only the quick (small) configurations")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    print(f"threads={args.threads}, repeats={args.repeats}")
    for method in REPORTED_M:
        if args.only and method != args.only:
            continue
        for profile in ("quick",) + (() if args.skip_paper else ("paper",)):
            report(method, profile, args.repeats)


if __name__ == "__main__":
    main()
