"""Exponential moving average of weights on ``torch.optim.swa_utils.AveragedModel``.

Update (after each optimizer step): ``ema = decay * ema + (1 - decay) * param`` for parameters and floating
buffers (BatchNorm statistics); the first update copies the weights (``AveragedModel`` semantics).
"""
from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def build_ema(model: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``model`` (unwrapped, not DDP); call ``ema.update_parameters(model)`` after each step."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
