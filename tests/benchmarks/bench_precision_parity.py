"""Quality parity of bf16 training: the same recipe, seed and iterations trained in fp32 and under bf16 autocast,
compared on the validation PSNR (held-out training pairs, never a test image) and the wall time.

    LLIE_DATA_ROOT=../shared/data .venv/bin/python tests/benchmarks/bench_precision_parity.py \
        [--profile quick] [--methods cidnet iclr] [--iterations 100] [--out /tmp/parity]

Each method's main recipe is trained with every stage capped at ``--iterations`` (the profile's
``train.max_iterations``: warm-ups and milestones scaled to the cap, as in a dry run), once per precision, in
``--out/<precision>``. Printed per method: the validation PSNR of the last weights in each precision, their
difference and the seconds each took. bf16 is emulated, hence slow, on CPUs without AVX512-BF16/AMX (the header
says ``native bf16``): the parity figure is still meaningful there, the time is not.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from llie_core.core.precision import native_bf16
from llie_core.core.profiles import load_profile
from llie_core.training.recipes import train_method, training_data

from bench_learning_curve import validation_curve  # sibling script (run from tests/benchmarks)


def last_val_psnr(run) -> tuple[float, int]:
    """The last validation PSNR of the run's last trained stage (the engine validates at the final iteration), and
    that iteration."""
    curve = validation_curve(run)
    return float(curve.iloc[-1]), int(curve.index[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--methods", nargs="+", default=["cidnet", "iclr"])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--out", default="/tmp/llie_precision_parity")
    args = parser.parse_args()
    print(f"torch {torch.__version__} | threads {torch.get_num_threads()} | native bf16: {native_bf16('cpu')}")
    print(f"{'method':8} {'iters':>5} {'fp32 PSNR':>9} {'bf16 PSNR':>9} {'delta':>7} {'fp32 s':>7} {'bf16 s':>7}")
    for method in args.methods:
        psnr, seconds, iters = {}, {}, 0
        for precision in ("fp32", "bf16"):
            profile = load_profile(args.profile, data_root=os.environ.get("LLIE_DATA_ROOT"),
                                   overrides={"train": {"precision": precision, "max_iterations": args.iterations}})
            start = time.perf_counter()
            run = train_method(method, profile, os.path.join(args.out, precision), data=training_data(profile.data))
            seconds[precision] = time.perf_counter() - start
            psnr[precision], iters = last_val_psnr(run)
        print(f"{method:8} {iters:5d} {psnr['fp32']:9.3f} {psnr['bf16']:9.3f} {psnr['bf16'] - psnr['fp32']:+7.3f} "
              f"{seconds['fp32']:7.1f} {seconds['bf16']:7.1f}")


if __name__ == "__main__":
    main()
