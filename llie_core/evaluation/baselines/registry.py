"""The enhancer registry: reference enhancers that need no training, built by name.

Each baseline module registers its builders with ``@ENHANCERS.register("name")``; the first lookup imports every
module of ``llie_core.evaluation.baselines`` (see :class:`llie_core.core.registry.Registry`). A builder returns
an :class:`~llie_core.evaluation.loop.Enhancer` and raises :class:`WeightsAbsent` when released weights it needs
are not on this machine; :func:`available_baselines` builds what it can and returns the reason for the rest, so
every table shows such a row as "not run: weights absent (...)" instead of failing (a fresh machine has no
``../shared``).
"""
from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence
from typing import Any

from llie_core.core.methods import BASELINES  # the comparator rows of every table, in table order
from llie_core.core.registry import Registry
from llie_core.evaluation.loop import Enhancer

ENHANCERS = Registry("enhancer", "llie_core.evaluation.baselines")


class WeightsAbsent(FileNotFoundError):
    """Released weights that a baseline needs are not on this machine; the message says how to get them."""


def build_enhancer(name: str, weights_root: str | os.PathLike | None = None, **kwargs: Any) -> Enhancer:
    """The enhancer registered as ``name``, built with ``kwargs``; ``weights_root`` (where released weights live,
    ``Profile.data.weights_root``) goes to the builders that take it (e.g. ``zero_dce``), the others ignore it."""
    return ENHANCERS.get(name)(**kwargs, **_weights_kwargs(name, weights_root))


def list_enhancers() -> list[str]:
    return ENHANCERS.names()


def _weights_kwargs(name: str, weights_root: str | os.PathLike | None) -> dict[str, Any]:
    """``{'weights_root': ...}`` for a builder that takes released weights (its signature has ``weights_root``)."""
    if weights_root is None or "weights_root" not in inspect.signature(ENHANCERS.get(name)).parameters:
        return {}
    return {"weights_root": weights_root}


def available_baselines(names: Sequence[str] = BASELINES, weights_root: str | os.PathLike | None = None
                        ) -> tuple[dict[str, Enhancer], dict[str, str]]:
    """``({name: enhancer} for those that can be built here, {name: 'weights absent (...)'} for the others)``;
    baselines with released weights look for them under ``weights_root`` (``Profile.data.weights_root``)."""
    built, absent = {}, {}
    for name in names:
        try:
            built[name] = build_enhancer(name, weights_root)
        except WeightsAbsent as exc:
            absent[name] = str(exc)
    return built, absent


def baseline_enhancers(names: Sequence[str] = BASELINES, include_input: bool = False,
                       weights_root: str | os.PathLike | None = None) -> dict[str, Enhancer]:
    """The baselines that can run here, by name (for figures; ``input`` left out unless asked: grids show the
    input column anyway; released weights under ``weights_root``). Each absent one is named in a warning, never
    dropped silently."""
    built, absent = available_baselines([n for n in names if include_input or n != "input"], weights_root)
    for name, reason in absent.items():
        warnings.warn(f"{name} is not shown: {reason}", stacklevel=2)
    return built
