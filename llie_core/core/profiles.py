"""Run profiles (``smoke``, ``quick``, ``paper``): one YAML each in ``llie_core/profiles/``.

Every notebook and the training code read the same profile, so one name fixes data roots, image and patch
sizes, iteration or wall-clock budgets and the datasets to evaluate. :func:`load_profile` reads the YAML once
into a frozen, typed :class:`Profile` (sections :class:`~data_prep.settings.DataSettings`, :class:`TrainDefaults`,
:class:`EvalSettings`, per-notebook settings), in the style of :mod:`llie_core.engine.config`: unknown keys are
errors. It merges in overrides (e.g. from a notebook's parameters) and resolves the roots passed by the entry
point; :meth:`Profile.with_overrides` derives changed copies.

A *dry run* of a profile (``load_profile("paper-dry-run")``, i.e. ``<name>`` + :data:`DRY_RUN_SUFFIX`; the workbook
runner's ``--dry-run``) keeps that profile's name, method recipes, widths, patch and batch sizes, losses and schedule
shapes, and makes it cheap enough to execute every code path on a CPU: every training stage is capped at
:data:`DRY_RUN_ITERATIONS` iterations (``train.max_iterations``; the recipes scale the schedules to the cap), one
image per test set, one seed, then the YAML's ``dry_run_overrides:`` section (e.g. image-side caps and per-notebook
sample counts). The profile says ``dry_run: true`` and its results go to ``results/<name>-dry-run``
(:attr:`Profile.results_name`), never to ``results/<name>``; every training record says ``dry_run: true``.
"""
from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from data_prep.settings import DataSettings, SettingsError, as_path, check_keys
from llie_core.core import paths
from llie_core.core.precision import PRECISIONS

__all__ = ["DRY_RUN_ITERATIONS", "DRY_RUN_SUFFIX", "PROFILE_DIR", "PROFILE_NAMES", "DataSettings", "EvalSettings",
           "Profile", "SettingsError", "TrainDefaults", "available_profiles", "deep_merge", "dry_run_name",
           "load_profile"]

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


def _budget(path: Path) -> tuple[bool, int]:
    """Sort key of a profile file, cheapest first: ``train.iterations`` (``null``, the papers' own schedules, last)."""
    with open(path, encoding="utf-8") as fh:
        iterations = ((yaml.safe_load(fh) or {}).get("train") or {}).get("iterations")
    return iterations is None, iterations or 0


# the profiles (profiles/*.yaml), cheapest first: smoke, quick, paper
PROFILE_NAMES: tuple[str, ...] = tuple(p.stem for p in sorted(PROFILE_DIR.glob("*.yaml"), key=_budget))

DRY_RUN_SUFFIX = "-dry-run"  # load_profile("paper-dry-run"): the dry run of `paper` (module docstring)
DRY_RUN_ITERATIONS = 2  # iterations of every training stage in a dry run
DRY_RUN_BATCH = 2  # the largest batch of a dry-run stage (2: layers with batch statistics still see a batch)
DRY_RUN_OVERRIDES_KEY = "dry_run_overrides"  # the YAML section merged over a profile in its dry run only


def dry_run_name(name: str) -> str:
    """The profile spec of ``name``'s dry run, and the results folder it writes: ``paper`` -> ``paper-dry-run``."""
    return f"{name}{DRY_RUN_SUFFIX}"


def _dry_run_defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What a dry run changes in every profile: :data:`DRY_RUN_ITERATIONS` iterations per stage of at most
    :data:`DRY_RUN_BATCH` samples (the widths, patches, losses and schedule shapes stay; the paper's batches of
    10-16 patches cost minutes per CPU iteration and ~15 GB), one image per test set (paired and unpaired), one
    seed (the profile's main seed)."""
    return {"dry_run": True,
            "train": {"max_iterations": DRY_RUN_ITERATIONS, "max_batch_size": DRY_RUN_BATCH,
                      "seeds": [int(raw.get("seed", 0))]},
            "data": {"max_eval_images": 1, "max_unpaired_images": 1}}


def available_profiles() -> list[str]:
    return sorted(PROFILE_NAMES)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class TrainDefaults:
    """The ``train:`` section: defaults of every recipe stage that does not set its own (``iterations``,
    ``val_every``, ``precision``; budgets are iterations, never a clock), the fraction of the main budget ablation
    variants train with, and the seeds of the main run's replicas (``seeds``; the profile's ``seed`` is the main
    run). ``precision``: :mod:`llie_core.core.precision` (``auto``: bf16 where the hardware has it).

    ``max_iterations`` caps every stage's iterations after any budget scaling (a dry run's cap; its schedule is scaled
    to the cap, :func:`llie_core.training.recipes.capped_schedule`); ``None``: no cap. ``max_batch_size`` caps
    every stage's batch size the same way (a dry run's). ``reuse_shipped``: a method's
    main run installs the shipped weights (``checkpoints/<profile>/<method>``) instead of training when their recipe
    and data checksums match exactly (:func:`llie_core.training.recipes.train_method`); default ``False``: always
    train."""

    iterations: int | None = 100
    val_every: int | None = None
    precision: str = "fp32"
    ablation_budget_scale: float = 1.0
    seeds: tuple[int, ...] = ()
    max_iterations: int | None = None
    max_batch_size: int | None = None
    reuse_shipped: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in (self.seeds or ())))
        object.__setattr__(self, "ablation_budget_scale", float(self.ablation_budget_scale))
        if self.max_iterations is not None and int(self.max_iterations) < 1:
            raise SettingsError(f"train.max_iterations must be >= 1 or null, got {self.max_iterations}")
        if self.max_batch_size is not None and int(self.max_batch_size) < 1:
            raise SettingsError(f"train.max_batch_size must be >= 1 or null, got {self.max_batch_size}")
        if self.precision not in PRECISIONS:
            raise SettingsError(f"train.precision {self.precision!r} unknown; choose one of {PRECISIONS}")
        if not self.ablation_budget_scale > 0:
            raise SettingsError(f"train.ablation_budget_scale must be > 0, got {self.ablation_budget_scale}")


@dataclass(frozen=True)
class EvalSettings:
    """The ``eval:`` section: tiled inference of large test images (:class:`llie_core.evaluation.tiling.TileConfig`)."""

    tile_size: int = 1024
    tile_overlap: int = 64
    memory_budget_mb: float | None = None


@dataclass(frozen=True)
class Profile:
    """One run profile (``profiles/<name>.yaml``), typed and frozen; built by :func:`load_profile`.

    ``data`` (:class:`~data_prep.settings.DataSettings`) carries the resolved data, weights and cache roots;
    ``notebooks`` the per-notebook settings of the YAML's ``notebooks:`` section (``{notebook: {key: value}}``).
    ``dry_run``: this is the dry run of profile ``name`` (module docstring; results in :attr:`results_name`).
    :meth:`with_overrides` returns a changed copy; :meth:`to_dict` the plain form (for records and overrides).
    """

    name: str
    description: str = ""
    seed: int = 0
    deterministic: bool = True
    device: str = "cpu"
    num_threads: int | None = None
    data: DataSettings = field(default_factory=DataSettings)
    train: TrainDefaults = field(default_factory=TrainDefaults)
    eval: EvalSettings = field(default_factory=EvalSettings)
    notebooks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def results_name(self) -> str:
        """The folder under ``results/`` this profile writes: ``name``, or ``<name>-dry-run`` for a dry run (so a dry
        run never writes into a real profile's results)."""
        return dry_run_name(self.name) if self.dry_run else self.name

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str | os.PathLike | None = None) -> "Profile":
        """A profile from its plain form; an unknown key in any section raises
        :class:`~data_prep.settings.SettingsError` naming the key and ``source`` (the YAML)."""
        values = dict(values)
        check_keys(cls, values, "", source)
        if "name" not in values:
            raise SettingsError(f"{source or 'profile'}: 'name' is missing")
        sections = {"data": DataSettings.from_dict(values.get("data"), source),
                    "train": _section(TrainDefaults, values.get("train"), "train", source),
                    "eval": _section(EvalSettings, values.get("eval"), "eval", source)}
        notebooks = values.get("notebooks") or {}
        if not isinstance(notebooks, Mapping) or not all(isinstance(v, Mapping) for v in notebooks.values()):
            raise SettingsError(f"{source or 'profile'}: 'notebooks' must map notebook names to mappings")
        sections["notebooks"] = {str(k): dict(v) for k, v in notebooks.items()}
        return cls(**{**values, **sections})

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON types: ``Profile.from_dict(p.to_dict()) == p``."""
        train = {**dataclasses.asdict(self.train), "seeds": list(self.train.seeds)}
        return {"name": self.name, "description": self.description, "seed": self.seed,
                "deterministic": self.deterministic, "device": self.device, "num_threads": self.num_threads,
                "data": self.data.to_dict(), "train": train, "eval": dataclasses.asdict(self.eval),
                "notebooks": copy.deepcopy({k: dict(v) for k, v in self.notebooks.items()}), "dry_run": self.dry_run}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Profile":
        """A new profile: ``overrides`` deep-merged into :meth:`to_dict` (dicts merge, everything else replaces),
        e.g. ``profile.with_overrides({"data": {"eval_max_side": 256}})``. Unknown keys are errors. Roots are not
        re-derived: overriding ``data.root`` keeps ``data.weights_root`` unless it is overridden too."""
        if not overrides:
            return self
        return Profile.from_dict(deep_merge(self.to_dict(), dict(overrides)), f"overrides of profile {self.name!r}")

    def notebook(self, name: str) -> Mapping[str, Any]:
        """The settings of notebook ``name`` (e.g. ``11_jcrnet``) from the ``notebooks:`` section; ``{}`` if none."""
        return self.notebooks.get(name, {})


def _section(cls: type, values: Mapping[str, Any] | None, section: str, source: str | os.PathLike | None) -> Any:
    values = dict(values or {})
    check_keys(cls, values, section, source)
    return cls(**values)


def load_profile(name: str, overrides: Mapping[str, Any] | None = None,
                 data_root: str | os.PathLike | None = None, weights_root: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None) -> Profile:
    """Read ``profiles/<name>.yaml``, apply ``overrides`` (the dict form, deep-merged) and resolve the roots, once.

    ``name`` may be a dry-run spec, ``<profile>-dry-run`` (:data:`DRY_RUN_SUFFIX`): that profile (same ``name``)
    with the dry-run changes of every profile, then its YAML's ``dry_run_overrides:`` section, then ``overrides``.
    The ``dry_run_overrides:`` section is ignored otherwise.

    ``data.root``: ``data_root``, else the YAML's (normally ``null``); ``None`` means no real data (the loaders fall
    back to the embedded set). ``data.weights_root``: ``weights_root``, else the YAML's, else
    ``<data root>/../weights``. ``data.cache_dir``: ``cache_dir``, else the YAML's, else
    :func:`llie_core.core.paths.cache_dir`. Nothing is read from ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``: the
    entry points resolve them (``data_prep.settings.resolve_roots``) and pass them here. Unknown YAML keys are
    errors naming the key and the file.
    """
    dry_run = name.endswith(DRY_RUN_SUFFIX)
    name = name.removesuffix(DRY_RUN_SUFFIX)
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"unknown profile {name!r} (no {path}); available: {available_profiles()} "
                                f"(and their dry runs, <profile>{DRY_RUN_SUFFIX})")
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    if raw.get("name") != name:
        raise ValueError(f"{path}: 'name' is {raw.get('name')!r}, expected {name!r}")
    dry_overrides = raw.pop(DRY_RUN_OVERRIDES_KEY, None) or {}
    if not isinstance(dry_overrides, Mapping):
        raise SettingsError(f"{path}: '{DRY_RUN_OVERRIDES_KEY}' must be a mapping of profile keys")
    if dry_run:
        raw = deep_merge(deep_merge(raw, _dry_run_defaults(raw)), dry_overrides)
    if overrides:
        raw = deep_merge(raw, dict(overrides))
    data = dict(raw.get("data") or {})
    root = paths.data_root(data_root) or paths.data_root(data.get("root"))
    data["root"] = root
    data["weights_root"] = (as_path(weights_root) or as_path(data.get("weights_root"))
                            or paths.default_weights_root(root))
    data["cache_dir"] = paths.cache_dir(cache_dir or data.get("cache_dir"))
    return Profile.from_dict({**raw, "data": data}, f"{path} (with overrides)" if overrides else path)
