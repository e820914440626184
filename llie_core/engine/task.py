"""Training tasks: how one method turns a batch into named loss terms (the engine's extension point).

The engine only calls the hooks below, so methods with their own training logic subclass
:class:`SupervisedTask` instead of forking the loop:

* :meth:`setup` once after the model is built (e.g. freeze modules, FRLIE stage 2);
* :meth:`trainable_parameters` -> optimizer ``param_groups`` (may carry per-group ``lr``);
* :meth:`train_mode` before every step (frozen modules stay in ``eval`` so BatchNorm statistics stay fixed);
* :meth:`compute_losses` -> ``{term name: weighted scalar}``; the engine sums the terms;
* :meth:`validation_output` -> the enhanced image compared with ``batch['high']`` by the validation metric.

Registered tasks (:data:`~llie_core.engine.registry.TASKS`): :class:`SupervisedTask`, :class:`SelfSupervisedTask`
and :class:`StageTask` (one stage of a ``llie_core.training.recipes`` recipe: any model method, any batch inputs).

Model outputs: a model returns a tensor (the enhanced image) or a dict holding ``'output'`` plus any extra
tensors its losses need. :meth:`forward` normalises both to a dict. Under DistributedDataParallel, go through
``model(...)`` (DDP's forward) so gradients are synchronised.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from llie_core.core.precision import fp32_region, to_fp32
from llie_core.engine.registry import TASKS
from llie_core.losses.registry import LossSet

OUTPUT_KEY = "output"


def as_output_dict(output: Tensor | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``{'output': tensor}`` for a tensor; a mapping must already hold ``'output'``."""
    if isinstance(output, Tensor):
        return {OUTPUT_KEY: output}
    if isinstance(output, Mapping) and OUTPUT_KEY in output:
        return dict(output)
    raise TypeError(f"a model must return a Tensor or a dict with an {OUTPUT_KEY!r} key, got "
                    f"{type(output).__name__} with keys {list(output) if isinstance(output, Mapping) else '-'}")


def _module_matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@TASKS.register()
class SupervisedTask:
    """Paired low -> high training: ``outputs = model(batch['low'])``, losses see batch + outputs.

    ``trainable_modules``: names of sub-modules to optimise (e.g. ``['feature_processor']`` for FRLIE stage 2,
    paper §2.2); every other parameter is frozen (``requires_grad=False``) and its module kept in eval mode.
    ``None`` trains every parameter.
    """

    def __init__(self, trainable_modules: Sequence[str] | None = None, input_key: str = "low") -> None:
        self.trainable_modules = list(trainable_modules) if trainable_modules is not None else None
        self.input_key = input_key

    def setup(self, model: nn.Module) -> None:
        if self.trainable_modules is None:
            return
        names = {n for n, _ in model.named_modules()}
        unknown = [m for m in self.trainable_modules if m not in names]
        if unknown:
            raise KeyError(f"trainable_modules {unknown} are not sub-modules of {type(model).__name__}; "
                           f"top-level modules: {[n for n, _ in model.named_children()]}")
        for name, param in model.named_parameters():
            param.requires_grad_(_module_matches(name, self.trainable_modules))

    def frozen_modules(self, model: nn.Module) -> list[nn.Module]:
        if self.trainable_modules is None:
            return []
        return [m for n, m in model.named_children() if not _module_matches(n, self.trainable_modules)
                and not any(_module_matches(t, [n]) for t in self.trainable_modules)]

    def train_mode(self, model: nn.Module) -> None:
        model.train()
        for module in self.frozen_modules(model):
            module.eval()

    def trainable_parameters(self, model: nn.Module) -> list[dict[str, Any]]:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def forward(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        if self.input_key not in batch:
            raise KeyError(f"batch has no {self.input_key!r} tensor (keys {sorted(batch)}); datasets must yield "
                           f"{{'low': ..., 'high': ..., 'name': ...}}")
        return as_output_dict(model(batch[self.input_key]))

    def loss_inputs(self, batch: Mapping[str, Any], outputs: Mapping[str, Tensor]) -> dict[str, Any]:
        """The namespace the losses read: the batch, then the outputs (outputs win on a name clash)."""
        return {**batch, **outputs}

    def compute_losses(self, model: nn.Module, batch: Mapping[str, Any], losses: LossSet) -> dict[str, Tensor]:
        """The forward pass (under the caller's autocast, if any), then every loss and its reduction in fp32."""
        outputs = self.forward(model, batch)
        with fp32_region(*outputs.values()):
            return losses(self.loss_inputs(batch, to_fp32(outputs)))

    def validation_output(self, model: nn.Module, batch: Mapping[str, Any]) -> Tensor:
        return self.forward(model, batch)[OUTPUT_KEY]


@TASKS.register()
class SelfSupervisedTask(SupervisedTask):
    """Training without references (e.g. IRLE): losses never see ``batch['high']`` even when a dataset has it.

    Validation still compares with ``high`` on the (paired) validation split.
    """

    def loss_inputs(self, batch: Mapping[str, Any], outputs: Mapping[str, Tensor]) -> dict[str, Any]:
        return {**{k: v for k, v in batch.items() if k != "high"}, **outputs}


def call_model(model: nn.Module, method: str, *args: Tensor) -> Any:
    """``model.<method>(*args)``, through DDP's forward when wrapped, so gradients are still synchronised."""
    if method == "forward":
        return model(*args)
    if isinstance(model, DistributedDataParallel):
        inner = model.module
        inner.forward = getattr(inner, method)  # instance attribute shadows the class forward for one call
        try:
            return model(*args)
        finally:
            del inner.forward
    return getattr(model, method)(*args)


@TASKS.register()
class StageTask(SupervisedTask):
    """One recipe stage: ``outputs = model.<method>(*batch[forward_inputs])``; losses read batch + outputs.

    ``self_supervised=True`` hides ``batch['high']`` from the model call and the losses (it stays available to
    validation only, on the held-out split).
    """

    def __init__(self, trainable_modules: Sequence[str] | None = None, method: str = "forward",
                 forward_inputs: Sequence[str] = ("low",), self_supervised: bool = False) -> None:
        super().__init__(trainable_modules, input_key=forward_inputs[0])
        self.method, self.forward_inputs, self.self_supervised = method, list(forward_inputs), self_supervised
        if self_supervised and "high" in self.forward_inputs:
            raise ValueError("a self-supervised stage cannot feed 'high' to the model")

    def forward(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        missing = [k for k in self.forward_inputs if k not in batch]
        if missing:
            raise KeyError(f"batch lacks {missing} (keys {sorted(batch)}) needed by {self.method}")
        return as_output_dict(call_model(model, self.method, *(batch[k] for k in self.forward_inputs)))

    def loss_inputs(self, batch: Mapping[str, Any], outputs: Mapping[str, Tensor]) -> dict[str, Any]:
        visible = {k: v for k, v in batch.items() if not (self.self_supervised and k == "high")}
        return {**visible, **outputs}


def build_task(config: Mapping[str, Any] | None) -> SupervisedTask:
    return TASKS.build(dict(config or {"type": "SupervisedTask"}))
