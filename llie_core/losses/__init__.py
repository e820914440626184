"""Losses of the five methods, registered in :data:`LOSSES` (``type:`` in configs); see ``registry.py``."""
from __future__ import annotations

from llie_core.losses.basic import L1Loss, MSELoss
from llie_core.losses.registry import LOSSES, LossSet, LossTerm, build_loss_set


def import_loss_modules() -> list[str]:
    """Import every loss module so all losses are registered (called by :func:`build_loss_set`)."""
    from llie_core.core.registry import import_submodules

    return import_submodules(__name__)


__all__ = ["LOSSES", "LossSet", "LossTerm", "build_loss_set", "import_loss_modules", "L1Loss", "MSELoss"]
