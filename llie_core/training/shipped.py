"""Trained models shipped with the repository: each method's main run of a profile, small enough to commit.

``python -m llie_core.training.shipped ship --profile quick`` copies the final weights of each method's main run
(``results/<profile>/runs/<method>``, the checkpoint :func:`~llie_core.training.trained.load_trained` picks) into

    checkpoints/<profile>/<method>/recipe.json                      the run's recipe (config, data checksums)
    checkpoints/<profile>/<method>/<last stage>/checkpoints/best.pt  {"model": state_dict} in fp16 or fp32
    checkpoints/<profile>/<method>/<last stage>/{log.csv,run.json}   its training log and run record
    checkpoints/<profile>/<method>/MODEL_CARD.md                    what the weights are and how they were made

a run folder of its own, so ``llie_core.enhance --checkpoint checkpoints/quick/iclr`` and
:func:`~llie_core.training.trained.load_trained` read it as they read a run. Weights are stored in fp16 when that
moves the LOL eval15 PSNR (RGB, no GT-mean) by at most :data:`FP16_TOLERANCE_DB`, else in fp32; the card states
which, the change measured, the iterations, precision and threads of every stage, the eval15 scores and the commit.
:func:`shipped_runs_dir` is where enhance and the explorer look when a profile has no run of its own.

Reuse in the workbook is opt-in: with ``--reuse-shipped`` (``make reproduce REUSE=shipped``) a method's main run
installs the shipped model instead of training only when its recipe and data checksums equal ``recipe.json``
(:func:`llie_core.training.recipes.train_method`, :func:`~llie_core.training.recipes.install_shipped`); the run's
``recipe.json`` and stage ``run.json`` then say ``reused_from: checkpoints/<profile>/<method>``. By default every run
trains from scratch.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from data_prep.settings import resolve_roots
from llie_core.core import paths
from llie_core.core.methods import TRAINED_METHODS, display_name
from llie_core.core.profiles import load_profile
from llie_core.core.provenance import atomic_write_bytes, git_commit, write_json
from llie_core.evaluation.loop import MEAN_ROW, Enhancer, evaluate
from llie_core.evaluation.suite import paired_test_set
from llie_core.training.recipes import shipped_runs_dir
from llie_core.training.studies import main_paired_set
from llie_core.training.trained import RECIPE, load_trained

SHIPPED_PROFILE = "quick"  # the profile whose main runs are committed (enhance and the explorer fall back to them)
FP16_TOLERANCE_DB = 0.01  # fp16 storage is used when it changes the eval15 PSNR by at most this much
CARD = "MODEL_CARD.md"
STAGE_RECORDS = ("log.csv", "run.json")  # copied beside the shipped weights: a reused run keeps its training curve

__all__ = ["CARD", "FP16_TOLERANCE_DB", "SHIPPED_PROFILE", "ship_run", "shipped_runs_dir"]


def _mean_psnr(enhancer: Enhancer, dataset: Any) -> float:
    """Mean PSNR (RGB, no GT-mean) of ``enhancer`` over a paired test set, through the evaluation loop."""
    with tempfile.TemporaryDirectory() as tmp:
        frame = evaluate(enhancer, dataset, ["psnr"], Path(tmp) / "scores.csv", progress=False)
    return float(frame.loc[frame["image"] == MEAN_ROW, "psnr"].iloc[0])


def _stage_records(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per trained stage: iterations, stop reason, precision and threads from its ``run.json``."""
    out = {}
    for record_file in sorted(run_dir.glob("*/run.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        result = record.get("result") or {}
        out[record_file.parent.name] = {
            "iterations": result.get("iterations_done"), "stopped": result.get("stopped_reason"),
            "precision": record.get("precision", "fp32"), "threads": record.get("threads"),
            "best_iteration": result.get("best_iteration"), "device": record.get("device")}
    return out


def _scores(run_dir: Path, dataset: str) -> dict[str, float]:
    """Mean per-image scores of the run's main label on ``dataset`` (the newest scores folder), if any."""
    files = sorted(run_dir.glob(f"scores/*/{run_dir.name}/{dataset}.csv"), key=lambda p: p.stat().st_mtime)
    if not files:
        return {}
    frame = pd.read_csv(files[-1])
    numeric = frame[frame["image"] != MEAN_ROW].drop(columns=["height", "width", "seconds", "images"],
                                                      errors="ignore").select_dtypes("number")
    return {k: round(float(v), 4) for k, v in numeric.mean().items()}


def _half_ok(model: nn.Module, enhancer: Enhancer, dataset: Any) -> tuple[bool, float]:
    """Whether fp16 storage keeps the test set's mean PSNR within the tolerance, and the change it makes (dB);
    ``(False, nan)`` without a test set (the weights are then kept in fp32)."""
    if dataset is None or not len(dataset):
        return False, float("nan")
    reference = _mean_psnr(enhancer, dataset)
    original = {k: v.clone() for k, v in model.state_dict().items()}
    rounded = {k: (v.half().to(v.dtype) if v.is_floating_point() else v) for k, v in original.items()}
    model.load_state_dict(rounded)
    try:
        delta = _mean_psnr(enhancer, dataset) - reference
    finally:
        model.load_state_dict(original)
    return abs(delta) <= FP16_TOLERANCE_DB, delta


def ship_run(method: str, profile: str, runs_dir: str | os.PathLike, out_root: str | os.PathLike,
             test_set: Any = None, overwrite: bool = False) -> Path:
    """Copy ``method``'s main run of ``runs_dir`` into ``out_root/<method>`` (see the module docstring); returns
    the folder. ``test_set``: the paired set that decides fp16 storage (``None``: fp32). An existing folder is
    replaced only with ``overwrite``; the new one is written beside it and renamed into place."""
    trained = load_trained(method, profile, runs_dir)
    out = Path(out_root) / method
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace the shipped model")
    recipe = json.loads((trained.run_dir / RECIPE).read_text(encoding="utf-8"))
    stage = trained.checkpoint.parent.parent.name
    fp16, delta = _half_ok(trained.model, trained.enhancer(), test_set)
    state = {k: (v.half() if fp16 and v.is_floating_point() else v).contiguous()
             for k, v in trained.model.state_dict().items()}
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / stage / "checkpoints").mkdir(parents=True)
    torch.save({"model": state, "stored_dtype": "float16" if fp16 else "float32"},
               staging / stage / "checkpoints" / "best.pt")
    for name in STAGE_RECORDS:
        if (trained.run_dir / stage / name).is_file():
            shutil.copyfile(trained.run_dir / stage / name, staging / stage / name)
    write_json(staging / RECIPE, recipe)
    stages = _stage_records(trained.run_dir)
    scores = _scores(trained.run_dir, "lol_v1")
    size = (staging / stage / "checkpoints" / "best.pt").stat().st_size
    card = _card(method, profile, recipe, stages, scores, fp16, delta, size, stage,
                 len(test_set) if test_set is not None else 0)
    atomic_write_bytes(staging / CARD, card.encode())
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    return out


def _card(method: str, profile: str, recipe: Mapping[str, Any], stages: Mapping[str, Any],
          scores: Mapping[str, float], fp16: bool, delta: float, size: int, stage: str, n_eval: int) -> str:
    params = recipe.get("config", {}).get("params")
    lines = [f"# {display_name(method)}: the `{profile}` main run", "",
             f"Shipped weights of `results/{profile}/runs/{method}` (stage `{stage}`, the checkpoint the workbook "
             f"evaluates), commit `{git_commit()[:12]}`. They are what the `{profile}` profile trains, not the paper's "
             "weights: see the config for every [budget] difference.", "",
             f"- parameters: {params if params is not None else 'see config'}",
             f"- stored as: {'fp16' if fp16 else 'fp32'} ({size / 1e6:.2f} MB); fp16 changes the eval15 PSNR by "
             f"{delta:+.4f} dB on {n_eval} images (tolerance {FP16_TOLERANCE_DB} dB)",
             f"- training data: {recipe.get('training_data')}; checksums {json.dumps(recipe.get('data_checksums'))}",
             f"- seed {recipe.get('seed')}, variant {recipe.get('variant') or 'none'}, budget scale "
             f"{recipe.get('budget_scale')}", "",
             "| stage | iterations | stopped | precision | threads | best iteration |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {s['iterations']} | {s['stopped']} | {s['precision']} | {s['threads']} | "
              f"{s['best_iteration']} |" for name, s in stages.items()]
    lines += ["", "LOL eval15 (15 images, full size, this workbook's protocols; mean per image):", ""]
    lines += [f"- {k}: {v}" for k, v in scores.items()] or ["- not scored"]
    lines += ["", f"Use: `python -m llie_core.enhance --method {method} --checkpoint checkpoints/{profile}/{method} "
              "INPUT... --out DIR`", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ship each method's main run of a profile into checkpoints/.")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("ship")
    cmd.add_argument("--profile", default="quick")
    cmd.add_argument("--methods", nargs="*", default=list(TRAINED_METHODS))
    cmd.add_argument("--overwrite", action="store_true")
    cmd.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)
    data_root, weights_root = resolve_roots(args.data_root, None)
    profile = load_profile(args.profile, data_root=data_root, weights_root=weights_root)
    runs = paths.results_dir(args.profile) / "runs"
    for method in args.methods:
        pad = int(load_trained(method, args.profile, runs).pad_multiple)
        test = paired_test_set(main_paired_set(profile.data), profile.data, pad_multiple=pad)
        out = ship_run(method, args.profile, runs, shipped_runs_dir(args.profile), test, args.overwrite)
        print(f"{method}: {out.relative_to(paths.project_root())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
