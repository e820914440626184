"""Reference enhancers that need no training: identity, HE, CLAHE, LIME and the released Zero-DCE.

All follow the :class:`llie_core.evaluation.loop.Enhancer` interface and are built by name::

    enhancer = build_enhancer("clahe", clip_limit=0.01)
    out = enhancer(low)  # (N,3,H,W) in [0,1]

A baseline that needs released weights (Zero-DCE) raises :class:`WeightsAbsent` when they are not on this machine;
:func:`available_baselines` builds what it can and returns the reason for the rest, so every table shows such a
row as "not run: weights absent (...)" instead of failing (a fresh machine has no ``../shared``).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from llie_core.evaluation.loop import Enhancer
from llie_core.core.registry import Registry

ENHANCERS = Registry("enhancer")
BASELINES = ("input", "he", "clahe", "lime", "zero_dce")  # the comparator rows of every table, in table order


class WeightsAbsent(FileNotFoundError):
    """Released weights that a baseline needs are not on this machine; the message says how to get them."""


# explicit imports (no folder scanning) register the enhancers; they need ENHANCERS defined above
from llie_core.evaluation.baselines import classical, lime, zero_dce  # noqa: E402,F401


def build_enhancer(name: str, **kwargs: Any) -> Enhancer:
    """The enhancer registered as ``name``, built with ``kwargs``."""
    return ENHANCERS.get(name)(**kwargs)


def list_enhancers() -> list[str]:
    return ENHANCERS.names()


def available_baselines(names: Sequence[str] = BASELINES) -> tuple[dict[str, Enhancer], dict[str, str]]:
    """``({name: enhancer} for those that can be built here, {name: 'weights absent (...)'} for the others)``."""
    built, absent = {}, {}
    for name in names:
        try:
            built[name] = build_enhancer(name)
        except WeightsAbsent as exc:
            absent[name] = str(exc)
    return built, absent


def baseline_enhancers(names: Sequence[str] = BASELINES, include_input: bool = False) -> dict[str, Enhancer]:
    """The baselines that can run here, by name (for figures; ``input`` left out unless asked: grids show the
    input column anyway). Each absent one is named in a warning, never dropped silently."""
    built, absent = available_baselines([n for n in names if include_input or n != "input"])
    for name, reason in absent.items():
        warnings.warn(f"{name} is not shown: {reason}", stacklevel=2)
    return built


__all__ = ["BASELINES", "ENHANCERS", "WeightsAbsent", "available_baselines", "baseline_enhancers", "build_enhancer",
           "list_enhancers"]
