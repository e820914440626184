"""Reference enhancers that need no training: identity, HE, CLAHE, LIME and the released Zero-DCE.

All follow the :class:`llie_core.evaluation.Enhancer` interface and are built by name::

    enhancer = build_enhancer("clahe", clip_limit=0.01)
    out = enhancer(low)  # (N,3,H,W) in [0,1]
"""
from __future__ import annotations

from typing import Any

from ..evaluation import Enhancer
from ..registry import Registry

ENHANCERS = Registry("enhancer")

# explicit imports (no folder scanning) register the enhancers; they need ENHANCERS defined above
from . import classical, lime, zero_dce  # noqa: E402,F401


def build_enhancer(name: str, **kwargs: Any) -> Enhancer:
    """The enhancer registered as ``name``, built with ``kwargs``."""
    return ENHANCERS.get(name)(**kwargs)


def list_enhancers() -> list[str]:
    return ENHANCERS.names()


__all__ = ["ENHANCERS", "build_enhancer", "list_enhancers"]
