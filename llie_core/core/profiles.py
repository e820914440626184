"""Run profiles (``smoke``, ``quick``, ``paper``): one YAML each in ``llie_core/profiles/``.

Every notebook and the training code read the same profile, so one name fixes data roots, image and patch
sizes, iteration or wall-clock budgets and the datasets to evaluate. ``load_profile`` merges in overrides
(e.g. from a notebook's parameters) and resolves the data root.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from llie_core.core import paths

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"
PROFILE_NAMES = ("smoke", "quick", "paper")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_profile(name: str, overrides: dict[str, Any] | None = None,
                 data_root: str | None = None) -> dict[str, Any]:
    """Read ``profiles/<name>.yaml``, apply ``overrides`` and resolve ``data.root``.

    ``data.root`` is taken from ``data_root``, else the profile, else ``$LLIE_DATA_ROOT``; it is ``None`` when no
    real data is configured (the loaders then fall back to the embedded synthetic dataset).
    """
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"unknown profile {name!r} (no {path}); available: {available_profiles()}")
    with open(path, encoding="utf-8") as fh:
        profile = yaml.safe_load(fh)
    if profile.get("name") != name:
        raise ValueError(f"{path}: 'name' is {profile.get('name')!r}, expected {name!r}")
    if overrides:
        profile = deep_merge(profile, overrides)
    root = paths.data_root(data_root or profile.get("data", {}).get("root"))
    profile.setdefault("data", {})["root"] = str(root) if root else None
    return profile
