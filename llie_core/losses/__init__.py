"""Losses of the five methods, registered in :data:`LOSSES` (``type:`` in configs); see ``registry.py``."""
from __future__ import annotations

from llie_core.losses.registry import LOSSES, LossSet, LossTerm, build_loss_set

__all__ = ["LOSSES", "LossSet", "LossTerm", "build_loss_set"]
