"""Learning curves of a method's quick recipe at larger iteration budgets: does training longer raise the validation
PSNR? (issue 17: a target out of reach is shown by the curve that says why.)

    LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_learning_curve.py \
        --method cidnet [--profile quick] [--scales 1 3] [--out /tmp/llie_curves]

Each scale trains the main recipe with every stage's iterations and schedule scaled by it (``train_method``'s
``budget_scale``: milestones, warm-ups and cosine lengths stretch with the budget; nothing else changes) in
``--out/<method>-x<scale>``. Printed: per scale, the validation PSNR (held-out training pairs, never a test image)
at each validation iteration of the last stage, its best and last value, and the wall seconds.
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from llie_core.core.profiles import load_profile
from llie_core.engine.trainer import TrainResult
from llie_core.training.recipes import train_method, training_data


def validation_curve(run) -> pd.Series:
    """Validation PSNR by iteration of the run's last trained stage."""
    result = [r for r in run.stages.values() if isinstance(r, TrainResult)][-1]
    log = pd.read_csv(result.log_path).dropna(subset=["val_psnr"])
    return pd.Series(log["val_psnr"].to_numpy(), index=log["iter"].to_numpy(), name="val_psnr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 3.0])
    parser.add_argument("--out", default="/tmp/llie_curves")
    args = parser.parse_args()
    profile = load_profile(args.profile, data_root=os.environ.get("LLIE_DATA_ROOT"))
    data = training_data(profile.data)
    for scale in args.scales:
        start = time.perf_counter()
        run = train_method(args.method, profile, args.out, data=data, budget_scale=scale, tag=f"x{scale:g}")
        seconds = time.perf_counter() - start
        curve = validation_curve(run)
        points = ", ".join(f"{int(i)}: {v:.2f}" for i, v in curve.items())
        print(f"{args.method} x{scale:g} ({seconds:.0f} s): best {curve.max():.2f} at {int(curve.idxmax())}, "
              f"last {curve.iloc[-1]:.2f} | {points}", flush=True)


if __name__ == "__main__":
    main()
