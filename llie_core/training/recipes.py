"""Recipes: train a method from its config file, stage by stage, with the engine; then evaluate it.

A method config lives in ``llie_core/configs/<method>/<profile>.yaml``::

    method: frlie
    model: {type: FRLIE, ...}                 # llie_core.models.MODELS
    official_weights: {stage1: frlie/...}     # optional, relative to the weights root (see weights_path)
    training: paired                          # or 'self_supervised': the model never sees a reference
    stages:                                   # trained in order on ONE model instance
      <stage>:
        input: low                            # batch key fed to the model ('low' or 'high')
        forward: forward                      # model method the task calls (default: forward)
        forward_inputs: [low, high]           # its positional batch keys (default: [input])
        init_from: <earlier stage>            # start from that stage's best weights (default: previous stage)
        trainable: [module, ...]              # optimised sub-modules (default: all); others frozen, eval mode
        losses: [{type: ..., loss_weight: ...}]
        optim / scheduler: engine sections
        train: {iterations, batch_size, patch_size, flips, rot90, val_every, ...}
        eval: {every, metric}                 # validation on the held-out part of the training set
    variants: {name: {description: ..., <overrides deep-merged into the config>}}

Validation is always a split of the *training* set (``data.val_images`` pairs held out by even spacing), never a
test set: best-checkpoint selection on test images would leak them into model selection.

A dry-run profile (``load_profile("paper-dry-run")``, :mod:`llie_core.core.profiles`) caps every stage at
``train.max_iterations`` iterations and scales its schedule to the cap (:func:`capped_schedule`); its records say
``dry_run: true``.

Shipped weights (``checkpoints/<profile>/<method>``, :mod:`llie_core.training.shipped`) are reused only on request
(``train.reuse_shipped``; the workbook runner's ``--reuse-shipped``) and only by a method's main run whose recipe and
data checksums equal the shipped ``recipe.json`` (:data:`REUSE_FIELDS`); otherwise the run trains, and says which
fields differ.

Command line (also under ``torchrun`` for the ``paper`` profile on GPUs)::

    python -m llie_core.training.recipes train --method frlie --profile paper [--variant wo_fr] [--seed 1]
        [--budget-scale 0.5] [--reuse-shipped]
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml
from torch import nn

from data_prep.datasets import PairedImageDataset, UnpairedImageDataset, evenly_spaced, resolve_training_pairs
from data_prep.settings import DataSettings, resolve_roots
from llie_core.core import paths
from llie_core.core.precision import PRECISIONS
from llie_core.core.profiles import Profile, deep_merge, load_profile
from llie_core.core.provenance import atomic_write_bytes, checksum_files, write_json
from llie_core.engine import (CheckpointUnreadable, TrainResult, cleanup_distributed, current_context, init_distributed,
                              load_checkpoint, train)
from llie_core.engine.distributed import barrier
from llie_core.engine.registry import TASKS
from llie_core.engine.seed import seed_everything
from llie_core.evaluation.loop import as_enhancer
from llie_core.models import build_model

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
STAGE_TRAIN_KEYS = ("patch_size", "flips", "rot90")  # dataset settings inside a stage's ``train`` block
RECIPE_FILE = "recipe.json"  # written by train_method in every run folder (llie_core.training.trained.RECIPE)
# the recipe.json fields a shipped model must share with a main run to be reused in its place (none may differ)
REUSE_FIELDS = ("method", "variant", "tag", "seed", "profile", "budget_scale", "training_data", "data_checksums",
                "config")


def shipped_runs_dir(profile: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/checkpoints/<profile>``: the shipped run folders of ``profile`` (root: the project root)."""
    return Path(root or paths.project_root()) / "checkpoints" / profile


# ------------------------------------------------------------------------------------------------ configs
def available_methods() -> list[str]:
    return sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def config_path(method: str, profile: str) -> Path:
    path = CONFIG_DIR / method / f"{profile}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no config for method {method!r} in profile {profile!r} ({path}); methods: "
                                f"{available_methods()}")
    return path


def method_variants(method: str, profile: str) -> dict[str, str]:
    """``{variant: description}`` of a method's ablation variants."""
    with open(config_path(method, profile), encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return {name: (v or {}).get("description", "") for name, v in (raw.get("variants") or {}).items()}


def load_method_config(method: str, profile: str, variant: str | None = None) -> dict[str, Any]:
    """The config of ``method`` for ``profile``, with ``variant``'s overrides deep-merged (no ``variants`` key
    in the result; ``variant`` and ``variant_description`` record what was merged)."""
    with open(config_path(method, profile), encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    variants = cfg.pop("variants", None) or {}
    cfg["variant"], cfg["variant_description"] = None, ""
    if variant:
        if variant not in variants:
            raise KeyError(f"{method} has no variant {variant!r}; choose from {sorted(variants)}")
        override = dict(variants[variant] or {})
        description = override.pop("description", "")
        cfg = deep_merge(cfg, override)
        cfg["variant"], cfg["variant_description"] = variant, description
    if not cfg.get("stages"):
        raise ValueError(f"{config_path(method, profile)}: 'stages' is empty")
    return cfg


def weights_path(relative: str | os.PathLike, weights_root: str | os.PathLike | None) -> Path | None:
    """An official weight file given relative to ``weights_root`` (``frlie/...``; ``Profile.data.weights_root``);
    ``None`` when absent (:func:`llie_core.core.paths.weights_file`)."""
    return paths.weights_file(relative, weights_root)


# ------------------------------------------------------------------------------------------------ data
@dataclass
class TrainingData:
    """Training pairs of a profile and the held-out validation pairs (from the same training set)."""

    name: str
    train_pairs: list[tuple[Path, Path]]
    val_pairs: list[tuple[Path, Path]]

    @property
    def checksums(self) -> dict[str, str]:
        return {"train": checksum_files(f for pair in self.train_pairs for f in pair),
                "val": checksum_files(f for pair in self.val_pairs for f in pair)}


def training_data(data: DataSettings) -> TrainingData:
    """The training set of ``data`` (``Profile.data``) split into train/validation by even spacing
    (``data.val_images`` pairs)."""

    name, pairs = resolve_training_pairs(data)
    n_val = data.val_images
    if len(pairs) < n_val + 2:
        raise ValueError(f"training set {name!r} has {len(pairs)} pairs, too few to hold out {n_val} for "
                         f"validation; lower data.val_images or provide more data")
    val = evenly_spaced(pairs, n_val)
    held = {tuple(p) for p in val}
    return TrainingData(name, [p for p in pairs if tuple(p) not in held], list(val))


def _train_dataset(data: TrainingData, settings: Mapping[str, Any], profile_data: DataSettings,
                   self_supervised: bool, seed: int) -> torch.utils.data.Dataset:
    patch = int(settings.get("patch_size") or profile_data.patch_size)
    flips = bool(settings.get("flips", True))
    rot90 = bool(settings.get("rot90", False))
    if self_supervised:  # low images only: the reference never enters training
        return UnpairedImageDataset([lo for lo, _ in data.train_pairs], patch, flips, rot90, seed, cache=True)
    return PairedImageDataset(data.train_pairs, patch, flips, rot90, seed, cache=True)


def _val_dataset(data: TrainingData, profile_data: DataSettings, pad_multiple: int) -> torch.utils.data.Dataset:
    return PairedImageDataset(data.val_pairs, pad_multiple=pad_multiple, max_side=profile_data.val_side)


# ------------------------------------------------------------------------------------------------ training
def scores_dir(run_dir: str | os.PathLike, model: nn.Module) -> Path:
    """``<run_dir>/scores/<weights fingerprint>``: where the suite keeps the per-image scores (and saved outputs)
    of the run's model, so retrained weights are re-scored and unchanged ones are not."""
    return Path(run_dir) / "scores" / model_fingerprint(model)


def model_fingerprint(model: nn.Module, length: int = 12) -> str:
    """A short sha256 of the model's state dict (names, dtypes, shapes and values)."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:length]


@dataclass
class MethodRun:
    """A trained method: the model (best weights of its last stage) and what each stage did."""

    method: str
    variant: str | None
    profile: str
    run_dir: Path
    model: nn.Module
    config: dict[str, Any]
    stages: dict[str, TrainResult | str] = field(default_factory=dict)
    data_name: str = ""
    tag: str | None = None
    reused_from: str | None = None  # the shipped folder whose weights this run installed instead of training

    @property
    def label(self) -> str:
        """``method``, ``method[variant]``, ``method[tag]`` or ``method[variant,tag]``."""
        extra = ",".join(filter(None, (self.variant, self.tag)))
        return f"{self.method}[{extra}]" if extra else self.method

    def enhancer(self, name: str | None = None, **options: Any):
        """The trained model as an :class:`~llie_core.evaluation.loop.Enhancer` named ``name`` (default: label)."""

        fn = (lambda low: self.model(low, **options)) if options else self.model
        return as_enhancer(fn, name or self.label, int(self.config["model"].get("pad_multiple", 1) or 1))

    @property
    def scores_dir(self) -> Path:
        """Where this model's per-image scores go: keyed by its weights, so retrained weights are re-scored."""
        return scores_dir(self.run_dir, self.model)

    def summary(self) -> pd.DataFrame:
        rows = []
        for stage, res in self.stages.items():
            if isinstance(res, TrainResult):
                rows.append({"stage": stage, "iterations": res.iterations_done, "stopped": res.stopped_reason,
                             f"best_val_{res.metric_name}": res.best_metric, "best_iteration": res.best_iteration})
            else:
                rows.append({"stage": stage, "stopped": res})
        return pd.DataFrame(rows)


def _engine_config(cfg: Mapping[str, Any], stage: Mapping[str, Any], profile: Profile,
                   budget_scale: float, seed_offset: int = 0, train_size: int | None = None) -> dict[str, Any]:
    """The engine config of one stage; ``seed_offset`` shifts its seed (the stage's own, else the profile's).
    ``profile.train.max_iterations`` (a dry run) caps the iterations after ``budget_scale``
    (``max_batch_size`` the batch), the schedule scaled to the cap (:func:`capped_schedule`; ``train_size``: training samples, which an epoch-based schedule needs)."""
    settings = dict(stage.get("train") or {})
    for key in STAGE_TRAIN_KEYS:
        settings.pop(key, None)
    defaults = profile.train
    settings.setdefault("iterations", defaults.iterations)
    settings.setdefault("batch_size", profile.data.batch_size)
    settings.setdefault("precision", defaults.precision)
    settings["seed"] = int(settings.get("seed", profile.seed)) + seed_offset
    settings.setdefault("deterministic", bool(profile.deterministic))
    every = (stage.get("eval") or {}).get("every", defaults.val_every)
    settings.setdefault("val_every", every)
    settings.setdefault("num_workers", profile.data.num_workers)
    if budget_scale != 1.0:
        settings["iterations"] = max(1, round(settings["iterations"] * budget_scale))
    scheduler = scaled_schedule(stage.get("scheduler", {"type": "constant"}), budget_scale)
    if profile.train.max_batch_size and settings["batch_size"] > profile.train.max_batch_size:
        settings["batch_size"] = int(profile.train.max_batch_size)  # a dry run's batch cap, before epochs are counted
    cap = profile.train.max_iterations
    if cap and settings["iterations"] > cap:
        batches = _batches_per_epoch(train_size, settings["batch_size"], settings.get("drop_last", True))
        scheduler = capped_schedule(scheduler, settings["iterations"], int(cap), batches)
        settings["iterations"] = int(cap)
    self_supervised = cfg.get("training", "paired") == "self_supervised"
    forward_inputs = stage.get("forward_inputs") or [stage.get("input", "low")]
    task = {"type": "StageTask", "trainable_modules": stage.get("trainable"),
            "method": stage.get("forward", "forward"), "forward_inputs": forward_inputs,
            "self_supervised": self_supervised}
    return {"model": cfg["model"], "losses": stage["losses"], "task": task,
            "optim": stage.get("optim", {"type": "Adam", "lr": 1e-4}), "scheduler": scheduler, "train": settings}


def scaled_schedule(scheduler: Mapping[str, Any], budget_scale: float) -> dict[str, Any]:
    """The schedule of a run whose iteration budget is scaled: per-iteration milestones, warm-up and ``total``
    scale with it, so a shortened run has the same schedule shape (decays at the same fractions)."""
    out = dict(scheduler)
    if budget_scale == 1.0 or out.get("step_per", "iter") != "iter":
        return out
    if out.get("milestones"):
        out["milestones"] = [max(1, round(m * budget_scale)) for m in out["milestones"]]
    for key in ("warmup_iters", "total"):
        if out.get(key):
            out[key] = max(1, round(out[key] * budget_scale))
    return out


def _batches_per_epoch(samples: int | None, batch_size: int, drop_last: bool) -> int:
    """Batches of one epoch of ``samples`` (one process; at least 1; ``None``: unknown, taken as 1)."""
    if not samples:
        return 1
    return max(1, samples // batch_size if drop_last else math.ceil(samples / batch_size))


def capped_schedule(scheduler: Mapping[str, Any], iterations: int, cap: int, batches_per_epoch: int = 1
                    ) -> dict[str, Any]:
    """The schedule of a stage of ``iterations`` cut to ``cap`` iterations (a dry run), with the same shape: its
    milestones, warm-up and ``total`` scale by the fraction of schedule steps kept (iterations, or epochs of
    ``batches_per_epoch`` for ``step_per: epoch``), so the scheduler code runs as in the full stage. A milestone or
    ``total`` stays >= 1; a warm-up stays shorter than the shortened schedule (a cosine needs a step after it), so a
    one-epoch schedule has none."""
    out = dict(scheduler)
    per_epoch = out.get("step_per", "iter") == "epoch"
    before = math.ceil(iterations / batches_per_epoch) if per_epoch else iterations
    after = math.ceil(cap / batches_per_epoch) if per_epoch else cap
    scale = after / before
    if out.get("milestones"):
        out["milestones"] = [max(1, round(m * scale)) for m in out["milestones"]]
    if out.get("total"):
        out["total"] = max(1, round(out["total"] * scale))
    if out.get("warmup_iters"):
        out["warmup_iters"] = min(max(1, round(out["warmup_iters"] * scale)), (out.get("total") or after) - 1)
    return out


def _load_best(model: nn.Module, result: TrainResult) -> None:
    """The stage's best weights, else its last; an unreadable ``best.pt`` is named in a warning and ``last.pt`` used."""
    files = [p for p in (result.best_checkpoint, result.last_checkpoint) if p.is_file()]
    if not files:
        raise FileNotFoundError(f"{result.run_dir}: no best.pt or last.pt to load after training")
    for i, path in enumerate(files):
        try:
            model.load_state_dict(load_checkpoint(path)["model"])
            return
        except CheckpointUnreadable as exc:
            if i == len(files) - 1:
                raise
            warnings.warn(f"{exc}; using {files[i + 1]} instead (delete or replace the broken file)", UserWarning,
                          stacklevel=2)


def _official_init(model: nn.Module, cfg: Mapping[str, Any], stage_name: str,
                   weights_root: str | os.PathLike | None) -> str | None:
    """Load official weights for ``stage_name`` when the config asks for it (``init_<stage>_from_official``)
    and the file exists under ``weights_root``; returns a description, or ``None`` to train the stage instead."""
    if not cfg.get(f"init_{stage_name}_from_official"):
        return None
    relative = (cfg.get("official_weights") or {}).get(stage_name)
    path = weights_path(relative, weights_root) if relative else None
    if path is None:
        return None
    loader = getattr(model, "load_official", None)
    if loader is None:
        raise TypeError(f"{type(model).__name__} has no load_official(); cannot use official {stage_name} weights")
    loader(path)
    return f"official weights {relative}"


def seed_tag(seed: int) -> str:
    """The run tag of a replica trained with another seed (``paper_tables`` reads it back as the seed)."""
    return f"seed{seed}"


def train_method(method: str, profile: Profile | str, run_root: str | os.PathLike, *,
                 variant: str | None = None, data: TrainingData | None = None, budget_scale: float = 1.0,
                 resume: bool | str = "auto", device: str | None = None, tag: str | None = None,
                 seed: int | None = None, shipped_dir: str | os.PathLike | None = None) -> MethodRun:
    """Train every stage of ``method`` (optionally an ablation ``variant``) in
    ``run_root/<method>[-variant][-tag][-seed<N>]``.

    ``tag`` names a second run of the same config, e.g. ``"ablation_budget"``: the full model retrained with the
    ablation variants' ``budget_scale``, so an ablation table compares equal training budgets.

    ``seed`` (default: the profile's ``seed``) seeds the initial weights and shifts every stage's engine seed by
    ``seed - profile seed`` (a stage that pins a seed, e.g. LLFlow's released ``manual_seed: 10``, keeps it in the
    main run). A run of another seed is a replica tagged ``seed<N>`` (directory ``...-seed<N>``, label
    ``method[seed<N>]``), which ``paper_tables`` averages with the main run.

    Stages resume from their checkpoints (``resume='auto'``), so re-running after an interruption continues
    where it stopped. ``budget_scale`` scales every stage's iterations (used for ablation runs in the CPU
    profiles; recorded in the run record). A dry-run profile caps them (``profile.train.max_iterations``).

    With ``profile.train.reuse_shipped`` the main run (no variant, tag or other seed, budget scale 1, not a dry run)
    first compares its recipe with ``<shipped_dir>/<method>/recipe.json`` (default
    ``checkpoints/<profile>/<method>``, :func:`shipped_runs_dir`) on :data:`REUSE_FIELDS`: when they are equal, and the
    run folder holds no training checkpoint of its own, the shipped weights are installed as the run's final
    checkpoint (:func:`install_shipped`; ``recipe.json`` and the stage's ``run.json`` say ``reused_from``) and nothing
    trains; otherwise it trains as usual and prints which fields differ (``MethodRun.reused_from`` tells which
    happened). A later run without reuse removes the installed weights and trains from scratch.

    ``profile`` is a :class:`~llie_core.core.profiles.Profile` (its data, weights and cache roots resolved by the
    entry point) or a profile name, loaded without a data root (only the embedded set).
    """
    profile = load_profile(profile) if isinstance(profile, str) else profile
    cfg = load_method_config(method, profile.name, variant)
    data = data or training_data(profile.data)
    main_seed = profile.seed
    seed = main_seed if seed is None else int(seed)
    replica = seed_tag(seed) if seed != main_seed else None
    run_dir = Path(run_root) / "-".join(filter(None, (method, variant, tag, replica)))
    seed_everything(seed)  # the initial weights must not depend on what ran before
    model = build_model(copy.deepcopy(cfg["model"]))
    run = MethodRun(method, variant, profile.name, run_dir, model, cfg, data_name=data.name,
                    tag=",".join(filter(None, (tag, replica))) or None)
    recipe = {"method": method, "variant": variant, "tag": run.tag, "seed": seed, "profile": profile.name,
              "budget_scale": budget_scale, "training_data": data.name, "data_checksums": data.checksums,
              "config": cfg, "dry_run": profile.dry_run}
    main_run = variant is None and tag is None and replica is None and budget_scale == 1.0 and not profile.dry_run
    if profile.train.reuse_shipped and main_run and _reuse_shipped(
            run, recipe, Path(shipped_dir or shipped_runs_dir(profile.name)) / method):
        return run
    if current_context().is_main:
        _remove_installed(run_dir)
    pad = int(cfg["model"].get("pad_multiple", 1) or 1)
    previous: str | None = None
    for stage_name, stage in cfg["stages"].items():
        if not stage:
            run.stages[stage_name] = "skipped (not part of this variant)"
            continue
        official = _official_init(model, cfg, stage_name, profile.data.weights_root)
        if official:
            run.stages[stage_name] = official
            previous = stage_name
            continue
        source = stage.get("init_from", previous)
        if source is not None and source not in run.stages:
            raise KeyError(f"{method} stage {stage_name!r}: init_from {source!r} is not an earlier stage")
        for p in model.parameters():
            p.requires_grad_(True)
        engine_cfg = _engine_config(cfg, stage, profile, budget_scale, seed - main_seed, len(data.train_pairs))
        stage_seed = int(engine_cfg["train"]["seed"])
        self_sup = engine_cfg["task"]["self_supervised"]
        result = train(engine_cfg, _train_dataset(data, stage.get("train") or {}, profile.data, self_sup,
                                                  stage_seed),
                       _val_dataset(data, profile.data, pad), run_dir / stage_name, model=model,
                       task=TASKS.build(dict(engine_cfg["task"])), resume=resume, data_checksums=data.checksums,
                       profile=profile.name, device=device, record={"dry_run": profile.dry_run})
        _load_best(model, result)
        run.stages[stage_name] = result
        previous = stage_name
    model.eval()
    if current_context().is_main:  # under torchrun every rank trains; one writes
        write_json(run_dir / RECIPE_FILE, {
            **recipe,
            "stages": {k: (v.stopped_reason if isinstance(v, TrainResult) else v) for k, v in run.stages.items()}})
    return run


# ------------------------------------------------------------------------------------------------ shipped weights
def recipe_differences(expected: Any, shipped: Any, prefix: str = "") -> list[str]:
    """The dotted paths where two recipes (their JSON form) differ, e.g. ``config.stages.main.train.iterations``;
    a key only one of them has counts as a difference; lists are compared whole."""
    if isinstance(expected, Mapping) and isinstance(shipped, Mapping):
        out = []
        for key in sorted(set(expected) | set(shipped), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in expected or key not in shipped:
                out.append(where)
            else:
                out += recipe_differences(expected[key], shipped[key], where)
        return out
    return [] if expected == shipped else [prefix or "(recipe)"]


def _json_form(value: Any) -> Any:
    """``value`` as ``recipe.json`` stores it (tuples as lists, keys as strings)."""
    return json.loads(json.dumps(value, default=str))


def _reuse_shipped(run: MethodRun, recipe: Mapping[str, Any], shipped: Path) -> bool:
    """Install ``shipped`` into ``run`` when its recipe matches (see :func:`train_method`); ``False``: train (the
    reason printed)."""
    label = _display_path(shipped)
    recipe_file = shipped / RECIPE_FILE
    if not recipe_file.is_file():
        print(f"{run.method}: no shipped model at {label} ({RECIPE_FILE} missing); training")
        return False
    shipped_recipe = json.loads(recipe_file.read_text(encoding="utf-8"))
    expected = _json_form({k: recipe.get(k) for k in REUSE_FIELDS})
    differ = recipe_differences(expected, {k: shipped_recipe.get(k) for k in REUSE_FIELDS})
    if differ:
        shown = ", ".join(differ[:12]) + (f" and {len(differ) - 12} more" if len(differ) > 12 else "")
        print(f"{run.method}: the shipped model {label} was trained with another recipe (differs in: {shown}); "
              "training")
        return False
    trained = sorted(str(p.relative_to(run.run_dir)) for p in run.run_dir.glob("*/checkpoints/last.pt"))
    if trained:
        print(f"{run.method}: {run.run_dir} holds training checkpoints ({', '.join(trained)}); they are kept and "
              f"used instead of the shipped model {label}")
        return False
    if current_context().is_main:
        install_shipped(shipped, run.run_dir, recipe, label)
    barrier(current_context())
    installed = json.loads((run.run_dir / RECIPE_FILE).read_text(encoding="utf-8"))
    run.stages.update(_reused_stages(run.run_dir, installed["stages"]))
    final = [r for r in run.stages.values() if isinstance(r, TrainResult)][-1]
    state = torch.load(final.best_checkpoint, map_location="cpu", weights_only=True)["model"]
    run.model.load_state_dict(state)  # fp16-stored weights are cast to the model's dtype
    run.model.eval()
    run.reused_from = label
    print(f"{run.method}: recipe and data checksums match the shipped model {label}; its weights are installed in "
          f"{run.run_dir} (not trained)")
    return True


def _display_path(path: Path) -> str:
    """``path`` relative to the project root when it lies under it (``checkpoints/quick/frlie``), else as given."""
    try:
        return str(path.resolve().relative_to(paths.project_root()))
    except ValueError:
        return str(path)


def install_shipped(shipped: str | os.PathLike, run_dir: str | os.PathLike, recipe: Mapping[str, Any],
                    label: str | None = None) -> Path:
    """Copy a shipped model (``shipped/<stage>/checkpoints/best.pt``, with the stage's ``log.csv`` and ``run.json``
    when shipped) into ``run_dir`` as that run's final checkpoint, and write ``run_dir/recipe.json`` (``recipe``
    with ``reused_from``: ``label``, default ``shipped``). :func:`~llie_core.training.trained.load_trained` then loads
    it like a trained run (a weights-only checkpoint: no optimizer state, so nothing resumes from it). Each stage's
    ``run.json`` says ``reused_from``; a stage without a shipped log keeps a ``log.csv`` already in the run folder, else
    gets one with the engine's columns and no rows (the curve was not shipped). Earlier stages, whose weights are
    not shipped, are recorded as such."""
    shipped, run_dir = Path(shipped), Path(run_dir)
    label = label or str(shipped)
    stages = {}
    for stage_dir in sorted(p.parent.parent for p in shipped.glob("*/checkpoints/best.pt")):
        target = run_dir / stage_dir.name
        (target / "checkpoints").mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target / "checkpoints" / "best.pt", (stage_dir / "checkpoints" / "best.pt").read_bytes())
        if (stage_dir / "log.csv").is_file():
            shutil.copyfile(stage_dir / "log.csv", target / "log.csv")
        elif not (target / "log.csv").is_file():
            (target / "log.csv").write_text("iter,epoch,lr,loss,grad_norm,val_psnr,elapsed_s\n", encoding="utf-8")
        shipped_record = {}
        if (stage_dir / "run.json").is_file():
            shipped_record = json.loads((stage_dir / "run.json").read_text(encoding="utf-8"))
        result = {"iterations_done": 0, "stopped_reason": "reused", "best_iteration": None, "best_metric": None,
                  "metric_name": "psnr", **(shipped_record.get("result") or {})}
        result["stopped_reason"] = "reused"
        write_json(target / "run.json", {**shipped_record, "reused_from": label, "dry_run": False, "result": result})
        stages[stage_dir.name] = f"reused from {label}"
    if not stages:
        raise FileNotFoundError(f"{shipped}: no <stage>/checkpoints/best.pt to install")
    for name in recipe["config"]["stages"]:
        stages.setdefault(name, f"not shipped (the weights of {label} are the final stage's)")
    write_json(run_dir / RECIPE_FILE, {**recipe, "reused_from": label, "stages": stages})
    return run_dir


def _reused_stages(run_dir: Path, stages: Mapping[str, str]) -> dict[str, TrainResult | str]:
    """:attr:`MethodRun.stages` of an installed run: a :class:`TrainResult` (``stopped_reason='reused'``) for each
    installed stage, the recorded text for the others."""
    out: dict[str, TrainResult | str] = {}
    for name, text in stages.items():
        record_file = run_dir / name / "run.json"
        if not (run_dir / name / "checkpoints" / "best.pt").is_file() or not record_file.is_file():
            out[name] = text
            continue
        result = json.loads(record_file.read_text(encoding="utf-8"))["result"]
        out[name] = TrainResult(run_dir / name, result.get("metric_name") or "psnr", result.get("best_metric"),
                                result.get("best_iteration"), int(result.get("iterations_done") or 0), "reused",
                                False)
    return out


def _remove_installed(run_dir: Path) -> None:
    """Before training in ``run_dir``: remove what :func:`install_shipped` put there (its weights, stage records and
    ``recipe.json``), so the run trains from scratch and no shipped weight is mistaken for this run's."""
    recipe_file = run_dir / RECIPE_FILE
    if not recipe_file.is_file():
        return
    try:
        recipe = json.loads(recipe_file.read_text(encoding="utf-8"))
    except ValueError:
        return
    if not recipe.get("reused_from"):
        return
    for name in recipe.get("stages", {}):
        record = run_dir / name / "run.json"
        if record.is_file() and json.loads(record.read_text(encoding="utf-8")).get("reused_from"):
            (run_dir / name / "checkpoints" / "best.pt").unlink(missing_ok=True)
            record.unlink()
    recipe_file.unlink()
    print(f"{run_dir}: removed the installed shipped model ({recipe['reused_from']}); training from scratch")


# ------------------------------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a method from its recipe (works under torchrun).")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("train")
    cmd.add_argument("--method", required=True, choices=available_methods())
    cmd.add_argument("--profile", default="paper")
    cmd.add_argument("--variant", default=None)
    cmd.add_argument("--run-root", default=None, help="default: results/<profile>/runs")
    cmd.add_argument("--seed", type=int, default=None, help="default: the profile's seed (other seeds: replicas)")
    cmd.add_argument("--budget-scale", type=float, default=1.0, help="scales every stage's iterations")
    cmd.add_argument("--reuse-shipped", action="store_true",
                     help="install checkpoints/<profile>/<method> instead of training when its recipe and data match")
    cmd.add_argument("--precision", default=None, choices=PRECISIONS,
                     help="replaces the profile's train.precision (fp32 forces fp32 on bf16 hardware)")
    cmd.add_argument("--data-root", default=None, help="real data root (default: $LLIE_DATA_ROOT)")
    cmd.add_argument("--weights-root", default=None,
                     help="released weights (default: $LLIE_WEIGHTS_ROOT, else <data root>/../weights)")
    args = parser.parse_args(argv)
    data_root, weights_root = resolve_roots(args.data_root, args.weights_root)  # the entry point reads the env
    profile = load_profile(args.profile, data_root=data_root, weights_root=weights_root)
    if args.precision:
        profile = profile.with_overrides({"train": {"precision": args.precision}})
    if args.reuse_shipped:
        profile = profile.with_overrides({"train": {"reuse_shipped": True}})
    ctx = init_distributed()
    try:
        root = args.run_root or paths.results_dir(args.profile) / "runs"
        run = train_method(args.method, profile, root, variant=args.variant, seed=args.seed,
                           budget_scale=args.budget_scale, device=str(ctx.device()) if ctx.is_distributed else None)
        if ctx.is_main:
            print(run.summary().to_string(index=False))
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
