"""Run profiles (``smoke``, ``quick``, ``paper``): one YAML each in ``llie_core/profiles/``.

Every notebook and the training code read the same profile, so one name fixes data roots, image and patch
sizes, iteration or wall-clock budgets and the datasets to evaluate. :func:`load_profile` reads the YAML once
into a frozen, typed :class:`Profile` (sections :class:`~data_prep.settings.DataSettings`, :class:`TrainDefaults`,
:class:`EvalSettings`, per-notebook settings), in the style of :mod:`llie_core.engine.config`: unknown keys are
errors. It merges in overrides (e.g. from a notebook's parameters) and resolves the roots passed by the entry
point; :meth:`Profile.with_overrides` derives changed copies.
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

__all__ = ["PROFILE_DIR", "PROFILE_NAMES", "DataSettings", "EvalSettings", "Profile", "SettingsError",
           "TrainDefaults", "available_profiles", "deep_merge", "load_profile"]

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


def _budget(path: Path) -> tuple[bool, int]:
    """Sort key of a profile file, cheapest first: ``train.iterations`` (``null``, the papers' own schedules, last)."""
    with open(path, encoding="utf-8") as fh:
        iterations = ((yaml.safe_load(fh) or {}).get("train") or {}).get("iterations")
    return iterations is None, iterations or 0


# the profiles (profiles/*.yaml), cheapest first: smoke, quick, paper
PROFILE_NAMES: tuple[str, ...] = tuple(p.stem for p in sorted(PROFILE_DIR.glob("*.yaml"), key=_budget))


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
    run). ``precision``: :mod:`llie_core.core.precision` (``auto``: bf16 where the hardware has it)."""

    iterations: int | None = 100
    val_every: int | None = None
    precision: str = "fp32"
    ablation_budget_scale: float = 1.0
    seeds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in (self.seeds or ())))
        object.__setattr__(self, "ablation_budget_scale", float(self.ablation_budget_scale))
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
                "notebooks": copy.deepcopy({k: dict(v) for k, v in self.notebooks.items()})}

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

    ``data.root``: ``data_root``, else the YAML's (normally ``null``); ``None`` means no real data (the loaders fall
    back to the embedded set). ``data.weights_root``: ``weights_root``, else the YAML's, else
    ``<data root>/../weights``. ``data.cache_dir``: ``cache_dir``, else the YAML's, else
    :func:`llie_core.core.paths.cache_dir`. Nothing is read from ``$LLIE_DATA_ROOT`` / ``$LLIE_WEIGHTS_ROOT``: the
    entry points resolve them (``data_prep.settings.resolve_roots``) and pass them here. Unknown YAML keys are
    errors naming the key and the file.
    """
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"unknown profile {name!r} (no {path}); available: {available_profiles()}")
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    if raw.get("name") != name:
        raise ValueError(f"{path}: 'name' is {raw.get('name')!r}, expected {name!r}")
    if overrides:
        raw = deep_merge(raw, dict(overrides))
    data = dict(raw.get("data") or {})
    root = paths.data_root(data_root) or paths.data_root(data.get("root"))
    data["root"] = root
    data["weights_root"] = (as_path(weights_root) or as_path(data.get("weights_root"))
                            or paths.default_weights_root(root))
    data["cache_dir"] = paths.cache_dir(cache_dir or data.get("cache_dir"))
    return Profile.from_dict({**raw, "data": data}, f"{path} (with overrides)" if overrides else path)
