"""Models of the five methods, registered in :data:`MODELS` (``type:`` in configs); see ``registry.py``."""
from __future__ import annotations

from llie_core.models.registry import MODELS, available_models, build_model

__all__ = ["MODELS", "build_model", "available_models"]
