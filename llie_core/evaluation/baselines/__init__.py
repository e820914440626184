"""Reference enhancers that need no training: identity, HE, CLAHE, LIME and the released Zero-DCE.

All follow the :class:`llie_core.evaluation.loop.Enhancer` interface and are built by name from
:data:`~llie_core.evaluation.baselines.registry.ENHANCERS` (see ``registry.py``)::

    enhancer = build_enhancer("clahe", clip_limit=0.01)
    out = enhancer(low)  # (N,3,H,W) in [0,1]

A baseline that needs released weights (Zero-DCE) raises :class:`WeightsAbsent` when they are not on this machine;
:func:`available_baselines` builds what it can and returns the reason for the rest.
"""
from __future__ import annotations

from llie_core.evaluation.baselines.registry import (BASELINES, ENHANCERS, WeightsAbsent, available_baselines,
                                                     baseline_enhancers, build_enhancer, list_enhancers)

__all__ = ["BASELINES", "ENHANCERS", "WeightsAbsent", "available_baselines", "baseline_enhancers", "build_enhancer",
           "list_enhancers"]
