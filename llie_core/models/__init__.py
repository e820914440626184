"""Models of the five methods, registered in :data:`MODELS` (``type:`` in configs).

Each model file registers itself with ``@MODELS.register()`` (``from .registry import MODELS``);
:func:`build_model` imports every module of this package first, so a config can name any of them.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from llie_core.models.registry import MODELS


def import_model_modules() -> list[str]:
    """Import every model module so all models are registered."""
    from llie_core.core.registry import import_submodules

    return import_submodules(__name__)


def available_models() -> list[str]:
    import_model_modules()
    return MODELS.names()


def build_model(config: dict[str, Any], **extra: Any) -> nn.Module:
    """``MODELS.build(config)`` after registering all models; ``config = {'type': Name, **kwargs}``."""
    import_model_modules()
    return MODELS.build(config, **extra)


__all__ = ["MODELS", "build_model", "available_models", "import_model_modules"]
