"""Launch training under torchrun (one process per GPU, or per CPU slot with gloo)::

    torchrun --nproc_per_node 4 -m llie_core.engine.launch --config cfg.yaml --run-dir runs/x \\
        --setup my_pkg.my_module:make_datasets

``--setup module:function`` names a callable ``f(config: dict) -> dict`` returning keyword arguments of
:func:`~llie_core.engine.trainer.train`: at least ``train_dataset`` and ``val_dataset`` (the validation split),
optionally ``model``, ``task``, ``metric``, ``data_checksums``. Every rank calls it, so it must be
deterministic. Without torchrun the same command trains in a single process.
"""
from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable
from typing import Any

import yaml

from llie_core.engine.distributed import cleanup_distributed, init_distributed
from llie_core.engine.trainer import train


def load_callable(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"--setup must look like 'package.module:function', got {spec!r}")
    return getattr(importlib.import_module(module_name), attr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="training config YAML")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--setup", required=True, help="module:function returning train() keyword arguments")
    parser.add_argument("--profile", default="custom")
    parser.add_argument("--no-resume", action="store_true", help="start from scratch even if last.pt exists")
    args = parser.parse_args(argv)

    with open(args.config, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    ctx = init_distributed()
    try:
        kwargs = load_callable(args.setup)(config)
        result = train(config, run_dir=args.run_dir, profile=args.profile,
                       resume=False if args.no_resume else "auto", **kwargs)
        if ctx.is_main:
            print(json.dumps({"stopped_reason": result.stopped_reason, "iterations": result.iterations_done,
                              "best_metric": result.best_metric}))
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
