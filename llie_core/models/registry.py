"""The model registry (BasicSR style): configs name entries with ``type:``.

Each model file registers its model with ``@MODELS.register()``; the first lookup imports every module of
``llie_core.models`` (:class:`llie_core.core.registry.Registry`), so a config can name any of them.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from llie_core.core.registry import Registry

MODELS = Registry("model", "llie_core.models")


def available_models() -> list[str]:
    """The registered model names, sorted."""
    return MODELS.names()


def build_model(config: dict[str, Any], **extra: Any) -> nn.Module:
    """``MODELS.build(config)``; ``config = {'type': Name, **kwargs}``."""
    return MODELS.build(config, **extra)
