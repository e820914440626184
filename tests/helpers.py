"""Helpers shared by the test modules (``from tests.helpers import ...``; ``tests`` is a package so that pytest,
run from the repository root, imports this module under one name everywhere).

- :func:`rand`: seeded uniform tensors, independent of the global RNG.
- ``TINY_*``: the small model sizes the structural tests build (one dict per model; never mutate them).
- :func:`shared_text`, :func:`numbers_in`, :func:`assert_numbers`: read recipe numbers from the paper / spec texts
  under ``../shared`` (through the ``shared_root`` fixture) and compare them with a config.
- :func:`load_config`, :func:`check_profiles`, :func:`check_losses_build`: the HVI-family (CIDNet, ICLR) configs.
- :func:`in_ci`, :func:`skip_or_fail`, :func:`require_assets`: a missing prerequisite (../shared, the offline
  metric assets) skips a test locally and fails it when ``$CI`` is set.
"""
from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import NoReturn

import pytest
import torch
import yaml

from llie_core.core import assets
from llie_core.core.profiles import deep_merge
from llie_core.losses.registry import LOSSES

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_ROOT = REPO_ROOT / "llie_core" / "configs"


# ---- missing prerequisites: skip locally, fail under CI ---------------------------------------------------------
def in_ci() -> bool:
    """True when ``$CI`` is set to a non-empty value (GitHub Actions, GitLab CI and most others set it)."""
    return bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> NoReturn:
    """``pytest.skip(reason)``; under CI ``pytest.fail``: CI must have ../shared and the offline assets, so a
    missing one is a broken CI setup, not a test to skip."""
    if in_ci():
        pytest.fail(f"{reason} [CI is set: missing prerequisites fail instead of skipping]", pytrace=False)
    pytest.skip(reason)


def require_assets(*relpaths: str) -> None:
    """Skip (fail under CI) unless every offline metric asset ``relpaths`` (e.g. ``lpips/alex_backbone.pth``)
    is installed; the message names ``python -m llie_core.core.assets setup``."""
    for relpath in relpaths:
        try:
            assets.require(relpath)
        except assets.AssetsMissingError as exc:
            skip_or_fail(str(exc))


# ---- tensors and tiny model sizes ---------------------------------------------------------------------------
def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``torch.rand(*shape)`` from its own generator seeded with ``seed`` (the global RNG is left alone)."""
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


TINY_CIDNET = {"channels": (8, 8, 16, 32)}  # CIDNet and ICLR
# The smoke widths: every structural JCRNet test runs on these (fast), the full widths only for parameter counts.
TINY_JCRNET = dict(n_feat=8, unet_step=4, prior_width=8, edge_widths=(4, 8), cond_hidden=8, cond_width=4,
                   sft_width=8, correction_width=8, bp_width=8)
TINY_LLFLOW = {"nf": 8, "nb": 2, "gc": 8, "stack_blocks": [1], "K": 1, "hidden_channels": 16}
TINY_LLFLOW_SHALLOW = {"nf": 8, "nb": 1, "gc": 8, "stack_blocks": [0], "K": 1, "hidden_channels": 8}  # analysis
TINY_IRLE = dict(illumination=dict(channels=8, num_layers=2), structure=dict(channels=8, num_blocks=1),
                 denoiser=dict(channels=8, num_blocks=2, prior_hidden=8))
TINY_SYNTHETIC = {"seed": 0, "variants_per_photo": 1, "max_side": 64}  # data_prep.synthetic.build_synthetic kwargs


# ---- recipe numbers read from the paper / spec text ---------------------------------------------------------
# '#' in a pattern stands for one number: 100, 0.05, 1e-4, 2×10^{-4}, 2 \times 10^{-4}, 10^{-3}, 1,000,001.
NUMBER = (r"(\d+(?:\.\d+)?\s*(?:×|\\times)\s*10\^\{?-?\d+\}?|10\^\{?-?\d+\}?|\d{1,3}(?:,\d{3})+(?!\d)"
          r"|\d+(?:\.\d+)?(?:e-?\d+)?)")


def shared_text(shared_root: Path, relpath: str, start: str | None = None, end: str | None = None) -> str:
    """A seed/spec file under ``shared_root`` (whitespace runs collapsed to one space), or its part from the
    heading ``start`` up to ``end``."""
    text = (shared_root / relpath).read_text(encoding="utf-8")
    if start is not None:
        i = text.index(start)
        text = text[i:text.index(end, i + len(start))] if end else text[i:]
    return " ".join(text.split())


def to_number(token: str) -> float:
    t = token.replace(",", "").replace("\\times", "×").replace(" ", "")
    power = re.fullmatch(r"(?:(\d+(?:\.\d+)?)×)?10\^\{?(-?\d+)\}?", t)
    return float(power.group(1) or 1) * 10.0 ** int(power.group(2)) if power else float(t)


def numbers_in(text: str, pattern: str) -> list[float]:
    """The numbers the ``#`` slots of the regex ``pattern`` capture at its first match in ``text``."""
    match = re.search(pattern.replace("#", NUMBER), text)
    assert match, f"sentence not found: {pattern!r}"
    return [to_number(g) for g in match.groups()]


def assert_numbers(actual: list[float] | tuple[float, ...], stated: list[float], what: str) -> None:
    assert list(actual) == pytest.approx(stated, rel=1e-9), f"{what}: config {list(actual)} vs text {stated}"


# ---- HVI-family configs (CIDNet, ICLR) ----------------------------------------------------------------------
BUDGET_KEYS = ("train", "scheduler", "eval")


def load_config(method: str, profile: str) -> dict:
    return yaml.safe_load((CONFIG_ROOT / method / f"{profile}.yaml").read_text(encoding="utf-8"))


def apply_deviations(paper: dict, profile_cfg: dict) -> dict:
    """``paper`` with a profile's documented deviations applied and the budget blocks taken from the profile."""
    cfg = copy.deepcopy(paper)
    deviations = profile_cfg.get("deviations", {})
    assert set(deviations) <= {"model.channels", "perceptual", "optim.lr"}, \
        f"undocumented deviation kinds {sorted(deviations)}"
    if "model.channels" in deviations:
        cfg["model"]["channels"] = profile_cfg["model"]["channels"]
    if "optim.lr" in deviations:
        cfg["stages"]["main"]["optim"]["lr"] = profile_cfg["stages"]["main"]["optim"]["lr"]
    strip = "perceptual" in deviations
    for section in [cfg] + list((cfg.get("variants") or {}).values()):
        for stage in (section.get("stages") or {}).values():
            if stage and "losses" in stage and strip:
                stage["losses"] = [e for e in stage["losses"] if e["type"] != "VGGPerceptualLoss"]
    for key in BUDGET_KEYS:
        cfg["stages"]["main"][key] = profile_cfg["stages"]["main"][key]
    cfg["profile"], cfg["deviations"] = profile_cfg["profile"], deviations
    cfg["params"] = profile_cfg["params"]  # follows the widths (checked by tests/models/test_model_contract.py)
    return cfg


def check_profiles(method: str) -> None:
    paper = load_config(method, "paper")
    for profile in ("quick", "smoke"):
        cfg = load_config(method, profile)
        assert cfg["profile"] == profile
        assert cfg == apply_deviations(paper, cfg), f"{method}/{profile}.yaml differs beyond budgets/deviations"
        assert cfg["stages"]["main"]["train"]["patch_size"] % 8 == 0


def check_losses_build(method: str) -> None:
    """Every loss entry of every profile and variant builds (perceptual entries need the offline asset)."""
    for profile in ("paper", "quick", "smoke"):
        cfg = load_config(method, profile)
        for c in [cfg] + [deep_merge(cfg, v) for v in cfg["variants"].values()]:
            for entry in c["stages"]["main"]["losses"]:
                entry = {k: v for k, v in entry.items() if k not in ("name", "inputs")}
                if entry["type"] == "VGGPerceptualLoss":
                    continue  # built in test_perceptual_offline_vgg16_substitute_is_recorded
                assert LOSSES.build(entry).loss_weight == entry["loss_weight"]


def check_hvi_test_time_options(model: torch.nn.Module, low: torch.Tensor) -> torch.Tensor:
    """An HVI network (CIDNet, ICLR) takes the official test-time options as call arguments, applied on the HVI
    output's inverse transform, and keeps no state between calls; returns the plain output."""
    with torch.no_grad():
        hvi = model.enhance_hvi(model.trans(low))
        plain = model(low)
        torch.testing.assert_close(plain, model.trans.inverse(hvi))
        torch.testing.assert_close(model(low, saturation_gate=1.3), model.trans.inverse(hvi, saturation_gate=1.3))
        torch.testing.assert_close(model(low, rgb_scale=0.84), 0.84 * plain)
        torch.testing.assert_close(model(low), plain)   # nothing was stored
    return plain

