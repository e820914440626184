"""The loss registry (BasicSR style) and the loss-set protocol the training engine uses.

A config lists losses as ``[{type: L1Loss, loss_weight: 1.0, inputs: [output, high], name: l1}, ...]``.

Protocol (shared by every loss in ``llie_core/losses``):

* a loss is an ``nn.Module`` registered in :data:`LOSSES` by ``@LOSSES.register()`` in its own file (the
  first lookup imports every module of ``llie_core.losses``, see :class:`llie_core.core.registry.Registry`); its
  constructor takes ``loss_weight`` and its ``forward`` returns the *weighted* scalar (BasicSR convention);
* ``inputs`` names the tensors ``forward`` takes, looked up in one namespace made of the batch
  (``low``, ``high``, ...) and the model's outputs (``output`` plus any extra outputs a model or
  :class:`~llie_core.engine.task.SupervisedTask` returns). A list/tuple is passed positionally, a mapping
  ``{argument: tensor_key}`` by keyword. Default: the loss class's ``inputs`` attribute, else
  ``("output", "high")``;
* ``name`` labels the term in logs (default: the ``type``; repeated types get ``_2``, ``_3`` ...).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from llie_core.core.registry import Registry

LOSSES = Registry("loss", "llie_core.losses")

DEFAULT_INPUTS = ("output", "high")
LossInputs = Sequence[str] | Mapping[str, str]


class LossTerm(nn.Module):
    """One configured loss: the module, its log name and the tensor keys it reads."""

    def __init__(self, name: str, loss: nn.Module, inputs: LossInputs) -> None:
        super().__init__()
        self.name = name
        self.loss = loss
        self.inputs = dict(inputs) if isinstance(inputs, Mapping) else tuple(inputs)

    def keys(self) -> list[str]:
        return list(self.inputs.values()) if isinstance(self.inputs, dict) else list(self.inputs)

    def forward(self, tensors: Mapping[str, Any]) -> Tensor:
        missing = [k for k in self.keys() if k not in tensors]
        if missing:
            raise KeyError(f"loss {self.name!r} needs tensors {missing} but the batch/model outputs only have "
                           f"{sorted(tensors)}; fix the loss's 'inputs' in the config or return them from the "
                           f"model/task")
        if isinstance(self.inputs, dict):
            return self.loss(**{arg: tensors[key] for arg, key in self.inputs.items()})
        return self.loss(*(tensors[key] for key in self.inputs))


class LossSet(nn.Module):
    """Ordered loss terms; ``loss_set(tensors)`` returns ``{name: weighted loss}``."""

    def __init__(self, terms: Sequence[LossTerm]) -> None:
        super().__init__()
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"loss names must be unique, got {names}; set 'name:' in the loss configs")
        self.terms = nn.ModuleList(terms)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    def forward(self, tensors: Mapping[str, Any]) -> dict[str, Tensor]:
        return {term.name: term(tensors) for term in self.terms}


def build_loss_set(configs: Sequence[Mapping[str, Any]]) -> LossSet:
    """Build a :class:`LossSet` from a list of ``{type, inputs?, name?, **constructor kwargs}`` configs."""
    if isinstance(configs, Mapping) or not configs:
        raise ValueError(f"'losses' must be a non-empty list of {{type: ..., loss_weight: ...}} dicts, "
                         f"got {configs!r}")
    terms, counts = [], {}
    for cfg in configs:
        cfg = dict(cfg)
        inputs = cfg.pop("inputs", None)
        name = cfg.pop("name", None)
        loss = LOSSES.build(cfg)
        if name is None:
            counts[cfg["type"]] = counts.get(cfg["type"], 0) + 1
            name = cfg["type"] + ("" if counts[cfg["type"]] == 1 else f"_{counts[cfg['type']]}")
        terms.append(LossTerm(name, loss, inputs or getattr(loss, "inputs", DEFAULT_INPUTS)))
    return LossSet(terms)
